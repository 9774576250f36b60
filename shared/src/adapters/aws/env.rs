//! A function's own settings, read once at cold start from the environment the template sets:
//! a missing one fails the start, never a request.

/// A setting the template should have set and did not.
#[derive(thiserror::Error)]
#[error("environment variable {0} is not set; the template sets it on the function")]
pub struct MissingSetting(pub &'static str);

/// The start-up failure is printed with `Debug` by `main`: make that the sentence.
impl std::fmt::Debug for MissingSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// A required, non-empty environment variable.
pub fn required(name: &'static str) -> Result<String, MissingSetting> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .ok_or(MissingSetting(name))
}

/// An optional environment variable: `None` when unset or empty.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}
