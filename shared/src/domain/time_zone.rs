//! A time zone by its IANA name, checked against the time-zone database compiled into the
//! binary (the Lambda image has no `/usr/share/zoneinfo`), and the local day of an instant in it.

use std::fmt;

use crate::domain::day::Day;

/// A name that is not in the time-zone database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "timezone \"{0}\" is not an IANA time zone; use a name such as \"Europe/London\" or \"America/New_York\""
)]
pub struct UnknownTimeZone(pub String);

/// An IANA time-zone name, checked against the time-zone database compiled into the binary.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String, #[serde(skip)] jiff::tz::TimeZone);

impl TimeZoneName {
    pub fn parse(name: &str) -> Result<TimeZoneName, UnknownTimeZone> {
        let zone = jiff::tz::TimeZone::get(name.trim())
            .map_err(|_| UnknownTimeZone(name.trim().to_owned()))?;
        Ok(TimeZoneName(name.trim().to_owned(), zone))
    }

    /// The local day `at` falls on in this zone.
    pub fn day_of(&self, at: jiff::Timestamp) -> Day {
        Day::from(self.1.to_datetime(at).date())
    }

    pub fn utc() -> TimeZoneName {
        TimeZoneName("UTC".into(), jiff::tz::TimeZone::UTC)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn zone(&self) -> &jiff::tz::TimeZone {
        &self.1
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = UnknownTimeZone;
    fn try_from(name: String) -> Result<TimeZoneName, UnknownTimeZone> {
        TimeZoneName::parse(&name)
    }
}

impl From<TimeZoneName> for String {
    fn from(name: TimeZoneName) -> String {
        name.0
    }
}

impl fmt::Debug for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeZoneName({:?})", self.0)
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_come_from_the_compiled_in_database() {
        assert!(TimeZoneName::parse("Europe/London").is_ok());
        assert!(TimeZoneName::parse("Australia/Lord_Howe").is_ok());
        assert_eq!(
            TimeZoneName::parse("Mars/Olympus"),
            Err(UnknownTimeZone("Mars/Olympus".into()))
        );
    }
}
