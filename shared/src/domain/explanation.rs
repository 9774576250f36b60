//! The one line that says why a client is flagged, in numbers a person can check: their usual
//! interval and spread, their last visit, how far past their window they are, the probability
//! they do not come back within the horizon, their tier and any churn signal.

use std::fmt;

use crate::domain::churn_signal::ChurnSignal;
use crate::domain::day::Day;
use crate::domain::ids::Category;
use crate::domain::rfm::Tier;
use crate::domain::rhythm::{DefaultSource, IntervalSource, Rhythm};
use crate::domain::stage::Stage;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Explanation {
    pub category: Category,
    pub stage: Stage,
    pub rhythm: Rhythm,
    pub last_visit: Day,
    pub days_since_last_visit: i32,
    pub lapse_score: f64,
    pub horizon_days: u32,
    pub tier: Tier,
    pub has_future_booking: bool,
    pub signals: Vec<ChurnSignal>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.rhythm;
        write!(
            f,
            "{}: {}, usually every {:.0} days",
            self.category, self.stage, r.interval_days
        )?;
        match r.source {
            IntervalSource::Personal { visits } => write!(
                f,
                " (window {:.0}–{:.0}, from {visits} visits)",
                r.window_low_days, r.window_high_days
            )?,
            IntervalSource::CategoryDefault { visits, source } => {
                let from = match source {
                    DefaultSource::Configured => "the business's default".to_owned(),
                    DefaultSource::Learned { clients } => {
                        format!("the typical client of {clients}")
                    }
                    DefaultSource::Industry { industry } => format!("the {industry} preset"),
                };
                let plural = if visits == 1 { "" } else { "s" };
                write!(
                    f,
                    " ({from}: only {visits} visit{plural}; window up to {:.0})",
                    r.window_high_days
                )?
            }
        }
        write!(
            f,
            "; last visit {} ({} days ago",
            self.last_visit, self.days_since_last_visit
        )?;
        let past = f64::from(self.days_since_last_visit) - r.window_high_days;
        if past >= 0.5 {
            write!(f, ", {past:.0} days past the window")?;
        }
        write!(f, ")")?;
        if self.has_future_booking {
            write!(f, "; has a future booking")?;
        }
        write!(
            f,
            "; {:.0}% chance of no {} visit in the next {} days; tier {}",
            self.lapse_score * 100.0,
            self.category,
            self.horizon_days,
            self.tier
        )?;
        for signal in &self.signals {
            write!(f, "; {signal}")?;
        }
        Ok(())
    }
}
