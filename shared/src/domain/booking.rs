//! Bookings as the business's booking tool knows them.
//!
//! A booking has a status and one or more service lines, each with a category and a price.
//! Only completed bookings are visits; cancelled and no-show bookings are not. A booking that
//! lies after the as-of date is a future booking, whatever its status says, unless it was
//! cancelled.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use crate::domain::day::Day;
use crate::domain::ids::{BookingId, Category, ClientId, LocationId};
use crate::domain::time_zone::TimeZoneName;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Booked,
    Completed,
    Cancelled,
    NoShow,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a booking status; use booked, completed, cancelled or no_show")]
pub struct UnknownStatus(pub String);

impl FromStr for BookingStatus {
    type Err = UnknownStatus;

    /// Accepts the canonical names and the words common booking tools use for them.
    fn from_str(text: &str) -> Result<Self, UnknownStatus> {
        // The canonical spellings, without building a key.
        match text {
            "completed" => return Ok(BookingStatus::Completed),
            "booked" => return Ok(BookingStatus::Booked),
            "cancelled" => return Ok(BookingStatus::Cancelled),
            "no_show" => return Ok(BookingStatus::NoShow),
            _ => {}
        }
        let key: String = text
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        Ok(match key.as_str() {
            "completed" | "complete" | "done" | "attended" | "arrived" | "checkedout"
            | "checkedin" | "paid" | "finished" | "fulfilled" | "closed" | "visited" | "show"
            | "showed" => BookingStatus::Completed,
            "booked" | "confirmed" | "scheduled" | "pending" | "upcoming" | "reserved"
            | "accepted" | "unconfirmed" | "new" | "requested" => BookingStatus::Booked,
            "cancelled"
            | "canceled"
            | "cancellation"
            | "cancelledbyclient"
            | "canceledbyclient"
            | "cancelledbybusiness"
            | "canceledbybusiness"
            | "cancelledbystaff"
            | "canceledbystaff"
            | "latecancel"
            | "latecancellation"
            | "rescheduled"
            | "declined"
            | "rejected"
            | "deleted"
            | "void"
            | "voided" => BookingStatus::Cancelled,
            "noshow" | "noshowed" | "missed" | "dna" | "didnotattend" | "didnotarrive"
            | "absent" => BookingStatus::NoShow,
            _ => return Err(UnknownStatus(text.trim().to_owned())),
        })
    }
}

impl fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BookingStatus::Booked => "booked",
            BookingStatus::Completed => "completed",
            BookingStatus::Cancelled => "cancelled",
            BookingStatus::NoShow => "no_show",
        })
    }
}

/// A client's rating of a visit, on the business's scale (1–5 unless configured), from 0 to 10
/// in tenths. Stored in one byte that is never zero, so an `Option<Rating>` is one byte too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rating(std::num::NonZeroU8);

impl Rating {
    /// A rating from 0 to 10, rounded to tenths; `None` outside that range.
    pub fn new(value: f32) -> Option<Rating> {
        if !(0.0..=10.0).contains(&value) {
            return None;
        }
        std::num::NonZeroU8::new((value * 10.0).round() as u8 + 1).map(Rating)
    }

    pub fn value(self) -> f32 {
        f32::from(self.0.get() - 1) / 10.0
    }
}

impl serde::Serialize for Rating {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f32(self.value())
    }
}

/// One service of one booking: a row of a bookings export, borrowed from the reader's buffer
/// so that reading ten million rows allocates nothing per row.
///
/// A booking with several services arrives as several lines with the same client and day; a
/// multi-service booking is a visit in each of its categories, and two services of one category
/// on one day are one visit. The reader has validated every field: the client id is a valid
/// [`ClientId`](crate::domain::ids::ClientId) and the price is in the business's currency.
#[derive(Debug, Clone, Copy)]
pub struct BookingLine<'a> {
    pub client: &'a str,
    pub day: Day,
    pub status: BookingStatus,
    /// The category as written; [`Category::parse`](crate::domain::ids::Category::parse)
    /// normalises it.
    pub category: &'a str,
    pub price_minor: i64,
    pub service: Option<&'a str>,
    pub staff: Option<&'a str>,
    pub location: Option<&'a str>,
    pub rating: Option<Rating>,
    pub client_name: Option<&'a str>,
}

