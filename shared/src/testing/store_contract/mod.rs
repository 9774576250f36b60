//! The contract every [`Store`] meets, one `async fn` per behaviour, one file per capability
//! (as the ports are). The test crate runs every case against the SQLite store and against the
//! DynamoDB store on moto, so a behaviour is written (and fixed) once.
//!
//! Each file ends with `contract_cases![...]`, which registers its cases in [`cases`]; the cases
//! themselves are private, and this module denies dead code, so a case written but not
//! registered (or a file whose cases are not chained into [`cases`]) does not compile.

#![deny(dead_code)]

mod clients;
mod consent;
mod mail_counts;
mod outreach;
mod steps;
mod tenants;
mod watch_index;
mod webhooks;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::domain::booking::{Booking, BookingStatus, ServiceLine};
use crate::domain::booking_change::BookingOutcome;
use crate::domain::client::{ClientProfile, Consent};
use crate::domain::config::BusinessConfig;
use crate::domain::contact::{EmailAddress, PhoneNumber};
use crate::domain::day::Day;
use crate::domain::ids::{Category, TenantId};
use crate::domain::stage::Stage;
use crate::domain::tenant::Tenant;
use crate::domain::time_zone::TimeZoneName;
use crate::ports::Store;

/// One behaviour of the contract, runnable on any store.
pub struct Case {
    /// The case's function name: a sentence saying what every store does.
    pub name: &'static str,
    pub run: fn(Arc<dyn Store>) -> CaseRun,
}

/// A case under way.
pub type CaseRun = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Every case of the contract, capability by capability.
pub fn cases() -> impl Iterator<Item = &'static Case> {
    [
        tenants::CASES,
        webhooks::CASES,
        clients::CASES,
        watch_index::CASES,
        outreach::CASES,
        steps::CASES,
        consent::CASES,
        mail_counts::CASES,
    ]
    .into_iter()
    .flatten()
}

/// What a case takes: the store by reference, or shared (for cases that spawn tasks).
pub trait CaseStore<'a> {
    fn from_store(store: &'a Arc<dyn Store>) -> Self;
}

impl<'a> CaseStore<'a> for &'a dyn Store {
    fn from_store(store: &'a Arc<dyn Store>) -> Self {
        store.as_ref()
    }
}

impl<'a> CaseStore<'a> for Arc<dyn Store> {
    fn from_store(store: &'a Arc<dyn Store>) -> Self {
        Arc::clone(store)
    }
}

/// Registers a file's cases: `contract_cases![first_case, second_case]` at its end.
macro_rules! contract_cases {
    ($($case:ident),* $(,)?) => {
        pub(super) const CASES: &[super::Case] = &[$(
            super::Case {
                name: stringify!($case),
                run: |store| {
                    Box::pin(async move {
                        $case(super::CaseStore::from_store(&store)).await
                    })
                },
            }
        ),*];
    };
}
pub(crate) use contract_cases;

/// A tenant in London with default settings, stored.
pub async fn tenant(store: &dyn Store, id: &str) -> Tenant {
    let tenant = Tenant {
        id: TenantId::parse(id).unwrap(),
        name: format!("Salon {id}"),
        config: BusinessConfig {
            timezone: TimeZoneName::parse("Europe/London").unwrap(),
            ..BusinessConfig::default()
        },
        created_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        webhook_secrets: Vec::new(),
        paused: None,
    };
    store.create_tenant(&tenant).await.unwrap();
    tenant
}

pub use crate::domain::fixtures::{at, client_id, day};

/// A builder for bookings: completed, one hair service at 45.00, version 1.
#[derive(Clone)]
pub struct BookingBuilder(Booking);

pub fn booking(id: &str, client: &str, on: &str) -> BookingBuilder {
    BookingBuilder(crate::domain::fixtures::visit(id, client, on, "hair", 4500))
}

impl BookingBuilder {
    pub fn status(mut self, status: BookingStatus) -> Self {
        self.0.status = status;
        self
    }

    pub fn on(mut self, on: &str) -> Self {
        self.0.starts_at = format!("{on}T10:00:00Z").parse().unwrap();
        self
    }

