//! Stages of drifting away: active → due → at-risk → lapsed → dormant → lost.
//!
//! Each stage starts at a configurable multiple of the client's interval since their last
//! visit (books every 4 weeks: due at 4, at-risk at 5, lapsed at 6). Reaching out before a
//! client would have come back anyway lowers return rates, so at-risk and lapsed also wait for
//! the upper edge of the client's own usual window: an irregular client is not chased at the
//! first day past their mean. Any future booking, in any category, means not overdue.

use std::fmt;

use crate::domain::rhythm::Rhythm;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Active,
    Due,
    AtRisk,
    Lapsed,
    Dormant,
    Lost,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Active,
        Stage::Due,
        Stage::AtRisk,
        Stage::Lapsed,
        Stage::Dormant,
        Stage::Lost,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Active => "active",
            Stage::Due => "due",
            Stage::AtRisk => "at-risk",
            Stage::Lapsed => "lapsed",
            Stage::Dormant => "dormant",
            Stage::Lost => "lost",
        }
    }

    /// The stage called `name` (as [`Stage::name`] writes it).
    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| stage.name() == name)
    }

    /// Stages in which a client has drifted past their window and is worth a message.
    pub fn is_overdue(self) -> bool {
        matches!(self, Stage::AtRisk | Stage::Lapsed | Stage::Dormant)
    }

    /// Stages whose clients' past yearly spend is the revenue at stake: lapsed and dormant
    /// clients are gone for now but not for good; lost ones are counted apart.
    pub fn counts_toward_revenue_at_stake(self) -> bool {
        matches!(self, Stage::Lapsed | Stage::Dormant)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The multiples of a client's interval at which each stage starts.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StageSettings {
    pub due: f64,
    pub at_risk: f64,
    pub lapsed: f64,
    pub dormant: f64,
    pub lost: f64,
    /// A client whose last visit is older than this many days is lost whatever their rhythm.
    pub max_age_days: u32,
}

impl Default for StageSettings {
    fn default() -> Self {
        StageSettings {
            due: 1.0,
            at_risk: 1.25,
            lapsed: 1.5,
            dormant: 3.0,
            lost: 6.0,
            max_age_days: 730,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageSettingsError {
    #[error("stages.{field} is {value}; stage multiples must be greater than zero")]
    NotPositive { field: &'static str, value: String },
    #[error(
        "stages.{later} ({later_value}) must be greater than stages.{earlier} ({earlier_value}): stages come in the order due, at_risk, lapsed, dormant, lost"
    )]
    OutOfOrder {
        earlier: &'static str,
        earlier_value: String,
        later: &'static str,
        later_value: String,
    },
    #[error("stages.max_age_days must be at least 1")]
    ZeroMaxAge,
}

impl StageSettings {
    pub fn validate(&self) -> Result<(), StageSettingsError> {
        let fields = [
            ("due", self.due),
            ("at_risk", self.at_risk),
            ("lapsed", self.lapsed),
            ("dormant", self.dormant),
            ("lost", self.lost),
        ];
        for (field, value) in fields {
            if !(value > 0.0 && value.is_finite()) {
                return Err(StageSettingsError::NotPositive {
                    field,
                    value: value.to_string(),
                });
            }
        }
        for pair in fields.windows(2) {
            let ((earlier, a), (later, b)) = (pair[0], pair[1]);
            if b <= a {
                return Err(StageSettingsError::OutOfOrder {
                    earlier,
                    earlier_value: a.to_string(),
                    later,
                    later_value: b.to_string(),
                });
            }
        }
        if self.max_age_days == 0 {
            return Err(StageSettingsError::ZeroMaxAge);
        }
        Ok(())
    }
}

/// Days since the last visit at which a client enters each stage after active.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StageThresholds {
    pub due: f64,
    pub at_risk: f64,
    pub lapsed: f64,
    pub dormant: f64,
    pub lost: f64,
}

impl StageThresholds {
    pub fn new(rhythm: &Rhythm, settings: &StageSettings) -> StageThresholds {
        let interval = rhythm.interval_days;
        let due = settings.due * interval;
        // Never chase before the client's own window has closed.
        let at_risk = (settings.at_risk * interval)
            .max(rhythm.window_high_days)
            .max(due);
        let lapsed = (settings.lapsed * interval).max(at_risk);
        let dormant = (settings.dormant * interval).max(lapsed);
        let lost = (settings.lost * interval)
            .max(dormant)
            .min(f64::from(settings.max_age_days).max(dormant));
        StageThresholds {
            due,
            at_risk,
            lapsed,
            dormant,
            lost,
        }
    }

