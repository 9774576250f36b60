//! `winback demo`: the whole system on this machine over a simulated sample business. A salon
//! and spa's history is imported as it stood some weeks ago; then, day by day, lapse detection
//! runs each morning, the step queue every hour, due messages are delivered to the outbox, the
//! clients' own visits arrive as the sample has them, and simulated clients answer some
//! messages: they tap the rebook link and book, tap it and do not, or opt out. At the end, the
//! outreach report: enrolled, messaged per channel, returns credited to messages and their
//! revenue, opt-outs, and the lift over the control group.
//!
//! Everything goes through the same use cases the deployed functions run (detector, step
//! queue, delivery, links, ingest) on the embedded store, with a simulated clock.

use shared::ports::OutreachStore;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use shared::adapters::local::InProcessBus;
use shared::adapters::local::SqliteStore;
use shared::adapters::local::outbox::Outbox;
use shared::app::deliver::{Delivered, Deliverer, DeliverySettings, Senders};
use shared::app::detect::Detector;
use shared::app::enqueue::Enqueuer;
use shared::app::ingest::Ingest;
use shared::app::links::Links;
use shared::app::report::{OutreachReport, report};
use shared::domain::booking::{Booking, BookingStatus, ServiceLine};
use shared::domain::channel::Channel;
use shared::domain::client::{ClientProfile, Consent};
use shared::domain::config::BusinessConfig;
use shared::domain::contact::{EmailAddress, PhoneNumber};
use shared::domain::day::Day;
use shared::domain::ids::{BookingId, Category, ClientId, LocationId, TenantId};
use shared::domain::link_token::{LinkClaims, Purpose};
use shared::domain::tenant::Tenant;
use shared::domain::time_zone::TimeZoneName;
use shared::ports::{Clock, StepDue, Store, StoreError};

use crate::sample::{SampleSpec, sample_clients};
use crate::serve::{OUTBOX, link_keys};
use crate::stores::DATABASE_FILE;

/// What the demo simulates.
#[derive(Debug, Clone)]
pub struct DemoSpec {
    pub weeks: u32,
    pub clients: u32,
    pub seed: u64,
    /// The folder the demo writes: its store, link key and outbox (replaced on each run).
    pub folder: PathBuf,
    /// The last simulated day (the weeks run up to it).
    pub end: Date,
}

/// How simulated clients answer a message they get.
const BOOKS_AFTER_EMAIL: f64 = 0.035;
const BOOKS_AFTER_SMS: f64 = 0.05;
const CLICKS_ONLY: f64 = 0.05;
const OPTS_OUT: f64 = 0.01;
/// Share of clients the business has an email address for.
const HAS_EMAIL: f64 = 0.8;
/// Share of clients who gave SMS consent.
const SMS_CONSENT: f64 = 0.45;

const BUSINESS: &str = "Maple Street Hair & Beauty";
const ZONE: &str = "America/New_York";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot prepare the demo folder {0}: {1}")]
    Folder(PathBuf, std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the demo's sample is not valid: {0}")]
    Sample(String),
    #[error(transparent)]
    Serve(#[from] crate::serve::ServeError),
}

/// What the demo did, for its closing summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoSummary {
    pub business: String,
    pub clients: u32,
    pub from: Day,
    pub through: Day,
    pub visits_ingested: u64,
    pub clicks: u64,
    pub report: OutreachReport,
    pub currency: &'static str,
    pub outbox: PathBuf,
    pub weeks: Vec<WeekLine>,
}

/// One week of the run, for the progress lines.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct WeekLine {
    pub week: u32,
    pub enrolled: u64,
    pub messages: u64,
    pub came_back: u64,
}

/// The simulation's clock: every use case reads the time from it, and the demo moves it on.
struct SimClock(Mutex<Timestamp>);

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("the clock is never poisoned")
    }
}

