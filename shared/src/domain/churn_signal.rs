//! Churn-reason signals: why a client may have drifted, where the data shows it.
//!
//! - a low rating of the last visit → acknowledge and make it right;
//! - the price of their usual service went up since their last visit → a loyalty offer;
//! - their intervals have been lengthening → a reason to return.
//!
//! None of these is "simply forgotten", which is what a client with no signal gets: a reminder.

use std::fmt;
use std::sync::Arc;

use crate::domain::cadence::{Cadence, Label};
use crate::domain::day::Day;

/// How much longer the recent gaps must be than the earlier ones to call it drift.
const LENGTHENING_RATIO: f64 = 1.3;
/// A price change smaller than this share is rounding, not an increase.
const PRICE_RISE_MIN_SHARE: f64 = 0.02;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "signal")]
pub enum ChurnSignal {
    LowRating {
        rating: f32,
    },
    PriceIncrease {
        service: Arc<str>,
        paid_minor: i64,
        now_minor: i64,
    },
    IntervalsLengthening {
        earlier_days: f64,
        recent_days: f64,
    },
}

impl ChurnSignal {
    pub fn name(&self) -> &'static str {
        match self {
            ChurnSignal::LowRating { .. } => "low_rating",
            ChurnSignal::PriceIncrease { .. } => "price_increase",
            ChurnSignal::IntervalsLengthening { .. } => "intervals_lengthening",
        }
    }
}

impl fmt::Display for ChurnSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChurnSignal::LowRating { rating } => write!(f, "rated the last visit {rating}"),
            ChurnSignal::PriceIncrease {
                service,
                paid_minor,
                now_minor,
            } => {
                let rise = (*now_minor as f64 / *paid_minor as f64 - 1.0) * 100.0;
                write!(f, "{service} price up {rise:.0}% since the last visit")
            }
            ChurnSignal::IntervalsLengthening {
                earlier_days,
                recent_days,
            } => {
                write!(
                    f,
                    "gaps lengthening from {earlier_days:.0} to {recent_days:.0} days"
                )
            }
        }
    }
}

/// The latest price the business charged for a service, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentPrice {
    pub day: Day,
    pub minor: i64,
}

/// The signals a client's cadence shows. `current_price` looks up the business's latest price
/// of a service and its name; `low_rating_at_most` is the business's rating at or below which
/// a visit went badly.
pub fn signals(
    cadence: &Cadence,
    current_price: impl Fn(Label) -> Option<(CurrentPrice, Arc<str>)>,
    low_rating_at_most: f32,
) -> Vec<ChurnSignal> {
    let mut found = Vec::new();
    let last = &cadence.last_visit;
    if let Some(rating) = last.rating
        && rating.value() <= low_rating_at_most
    {
        found.push(ChurnSignal::LowRating {
            rating: rating.value(),
        });
    }
    if let Some(service) = last.service
        && let Some((now, name)) = current_price(service)
        && now.day > cadence.days.last()
        && last.service_price_minor > 0
        && now.minor as f64 > last.service_price_minor as f64 * (1.0 + PRICE_RISE_MIN_SHARE)
    {
        found.push(ChurnSignal::PriceIncrease {
            service: name,
            paid_minor: last.service_price_minor,
            now_minor: now.minor,
        });
    }
    if let Some(signal) = lengthening(&cadence.days.recent_gaps().collect::<Vec<_>>()) {
        found.push(signal);
    }
    found
}

/// Drift: the last two gaps are both longer than the earlier usual gap by a clear margin, and
/// the last is the longest yet. Needs at least four gaps.
pub fn lengthening(gaps: &[i32]) -> Option<ChurnSignal> {
    if gaps.len() < 4 {
        return None;
    }
    let (earlier, recent) = gaps.split_at(gaps.len() - 2);
    let mut earlier_sorted: Vec<i32> = earlier.to_vec();
    earlier_sorted.sort_unstable();
    let earlier_median = f64::from(earlier_sorted[earlier_sorted.len() / 2]);
    let recent_mean = f64::from(recent[0] + recent[1]) / 2.0;
    let growing = recent[1] >= recent[0] && f64::from(recent[0]) > earlier_median;
    (growing && recent_mean >= LENGTHENING_RATIO * earlier_median).then_some(
        ChurnSignal::IntervalsLengthening {
            earlier_days: earlier_median,
            recent_days: recent_mean,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::booking::Rating;
    use crate::domain::cadence::VisitLine;
    use jiff::civil::date;

    fn cadence_with_gaps(
        gaps: &[i32],
        last_service: Option<Label>,
        price: i64,
        rating: Option<Rating>,
    ) -> Cadence {
        let mut day = Day::from(date(2025, 1, 1));
        let mut cadence = Cadence::new(VisitLine {
            day,
            price_minor: price,
            service: last_service,
            staff: None,
            rating: None,
        });
        for (i, gap) in gaps.iter().enumerate() {
            day = day.plus_days(*gap);
            let last = i == gaps.len() - 1;
            cadence.record(VisitLine {
                day,
                price_minor: price,
                service: last_service,
                staff: None,
                rating: if last { rating } else { None },
            });
        }
        cadence
    }

    #[test]
    fn a_low_rating_of_the_last_visit_is_a_churn_signal() {
        let cadence = cadence_with_gaps(&[30, 30], None, 5000, Rating::new(1.0));
        assert_eq!(
            signals(&cadence, |_| None, 2.0),
            vec![ChurnSignal::LowRating { rating: 1.0 }]
        );
        let happy = cadence_with_gaps(&[30, 30], None, 5000, Rating::new(5.0));
        assert!(signals(&happy, |_| None, 2.0).is_empty());
    }

    #[test]
    fn a_price_increase_after_the_last_visit_is_a_churn_signal() {
        let cut: Arc<str> = Arc::from("cut");
        let cadence = cadence_with_gaps(&[30, 30], Some(Label::new(7)), 4000, None);
        let after = cadence.days.last().plus_days(10);
        let raised = signals(
            &cadence,
            |_| {
                Some((
                    CurrentPrice {
                        day: after,
                        minor: 4800,
                    },
                    cut.clone(),
                ))
            },
            2.0,
        );
        assert_eq!(
            raised,
            vec![ChurnSignal::PriceIncrease {
                service: cut.clone(),
                paid_minor: 4000,
                now_minor: 4800
            }]
        );
        assert_eq!(
            raised[0].to_string(),
            "cut price up 20% since the last visit"
        );
        // A rise the client has already paid is no reason to leave.
        let before = cadence.days.last().plus_days(-5);
        assert!(
            signals(
                &cadence,
                |_| Some((
                    CurrentPrice {
                        day: before,
                        minor: 4800
                    },
                    cut.clone()
                )),
                2.0
            )
            .is_empty()
        );
    }

    #[test]
    fn lengthening_intervals_are_a_churn_signal_of_gradual_drift() {
        let drifting = cadence_with_gaps(&[30, 31, 29, 45, 60], None, 0, None);
        assert!(matches!(
            signals(&drifting, |_| None, 2.0)[..],
            [ChurnSignal::IntervalsLengthening { .. }]
        ));
        let steady = cadence_with_gaps(&[30, 31, 29, 30, 32], None, 0, None);
        assert!(signals(&steady, |_| None, 2.0).is_empty());
    }

    #[test]
    fn a_client_may_carry_no_signal() {
        assert!(signals(&cadence_with_gaps(&[40], None, 0, None), |_| None, 2.0).is_empty());
    }
}
