//! Who came back because of a message, and how many would have anyway.
//!
//! A booking is a **reactivation** of an enrollment when it comes after a message of it, within
//! the attribution window, and includes a service of the enrollment's category (a package that
//! contains one counts); it is credited to the last message sent before it. Control-group
//! clients who come back within the same window after they were enrolled are counted the same
//! way, so the report can show the **incremental** effect: the messaged group's return rate
//! minus the control group's, with a 95 % interval that stays honest for a 300-client salon.

use jiff::Timestamp;

use crate::domain::day::Day;
use crate::domain::ids::Category;

/// A message sent, as attribution needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentMessage {
    pub step: u16,
    pub at: Timestamp,
}

/// The step a booking made at `booked_at` with `categories` is credited to, if it is a
/// reactivation of an enrollment in `category` whose messages were `sent`.
pub fn credited_step(
    category: &Category,
    sent: &[SentMessage],
    booked_at: Timestamp,
    categories: &[&Category],
    window_days: u16,
) -> Option<u16> {
    if !categories.contains(&category) {
        return None;
    }
    let last = sent
        .iter()
        .filter(|m| m.at <= booked_at)
        .max_by_key(|m| m.at)?;
    let window = jiff::SignedDuration::from_hours(24 * i64::from(window_days));
    (booked_at.duration_since(last.at) <= window).then_some(last.step)
}

/// A control-group client's return counts when it falls within the window after enrollment.
pub fn control_returned(
    enrolled_at: Timestamp,
    booked_at: Timestamp,
    category: &Category,
    categories: &[&Category],
    window_days: u16,
) -> bool {
    let window = jiff::SignedDuration::from_hours(24 * i64::from(window_days));
    categories.contains(&category)
        && booked_at >= enrolled_at
        && booked_at.duration_since(enrolled_at) <= window
}

/// The difference of two return rates, messaged minus control, with its 95 % interval
/// (Newcombe's hybrid score interval from two Wilson intervals: sound for small groups and
/// rates near 0 or 1, where the plain normal interval is not).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Lift {
    pub messaged_rate: f64,
    pub control_rate: f64,
    /// Percentage points the messages added.
    pub difference: f64,
    pub low: f64,
    pub high: f64,
}

const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval of `successes` out of `trials`.
fn wilson(successes: u64, trials: u64) -> (f64, f64, f64) {
    if trials == 0 {
        return (0.0, 0.0, 1.0);
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    (p, (centre - half).max(0.0), (centre + half).min(1.0))
}

/// The lift of `messaged` returns out of `messaged_total` over `control` out of
/// `control_total`; `None` while either group is empty.
pub fn lift(messaged: u64, messaged_total: u64, control: u64, control_total: u64) -> Option<Lift> {
    if messaged_total == 0 || control_total == 0 {
        return None;
    }
    let (p1, l1, u1) = wilson(messaged, messaged_total);
    let (p2, l2, u2) = wilson(control, control_total);
    let d = p1 - p2;
    let low = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let high = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Some(Lift {
        messaged_rate: p1,
        control_rate: p2,
        difference: d,
        low,
        high,
    })
}

/// The period a report covers when none is asked for: the last 90 days, the window returns are
/// usually measured over.
pub const DEFAULT_REPORT_DAYS: i32 = 90;
/// The longest period one report covers.
pub const MAX_REPORT_DAYS: i32 = 3 * 366;

/// Why a report cannot cover the period asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("from ({from}) is after to ({through})")]
    Reversed { from: Day, through: Day },
    #[error("{from} to {through} is longer than three years")]
    TooLong { from: Day, through: Day },
}

