//! Ingesting what the booking tool sends: client profiles and bookings in, a client's view
//! out, erasure on request. Validation of the wire format happens in `http`; here everything is
//! already typed and valid, and the store keeps the cadences.

use std::sync::Arc;

use jiff::Timestamp;

use crate::domain::booking::Booking;
use crate::domain::booking_change::BookingOutcome;
use crate::domain::category_cadence::Watch;
use crate::domain::client::ClientProfile;
use crate::domain::day::Day;
use crate::domain::ids::{Category, ClientId};
use crate::domain::money::Money;
use crate::domain::stage::{Stage, StageThresholds};
use crate::domain::tenant::Tenant;
use crate::ports::{Clock, Erased, ProfileOutcome, Store, StoreError};

/// A client as the API shows them: profile, upcoming booking, and per category the cadence and
/// the stage today.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClientView {
    #[serde(flatten)]
    pub profile: ClientProfile,
    /// The earliest booking still to come, in any category: while there is one, the client is
    /// not overdue anywhere.
    pub upcoming_booking: Option<Day>,
    pub bookings: usize,
    pub categories: Vec<CategoryView>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CategoryView {
    pub category: Category,
    pub stage: Stage,
    pub visits: u32,
    pub first_visit: Day,
    pub last_visit: Day,
    pub days_since_last_visit: i32,
    /// The interval the stages are measured in, and whether it is the client's own.
    pub interval_days: f64,
    pub personal_interval: bool,
    /// The client's usual window for returning, in days after a visit.
    pub usual_window_days: [f64; 2],
    pub spend: Money,
    pub last_service: Option<String>,
    pub last_staff: Option<String>,
    /// When the client next changes stage if nothing happens.
    pub next_stage: Option<Watch>,
}

pub struct Ingest {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl Ingest {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Ingest {
        Ingest { store, clock }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Today in the business's time zone.
    pub fn today(&self, tenant: &Tenant) -> Day {
        Day::from(tenant.config.timezone.zone().to_datetime(self.now()).date())
    }

    pub async fn upsert_client(
        &self,
        tenant: &Tenant,
        profile: &ClientProfile,
    ) -> Result<ProfileOutcome, StoreError> {
        self.store.upsert_client(&tenant.id, profile).await
    }

    /// Applies validated bookings one by one (each is idempotent, so a retried batch converges).
    pub async fn apply_bookings(
        &self,
        tenant: &Tenant,
        bookings: &[Booking],
    ) -> Result<Vec<BookingOutcome>, StoreError> {
        let today = self.today(tenant);
        let mut outcomes = Vec::with_capacity(bookings.len());
        for booking in bookings {
            outcomes.push(self.store.apply_booking(tenant, booking, today).await?);
        }
        Ok(outcomes)
    }

    pub async fn client(
        &self,
        tenant: &Tenant,
        id: &ClientId,
    ) -> Result<Option<ClientView>, StoreError> {
        let Some(record) = self.store.client(&tenant.id, id).await? else {
            return Ok(None);
        };
        let today = self.today(tenant);
        let timezone = &tenant.config.timezone;
        let upcoming_booking = record
            .bookings
            .iter()
            .filter(|b| b.is_future_booking(today, timezone))
            .map(|b| b.day(timezone))
            .min();
        let config = &tenant.config;
        let categories = record
            .cadences
            .iter()
            .map(|stored| {
                let cadence = &stored.cadence;
                let rhythm = cadence.rhythm(config);
                let thresholds = StageThresholds::new(&rhythm, &config.stages);
                let stage =
                    cadence.stage_under(&thresholds, today, upcoming_booking.is_some(), config);
                CategoryView {
                    category: cadence.category.clone(),
                    stage,
                    visits: cadence.visits,
                    first_visit: cadence.first_visit,
                    last_visit: cadence.last_visit,
                    days_since_last_visit: today.days_since(cadence.last_visit),
                    interval_days: round1(rhythm.interval_days),
                    personal_interval: matches!(
                        rhythm.source,
                        crate::domain::rhythm::IntervalSource::Personal { .. }
                    ),
                    usual_window_days: [
                        round1(rhythm.window_low_days),
                        round1(rhythm.window_high_days),
                    ],
                    spend: Money::from_minor(cadence.spend_minor, config.currency),
                    last_service: cadence.last_service.clone(),
                    last_staff: cadence.last_staff.clone(),
                    next_stage: cadence.next_watch_under(&thresholds, today, config),
                }
            })
            .collect();
        let profile = record
            .profile
            .unwrap_or_else(|| ClientProfile::new(id.clone()));
        Ok(Some(ClientView {
            profile,
            upcoming_booking,
            bookings: record.bookings.len(),
            categories,
        }))
    }

    pub async fn erase(
        &self,
        tenant: &Tenant,
        id: &ClientId,
    ) -> Result<Option<Erased>, StoreError> {
        self.store.erase_client(&tenant.id, id).await
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}
