//! Ingesting what the booking tool sends: client profiles and bookings in, a client's view
//! out, erasure on request. Validation of the wire format happens in `http`; here everything is
//! already typed and valid, and the store keeps the cadences.

use std::sync::Arc;

use jiff::Timestamp;

use crate::domain::booking::{Booking, BookingStatus};
use crate::domain::booking_change::BookingOutcome;
use crate::domain::category_cadence::Watch;
use crate::domain::channel::Channel;
use crate::domain::client::ClientProfile;
use crate::domain::day::Day;
use crate::domain::eligibility::ChannelState;
use crate::domain::enrollment::{self, CodeStatus, Enrollment, Outcome, Outreach, StopReason};
use crate::domain::feedback;
use crate::domain::ids::{Category, ClientId};
use crate::domain::money::Money;
use crate::domain::stage::{Stage, StageThresholds};
use crate::domain::tenant::Tenant;
use crate::ports::{
    ClientRecord, ClientStore, Clock, ConsentStore, Erased, Look, OutreachChange, OutreachStore,
    ProfileOutcome, Store, StoreError, Subject, WatchIndex, Written,
};

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
    /// The sequence the client is in, if any.
    pub enrollment: Option<EnrollmentView>,
}

/// A client's active enrollment, as the API shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EnrollmentView {
    pub id: String,
    pub category: Category,
    pub also_overdue: Vec<Category>,
    pub sequence: String,
    pub kind: enrollment::Kind,
    pub tier: crate::domain::rfm::Tier,
    pub stage: Stage,
    pub started: Day,
    pub ends_on: Day,
    /// In the control group: tracked, never messaged.
    pub control: bool,
    /// The step waiting to go out (its index in the sequence), if any.
    pub next_step: Option<u16>,
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

pub struct Ingest<S: ?Sized = dyn Store> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
}