/// What a line means for a client's history as of a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A completed visit on or before the as-of day.
    Visit,
    /// A booking after the as-of day that still stands: the client is not overdue anywhere.
    FutureBooking,
    /// A past booking that never became a visit.
    Cancelled,
    NoShow,
}

impl BookingLine<'_> {
    /// Classifies the line as of `as_of`. A past booking still marked `booked` was never closed
    /// out in the booking tool; it is counted as the visit it almost certainly was.
    pub fn kind(&self, as_of: Day) -> LineKind {
        match self.status {
            BookingStatus::Cancelled => LineKind::Cancelled,
            _ if self.day > as_of => LineKind::FutureBooking,
            BookingStatus::NoShow => LineKind::NoShow,
            BookingStatus::Completed | BookingStatus::Booked => LineKind::Visit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn line(status: BookingStatus, day: Day) -> BookingLine<'static> {
        BookingLine {
            client: "c1",
            day,
            status,
            category: "hair",
            price_minor: 0,
            service: None,
            staff: None,
            location: None,
            rating: None,
            client_name: None,
        }
    }

    #[test]
    fn statuses_are_read_from_the_words_booking_tools_use() {
        assert_eq!("Checked Out".parse(), Ok(BookingStatus::Completed));
        assert_eq!("no-show".parse(), Ok(BookingStatus::NoShow));
        assert_eq!("Canceled".parse(), Ok(BookingStatus::Cancelled));
        assert_eq!("confirmed".parse(), Ok(BookingStatus::Booked));
        assert!("maybe".parse::<BookingStatus>().is_err());
    }

    #[test]
    fn cancelled_and_no_show_bookings_are_not_visits() {
        let as_of = Day::from(date(2026, 6, 1));
        let past = Day::from(date(2026, 5, 1));
        assert_eq!(
            line(BookingStatus::Cancelled, past).kind(as_of),
            LineKind::Cancelled
        );
        assert_eq!(
            line(BookingStatus::NoShow, past).kind(as_of),
            LineKind::NoShow
        );
        assert_eq!(
            line(BookingStatus::Completed, past).kind(as_of),
            LineKind::Visit
        );
    }

    #[test]
    fn a_booking_after_the_as_of_date_is_a_future_booking_unless_cancelled() {
        let as_of = Day::from(date(2026, 6, 1));
        let later = Day::from(date(2026, 6, 20));
        assert_eq!(
            line(BookingStatus::Booked, later).kind(as_of),
            LineKind::FutureBooking
        );
        assert_eq!(
            line(BookingStatus::Completed, later).kind(as_of),
            LineKind::FutureBooking
        );
        assert_eq!(
            line(BookingStatus::Cancelled, later).kind(as_of),
            LineKind::Cancelled
        );
    }
}

/// At most this many services in one booking: a transaction holds the booking and one cadence
/// per category, and DynamoDB allows 100 items in one.
pub const MAX_SERVICES_PER_BOOKING: usize = 20;

/// One service of a booking, with its category and what the client paid for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceLine {
    pub category: Category,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// In the business's currency's minor unit.
    pub price_minor: i64,
}

/// A booking as the booking tool sent it, validated: its latest known version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Booking {
    pub id: BookingId,
    pub client_id: ClientId,
    pub status: BookingStatus,
    pub starts_at: Timestamp,
    /// When the booking tool last changed the booking: the version. An older version never
    /// overwrites a newer one.
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<LocationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    pub services: Vec<ServiceLine>,
    /// A winback offer code the client redeemed with this booking, as the booking tool took it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_code: Option<String>,
}