/// Runs the demo, calling `progress` once per simulated week.
pub async fn run_demo(
    spec: &DemoSpec,
    mut progress: impl FnMut(&WeekLine),
) -> Result<DemoSummary, DemoError> {
    let folder = &spec.folder;
    let outbox_folder = folder.join(OUTBOX);
    prepare(folder, &outbox_folder)?;
    let store = Arc::new(SqliteStore::open(&folder.join(DATABASE_FILE))?);
    let dyn_store: Arc<dyn Store> = store.clone();
    let zone = TimeZone::get(ZONE).expect("the demo's zone is in the bundled database");
    let end = Day::from(spec.end);
    let start = end.plus_days(-(7 * spec.weeks as i32));
    let at = |day: Day, hour: i8, minute: i8| -> Timestamp {
        zone.to_ambiguous_timestamp(day.date().at(hour, minute, 0, 0))
            .compatible()
            .expect("a time of day in range")
    };
    let clock = Arc::new(SimClock(Mutex::new(at(start, 0, 0))));
    let set = |time: Timestamp| *clock.0.lock().expect("never poisoned") = time;

    let tenant = demo_tenant(&*dyn_store).await?;
    let keys = link_keys(folder)?;
    let outbox = Arc::new(
        Outbox::new(outbox_folder.clone())
            .map_err(|e| DemoError::Folder(outbox_folder.clone(), e))?,
    );
    let clock_dyn: Arc<dyn Clock> = clock.clone();
    let ingest = Ingest::new(Arc::clone(&dyn_store), Arc::clone(&clock_dyn));
    let detector = Detector::new(Arc::clone(&dyn_store), Arc::clone(&clock_dyn));
    let (bus, mut due) = InProcessBus::new();
    let enqueuer = Enqueuer::new(
        Arc::clone(&dyn_store),
        Arc::new(bus),
        Arc::clone(&clock_dyn),
    );
    let deliverer = Deliverer::new(
        Arc::clone(&dyn_store),
        Senders::both(outbox.clone(), outbox),
        keys.clone(),
        Arc::clone(&clock_dyn),
        DeliverySettings {
            links_base: "http://127.0.0.1:8080".into(),
            email_from: format!("{BUSINESS} <hello@maplestreet.example>"),
            unsubscribe_mailto: None,
        },
    );
    let links = Links::new(Arc::clone(&dyn_store), Arc::clone(&clock_dyn), keys.clone());

    // The business's history as it stood when the demo starts; the visits after that come in
    // day by day.
    let mut rng = StdRng::seed_from_u64(spec.seed ^ 0x5eed_de30);
    let sample = SampleSpec {
        clients: spec.clients,
        seed: spec.seed,
        as_of: spec.end,
        years: 2,
    };
    let mut organic: BTreeMap<Day, Vec<Booking>> = BTreeMap::new();
    set(at(start, 0, 0));
    for client in sample_clients(&sample) {
        let id = ClientId::parse(client.id()).map_err(|e| DemoError::Sample(e.to_string()))?;
        let mut profile = ClientProfile::new(id.clone());
        profile.name = Some(client.name().to_owned());
        profile.email = EmailAddress::parse(client.email())
            .ok()
            .filter(|_| rng.random::<f64>() < HAS_EMAIL);
        profile.phone = PhoneNumber::parse(client.phone()).ok();
        let consent = |granted| {
            Some(Consent {
                granted,
                source: "booking form".into(),
                at: at(start.plus_days(-400), 12, 0),
            })
        };
        profile.consent.email = consent(true);
        profile.consent.sms = consent(rng.random::<f64>() < SMS_CONSENT);
        ingest.upsert_client(&tenant, &profile).await?;
        let mut history = Vec::new();
        for (n, booking) in client.bookings().enumerate() {
            if booking.day >= end {
                break;
            }
            let status = match booking.status {
                "completed" => BookingStatus::Completed,
                "cancelled" => BookingStatus::Cancelled,
                "no_show" => BookingStatus::NoShow,
                _ => continue,
            };
            let when = at(
                booking.day,
                (booking.minute / 60) as i8,
                (booking.minute % 60) as i8,
            );
            let record = Booking {
                id: BookingId::parse(&format!("{}-{n}", client.id()))
                    .map_err(|e| DemoError::Sample(e.to_string()))?,
                client_id: id.clone(),
                status,
                starts_at: when,
                updated_at: when
                    .checked_add(SignedDuration::from_hours(2))
                    .unwrap_or(when),
                location_id: LocationId::parse(client.location()).ok(),
                staff: Some(client.staff().to_owned()),
                offer_code: None,
                services: vec![ServiceLine {
                    category: Category::parse(booking.category)
                        .map_err(|e| DemoError::Sample(e.to_string()))?,
                    name: Some(booking.service.to_owned()),
                    price_minor: booking.price_cents,
                }],
            };
            if booking.day < start {
                history.push(record);
            } else {
                organic.entry(booking.day).or_default().push(record);
            }
        }
        if !history.is_empty() {
            dyn_store
                .import_history(&tenant, &id, &history, start)
                .await?;
        }
    }

    // Day by day.
    let mut weeks = Vec::new();
    let mut week = WeekLine {
        week: 1,
        ..WeekLine::default()
    };
    let mut visits_ingested = 0_u64;
    let mut clicks = 0_u64;
    let mut simulated: BTreeMap<Day, Vec<Booking>> = BTreeMap::new();
    let mut day = start;
    while day < end {
        set(at(day, 6, 0));
        let run = detector.run(&tenant).await?;
        week.enrolled += run.enrolled as u64;
        for hour in 8..=20 {
            set(at(day, hour, 0));
            enqueuer.run().await?;
            let mut events: Vec<StepDue> = Vec::new();
            while let Ok(event) = due.try_recv() {
                events.push(event);
            }
            for event in events {
                let Delivered::Sent { .. } = deliverer
                    .deliver(&event)
                    .await
                    .map_err(|e| DemoError::Sample(e.to_string()))?
                else {
                    continue;
                };
                week.messages += 1;
                let claims = |purpose| LinkClaims {
                    purpose,
                    tenant: tenant.id.clone(),
                    client: event.client_id.clone(),
                    enrollment: event.enrollment_id.clone(),
                    step: event.step,
                    channel: event.channel,
                    expires_at: at(day.plus_days(120), 0, 0),
                };
                let books = match event.channel {
                    Channel::Email => BOOKS_AFTER_EMAIL,
                    Channel::Sms => BOOKS_AFTER_SMS,
                };
                let roll = rng.random::<f64>();
                if roll < books + CLICKS_ONLY {
                    set(at(day, hour, 40));
                    links
                        .rebook(&keys.sign(&claims(Purpose::Rebook)))
                        .await
                        .map_err(|e| DemoError::Sample(e.to_string()))?;
                    clicks += 1;
                }
                if roll < books {
                    let booked = rebooking(&*dyn_store, &tenant, &event, day, &mut rng, at).await?;
                    if let Some((booked, visit)) = booked {
                        set(at(day, hour, 45));
                        ingest.apply_bookings(&tenant, &[booked]).await?;
                        simulated
                            .entry(visit.day(&tenant.config.timezone))
                            .or_default()
                            .push(visit);
                    }
                } else if (books + CLICKS_ONLY..books + CLICKS_ONLY + OPTS_OUT).contains(&roll) {
                    set(at(day, hour, 50));
                    links
                        .opt_out(
                            &keys.sign(&claims(Purpose::OptOut)),
                            "unsubscribe button on the opt-out page",
                        )
                        .await
                        .map_err(|e| DemoError::Sample(e.to_string()))?;
                }
            }
        }
        // The day's visits: the clients' own, and the ones booked from a message.
        set(at(day, 21, 0));
        let mut today: Vec<Booking> = organic.remove(&day).unwrap_or_default();
        today.extend(simulated.remove(&day).unwrap_or_default());
        visits_ingested += today.len() as u64;
        for chunk in today.chunks(100) {
            ingest.apply_bookings(&tenant, chunk).await?;
        }
        day = day.plus_days(1);
        if day.days_since(start) % 7 == 0 {
            let so_far = report(&store.enrollments_started(&tenant.id, start, day).await?);
            week.came_back = so_far.reactivated;
            progress(&week);
            weeks.push(week.clone());
            week = WeekLine {
                week: week.week + 1,
                ..WeekLine::default()
            };
        }
    }
    let report = report(&store.enrollments_started(&tenant.id, start, end).await?);
    Ok(DemoSummary {
        business: BUSINESS.into(),
        clients: spec.clients,
        from: start,
        through: end.plus_days(-1),
        visits_ingested,
        clicks,
        report,
        currency: tenant.config.currency.code(),
        outbox: outbox_folder,
        weeks,
    })
}

