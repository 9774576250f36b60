//! A calendar day in the business's own time zone.
//!
//! Visits, lapses and intervals are civil-date arithmetic: a client who came on the 1st and the
//! 29th came 28 days apart whatever the clocks did in between. A [`Day`] is stored as a count of
//! days since 1970-01-01 so per-client summaries stay small and gaps are one subtraction.

use std::fmt;

use jiff::civil::Date;

const EPOCH: Date = jiff::civil::date(1970, 1, 1);

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i32);

impl Day {
    /// 1970-01-01.
    pub const EPOCH: Day = Day(0);

    pub fn from_date(date: Date) -> Day {
        // Civil durations are whole days of 86,400 seconds, so this division is exact.
        Day((date.duration_since(EPOCH).as_secs() / 86_400) as i32)
    }

    pub fn date(self) -> Date {
        EPOCH
            .checked_add(jiff::SignedDuration::from_hours(24 * i64::from(self.0)))
            .expect("a Day is always made from a valid civil date")
    }

    /// Whole days from `earlier` to `self` (negative when `earlier` is later).
    pub fn days_since(self, earlier: Day) -> i32 {
        self.0 - earlier.0
    }

    pub fn plus_days(self, days: i32) -> Day {
        Day(self.0 + days)
    }

    /// The instant this day begins in `zone` (its first moment where a clock change skips
    /// midnight); `None` only for a day beyond the instants jiff can hold.
    pub fn start_in(self, zone: &jiff::tz::TimeZone) -> Option<jiff::Timestamp> {
        zone.to_ambiguous_timestamp(self.date().to_datetime(jiff::civil::Time::midnight()))
            .compatible()
            .ok()
    }
}

impl From<Date> for Day {
    fn from(date: Date) -> Day {
        Day::from_date(date)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.date(), f)
    }
}

impl fmt::Debug for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Day({})", self.date())
    }
}

impl serde::Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.date())
    }
}

impl<'de> serde::Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Day, D::Error> {
        let date: Date = serde::Deserialize::deserialize(deserializer)?;
        Ok(Day::from(date))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn days_round_trip_through_civil_dates() {
        for d in [
            date(1970, 1, 1),
            date(2024, 2, 29),
            date(1969, 12, 31),
            date(2099, 12, 31),
        ] {
            assert_eq!(Day::from_date(d).date(), d);
        }
    }

    #[test]
    fn gaps_are_whole_calendar_days_across_a_dst_change() {
        // Europe's spring-forward weekend in 2026 is 28–29 March.
        let before = Day::from(date(2026, 3, 28));
        let after = Day::from(date(2026, 4, 4));
        assert_eq!(after.days_since(before), 7);
    }
}