/// How an incoming version of a booking relates to the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionOrder {
    /// Nothing stored yet.
    New,
    /// The incoming version is newer: it replaces the stored one.
    Newer,
    /// The same version again (a retry): nothing changes.
    Duplicate,
    /// An older version, arriving late: nothing changes.
    Stale,
    /// The same `updated_at` with different content: the booking tool must send a new version.
    Conflicting,
}

impl Booking {
    /// The day of the booking in the business's time zone.
    pub fn day(&self, timezone: &TimeZoneName) -> Day {
        timezone.day_of(self.starts_at)
    }

    /// Whether the booking is a visit in its categories (completed).
    pub fn is_visit(&self) -> bool {
        self.status == BookingStatus::Completed
    }

    /// Whether it is a booking still to come on `today` or later: any such booking means the
    /// client is not overdue anywhere.
    pub fn is_future_booking(&self, today: Day, timezone: &TimeZoneName) -> bool {
        matches!(
            self.status,
            BookingStatus::Booked | BookingStatus::Completed
        ) && self.day(timezone) > today
    }

    /// The categories this booking touches, each once.
    pub fn categories(&self) -> impl Iterator<Item = &Category> {
        let mut seen: Vec<&Category> = Vec::with_capacity(self.services.len());
        self.services.iter().filter_map(move |line| {
            if seen.contains(&&line.category) {
                None
            } else {
                seen.push(&line.category);
                Some(&line.category)
            }
        })
    }

    pub fn compare_with(&self, stored: Option<&Booking>) -> VersionOrder {
        let Some(stored) = stored else {
            return VersionOrder::New;
        };
        match self.updated_at.cmp(&stored.updated_at) {
            std::cmp::Ordering::Greater => VersionOrder::Newer,
            std::cmp::Ordering::Less => VersionOrder::Stale,
            std::cmp::Ordering::Equal if self == stored => VersionOrder::Duplicate,
            std::cmp::Ordering::Equal => VersionOrder::Conflicting,
        }
    }
}

#[cfg(test)]
mod record_tests {
    use super::*;

    pub(crate) fn booking(id: &str, starts_at: &str, updated_at: &str) -> Booking {
        Booking {
            id: BookingId::parse(id).unwrap(),
            client_id: ClientId::parse("c1").unwrap(),
            status: BookingStatus::Completed,
            starts_at: starts_at.parse().unwrap(),
            updated_at: updated_at.parse().unwrap(),
            location_id: None,
            staff: None,
            offer_code: None,
            services: vec![ServiceLine {
                category: Category::parse("hair").unwrap(),
                name: Some("Cut".into()),
                price_minor: 4500,
            }],
        }
    }

    #[test]
    fn a_later_updated_at_wins_and_an_earlier_one_changes_nothing() {
        let stored = booking("b1", "2026-11-01T10:00:00Z", "2026-11-01T12:00:00Z");
        let newer = booking("b1", "2026-11-02T10:00:00Z", "2026-11-02T08:00:00Z");
        let older = booking("b1", "2026-10-30T10:00:00Z", "2026-10-30T08:00:00Z");
        assert_eq!(stored.compare_with(None), VersionOrder::New);
        assert_eq!(newer.compare_with(Some(&stored)), VersionOrder::Newer);
        assert_eq!(older.compare_with(Some(&stored)), VersionOrder::Stale);
        assert_eq!(stored.compare_with(Some(&stored)), VersionOrder::Duplicate);
        let mut changed = stored.clone();
        changed.status = BookingStatus::Cancelled;
        assert_eq!(
            changed.compare_with(Some(&stored)),
            VersionOrder::Conflicting
        );
    }

    #[test]
    fn a_booking_late_in_the_evening_falls_on_the_business_s_local_day() {
        let b = booking("b1", "2026-11-20T23:30:00-08:00", "2026-11-20T12:00:00Z");
        let la = TimeZoneName::parse("America/Los_Angeles").unwrap();
        assert_eq!(b.day(&la).to_string(), "2026-11-20");
        assert_eq!(b.day(&TimeZoneName::utc()).to_string(), "2026-11-21");
    }
}
