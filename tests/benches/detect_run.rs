//! A detector run reads what is due, not what is stored: the same 2,000 lapsed clients in a
//! store of 10,000 and in one of 100,000 (SQLite, in memory), the rows read and the time of one
//! run each, and their ratio. Then the step queue: 10,000 due steps and the PutEvents calls
//! they take.
//!
//!     cargo bench -p system-tests --bench detect_run

use shared::ports::{ClientStore, OutreachStore, TenantStore, WatchIndex};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use jiff::Timestamp;

use shared::adapters::local::SqliteStore;
use shared::app::detect::Detector;
use shared::app::enqueue::Enqueuer;
use shared::domain::booking::{Booking, BookingStatus, ServiceLine};
use shared::domain::channel::Channel;
use shared::domain::client::{ClientProfile, Consent};
use shared::domain::config::BusinessConfig;
use shared::domain::contact::EmailAddress;
use shared::domain::day::Day;
use shared::domain::enrollment::{
    Enrollment, EnrollmentId, Kind, Outreach, ScheduledStep, Status, StepStatus,
};
use shared::domain::ids::{BookingId, Category, ClientId, TenantId};
use shared::domain::rfm::Tier;
use shared::domain::stage::Stage;
use shared::domain::tenant::Tenant;
use shared::domain::time_zone::TimeZoneName;
use shared::ports::{EventPublisher, FixedClock, OutreachChange, PublishError, StepDue};

const DUE: usize = 2_000;
const RUN_AT: &str = "2026-11-23T06:00:00Z";

fn tenant() -> Tenant {
    let mut config = BusinessConfig {
        timezone: TimeZoneName::parse("Europe/London").unwrap(),
        ..BusinessConfig::default()
    };
    config.outreach.daily_cap.email = 10_000;
    Tenant {
        id: TenantId::parse("bench").unwrap(),
        name: "Bench Salon".into(),
        config,
        created_at: "2025-01-01T00:00:00Z".parse().unwrap(),
        webhook_secrets: Vec::new(),
        paused: None,
    }
}

/// A store of `clients` four-weekly clients with three visits and email consent; the first
/// `DUE` of them lapsed on the run day, the others seen in the last three weeks.
async fn store_of(clients: usize) -> (SqliteStore, Tenant, f64) {
    let store = SqliteStore::in_memory().unwrap();
    let tenant = tenant();
    store.create_tenant(&tenant).await.unwrap();
    let today = Day::from(jiff::civil::date(2026, 11, 23));
    let hair = Category::parse("hair").unwrap();
    let started = Instant::now();
    for c in 0..clients {
        let id = ClientId::parse(&format!("client-{c:06}")).unwrap();
        let mut profile = ClientProfile::new(id.clone());
        profile.email = Some(EmailAddress::parse(&format!("c{c}@example.com")).unwrap());
        profile.consent.email = Some(Consent {
            granted: true,
            source: "import".into(),
            at: "2025-01-01T00:00:00Z".parse().unwrap(),
        });
        store.upsert_client(&tenant.id, &profile).await.unwrap();
        let last = if c < DUE {
            today.plus_days(-50)
        } else {
            today.plus_days(-((c % 21) as i32) - 1)
        };
        let bookings: Vec<Booking> = (0..3)
            .map(|b| {
                let day = last.plus_days(-28 * (2 - b));
                Booking {
                    id: BookingId::parse(&format!("b{b}")).unwrap(),
                    client_id: id.clone(),
                    status: BookingStatus::Completed,
                    starts_at: format!("{day}T10:00:00Z").parse().unwrap(),
                    updated_at: format!("{day}T12:00:00Z").parse().unwrap(),
                    location_id: None,
                    staff: None,
                    offer_code: None,
                    services: vec![ServiceLine {
                        category: hair.clone(),
                        name: Some("Cut".into()),
                        price_minor: 4500,
                    }],
                }
            })
            .collect();
        store
            .import_history(&tenant, &id, &bookings, today)
            .await
            .unwrap();
    }
    // The detector last finished yesterday.
    store
        .set_detector_checkpoint(&tenant.id, today.plus_days(-1))
        .await
        .unwrap();
    (store, tenant, started.elapsed().as_secs_f64())
}

