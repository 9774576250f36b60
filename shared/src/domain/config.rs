//! A business's detection settings: industry, time zone, currency, the rhythm and stage rules,
//! and per-category defaults. Every field has a default that works with no configuration, and
//! [`BusinessConfig::validate`] names the field at fault when one is wrong.

use std::collections::BTreeMap;

use crate::domain::ids::Category;
use crate::domain::industry::Industry;
use crate::domain::money::Currency;
use crate::domain::outreach_settings::{OutreachConfig, OutreachError};
use crate::domain::rhythm::RhythmSettings;
use crate::domain::stage::{StageSettings, StageSettingsError};
use crate::domain::time_zone::{TimeZoneName, UnknownTimeZone};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CategorySettings {
    /// Days between visits assumed for clients with too few visits of their own.
    pub default_interval_days: Option<f64>,
}

#[allow(clippy::derivable_impls)]
impl Default for CategorySettings {
    fn default() -> Self {
        CategorySettings {
            default_interval_days: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusinessConfig {
    pub industry: Industry,
    /// The business's time zone: RFC 3339 times in an export become days in this zone.
    pub timezone: TimeZoneName,
    /// The currency amounts are in when an export has no currency column.
    pub currency: Currency,
    /// A visit rated at or below this (on the business's scale) went badly.
    pub low_rating_at_most: f32,
    pub rhythm: RhythmSettings,
    pub stages: StageSettings,
    pub categories: BTreeMap<Category, CategorySettings>,
    /// Who is contacted, how and when.
    pub outreach: OutreachConfig,
}

impl Default for BusinessConfig {
    fn default() -> Self {
        BusinessConfig {
            industry: Industry::Salon,
            timezone: TimeZoneName::utc(),
            currency: Currency::parse("USD").expect("USD is an ISO 4217 code"),
            low_rating_at_most: 2.0,
            rhythm: RhythmSettings::default(),
            stages: StageSettings::default(),
            categories: BTreeMap::new(),
            outreach: OutreachConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    TimeZone(#[from] UnknownTimeZone),
    #[error(transparent)]
    Stages(#[from] StageSettingsError),
    #[error(
        "rhythm.min_visits_for_personal_interval is {0}; it must be at least 2 (a personal interval needs a gap between two visits)"
    )]
    MinVisitsTooLow(u32),
    #[error(
        "rhythm.window_coverage is {0}; it must be between 0.5 and 0.99 (0.8 means the usual window holds 80% of a client's returns)"
    )]
    WindowCoverage(f64),
    #[error("rhythm.prior_strength is {0}; it must be zero or more")]
    PriorStrength(f64),
    #[error(
        "categories.\"{category}\".default_interval_days is {value}; it must be between 1 and 3650 days"
    )]
    CategoryInterval { category: String, value: f64 },
    #[error(transparent)]
    Outreach(#[from] OutreachError),
}

impl ConfigError {
    /// The field at fault as an RFC 6901 pointer into the configuration document.
    pub fn pointer(&self) -> String {
        match self {
            ConfigError::TimeZone(_) => "/timezone".to_owned(),
            ConfigError::Stages(_) => "/stages".to_owned(),
            ConfigError::MinVisitsTooLow(_) => {
                "/rhythm/min_visits_for_personal_interval".to_owned()
            }
            ConfigError::WindowCoverage(_) => "/rhythm/window_coverage".to_owned(),
            ConfigError::PriorStrength(_) => "/rhythm/prior_strength".to_owned(),
            ConfigError::CategoryInterval { category, .. } => {
                format!("/categories/{category}/default_interval_days")
            }
            ConfigError::Outreach(error) => error.pointer(),
        }
    }
}

impl BusinessConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.stages.validate()?;
        let rhythm = &self.rhythm;
        if rhythm.min_visits_for_personal_interval < 2 {
            return Err(ConfigError::MinVisitsTooLow(
                rhythm.min_visits_for_personal_interval,
            ));
        }
        if !(0.5..=0.99).contains(&rhythm.window_coverage) {
            return Err(ConfigError::WindowCoverage(rhythm.window_coverage));
        }
        if !(rhythm.prior_strength >= 0.0 && rhythm.prior_strength.is_finite()) {
            return Err(ConfigError::PriorStrength(rhythm.prior_strength));
        }
        for (category, settings) in &self.categories {
            if let Some(days) = settings.default_interval_days
                && !(1.0..=3650.0).contains(&days)
            {
                return Err(ConfigError::CategoryInterval {
                    category: category.to_string(),
                    value: days,
                });
            }
        }
        self.outreach.validate()?;
        Ok(())
    }

    pub fn default_interval_for(&self, category: &Category) -> Option<f64> {
        self.categories
            .get(category)
            .and_then(|c| c.default_interval_days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(BusinessConfig::default().validate(), Ok(()));
    }

    #[test]
    fn invalid_settings_name_their_field() {
        let mut config = BusinessConfig::default();
        config.rhythm.window_coverage = 1.5;
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .starts_with("rhythm.window_coverage")
        );
        let mut config = BusinessConfig::default();
        config.categories.insert(
            Category::parse("hair").unwrap(),
            CategorySettings {
                default_interval_days: Some(0.0),
            },
        );
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("categories.\"hair\"")
        );
    }
}