impl<S> Ingest<S>
where
    S: ClientStore + OutreachStore + WatchIndex + ConsentStore + ?Sized,
{
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>) -> Ingest<S> {
        Ingest { store, clock }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Today in the business's time zone.
    pub fn today(&self, tenant: &Tenant) -> Day {
        tenant.config.timezone.day_of(self.now())
    }

    /// Creates or updates a profile; a client who no longer consents on any channel they can
    /// be reached on leaves their sequence at once (stopped, opted out).
    pub async fn upsert_client(
        &self,
        tenant: &Tenant,
        profile: &ClientProfile,
    ) -> Result<ProfileOutcome, StoreError> {
        let outcome = self.store.upsert_client(&tenant.id, profile).await?;
        let can_message = [Channel::Email, Channel::Sms]
            .into_iter()
            .any(|channel| ChannelState::of(Some(profile), channel, true, false).usable());
        if outcome != ProfileOutcome::Stale && !can_message {
            let today = self.today(tenant);
            self.end_enrollment(tenant, &profile.id, today, &[], |_| {
                Some(Outcome::Stopped {
                    reason: StopReason::OptedOut,
                })
            })
            .await?;
        }
        Ok(outcome)
    }

    /// What became of the offer codes `bookings` carried, once applied: one entry per booking,
    /// `None` for a booking without a code. Reads each client with a code once.
    pub async fn code_statuses(
        &self,
        tenant: &Tenant,
        bookings: &[Booking],
    ) -> Result<Vec<Option<CodeStatus>>, StoreError> {
        let mut outreach: Vec<(&ClientId, Outreach)> = Vec::new();
        let mut statuses = Vec::with_capacity(bookings.len());
        for booking in bookings {
            if booking.offer_code.is_none() {
                statuses.push(None);
                continue;
            }
            let client = &booking.client_id;
            let known = match outreach.iter().position(|(id, _)| *id == client) {
                Some(at) => at,
                None => {
                    let record = self.store.client(&tenant.id, client).await?;
                    outreach.push((client, record.map(|r| r.outreach).unwrap_or_default()));
                    outreach.len() - 1
                }
            };
            statuses.push(outreach[known].1.code_status(booking));
        }
        Ok(statuses)
    }

    /// Applies validated bookings one by one (each is idempotent, so a retried batch converges).
    /// A booking (made or kept) ends the client's active enrollment at once: converted if it is
    /// in the enrollment's category, rebooked otherwise. A booking still to come takes the
    /// client off the overdue list in every category.
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
        let timezone = &tenant.config.timezone;
        let mut clients: Vec<&ClientId> = bookings.iter().map(|b| &b.client_id).collect();
        clients.sort_unstable();
        clients.dedup();
        for client in clients {
            let theirs: Vec<&Booking> =
                bookings.iter().filter(|b| b.client_id == *client).collect();
            let next_booking = theirs
                .iter()
                .filter(|b| b.is_future_booking(today, timezone))
                .map(|b| b.day(timezone))
                .min();
            if next_booking.is_none()
                && !theirs
                    .iter()
                    .any(|b| matches!(b.status, BookingStatus::Booked | BookingStatus::Completed))
            {
                continue;
            }
            let record = self
                .end_enrollment(tenant, client, today, &theirs, |active| {
                    theirs
                        .iter()
                        .find_map(|b| enrollment::ending_by_booking(active, b, timezone))
                })
                .await?;
            if let (Some(day), Some(record)) = (next_booking, record) {
                self.not_overdue_until(tenant, client, &record, day, today)
                    .await?;
            }
        }
        Ok(outcomes)
    }

    /// Ends the client's active enrollment if `outcome` says how, recording the return one of
    /// `bookings` is for it (or for the enrollment that ended before, while its attribution
    /// window is open); returns the client's record as read. Retried when a concurrent change
    /// (the detector, another request) got there first.
    async fn end_enrollment(
        &self,
        tenant: &Tenant,
        client: &ClientId,
        today: Day,
        bookings: &[&Booking],
        outcome: impl Fn(&Enrollment) -> Option<Outcome>,
    ) -> Result<Option<ClientRecord>, StoreError> {
        let window = tenant.config.outreach.attribution_window_days;
        let returned = |enrollment: &Enrollment| {
            bookings
                .iter()
                .find_map(|b| enrollment.reactivation_by(b, window))
        };
        for _ in 0..5 {
            let Some(record) = self.store.client(&tenant.id, client).await? else {
                return Ok(None);
            };
            let change = match record.outreach.active.as_ref().and_then(&outcome) {
                Some(outcome) => {
                    let mut change = record
                        .ending(client, outcome, today)
                        .expect("an enrollment is active");
                    let found = change.enrollment.as_ref().and_then(returned);
                    for ended in [
                        change.enrollment.as_mut(),
                        change.outreach.previous.as_mut(),
                    ]
                    .into_iter()
                    .flatten()
                    {
                        if let Some(found) = &found {
                            ended.reactivation = Some(found.clone());
                        }
                        for booking in bookings {
                            ended.redeem(booking);
                        }
                    }
                    change
                }
                None => {
                    // A return, or a code redeemed, after the enrollment ended.
                    let Some(previous) = record
                        .outreach
                        .previous
                        .as_ref()
                        .filter(|_| record.outreach.active.is_none())
                    else {
                        return Ok(Some(record));
                    };
                    let mut ended = previous.clone();
                    let mut changed = false;
                    if ended.reactivation.is_none()
                        && let Some(found) = returned(&ended)
                    {
                        ended.reactivation = Some(found);
                        changed = true;
                    }
                    for booking in bookings {
                        changed |= ended.redeem(booking);
                    }
                    if !changed {
                        return Ok(Some(record));
                    }
                    let mut outreach = record.outreach.clone();
                    outreach.previous = Some(ended.clone());
                    OutreachChange {
                        client_id: client.clone(),
                        expected_version: record.outreach_version,
                        outreach,
                        enrollment: Some(ended),
                        schedule: None,
                        unschedule: None,
                        sent: None,
                        count: None,
                    }
                }
            };
            if self.store.write_outreach(&tenant.id, &change).await? == Written::Done {
                return Ok(Some(record));
            }
        }
        Err(StoreError::Contention(Subject::Client(client.clone())))
    }

    /// Takes a client with a booking to come off the overdue index, until the day after it.
    async fn not_overdue_until(
        &self,
        tenant: &Tenant,
        client: &ClientId,
        record: &ClientRecord,
        booking_day: Day,
        today: Day,
    ) -> Result<(), StoreError> {
        let config = &tenant.config;
        for stored in &record.cadences {
            let cadence = &stored.cadence;
            if !cadence.stage(today, false, config).is_overdue() {
                continue;
            }
            let after = booking_day.plus_days(1);
            let look = Look {
                stage: Stage::Active,
                next: Some(Watch {
                    on: after,
                    stage: cadence.stage(after, false, config),
                }),
            };
            self.store
                .record_look(&tenant.id, client, &cadence.category, stored.watch, look)
                .await?;
        }
        Ok(())
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
        let mut profile = record
            .profile
            .unwrap_or_else(|| ClientProfile::new(id.clone()));
        // Consent as it stands: an opt-out recorded in the ledger shows as withdrawn, with
        // when and how, whatever the booking tool last sent.
        for channel in [Channel::Email, Channel::Sms] {
            if let Some(contact) = profile.contact_hash(channel) {
                let ledger = self.store.consent_ledger(&tenant.id, &contact).await?;
                let standing =
                    feedback::standing_consent(profile.consent.get(channel), &ledger, channel);
                *profile.consent.get_mut(channel) = standing;
            }
        }
        let enrollment = record.outreach.active.as_ref().map(|e| EnrollmentView {
            id: e.id.to_string(),
            category: e.category.clone(),
            also_overdue: e.also_overdue.clone(),
            sequence: e.sequence.clone(),
            kind: e.kind,
            tier: e.tier,
            stage: e.stage,
            started: e.started,
            ends_on: e.ends_on,
            control: e.control,
            next_step: record.outreach.pending_step,
        });
        Ok(Some(ClientView {
            profile,
            upcoming_booking,
            bookings: record.bookings.len(),
            categories,
            enrollment,
        }))
    }

    pub async fn erase(
        &self,
        tenant: &Tenant,
        id: &ClientId,
    ) -> Result<Option<Erased>, StoreError> {
        self.store
            .erase_client(&tenant.id, id, self.clock.now())
            .await
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}