struct Run {
    rows: u64,
    seconds: f64,
    enrolled: usize,
    looked_at: usize,
}

async fn run(clients: usize) -> Run {
    let (store, tenant, load) = store_of(clients).await;
    eprintln!("loaded {clients} clients in {load:.1} s");
    let store = Arc::new(store);
    let detector = Detector::new(store.clone(), Arc::new(FixedClock(RUN_AT.parse().unwrap())));
    let before = store.rows_read();
    let started = Instant::now();
    let report = detector.run(&tenant).await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    Run {
        rows: store.rows_read() - before,
        seconds,
        enrolled: report.enrolled + report.control,
        looked_at: report.looked_at,
    }
}

/// A bus that accepts everything and counts its calls.
#[derive(Default)]
struct CountingBus {
    calls: AtomicUsize,
    events: AtomicUsize,
}

#[async_trait]
impl EventPublisher for CountingBus {
    async fn publish(&self, events: &[StepDue]) -> Result<Vec<usize>, PublishError> {
        assert!(events.len() <= 10);
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(events.len(), Ordering::Relaxed);
        Ok(Vec::new())
    }
}

async fn enqueue(steps: usize) -> (usize, usize, f64) {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let tenant = tenant();
    store.create_tenant(&tenant).await.unwrap();
    let hair = Category::parse("hair").unwrap();
    let today = Day::from(jiff::civil::date(2026, 11, 23));
    let send_at: Timestamp = "2026-11-23T09:00:00Z".parse().unwrap();
    for c in 0..steps {
        let client = ClientId::parse(&format!("client-{c:06}")).unwrap();
        let id = EnrollmentId::new(today, &hair);
        let enrollment = Enrollment {
            id: id.clone(),
            client_id: client.clone(),
            category: hair.clone(),
            also_overdue: Vec::new(),
            kind: Kind::Sequence,
            sequence: "bench".into(),
            steps: Vec::new(),
            tier: Tier::Medium,
            stage: Stage::Lapsed,
            lapse_score: 0.5,
            started: today,
            control: false,
            ends_on: today.plus_days(37),
            status: Status::Active,
            sent: Vec::new(),
            reactivation: None,
            offer_code: None,
        };
        let change = OutreachChange {
            client_id: client.clone(),
            expected_version: 0,
            outreach: Outreach {
                active: Some(enrollment.clone()),
                pending_step: Some(0),
                ..Outreach::default()
            },
            enrollment: Some(enrollment),
            schedule: Some(ScheduledStep {
                client_id: client,
                enrollment: id,
                index: 0,
                channel: Channel::Email,
                send_at,
                status: StepStatus::Scheduled,
            }),
            unschedule: None,
            sent: None,
            count: None,
        };
        store.write_outreach(&tenant.id, &change).await.unwrap();
    }
    let bus = Arc::new(CountingBus::default());
    let started = Instant::now();
    let report = Enqueuer::new(
        store,
        bus.clone(),
        Arc::new(FixedClock("2026-11-23T09:01:00Z".parse().unwrap())),
    )
    .run()
    .await
    .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(report.published, steps);
    (
        bus.calls.load(Ordering::Relaxed),
        bus.events.load(Ordering::Relaxed),
        seconds,
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let small = run(10_000).await;
    let large = run(100_000).await;
    for (clients, r) in [(10_000, &small), (100_000, &large)] {
        assert_eq!(r.enrolled, DUE, "every lapsed client is enrolled");
        println!(
            "{clients:>7} clients, {DUE} due: looked at {} cadences, read {} rows ({:.2} per due client), enrolled {} in {:.3} s",
            r.looked_at,
            r.rows,
            r.rows as f64 / DUE as f64,
            r.enrolled,
            r.seconds
        );
    }
    println!(
        "rows read, 100,000 / 10,000 clients: {:.3}; time: {:.2}",
        large.rows as f64 / small.rows as f64,
        large.seconds / small.seconds
    );
    let (calls, events, seconds) = enqueue(10_000).await;
    println!(
        "step queue: {events} due steps published in {calls} PutEvents calls ({:.1} per call) in {seconds:.2} s",
        events as f64 / calls as f64
    );
}