    /// A later version: `updated_at` moved on by `seconds`.
    pub fn version(mut self, seconds: i64) -> Self {
        self.0.updated_at = self
            .0
            .updated_at
            .checked_add(jiff::SignedDuration::from_secs(seconds))
            .unwrap();
        self
    }

    pub fn also(mut self, category: &str, price_minor: i64) -> Self {
        self.0.services.push(ServiceLine {
            category: Category::parse(category).unwrap(),
            name: None,
            price_minor,
        });
        self
    }

    pub fn build(self) -> Booking {
        self.0
    }
}

pub fn profile(id: &str) -> ClientProfile {
    let mut profile = ClientProfile::new(client_id(id));
    profile.name = Some("Ana Lopez".into());
    profile.email = Some(EmailAddress::parse("ana@example.com").unwrap());
    profile.phone = Some(PhoneNumber::parse("+447700900123").unwrap());
    profile.consent.email = Some(Consent {
        granted: true,
        source: "booking form".into(),
        at: "2026-01-05T09:00:00Z".parse().unwrap(),
    });
    profile.updated_at = Some("2026-01-05T09:00:00Z".parse().unwrap());
    profile
}

pub const TODAY: &str = "2026-06-01";
/// Noon on [`TODAY`], for what a case dates (an erasure, say).
pub const TODAY_NOON: &str = "2026-06-01T12:00:00Z";

pub async fn apply(store: &dyn Store, tenant: &Tenant, booking: Booking) -> BookingOutcome {
    store
        .apply_booking(tenant, &booking, day(TODAY))
        .await
        .unwrap()
}

pub async fn hair_visits(store: &dyn Store, tenant: &Tenant, client: &str) -> Option<(u32, Day)> {
    let record = store
        .client(&tenant.id, &client_id(client))
        .await
        .unwrap()?;
    record
        .cadences
        .iter()
        .find(|c| c.cadence.category.as_str() == "hair")
        .map(|c| (c.cadence.visits, c.cadence.last_visit))
}

pub fn enrollment_for(
    client: &str,
    category: &str,
    started: &str,
) -> crate::domain::enrollment::Enrollment {
    use crate::domain::enrollment::{Enrollment, EnrollmentId, Kind, Status, ends_on};
    use crate::domain::rfm::Tier;
    use crate::domain::sequence::Sequence;
    let category = Category::parse(category).unwrap();
    let sequence = Sequence::default_for(Tier::Medium);
    Enrollment {
        id: EnrollmentId::new(day(started), &category),
        client_id: client_id(client),
        category,
        also_overdue: Vec::new(),
        kind: Kind::Sequence,
        sequence: sequence.name.clone(),
        steps: sequence.steps.clone(),
        tier: Tier::Medium,
        stage: Stage::Lapsed,
        lapse_score: 0.6,
        started: day(started),
        control: false,
        ends_on: ends_on(&sequence, day(started)),
        status: Status::Active,
        sent: Vec::new(),
        reactivation: None,
        offer_code: None,
    }
}

pub fn step_of(
    enrollment: &crate::domain::enrollment::Enrollment,
    send_at: &str,
) -> crate::domain::enrollment::ScheduledStep {
    use crate::domain::channel::Channel;
    use crate::domain::enrollment::{ScheduledStep, StepStatus};
    ScheduledStep {
        client_id: enrollment.client_id.clone(),
        enrollment: enrollment.id.clone(),
        index: 0,
        channel: Channel::Email,
        send_at: send_at.parse().unwrap(),
        status: StepStatus::Scheduled,
    }
}

pub fn enrol_change(
    enrollment: &crate::domain::enrollment::Enrollment,
    step: &crate::domain::enrollment::ScheduledStep,
    expected_version: u64,
    count: Option<crate::ports::DailyCount>,
) -> crate::ports::OutreachChange {
    use crate::domain::enrollment::Outreach;
    crate::ports::OutreachChange {
        client_id: enrollment.client_id.clone(),
        expected_version,
        outreach: Outreach {
            active: Some(enrollment.clone()),
            pending_step: Some(0),
            ..Outreach::default()
        },
        enrollment: Some(enrollment.clone()),
        schedule: Some(step.clone()),
        unschedule: None,
        sent: None,
        count,
    }
}
