//! The day of a booking, from the many ways booking tools write it.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};

use crate::domain::day::Day;
use crate::domain::time_zone::TimeZoneName;

/// The earliest and latest years accepted: anything outside is a typo, not a booking.
pub(super) const YEARS: std::ops::RangeInclusive<i16> = 1970..=2100;

/// Why a value is not the day of a booking: said to the person who exported the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error(
        "\"{0}\" is not a date: use YYYY-MM-DD or an RFC 3339 date-time (2026-03-01T14:30:00Z), \
         or give the layout with --date-format (e.g. \"%d/%m/%Y\")"
    )]
    NotADate(String),
    #[error("\"{text}\" does not match the date format \"{format}\"")]
    NotInFormat { text: String, format: String },
    #[error("{0} is out of range; bookings must fall between 1970 and 2100")]
    OutOfRange(Date),
}

/// Reads the day of a booking: an ISO date, an RFC 3339 date-time (converted to the business's
/// zone), a local date-time, or the caller's own layout.
pub(super) fn parse_day(
    text: &str,
    timezone: &TimeZoneName,
    format: Option<&str>,
) -> Result<Day, DateError> {
    let date = if let Some(format) = format {
        jiff::fmt::strtime::parse(format, text)
            .and_then(|parsed| parsed.to_date())
            .map_err(|_| DateError::NotInFormat {
                text: text.to_owned(),
                format: format.to_owned(),
            })?
    } else if let Some(date) = iso_date_prefix(text) {
        // A plain date, or a local date-time whose day is its date.
        if text.len() > 10 && !is_local_time(&text[10..]) {
            return parse_instant_day(text, timezone);
        }
        date
    } else if has_offset(text) {
        return parse_instant_day(text, timezone);
    } else {
        // A local date-time is already in the business's zone.
        text.parse::<DateTime>()
            .map_err(|_| DateError::NotADate(text.to_owned()))?
            .date()
    };
    if !YEARS.contains(&date.year()) {
        return Err(DateError::OutOfRange(date));
    }
    Ok(Day::from(date))
}

/// The date at the start of `YYYY-MM-DD...`, read without the general parser: most exports
/// write every row this way.
pub(super) fn iso_date_prefix(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i16> {
        b[range].iter().try_fold(0_i16, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i16::from(d - b'0'))
        })
    };
    Date::new(number(0..4)?, number(5..7)? as i8, number(8..10)? as i8).ok()
}

/// Whether what follows a date is a plain local time: `T14:30`, ` 14:30:05`, `T14:30:05.250`.
/// Only its shape matters: the day is the date before it.
pub(super) fn is_local_time(rest: &str) -> bool {
    let b = rest.as_bytes();
    let two_digits = |at: usize, max: u8| {
        b.get(at..at + 2).is_some_and(|d| {
            d[0].is_ascii_digit()
                && d[1].is_ascii_digit()
                && (d[0] - b'0') * 10 + (d[1] - b'0') <= max
        })
    };
    let starts = matches!(b.first(), Some(b'T' | b't' | b' '));
    if !(starts && two_digits(1, 23) && b.get(3) == Some(&b':') && two_digits(4, 59)) {
        return false;
    }
    let mut at = 6;
    if b.get(at) == Some(&b':') {
        if !two_digits(at + 1, 60) {
            return false;
        }
        at += 3;
        if matches!(b.get(at), Some(b'.' | b',')) {
            let digits = b[at + 1..]
                .iter()
                .take_while(|d| d.is_ascii_digit())
                .count();
            if digits == 0 {
                return false;
            }
            at += 1 + digits;
        }
    }
    at == b.len()
}

pub(super) fn has_offset_suffix(time: &str) -> bool {
    time.ends_with(['Z', 'z']) || time.contains(['+', '-'])
}

pub(super) fn parse_instant_day(text: &str, timezone: &TimeZoneName) -> Result<Day, DateError> {
    let timestamp = text
        .parse::<Timestamp>()
        .map_err(|_| DateError::NotADate(text.to_owned()))?;
    let date = timezone.zone().to_datetime(timestamp).date();
    if !YEARS.contains(&date.year()) {
        return Err(DateError::OutOfRange(date));
    }
    Ok(Day::from(date))
}

/// Whether a date-time names its offset (`Z`, `+01:00`, `-0500`), and so is an instant.
pub(super) fn has_offset(text: &str) -> bool {
    has_offset_suffix(text.get(10..).unwrap_or(""))
}