/// The demo folder, emptied of an earlier run's store and outbox (nothing else is touched).
fn prepare(folder: &Path, outbox: &Path) -> Result<(), DemoError> {
    let fail = |e| DemoError::Folder(folder.to_owned(), e);
    std::fs::create_dir_all(folder).map_err(fail)?;
    for name in [
        DATABASE_FILE.to_owned(),
        format!("{DATABASE_FILE}-wal"),
        format!("{DATABASE_FILE}-shm"),
    ] {
        match std::fs::remove_file(folder.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(e)),
            _ => {}
        }
    }
    if outbox.exists() {
        for entry in std::fs::read_dir(outbox).map_err(fail)? {
            let path = entry.map_err(fail)?.path();
            if path.extension().is_some_and(|x| x == "eml" || x == "jsonl") {
                std::fs::remove_file(&path).map_err(fail)?;
            }
        }
    }
    Ok(())
}

async fn demo_tenant(store: &dyn Store) -> Result<Tenant, DemoError> {
    let mut config = BusinessConfig {
        timezone: TimeZoneName::parse(ZONE).expect("a valid zone"),
        ..BusinessConfig::default()
    };
    let outreach = &mut config.outreach;
    outreach.booking_url =
        Some("https://book.maplestreet.example/new?client={client_id}&service={service}".into());
    outreach.senders.sms_sender = Some("+15550100999".into());
    outreach.control_share = 0.15;
    // Tiers by annual spend: the low tier's lighter sequence carries a single-use discount code.
    outreach.tiers.high_from_annual_spend = Some(900.into());
    outreach.tiers.medium_from_annual_spend = Some(350.into());
    config
        .validate()
        .map_err(|e| DemoError::Sample(e.to_string()))?;
    Ok(crate::tenant_admin::create_tenant(
        store,
        TenantId::parse("demo").expect("a valid id"),
        BUSINESS.into(),
        config,
    )
    .await
    .map_err(crate::serve::ServeError::from)?)
}

