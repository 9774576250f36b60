//! The function's own settings, read once at cold start: a missing one fails the start, never a
//! request.

#[derive(thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set; the template sets it on the function")]
    Missing(&'static str),
}

/// The start-up failure is printed with `Debug` by `main`: make that the sentence.
impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

pub struct Config {
    /// The one DynamoDB table.
    pub table: String,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        let table = std::env::var("TABLE_NAME")
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or(ConfigError::Missing("TABLE_NAME"))?;
        Ok(Config { table })
    }
}
