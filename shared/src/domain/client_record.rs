//! What is stored about one client, as one read returns it: the profile, the bookings, the
//! per-category cadences with their watch days, and the outreach with the version it was read
//! at. The detector's and the delivery's decisions are made on it.

use crate::domain::booking::Booking;
use crate::domain::category_cadence::{CategoryCadence, Watch};
use crate::domain::client::ClientProfile;
use crate::domain::day::Day;
use crate::domain::enrollment::Outreach;
use crate::domain::time_zone::TimeZoneName;

/// A cadence as stored: the aggregate and when it is next looked at.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredCadence {
    pub cadence: CategoryCadence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<Watch>,
}

/// Everything stored about one client: one read.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientRecord {
    /// `None` when only bookings have arrived for the client so far.
    pub profile: Option<ClientProfile>,
    /// Each booking at its latest version, ordered by start.
    pub bookings: Vec<Booking>,
    /// One per category with at least one visit, ordered by category.
    pub cadences: Vec<StoredCadence>,
    /// The client's outreach (empty when they were never enrolled) and the version it was read
    /// at, which a change to it is conditional on.
    pub outreach: Outreach,
    pub outreach_version: u64,
}

impl ClientRecord {
    /// The client's local day at `now`: in their own time zone, or the business's.
    pub fn local_day(&self, business: &TimeZoneName, now: jiff::Timestamp) -> Day {
        Day::from(self.zone(business).to_datetime(now).date())
    }

    /// The client's time zone: their own, or the business's.
    pub fn zone(&self, business: &TimeZoneName) -> jiff::tz::TimeZone {
        self.profile
            .as_ref()
            .and_then(|p| p.timezone.as_ref())
            .unwrap_or(business)
            .zone()
            .clone()
    }
}