/// A client who answers a message by booking: their next visit in the enrollment's category, a
/// few days on, as booked now and as completed on the day. `None` if the client is gone.
async fn rebooking(
    store: &dyn Store,
    tenant: &Tenant,
    event: &StepDue,
    day: Day,
    rng: &mut StdRng,
    at: impl Fn(Day, i8, i8) -> Timestamp,
) -> Result<Option<(Booking, Booking)>, DemoError> {
    let Some(record) = store.client(&tenant.id, &event.client_id).await? else {
        return Ok(None);
    };
    let Some(category) = event.enrollment_id.category() else {
        return Ok(None);
    };
    let last = record
        .bookings
        .iter()
        .rev()
        .find(|b| b.services.iter().any(|s| s.category == category));
    let Some(last) = last else {
        return Ok(None);
    };
    let visit_day = day.plus_days(rng.random_range(2..=10));
    let starts_at = at(visit_day, rng.random_range(9..18), 0);
    let booked = Booking {
        id: BookingId::parse(&format!("{}-wb-{}", event.client_id, day))
            .map_err(|e| DemoError::Sample(e.to_string()))?,
        client_id: event.client_id.clone(),
        status: BookingStatus::Booked,
        starts_at,
        updated_at: at(day, 20, 55),
        location_id: last.location_id.clone(),
        staff: last.staff.clone(),
        // The code the message carried, if it did, as the booking tool takes it.
        offer_code: record
            .outreach
            .active
            .as_ref()
            .and_then(|a| a.offer_code.as_ref())
            .map(|c| c.code.clone()),
        services: last
            .services
            .iter()
            .filter(|s| s.category == category)
            .cloned()
            .collect(),
    };
    let visit = Booking {
        status: BookingStatus::Completed,
        updated_at: starts_at
            .checked_add(SignedDuration::from_hours(2))
            .unwrap_or(starts_at),
        ..booked.clone()
    };
    Ok(Some((booked, visit)))
}