    /// The stage of a client `days_since_last_visit` after their last visit in the category.
    /// A client with any future booking is active: they are coming back.
    pub fn stage(
        &self,
        days_since_last_visit: f64,
        has_future_booking: bool,
        settings: &StageSettings,
    ) -> Stage {
        let d = days_since_last_visit;
        if has_future_booking {
            Stage::Active
        } else if d >= self.lost || d > f64::from(settings.max_age_days) {
            Stage::Lost
        } else if d >= self.dormant {
            Stage::Dormant
        } else if d >= self.lapsed {
            Stage::Lapsed
        } else if d >= self.at_risk {
            Stage::AtRisk
        } else if d >= self.due {
            Stage::Due
        } else {
            Stage::Active
        }
    }

    /// The threshold a stage starts at (0 for active).
    pub fn start_of(&self, stage: Stage) -> f64 {
        match stage {
            Stage::Active => 0.0,
            Stage::Due => self.due,
            Stage::AtRisk => self.at_risk,
            Stage::Lapsed => self.lapsed,
            Stage::Dormant => self.dormant,
            Stage::Lost => self.lost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::industry::Industry;
    use crate::domain::rhythm::{CategoryPrior, GapStats, RhythmSettings, rhythm};

    fn monthly_client() -> Rhythm {
        let stats = GapStats::from_gaps([28, 28, 28, 28, 28, 28]).unwrap();
        let prior = CategoryPrior::fit([], None, Industry::Salon, &RhythmSettings::default());
        rhythm(Some(&stats), 7, &prior, &RhythmSettings::default())
    }

    fn stage_after(days: f64, future: bool) -> Stage {
        let settings = StageSettings::default();
        StageThresholds::new(&monthly_client(), &settings).stage(days, future, &settings)
    }

    #[test]
    fn client_with_monthly_rhythm_is_due_at_four_weeks_at_risk_at_five_and_lapsed_at_six() {
        assert_eq!(stage_after(20.0, false), Stage::Active);
        assert_eq!(stage_after(28.0, false), Stage::Due);
        assert_eq!(stage_after(36.0, false), Stage::AtRisk);
        assert_eq!(stage_after(42.0, false), Stage::Lapsed);
        assert_eq!(stage_after(90.0, false), Stage::Dormant);
        assert_eq!(stage_after(200.0, false), Stage::Lost);
    }

    #[test]
    fn any_future_booking_means_not_overdue() {
        assert_eq!(stage_after(60.0, true), Stage::Active);
        assert!(!stage_after(60.0, true).is_overdue());
    }

    #[test]
    fn an_irregular_client_is_not_at_risk_before_their_usual_window_closes() {
        let stats = GapStats::from_gaps([20, 40, 28, 45, 22, 35]).unwrap();
        let prior = CategoryPrior::fit([], None, Industry::Salon, &RhythmSettings::default());
        let irregular = rhythm(Some(&stats), 7, &prior, &RhythmSettings::default());
        let thresholds = StageThresholds::new(&irregular, &StageSettings::default());
        assert!(thresholds.at_risk >= irregular.window_high_days);
        assert!(thresholds.at_risk > 1.25 * irregular.interval_days);
    }

    #[test]
    fn a_client_past_the_maximum_age_is_lost_whatever_their_rhythm() {
        let yearly = GapStats::from_gaps([365, 365, 365]).unwrap();
        let prior = CategoryPrior::fit([], None, Industry::Salon, &RhythmSettings::default());
        let r = rhythm(Some(&yearly), 4, &prior, &RhythmSettings::default());
        let settings = StageSettings::default();
        assert_eq!(
            StageThresholds::new(&r, &settings).stage(800.0, false, &settings),
            Stage::Lost
        );
    }

    #[test]
    fn stage_multiples_must_increase() {
        let settings = StageSettings {
            lapsed: 1.2,
            ..StageSettings::default()
        };
        assert!(matches!(
            settings.validate(),
            Err(StageSettingsError::OutOfOrder {
                later: "lapsed",
                ..
            })
        ));
        assert!(
            StageSettings {
                due: 0.0,
                ..StageSettings::default()
            }
            .validate()
            .is_err()
        );
        assert!(StageSettings::default().validate().is_ok());
    }
}
