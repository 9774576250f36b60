//! The traits the use cases need from the outside world, shaped by what the use cases do.
//!
//! Every method documents whether it is idempotent and which of its errors are worth retrying
//! ([`StoreError::is_retryable`]). Implementations: the DynamoDB store (`adapters::aws`) and
//! the SQLite store (`adapters::local`), held to the same contract by one test suite
//! (`testing::store_contract`).

use async_trait::async_trait;
use jiff::Timestamp;

use crate::domain::booking::Booking;
use crate::domain::booking_change::BookingOutcome;
use crate::domain::category_cadence::{CategoryCadence, Watch};
use crate::domain::client::{Channel, ClientProfile};
use crate::domain::config::{BusinessConfig, TimeZoneName};
use crate::domain::contact::{ContactHash, PhoneNumber};
use crate::domain::day::Day;
use crate::domain::enrollment::{Enrollment, EnrollmentId, Outcome, Outreach, ScheduledStep};
use crate::domain::feedback::ConsentEntry;
use crate::domain::ids::{Category, ClientId, TenantId};
use crate::domain::link_token::LinkClaims;
use crate::domain::reputation::{MailCounts, MailEvent, Pause};
use crate::domain::stage::Stage;
use crate::domain::tenant::{ApiKeyHash, Tenant, WebhookSecret};

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Something with this identity already exists (creating a tenant twice, say).
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// Concurrent writers kept changing the same items; the caller may try again.
    #[error("{0} was changed by another request at the same time; try again")]
    Contention(String),
    /// The write would exceed a limit of the store (item size, say).
    #[error("{0}")]
    TooLarge(String),
    /// The store could not be reached or refused for a while (throttling, a network error).
    #[error("the data store is unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The store answered with something that cannot be read back: a bug or damaged data.
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Contention(_) | StoreError::Unavailable(_))
    }
}

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
    /// The change that ends the client's active enrollment with `outcome` and removes its
    /// pending step; `None` when nothing is active.
    pub fn ending(&self, client: &ClientId, outcome: Outcome, on: Day) -> Option<OutreachChange> {
        let active = self.outreach.active.as_ref()?;
        let mut outreach = self.outreach.clone();
        let pending = outreach.pending_step.map(|step| (active.id.clone(), step));
        let ended = outreach.end(outcome, on);
        Some(OutreachChange {
            client_id: client.clone(),
            expected_version: self.outreach_version,
            outreach,
            enrollment: ended,
            schedule: None,
            unschedule: pending,
            sent: None,
            count: None,
        })
    }

    /// The change that puts `step` (back) in the queue as given, the outreach unchanged.
    pub fn requeuing(&self, step: ScheduledStep) -> OutreachChange {
        OutreachChange {
            client_id: step.client_id.clone(),
            expected_version: self.outreach_version,
            outreach: self.outreach.clone(),
            enrollment: None,
            schedule: Some(step),
            unschedule: None,
            sent: None,
            count: None,
        }
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

/// What the detector (or ingest) saw when it looked at a cadence: the stage it is in now and
/// when to look next. The overdue index lists the cadences whose last look found them overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub stage: Stage,
    pub next: Option<Watch>,
}

/// A cadence the overdue index lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueCadence {
    pub client_id: ClientId,
    pub category: Category,
    pub stage: Stage,
}

/// A day's count of new first messages on a channel, and its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyCount {
    pub day: Day,
    pub channel: Channel,
    pub cap: u32,
}

/// A change to one client's outreach, written all or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct OutreachChange {
    pub client_id: ClientId,
    /// The version the outreach was read at (0: none was stored); the change is made only if
    /// it is still the stored one.
    pub expected_version: u64,
    pub outreach: Outreach,
    /// An enrollment record to write: a new one, one that just sent a message, or one that
    /// just ended.
    pub enrollment: Option<Enrollment>,
    /// A step to schedule (it goes into the due index).
    pub schedule: Option<ScheduledStep>,
    /// A scheduled step to remove: the pending step of an enrollment that ended.
    pub unschedule: Option<(EnrollmentId, u16)>,
    /// A step to record as it is given (sent, with its message id), outside the due index.
    pub sent: Option<ScheduledStep>,
    /// Counts the change against a day's cap, and refuses it if the cap is reached.
    pub count: Option<DailyCount>,
}

