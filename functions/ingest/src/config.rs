//! The function's own settings, read once at cold start: a missing one fails the start, never a
//! request.

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set; the template sets it on the function")]
    Missing(&'static str),
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
