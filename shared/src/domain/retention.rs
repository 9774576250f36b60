//! How long the records kept only for counting are kept, the same on every store: DynamoDB
//! expires them by TTL, SQLite deletes them as it writes newer ones.
//!
//! A record of day `D` kept for `n` days is gone from day `D + n` on (DynamoDB: its TTL is
//! midnight UTC starting that day).

use crate::domain::day::Day;

/// A business's email counts per day (sent, bounced, complained): longer than the reputation
/// window they are read over.
pub const MAIL_COUNTS_DAYS: i32 = 60;

/// The count of first messages per day and channel (the daily cap): only today's matters.
pub const DAILY_COUNTS_DAYS: i32 = 7;

/// The first day of `keep_days` whose records are still kept on `today`.
pub fn oldest_kept(today: Day, keep_days: i32) -> Day {
    today.plus_days(1 - keep_days)
}

/// The day a record of `day` kept for `keep_days` is gone from.
pub fn gone_from(day: Day, keep_days: i32) -> Day {
    day.plus_days(keep_days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::from(text.parse::<jiff::civil::Date>().unwrap())
    }

    #[test]
    fn mail_counts_are_kept_sixty_days_and_gone_on_the_sixtieth() {
        let counted = day("2026-03-01");
        let gone = gone_from(counted, MAIL_COUNTS_DAYS);
        assert_eq!(gone, day("2026-04-30"));
        assert_eq!(oldest_kept(gone, MAIL_COUNTS_DAYS), counted.plus_days(1));
        assert_eq!(oldest_kept(gone.plus_days(-1), MAIL_COUNTS_DAYS), counted);
    }

    #[test]
    fn every_store_keeps_the_reputation_window_of_mail_counts() {
        let today = day("2026-06-01");
        let (from, _) = crate::domain::reputation::window(today);
        assert!(oldest_kept(today, MAIL_COUNTS_DAYS) <= from);
    }
}