/// What writing an outreach change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Done,
    /// The outreach changed since it was read (another detector, a booking): read again.
    Changed,
    /// The day's cap on the channel is reached: nothing was written.
    CapReached,
}

/// A cadence whose watch day fell in a queried range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedCadence {
    pub client_id: ClientId,
    pub category: Category,
    pub watch: Watch,
}

/// What upserting a profile did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileOutcome {
    Created,
    Updated,
    /// The stored profile is newer (by `updated_at`): nothing changed.
    Stale,
}

/// Why a contact detail must never be messaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    /// Its client was erased.
    Erased,
    /// The client opted out (an unsubscribe link, STOP); they may opt back in (START).
    OptedOut,
    /// Mail to the address bounced for good.
    Bounced,
    /// The recipient marked a message as spam.
    Complained,
}

impl SuppressionReason {
    pub fn name(self) -> &'static str {
        match self {
            SuppressionReason::Erased => "erased",
            SuppressionReason::OptedOut => "opted_out",
            SuppressionReason::Bounced => "bounced",
            SuppressionReason::Complained => "complained",
        }
    }
}

/// A change of a contact's consent, as the client (or their mailbox) gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentChange {
    pub contact: ContactHash,
    /// The ledger line: who (the client, when known), when, where from, in what words.
    pub client: Option<ClientId>,
    pub entry: ConsentEntry,
    /// Withdrawn consent: why the contact is suppressed from now on.
    pub reason: SuppressionReason,
}

/// One line of the consent ledger as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerLine {
    pub client: Option<ClientId>,
    #[serde(flatten)]
    pub entry: ConsentEntry,
    pub reason: SuppressionReason,
}

