//! Loads a business's settings from a TOML file (`--config`), validated before any work starts.

use std::path::Path;

use shared::domain::config::{BusinessConfig, ConfigError};

#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("could not read the config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("the config file {path} is not valid: {source}")]
    Invalid { path: String, source: ConfigError },
}

pub fn load(path: &Path) -> Result<BusinessConfig, ConfigFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&text).map_err(|e| match e {
        ParseError::Toml(message) => ConfigFileError::Parse {
            path: shown.clone(),
            message,
        },
        ParseError::Invalid(source) => ConfigFileError::Invalid {
            path: shown.clone(),
            source,
        },
    })
}

pub enum ParseError {
    Toml(String),
    Invalid(ConfigError),
}

pub fn parse(text: &str) -> Result<BusinessConfig, ParseError> {
    let config: BusinessConfig = toml::from_str(text)
        .map_err(|e| ParseError::Toml(e.to_string().trim().replace('\n', " ")))?;
    config.validate().map_err(ParseError::Invalid)?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_config_is_read() {
        let config = match parse(
            r#"
            industry = "spa"
            timezone = "Europe/Paris"
            currency = "EUR"
            low_rating_at_most = 3
            [rhythm]
            min_visits_for_personal_interval = 4
            [stages]
            lapsed = 1.75
            [categories.Colour]
            default_interval_days = 70
            "#,
        ) {
            Ok(config) => config,
            Err(ParseError::Toml(message)) => panic!("the config should parse: {message}"),
            Err(ParseError::Invalid(error)) => panic!("the config should be valid: {error}"),
        };
        assert_eq!(config.timezone.as_str(), "Europe/Paris");
        assert_eq!(config.rhythm.min_visits_for_personal_interval, 4);
        assert_eq!(config.stages.lapsed, 1.75);
        let colour = shared::domain::ids::Category::parse("colour").unwrap();
        assert_eq!(config.default_interval_for(&colour), Some(70.0));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_the_field_named() {
        let Err(ParseError::Toml(message)) = parse("stages = { lapsd = 2.0 }") else {
            panic!("should fail")
        };
        assert!(message.contains("lapsd"), "{message}");
        let Err(ParseError::Toml(message)) = parse("timezone = \"Moon/Base\"") else {
            panic!("should fail")
        };
        assert!(message.contains("Moon/Base"), "{message}");
        let Err(ParseError::Invalid(error)) = parse("[stages]\nlapsed = 1.1") else {
            panic!("should fail")
        };
        assert!(error.to_string().contains("stages.lapsed"), "{error}");
    }
}