/// The days a report covers, both included: `through` (today by default), and `from` (the
/// last 90 days by default).
pub fn report_period(
    from: Option<Day>,
    through: Option<Day>,
    today: Day,
) -> Result<(Day, Day), PeriodError> {
    let through = through.unwrap_or(today);
    let from = from.unwrap_or_else(|| through.plus_days(1 - DEFAULT_REPORT_DAYS));
    match through.days_since(from) {
        span if span < 0 => Err(PeriodError::Reversed { from, through }),
        span if span >= MAX_REPORT_DAYS => Err(PeriodError::TooLong { from, through }),
        _ => Ok((from, through)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn hair() -> Category {
        Category::parse("hair").unwrap()
    }

    #[test]
    fn a_report_covers_the_last_90_days_by_default_and_at_most_three_years() {
        let day = |text: &str| Day::from(text.parse::<jiff::civil::Date>().unwrap());
        let today = day("2026-11-30");
        assert_eq!(
            report_period(None, None, today),
            Ok((day("2026-09-02"), today))
        );
        assert_eq!(
            report_period(Some(day("2026-11-01")), Some(day("2026-11-01")), today),
            Ok((day("2026-11-01"), day("2026-11-01")))
        );
        assert!(matches!(
            report_period(Some(day("2026-11-02")), Some(day("2026-11-01")), today),
            Err(PeriodError::Reversed { .. })
        ));
        assert!(matches!(
            report_period(Some(day("2020-01-01")), None, today),
            Err(PeriodError::TooLong { .. })
        ));
    }

    #[test]
    fn a_booking_in_the_category_within_the_window_is_credited_to_the_last_message_before_it() {
        let sent = [
            SentMessage {
                step: 0,
                at: at("2026-11-01T09:00:00Z"),
            },
            SentMessage {
                step: 1,
                at: at("2026-11-08T09:00:00Z"),
            },
            SentMessage {
                step: 2,
                at: at("2026-11-15T09:00:00Z"),
            },
        ];
        let nails = Category::parse("nails").unwrap();
        let booked = at("2026-11-10T12:00:00Z");
        assert_eq!(
            credited_step(&hair(), &sent, booked, &[&nails, &hair()], 90),
            Some(1)
        );
        // A package containing the category counts; another category alone does not.
        assert_eq!(credited_step(&hair(), &sent, booked, &[&nails], 90), None);
        // Outside the window, or before any message: not a reactivation.
        assert_eq!(
            credited_step(&hair(), &sent, at("2027-03-01T00:00:00Z"), &[&hair()], 90),
            None
        );
        assert_eq!(
            credited_step(&hair(), &sent, at("2026-10-30T00:00:00Z"), &[&hair()], 90),
            None
        );
    }

    #[test]
    fn control_group_returns_are_counted_the_same_way() {
        let enrolled = at("2026-11-01T06:00:00Z");
        assert!(control_returned(
            enrolled,
            at("2026-12-01T10:00:00Z"),
            &hair(),
            &[&hair()],
            90
        ));
        assert!(!control_returned(
            enrolled,
            at("2027-03-01T10:00:00Z"),
            &hair(),
            &[&hair()],
            90
        ));
    }

    #[test]
    fn lift_has_an_honest_interval_for_a_small_salon() {
        // 270 messaged, 41 came back (15.2 %); 30 held back, 2 came back (6.7 %).
        let small = lift(41, 270, 2, 30).unwrap();
        assert!((small.difference - (41.0 / 270.0 - 2.0 / 30.0)).abs() < 1e-12);
        assert!(small.low < 0.0 && small.high > 0.15, "{small:?}");
        // Ten times as many clients: the same rates, a much narrower interval above zero.
        let large = lift(410, 2700, 20, 300).unwrap();
        assert!(large.low > 0.0, "{large:?}");
        assert!(large.high - large.low < small.high - small.low);
        assert_eq!(lift(5, 10, 0, 0), None);
        // Nobody returning anywhere: rates of zero, an interval around zero.
        let none = lift(0, 50, 0, 10).unwrap();
        assert_eq!(none.difference, 0.0);
        assert!(none.low < 0.0 && none.high > 0.0);
    }
}