/// What erasing a client removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    pub items: usize,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Creates a tenant. Not idempotent: a second call with the same id is `AlreadyExists`.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;

    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;

    /// Adds a webhook signing secret to a tenant (kept beside the others while rotating).
    async fn add_webhook_secret(
        &self,
        tenant: &TenantId,
        secret: &WebhookSecret,
    ) -> Result<(), StoreError>;

    /// Registers an API key's hash for a tenant. Idempotent.
    async fn add_api_key(&self, tenant: &TenantId, key: &ApiKeyHash) -> Result<(), StoreError>;

    /// The tenant an API key belongs to, if any.
    async fn tenant_for_api_key(&self, key: &ApiKeyHash) -> Result<Option<TenantId>, StoreError>;

    /// Whether a webhook delivery with this `webhook-id` was already processed.
    /// (Not if its memory expired by `now`.)
    async fn webhook_seen(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Records that a webhook delivery was processed, until `expires_at`. Idempotent.
    async fn remember_webhook(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Creates or replaces a client's profile, unless the stored one is newer. Idempotent.
    async fn upsert_client(
        &self,
        tenant: &TenantId,
        profile: &ClientProfile,
    ) -> Result<ProfileOutcome, StoreError>;

    /// Applies one version of a booking and keeps the client's cadences and their watch days
    /// as a clean, in-order history would have left them. Idempotent: the same version again,
    /// or an older one, changes nothing. Costs a constant number of items unless the booking
    /// changes an earlier visit, when the client's own bookings are read again. Concurrent
    /// calls for one client are safe; `Contention` after repeated clashes is retryable.
    async fn apply_booking(
        &self,
        tenant: &Tenant,
        booking: &Booking,
        today: Day,
    ) -> Result<BookingOutcome, StoreError>;

    /// Applies many bookings of one client at once (an initial import of their history): the
    /// same result and outcomes as applying them one by one, in a constant number of round
    /// trips per client. Bookings of other clients are ignored. If it fails half-way, calling
    /// it again with the same bookings completes it.
    async fn import_history(
        &self,
        tenant: &Tenant,
        client: &ClientId,
        bookings: &[Booking],
        today: Day,
    ) -> Result<Vec<BookingOutcome>, StoreError>;

    /// Everything about a client in one read; `None` if nothing is stored for them.
    async fn client(
        &self,
        tenant: &TenantId,
        id: &ClientId,
    ) -> Result<Option<ClientRecord>, StoreError>;

    /// The clients whose profile carries this mobile number (more than one when a family
    /// shares it), so an SMS reply can be tied to the people it came from.
    async fn clients_with_phone(
        &self,
        tenant: &TenantId,
        phone: &PhoneNumber,
    ) -> Result<Vec<ClientId>, StoreError>;

    /// Removes every item of a client and leaves hashed suppression records of their contact
    /// details. Idempotent: `None` when nothing was stored.
    async fn erase_client(
        &self,
        tenant: &TenantId,
        id: &ClientId,
    ) -> Result<Option<Erased>, StoreError>;

    /// Whether a contact detail must never be messaged (its client was erased, opted out,
    /// bounced or complained).
    async fn is_suppressed(
        &self,
        tenant: &TenantId,
        contact: &ContactHash,
    ) -> Result<bool, StoreError> {
        Ok(self.suppression(tenant, contact).await?.is_some())
    }

    /// The cadences whose watch day lies in `from..=through`, from the watch index only: the
    /// items read are the ones returned, plus a constant number of requests per day of the
    /// range (meant for the days since the detector's last run, not for years).
    async fn watched_cadences(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<Vec<WatchedCadence>, StoreError>;

    /// Every tenant, for the scheduled functions. Reads one item per tenant.
    async fn tenants(&self) -> Result<Vec<TenantId>, StoreError>;

    /// Replaces a tenant's settings with `config` (already validated). Idempotent.
    async fn update_config(
        &self,
        tenant: &TenantId,
        config: &BusinessConfig,
    ) -> Result<(), StoreError>;

    /// The last day the detector finished for a tenant, if it ever did.
    async fn detector_checkpoint(&self, tenant: &TenantId) -> Result<Option<Day>, StoreError>;

    /// Records that the detector finished through `day`; never moves the checkpoint back, so
    /// overlapping or late runs do no harm. Idempotent.
    async fn set_detector_checkpoint(&self, tenant: &TenantId, day: Day) -> Result<(), StoreError>;

    /// Records what a look at a cadence found: its stage (for the overdue index) and its next
    /// watch day, unless the cadence's watch is no longer `seen` (a booking changed it in the
    /// meantime and its own watch stands): then `false` and nothing changes.
    async fn record_look(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        category: &Category,
        seen: Option<Watch>,
        look: Look,
    ) -> Result<bool, StoreError>;

    /// The cadences whose last look found them overdue (at-risk, lapsed or dormant), from the
    /// overdue index only.
    async fn overdue(&self, tenant: &TenantId) -> Result<Vec<OverdueCadence>, StoreError>;

    /// Writes a change to one client's outreach: the outreach record, the enrollment record,
    /// the step to schedule or unschedule and the day's count, all or nothing, on condition
    /// that the outreach is still at the version read and the cap has room.
    async fn write_outreach(
        &self,
        tenant: &TenantId,
        change: &OutreachChange,
    ) -> Result<Written, StoreError>;

    /// Every enrollment of the business that started from `from` through `through` (local
    /// days), as it stands now (an active one with the messages sent so far): what the
    /// outreach report is made from. Reads those enrollments only, not the clients.
    async fn enrollments_started(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<Vec<Enrollment>, StoreError>;

    /// An enrollment record (active or ended) of a client.
    async fn enrollment(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        id: &EnrollmentId,
    ) -> Result<Option<Enrollment>, StoreError>;

    /// Scheduled steps whose send time is at or before `through`, earliest first, at most
    /// `limit`, from the due index only.
    async fn due_steps(
        &self,
        tenant: &TenantId,
        through: Timestamp,
        limit: usize,
    ) -> Result<Vec<ScheduledStep>, StoreError>;

    /// Moves a step from scheduled to queued (it leaves the due index): `false` if it was not
    /// scheduled any more (another run claimed it, or its enrollment ended).
    async fn claim_step(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Puts a queued step back to scheduled (its event could not be published), so the next run
    /// tries again. Does nothing if the step is not queued.
    async fn release_step(&self, tenant: &TenantId, step: &ScheduledStep)
    -> Result<(), StoreError>;

    /// A step as stored, if it is.
    async fn step(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        enrollment: &EnrollmentId,
        index: u16,
    ) -> Result<Option<ScheduledStep>, StoreError>;

    /// Takes a step for sending (queued, or sending with a lease run out → sending until
    /// `lease_until`): `false` if another delivery has it or it was sent or removed.
    async fn claim_for_sending(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Records a consent change and the ledger line for it, together. Withdrawn: the contact
    /// is suppressed for `reason`, unless it already was (then nothing is written: `false`).
    /// Granted: an opt-out is lifted; a contact suppressed for any other reason (erased,
    /// bounced, complained) stays suppressed, and nothing is written (`false`), as when it was
    /// not suppressed at all. Ledger lines are only ever added. Idempotent by that rule.
    async fn record_consent(
        &self,
        tenant: &TenantId,
        change: &ConsentChange,
    ) -> Result<bool, StoreError>;

    /// Why a contact is suppressed, if it is.
    async fn suppression(
        &self,
        tenant: &TenantId,
        contact: &ContactHash,
    ) -> Result<Option<SuppressionReason>, StoreError>;

    /// A contact's consent ledger, oldest first.
    async fn consent_ledger(
        &self,
        tenant: &TenantId,
        contact: &ContactHash,
    ) -> Result<Vec<LedgerLine>, StoreError>;

    /// Records that a client followed a rebook link (kept in the client's own records, so it
    /// goes when they are erased). Each click is kept.
    async fn record_click(&self, claims: &LinkClaims, at: Timestamp) -> Result<(), StoreError>;

    /// Counts one email event of a tenant's day (kept 60 days).
    async fn count_mail(
        &self,
        tenant: &TenantId,
        day: Day,
        event: MailEvent,
    ) -> Result<(), StoreError>;

    /// A tenant's email counts over `from..=through`.
    async fn mail_counts(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<MailCounts, StoreError>;

    /// Pauses a tenant's sending with its reason, or resumes it (`None`). Idempotent.
    async fn set_pause(&self, tenant: &TenantId, pause: Option<Pause>) -> Result<(), StoreError>;

    /// The clicks on a client's links, oldest first: (enrollment, step, channel, when).
    async fn clicks(&self, tenant: &TenantId, client: &ClientId) -> Result<Vec<Click>, StoreError>;
}

/// A rebook link followed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Click {
    pub enrollment: EnrollmentId,
    pub step: u16,
    pub channel: Channel,
    pub at: Timestamp,
}

/// An email ready to go: what the email sender needs, already rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The one-click unsubscribe address (RFC 8058), also in the List-Unsubscribe header.
    pub unsubscribe_url: String,
    /// A mailto unsubscribe address, if the business has one.
    pub unsubscribe_mailto: Option<String>,
    /// Opaque ids for the provider's events: tenant, sequence, step.
    pub tags: Vec<(String, String)>,
}

/// An SMS ready to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingSms {
    /// E.164.
    pub to: String,
    pub text: String,
    /// The sender id or origination number.
    pub sender: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The provider refused this message for good (a bad address, an opted-out number).
    #[error("the message was refused: {0}")]
    Refused(String),
    /// Throttled, a 5xx, a network error: worth retrying.
    #[error("the provider is unavailable: {0}")]
    Unavailable(#[source] BoxError),
}

/// Sends email (SES; the outbox folder locally).
#[async_trait]
pub trait EmailSender: Send + Sync {
    /// Sends one email; the provider's message id.
    async fn send_email(&self, email: &OutgoingEmail) -> Result<String, SendError>;
}

/// Sends SMS (SNS; the outbox folder locally).
#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<String, SendError>;
}

/// EventBridge's limit of entries per PutEvents call, which every publisher keeps to.
pub const MAX_EVENTS_PER_PUBLISH: usize = 10;

/// The event that hands a step to delivery: ids only, never personal data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepDue {
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub enrollment_id: EnrollmentId,
    pub step: u16,
    /// Which delivery function takes it (the bus routes on it).
    pub channel: Channel,
    pub send_at: Timestamp,
}

impl StepDue {
    pub const SOURCE: &'static str = "winback";
    pub const DETAIL_TYPE: &'static str = "winback.step.due";

    pub fn of(tenant: &TenantId, step: &ScheduledStep) -> StepDue {
        StepDue {
            tenant_id: tenant.clone(),
            client_id: step.client_id.clone(),
            enrollment_id: step.enrollment.clone(),
            step: step.index,
            channel: step.channel,
            send_at: step.send_at,
        }
    }
}

/// Where due steps are published for delivery: the project's EventBridge bus, or the
/// in-process bus of the local server.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes at most [`MAX_EVENTS_PER_PUBLISH`] events in one call. `Ok` lists the indexes
    /// of the events that were not accepted (worth retrying); `Err` means none was.
    async fn publish(&self, events: &[StepDue]) -> Result<Vec<usize>, BoxError>;
}

/// The time, as a port: use cases never read the system clock themselves, so tests fix it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The machine's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that always says the same time (tests, demos).
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}
