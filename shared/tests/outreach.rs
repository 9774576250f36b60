//! Detection, enrollment, stop rules and the step queue, end to end on the SQLite store with a
//! fixed clock per run. The same use cases run on DynamoDB in the system tests.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::Timestamp;

use shared::adapters::local::SqliteStore;
use shared::app::detect::{ContactError, Detector};
use shared::app::enqueue::Enqueuer;
use shared::app::ingest::Ingest;
use shared::domain::booking::{Booking, BookingStatus, ServiceLine};
use shared::domain::channel::Channel;
use shared::domain::client::{ClientProfile, Consent};
use shared::domain::config::BusinessConfig;
use shared::domain::contact::EmailAddress;
use shared::domain::day::Day;
use shared::domain::enrollment::{CodeStatus, Kind, Outcome, Status, StepStatus, StopReason};
use shared::domain::ids::{BookingId, Category, ClientId, TenantId};
use shared::domain::outreach_settings::{Mode, TierCuts};
use shared::domain::reputation::Pause;
use shared::domain::rfm::Tier;
use shared::domain::stage::Stage;
use shared::domain::tenant::Tenant;
use shared::domain::time_zone::TimeZoneName;
use shared::ports::{BoxError, EventPublisher, FixedClock, StepDue, Store};

struct World {
    store: Arc<dyn Store>,
    tenant: Tenant,
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn day(text: &str) -> Day {
    Day::from(text.parse::<jiff::civil::Date>().unwrap())
}

fn client(id: &str) -> ClientId {
    ClientId::parse(id).unwrap()
}

fn hair() -> Category {
    Category::parse("hair").unwrap()
}

fn visit(id: &str, client_id: &str, on: &str, category: &str, price_minor: i64) -> Booking {
    Booking {
        id: BookingId::parse(id).unwrap(),
        client_id: client(client_id),
        status: BookingStatus::Completed,
        starts_at: at(&format!("{on}T10:00:00Z")),
        updated_at: at(&format!("{on}T18:00:00Z")),
        location_id: None,
        staff: Some("Maya".into()),
        offer_code: None,
        services: vec![ServiceLine {
            category: Category::parse(category).unwrap(),
            name: Some("Cut".into()),
            price_minor,
        }],
    }
}

impl World {
    async fn new(configure: impl FnOnce(&mut BusinessConfig)) -> World {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
        let mut config = BusinessConfig {
            timezone: TimeZoneName::parse("Europe/London").unwrap(),
            ..BusinessConfig::default()
        };
        config.outreach.control_share = 0.0;
        configure(&mut config);
        config.validate().unwrap();
        let tenant = Tenant {
            id: TenantId::parse("salon").unwrap(),
            name: "Salon".into(),
            config,
            created_at: at("2026-01-01T00:00:00Z"),
            webhook_secrets: Vec::new(),
            paused: None,
        };
        store.create_tenant(&tenant).await.unwrap();
        World { store, tenant }
    }

    fn ingest(&self, now: &str) -> Ingest {
        Ingest::new(Arc::clone(&self.store), Arc::new(FixedClock(at(now))))
    }

    fn detector(&self, now: &str) -> Detector {
        Detector::new(Arc::clone(&self.store), Arc::new(FixedClock(at(now))))
    }

    /// A client with email consent who came for a haircut every four weeks, five times, the
    /// last on `last` (at `price_minor` each).
    async fn regular(&self, id: &str, last: &str, price_minor: i64) {
        let mut profile = ClientProfile::new(client(id));
        profile.name = Some("Ana Lopez".into());
        profile.email = Some(EmailAddress::parse(&format!("{id}@example.com")).unwrap());
        profile.consent.email = Some(Consent {
            granted: true,
            source: "booking form".into(),
            at: at("2025-01-01T00:00:00Z"),
        });
        let ingest = self.ingest("2026-06-01T12:00:00Z");
        ingest.upsert_client(&self.tenant, &profile).await.unwrap();
        let last = day(last);
        let visits: Vec<Booking> = (0..5)
            .map(|i| {
                let on = last.plus_days(-28 * (4 - i));
                visit(
                    &format!("{id}-v{i}"),
                    id,
                    &on.to_string(),
                    "hair",
                    price_minor,
                )
            })
            .collect();
        self.store
            .import_history(&self.tenant, &client(id), &visits, last)
            .await
            .unwrap();
    }

    async fn outreach(&self, id: &str) -> shared::domain::enrollment::Outreach {
        self.store
            .client(&self.tenant.id, &client(id))
            .await
            .unwrap()
            .unwrap()
            .outreach
    }

    async fn due(&self, through: &str) -> Vec<shared::domain::enrollment::ScheduledStep> {
        self.store
            .due_steps(&self.tenant.id, at(through), 10_000)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_lapsed_client_is_enrolled_once_and_the_first_step_lands_in_the_morning_window() {
    let world = World::new(|_| {}).await;
    world.regular("ana", "2026-03-02", 4500).await;
    // Four-weekly: lapsed at about 1.5 intervals; 2026-06-01 is 91 days on.
    let report = world
        .detector("2026-06-01T05:00:00Z")
        .run(&world.tenant)
        .await
        .unwrap();
    assert_eq!(report.enrolled, 1, "{report:?}");
    let outreach = world.outreach("ana").await;
    let active = outreach.active.expect("enrolled");
    assert_eq!(active.category, hair());
    assert_eq!(active.kind, Kind::Sequence);
    assert_eq!(active.sequence, "medium tier 30/60/90");
    assert!(active.stage >= Stage::Lapsed);
    assert_eq!(outreach.pending_step, Some(0));
    let due = world.due("2026-06-30T00:00:00Z").await;
    assert_eq!(due.len(), 1);
    // 09:00 in London in summer is 08:00 UTC.
    assert_eq!(due[0].send_at, at("2026-06-01T08:00:00Z"));
    assert_eq!(due[0].channel, Channel::Email);

    // The same day again, and the next day: nothing more.
    let again = world
        .detector("2026-06-01T15:00:00Z")
        .run(&world.tenant)
        .await
        .unwrap();
    assert_eq!(again.enrolled, 0);
    let next = world
        .detector("2026-06-02T05:00:00Z")
        .run(&world.tenant)
        .await
        .unwrap();
    assert_eq!(next.enrolled, 0);
    assert_eq!(world.due("2026-06-30T00:00:00Z").await.len(), 1);
}

#[tokio::test]
async fn a_client_not_yet_past_the_trigger_stage_or_with_a_future_booking_is_left_alone() {
    let world = World::new(|_| {}).await;
    world.regular("recent", "2026-05-20", 4500).await;
    world.regular("booked", "2026-03-02", 4500).await;
    let mut upcoming = visit("booked-next", "booked", "2026-06-20", "nails", 3000);
    upcoming.status = BookingStatus::Booked;
    upcoming.updated_at = at("2026-05-31T12:00:00Z");
    world
        .ingest("2026-06-01T04:00:00Z")
        .apply_bookings(&world.tenant, &[upcoming])
        .await
        .unwrap();
    let report = world
        .detector("2026-06-01T05:00:00Z")
        .run(&world.tenant)
        .await
        .unwrap();
    assert_eq!(report.enrolled, 0, "{report:?}");
    assert!(world.outreach("recent").await.active.is_none());
    assert!(world.outreach("booked").await.active.is_none());
    // The booked client is off the overdue list too.
    let overdue = world
        .detector("2026-06-01T05:00:00Z")
        .overdue(&world.tenant, None)
        .await
        .unwrap();
    assert!(overdue.categories.is_empty(), "{overdue:?}");
}

#[tokio::test]
async fn two_detectors_at_once_enroll_each_client_once() {
    let world = World::new(|_| {}).await;
    for i in 0..10 {
        world.regular(&format!("c{i}"), "2026-03-02", 4500).await;
    }
    let (a, b) = (
        world.detector("2026-06-01T05:00:00Z"),
        world.detector("2026-06-01T05:00:00Z"),
    );
    let (ra, rb) = tokio::join!(a.run(&world.tenant), b.run(&world.tenant));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.enrolled + rb.enrolled, 10, "{ra:?} {rb:?}");
    assert_eq!(world.due("2026-06-30T00:00:00Z").await.len(), 10);
}

#[tokio::test]
async fn the_daily_cap_holds_back_the_rest_for_the_next_day_highest_tier_first() {
    let world = World::new(|config| {
        config.outreach.daily_cap.email = 2;
        config.outreach.tiers = TierCuts {
            high_from_annual_spend: Some(500.0),
            medium_from_annual_spend: Some(200.0),
        };
    })
    .await;
    // Thirteen visits a year: 100.00 each is high, 30.00 medium, 10.00 low.
    world.regular("low", "2026-03-02", 1000).await;
    world.regular("high", "2026-03-02", 10_000).await;
    world.regular("medium", "2026-03-02", 3000).await;
    world.regular("high2", "2026-03-02", 9000).await;
    let first = world
        .detector("2026-06-01T05:00:00Z")
        .run(&world.tenant)
        .await
        .unwrap();
    assert_eq!((first.enrolled, first.deferred), (2, 2), "{first:?}");
    assert!(world.outreach("high").await.active.is_some());
    assert!(world.outreach("high2").await.active.is_some());
    assert_eq!(
        world.outreach("high").await.active.unwrap().tier,
        Tier::High
    );
    let second = world
        .detector("2026-06-02T05:00:00Z")
        .run(&world.tenant)
        .await
        .unwrap();
    assert_eq!((second.enrolled, second.deferred), (2, 0), "{second:?}");
    let low = world.outreach("low").await.active.unwrap();
    assert_eq!(low.tier, Tier::Low);
    assert_eq!(low.sequence, "low tier light");
}

#[tokio::test]
async fn control_group_clients_are_recorded_and_never_given_a_step() {
    let world = World::new(|config| config.outreach.control_share = 0.5).await;
    for i in 0..30 {
        world.regular(&format!("c{i}"), "2026-03-02", 4500).await;
    }
    let report = world
        .detector("2026-06-01T05:00:00Z")
        .run(&world.tenant)
        .await
        .unwrap();
    assert!(report.control > 5 && report.enrolled > 5, "{report:?}");
    assert_eq!(report.control + report.enrolled, 30);
    let due = world.due("2026-06-30T00:00:00Z").await;
    assert_eq!(due.len(), report.enrolled);
    for i in 0..30 {
        let outreach = world.outreach(&format!("c{i}")).await;
        let active = outreach.active.unwrap();
        let has_step = due.iter().any(|s| s.client_id == active.client_id);
        assert_eq!(has_step, !active.control);
    }
}

#[tokio::test]
async fn a_booking_ends_the_sequence_as_converted_and_an_opt_out_as_stopped() {
    let world = World::new(|_| {}).await;
    world.regular("back", "2026-03-02", 4500).await;
    world.regular("gone", "2026-03-02", 4500).await;
    world
        .detector("2026-06-01T05:00:00Z")
        .run(&world.tenant)
        .await
        .unwrap();
    assert_eq!(world.due("2026-06-30T00:00:00Z").await.len(), 2);

    let mut rebook = visit("back-new", "back", "2026-06-10", "hair", 4500);
    rebook.status = BookingStatus::Booked;
    rebook.updated_at = at("2026-06-02T09:00:00Z");
    world
        .ingest("2026-06-02T09:00:00Z")
        .apply_bookings(&world.tenant, &[rebook])
        .await
        .unwrap();
    let back = world.outreach("back").await;
    assert!(back.active.is_none());
    let id = shared::domain::enrollment::EnrollmentId::new(day("2026-06-01"), &hair());
    let ended = world
        .store
        .enrollment(&world.tenant.id, &client("back"), &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ended.status,
        Status::Ended {
            outcome: Outcome::Converted,
            on: day("2026-06-02")
        }
    );

    let mut profile = ClientProfile::new(client("gone"));
    profile.email = Some(EmailAddress::parse("gone@example.com").unwrap());
    profile.consent.email = Some(Consent {
        granted: false,
        source: "unsubscribe".into(),
        at: at("2026-06-02T10:00:00Z"),
    });
    world
        .ingest("2026-06-02T10:00:00Z")
        .upsert_client(&world.tenant, &profile)
        .await
        .unwrap();
    let ended = world
        .store
        .enrollment(&world.tenant.id, &client("gone"), &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ended.status,
        Status::Ended {
            outcome: Outcome::Stopped {
                reason: StopReason::OptedOut
            },
            on: day("2026-06-02")
        }
    );
    assert!(world.due("2026-06-30T00:00:00Z").await.is_empty());
}

#[tokio::test]
async fn a_finished_sequence_moves_the_client_to_the_long_game_list() {
    let world = World::new(|_| {}).await;
    world.regular("ana", "2026-03-02", 4500).await;
    world
        .detector("2026-06-01T05:00:00Z")
        .run(&world.tenant)
        .await
        .unwrap();
    let active = world.outreach("ana").await.active.unwrap();
    // Nothing happens until the sequence's time is up; the detector then completes it.
    let report = world
        .detector(&format!("{}T05:00:00Z", active.ends_on))
        .run(&world.tenant)
        .await
        .unwrap();
    assert_eq!(report.completed, 1, "{report:?}");
    let outreach = world.outreach("ana").await;
    assert!(outreach.active.is_none() && outreach.long_game);
    // Not during the cooldown nor before the long-game interval; then once, one message.
    let early = active.ends_on.plus_days(120);
    let report = world
        .detector(&format!("{early}T05:00:00Z"))
        .run(&world.tenant)
        .await
        .unwrap();
    assert_eq!(report.enrolled, 0, "{report:?}");
    let due_day = active.ends_on.plus_days(180);
    let report = world
        .detector(&format!("{due_day}T05:00:00Z"))
        .run(&world.tenant)
        .await
        .unwrap();
    assert_eq!(report.enrolled, 1, "{report:?}");
    let check_in = world.outreach("ana").await.active.unwrap();
    assert_eq!(check_in.kind, Kind::LongGame);
    assert_eq!(check_in.steps.len(), 1);
}

#[tokio::test]
async fn manual_mode_lists_who_is_overdue_and_contacts_them_at_once_idempotently() {
    let world = World::new(|config| config.outreach.mode = Mode::Manual).await;
    for i in 0..4 {
        world.regular(&format!("c{i}"), "2026-03-02", 4500).await;
    }
    let detector = world.detector("2026-06-01T05:00:00Z");
    let report = detector.run(&world.tenant).await.unwrap();
    assert_eq!(report.enrolled, 0, "manual mode never enrolls by itself");
    let overdue = detector.overdue(&world.tenant, None).await.unwrap();
    assert_eq!(overdue.as_of, Some(day("2026-06-01")));
    assert_eq!(overdue.categories.len(), 1);
    let listed = &overdue.categories[0];
    assert_eq!(listed.category, hair());
    assert_eq!(listed.clients.len(), 4);
    assert_eq!(listed.at_risk + listed.lapsed + listed.dormant, 4);

    let contacted = detector
        .contact_overdue(&world.tenant, Some(&hair()))
        .await
        .unwrap();
    assert_eq!(contacted.enrolled, 4, "{contacted:?}");
    let again = detector.contact_overdue(&world.tenant, None).await.unwrap();
    assert_eq!(again.enrolled, 0);
    assert_eq!(again.skipped.get("already_in_sequence"), Some(&4));
    let nails = Category::parse("nails").unwrap();
    let none = detector
        .contact_overdue(&world.tenant, Some(&nails))
        .await
        .unwrap();
    assert_eq!(none.clients, 0);
}

#[tokio::test]
async fn a_paused_business_cannot_contact_its_overdue_clients_by_any_entry_point() {
    let mut world = World::new(|config| config.outreach.mode = Mode::Manual).await;
    for i in 0..3 {
        world.regular(&format!("c{i}"), "2026-03-02", 4500).await;
    }
    let pause = Pause {
        reason: "bounce rate 9.0% over the last 30 days".into(),
        since: "2026-05-30T12:00:00Z".parse().unwrap(),
    };
    let detector = world.detector("2026-06-01T05:00:00Z");
    detector.run(&world.tenant).await.unwrap();
    world.tenant.paused = Some(pause.clone());
    let refused = detector.contact_overdue(&world.tenant, None).await;
    assert!(
        matches!(&refused, Err(ContactError::Paused(p)) if *p == pause),
        "{refused:?}"
    );
    let listed = detector.overdue(&world.tenant, None).await.unwrap();
    assert_eq!(
        listed.categories[0].clients.len(),
        3,
        "still listed as overdue"
    );
    for i in 0..3 {
        let record = world
            .store
            .client(
                &world.tenant.id,
                &ClientId::parse(&format!("c{i}")).unwrap(),
            )
            .await
            .unwrap()
            .unwrap();
        assert!(record.outreach.active.is_none(), "nobody was enrolled");
    }
}

/// A publisher that records every call and can refuse entries.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<Vec<StepDue>>>,
    refuse_first: Mutex<usize>,
}

#[async_trait]
impl EventPublisher for Recorder {
    async fn publish(&self, events: &[StepDue]) -> Result<Vec<usize>, BoxError> {
        assert!(events.len() <= 10, "EventBridge takes at most 10 entries");
        self.calls.lock().unwrap().push(events.to_vec());
        let mut refuse = self.refuse_first.lock().unwrap();
        let refused: Vec<usize> = (0..events.len()).take(*refuse).collect();
        *refuse = refuse.saturating_sub(refused.len());
        Ok(refused)
    }
}

#[tokio::test]
async fn due_steps_are_claimed_once_and_published_in_batches_of_ten_with_retries() {
    let world = World::new(|_| {}).await;
    for i in 0..25 {
        world.regular(&format!("c{i:02}"), "2026-03-02", 4500).await;
    }
    world
        .detector("2026-06-01T05:00:00Z")
        .run(&world.tenant)
        .await
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    *recorder.refuse_first.lock().unwrap() = 3;
    let clock = Arc::new(FixedClock(at("2026-06-01T08:05:00Z")));
    let enqueuer = Enqueuer::new(Arc::clone(&world.store), recorder.clone(), clock.clone());
    let report = enqueuer.run().await.unwrap();
    assert_eq!((report.claimed, report.published), (25, 25), "{report:?}");
    assert_eq!(
        report.publish_calls, 4,
        "three batches and one retry of the refused"
    );
    let events: Vec<StepDue> = recorder.calls.lock().unwrap().concat();
    let mut clients: Vec<&str> = events.iter().map(|e| e.client_id.as_str()).collect();
    clients.sort_unstable();
    clients.dedup();
    assert_eq!(clients.len(), 25);
    // The event carries ids only.
    let json = serde_json::to_string(&events[0]).unwrap();
    assert!(
        !json.contains("example.com") && !json.contains("Ana"),
        "{json}"
    );

    // Claimed steps are queued, out of the due index: a second run publishes nothing.
    let again = Enqueuer::new(Arc::clone(&world.store), recorder.clone(), clock)
        .run()
        .await
        .unwrap();
    assert_eq!(again.claimed, 0);
    assert!(world.due("2026-06-30T00:00:00Z").await.is_empty());
    let outreach = world.outreach("c00").await;
    assert_eq!(outreach.pending_step, Some(0));
    let _ = StepStatus::Scheduled;
}

#[tokio::test]
async fn steps_the_bus_keeps_refusing_go_back_to_the_queue() {
    let world = World::new(|_| {}).await;
    world.regular("ana", "2026-03-02", 4500).await;
    world
        .detector("2026-06-01T05:00:00Z")
        .run(&world.tenant)
        .await
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    *recorder.refuse_first.lock().unwrap() = 100;
    let clock = Arc::new(FixedClock(at("2026-06-01T08:05:00Z")));
    let report = Enqueuer::new(Arc::clone(&world.store), recorder.clone(), clock.clone())
        .run()
        .await
        .unwrap();
    assert_eq!((report.published, report.released), (0, 1), "{report:?}");
    assert_eq!(world.due("2026-06-01T08:05:00Z").await.len(), 1);
    *recorder.refuse_first.lock().unwrap() = 0;
    let report = Enqueuer::new(Arc::clone(&world.store), recorder, clock)
        .run()
        .await
        .unwrap();
    assert_eq!(report.published, 1);
}

#[tokio::test]
async fn a_segment_no_sequence_serves_or_a_channel_the_client_cannot_get_is_skipped_with_its_reason()
 {
    use shared::domain::sequence::{ChannelPreference, Sequence};
    let world = World::new(|config| {
        // Only high-tier clients get a sequence, and it is SMS only.
        let mut sms = Sequence::default_for(Tier::High);
        for step in &mut sms.steps {
            step.channel = ChannelPreference::Sms;
        }
        config.outreach.sequences = vec![sms];
        config.outreach.senders.sms_sender = Some("Salon".into());
        config.outreach.tiers = TierCuts {
            high_from_annual_spend: Some(500.0),
            medium_from_annual_spend: Some(200.0),
        };
    })
    .await;
    world.regular("medium", "2026-03-02", 3000).await;
    world.regular("high", "2026-03-02", 10_000).await;
    let report = world
        .detector("2026-06-01T05:00:00Z")
        .run(&world.tenant)
        .await
        .unwrap();
    assert_eq!(report.enrolled, 0, "{report:?}");
    assert_eq!(report.skipped.get("no_sequence_for_segment"), Some(&1));
    assert_eq!(report.skipped.get("no_channel_for_sequence"), Some(&1));
}

mod delivery {
    use super::*;
    use shared::adapters::local::outbox::Outbox;
    use shared::app::deliver::{DeliverError, Delivered, Deliverer, DeliverySettings, Senders};
    use shared::domain::link_token::{LinkKey, LinkKeys, Purpose};

    /// A lapsed client enrolled and their first step queued: the world, the event, the outbox.
    async fn queued() -> (World, StepDue, tempfile::TempDir) {
        queued_with(|_| {}).await
    }

    async fn queued_with(
        configure: impl FnOnce(&mut BusinessConfig),
    ) -> (World, StepDue, tempfile::TempDir) {
        let world = World::new(configure).await;
        world.regular("ana", "2026-03-02", 4500).await;
        world
            .detector("2026-06-01T05:00:00Z")
            .run(&world.tenant)
            .await
            .unwrap();
        let event = published(&world, "2026-06-01T08:05:00Z").await.remove(0);
        (world, event, tempfile::tempdir().unwrap())
    }

    /// The step queue run at `now`: the events it published.
    async fn published(world: &World, now: &str) -> Vec<StepDue> {
        let recorder = Arc::new(Recorder::default());
        Enqueuer::new(
            Arc::clone(&world.store),
            recorder.clone(),
            Arc::new(FixedClock(at(now))),
        )
        .run()
        .await
        .unwrap();
        recorder.calls.lock().unwrap().concat()
    }

    fn keys() -> LinkKeys {
        LinkKeys::new(vec![LinkKey::new("k1", vec![3; 32]).unwrap()]).unwrap()
    }

    fn deliverer(world: &World, outbox: &tempfile::TempDir, now: &str) -> Deliverer {
        let outbox = Arc::new(Outbox::new(outbox.path().to_owned()).unwrap());
        deliverer_with(world, outbox.clone(), outbox, now)
    }

    fn deliverer_with(
        world: &World,
        email: Arc<dyn shared::ports::EmailSender>,
        sms: Arc<dyn shared::ports::SmsSender>,
        now: &str,
    ) -> Deliverer {
        Deliverer::new(
            Arc::clone(&world.store),
            Senders::both(email, sms),
            keys(),
            Arc::new(FixedClock(at(now))),
            DeliverySettings {
                links_base: "https://api.salon.example".into(),
                email_from: "Salon <hello@salon.example>".into(),
                unsubscribe_mailto: None,
            },
        )
    }

    fn emails(outbox: &tempfile::TempDir) -> Vec<String> {
        std::fs::read_dir(outbox.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| {
                std::fs::read_to_string(e.path())
                    .unwrap()
                    .replace("\r\n ", " ")
            })
            .collect()
    }

    #[tokio::test]
    async fn a_due_step_is_sent_once_with_signed_links_and_the_next_step_scheduled() {
        let (world, event, outbox) = queued().await;
        let deliverer = deliverer(&world, &outbox, "2026-06-01T08:06:00Z");
        let result = deliverer.deliver(&event).await.unwrap();
        assert!(matches!(result, Delivered::Sent { .. }), "{result:?}");
        let sent = emails(&outbox);
        assert_eq!(sent.len(), 1);
        let email = &sent[0];
        assert!(email.contains("To: ana@example.com"), "{email}");
        assert!(
            email.contains("Subject: Time for your next Cut, Ana?"),
            "{email}"
        );
        assert!(email.contains("List-Unsubscribe: <https://api.salon.example/u/k1."));
        assert!(email.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        // The links are genuine: the opt-out token verifies for this client and step.
        let token = email
            .split("https://api.salon.example/u/")
            .nth(1)
            .unwrap()
            .split(['>', ' ', '\r', '\n'])
            .next()
            .unwrap();
        let claims = keys()
            .verify(token, Purpose::OptOut, at("2026-06-02T00:00:00Z"))
            .unwrap();
        assert_eq!(claims.client.as_str(), "ana");
        assert_eq!(claims.step, 0);

        // Redelivered: nothing more is sent.
        assert_eq!(
            deliverer.deliver(&event).await.unwrap(),
            Delivered::AlreadySent
        );
        assert_eq!(emails(&outbox).len(), 1);
        let outreach = world.outreach("ana").await;
        assert_eq!(outreach.pending_step, Some(1));
        assert_eq!(outreach.last_message, Some(day("2026-06-01")));
        let next = world.due("2026-06-30T00:00:00Z").await;
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].index, 1);
        // Day 7 of the sequence, 09:00 in London.
        assert_eq!(next[0].send_at, at("2026-06-08T08:00:00Z"));
    }

    #[tokio::test]
    async fn the_same_event_delivered_at_once_several_times_sends_one_message() {
        let (world, event, outbox) = queued().await;
        let deliverers: Vec<Deliverer> = (0..4)
            .map(|_| deliverer(&world, &outbox, "2026-06-01T08:06:00Z"))
            .collect();
        // Polled together on one thread: each awaits the store in turn, so their steps
        // interleave as concurrent Lambda invocations' would.
        let results = futures::future::join_all(deliverers.iter().map(|d| d.deliver(&event))).await;
        let sent = results
            .iter()
            .filter(|r| matches!(r, Ok(Delivered::Sent { .. })))
            .count();
        assert_eq!(sent, 1, "{results:?}");
        assert_eq!(emails(&outbox).len(), 1);
    }

    #[tokio::test]
    async fn a_step_routed_to_a_function_without_its_channel_is_refused_for_good_and_left_queued() {
        let (world, event, outbox) = queued().await;
        assert_eq!(event.channel, Channel::Email);
        let sms_only = Deliverer::new(
            Arc::clone(&world.store),
            Senders::sms(Arc::new(Outbox::new(outbox.path().to_owned()).unwrap())),
            keys(),
            Arc::new(FixedClock(at("2026-06-01T08:06:00Z"))),
            DeliverySettings {
                links_base: "https://api.salon.example".into(),
                email_from: "Salon <hello@salon.example>".into(),
                unsubscribe_mailto: None,
            },
        );
        let refused = sms_only.deliver(&event).await;
        assert!(
            matches!(&refused, Err(DeliverError::NoSender(Channel::Email))),
            "{refused:?}"
        );
        assert!(!refused.unwrap_err().is_retryable(), "a retry cannot help");
        assert!(emails(&outbox).is_empty());
        // The step was not taken: the email function still sends it.
        let result = deliverer(&world, &outbox, "2026-06-01T08:07:00Z")
            .deliver(&event)
            .await
            .unwrap();
        assert!(matches!(result, Delivered::Sent { .. }), "{result:?}");
        assert_eq!(emails(&outbox).len(), 1);
    }

    #[tokio::test]
    async fn a_booking_or_an_opt_out_a_moment_before_wins() {
        let (world, event, outbox) = queued().await;
        let mut rebook = visit("ana-new", "ana", "2026-06-20", "hair", 4500);
        rebook.status = BookingStatus::Booked;
        rebook.updated_at = at("2026-06-01T08:05:30Z");
        world
            .ingest("2026-06-01T08:05:30Z")
            .apply_bookings(&world.tenant, &[rebook])
            .await
            .unwrap();
        let result = deliverer(&world, &outbox, "2026-06-01T08:06:00Z")
            .deliver(&event)
            .await
            .unwrap();
        assert!(
            matches!(
                result,
                Delivered::Skipped { .. } | Delivered::Stopped { .. }
            ),
            "{result:?}"
        );
        assert!(emails(&outbox).is_empty());

        let (world, event, outbox) = queued().await;
        let mut profile = ClientProfile::new(client("ana"));
        profile.email = Some(EmailAddress::parse("ana@example.com").unwrap());
        profile.consent.email = Some(Consent {
            granted: false,
            source: "front desk".into(),
            at: at("2026-06-01T08:05:50Z"),
        });
        world
            .ingest("2026-06-01T08:05:50Z")
            .upsert_client(&world.tenant, &profile)
            .await
            .unwrap();
        let result = deliverer(&world, &outbox, "2026-06-01T08:06:00Z")
            .deliver(&event)
            .await
            .unwrap();
        assert!(!matches!(result, Delivered::Sent { .. }), "{result:?}");
        assert!(emails(&outbox).is_empty());
    }

    #[tokio::test]
    async fn a_single_use_code_goes_out_with_the_offer_and_is_redeemed_once_by_a_booking() {
        use shared::domain::sequence::{ChannelPreference, Sequence, Step};
        let (world, event, outbox) = queued_with(|config| {
            let step = |day, template: &str, offer: Option<&str>| Step {
                day,
                channel: ChannelPreference::Email,
                template: template.into(),
                offer: offer.map(str::to_owned),
            };
            config.outreach.sequences = vec![Sequence::named(
                "with a code",
                vec![
                    step(0, "soft_check_in", None),
                    step(7, "incentive", Some("welcome_back")),
                ],
            )];
            let offer = config.outreach.offers.get_mut("welcome_back").unwrap();
            offer.tiers.clear();
            assert!(
                offer.unique_code,
                "discount codes are single-use by default"
            );
        })
        .await;
        let first = deliverer(&world, &outbox, "2026-06-01T08:06:00Z");
        first.deliver(&event).await.unwrap();
        // A week on, the incentive.
        let second = published(&world, "2026-06-08T08:05:00Z").await.remove(0);
        let result = deliverer(&world, &outbox, "2026-06-08T08:06:00Z")
            .deliver(&second)
            .await
            .unwrap();
        assert!(matches!(result, Delivered::Sent { .. }), "{result:?}");
        let mail = emails(&outbox)
            .into_iter()
            .find(|m| m.contains("with code WB-"))
            .expect("the incentive carries a code");
        let code = mail
            .split("with code ")
            .nth(1)
            .unwrap()
            .chars()
            .take(12)
            .collect::<String>();
        assert_eq!(code.len(), 12, "{code}");
        assert_eq!(
            code,
            keys().offer_code("salon", "ana", event.enrollment_id.as_str(), "welcome_back")
        );
        let given = world
            .outreach("ana")
            .await
            .active
            .unwrap()
            .offer_code
            .unwrap();
        assert_eq!(
            (given.code.as_str(), given.redeemed.is_none()),
            (code.as_str(), true)
        );

        // She books with it (the booking tool sends the code back, in any case).
        let mut rebook = visit("ana-back", "ana", "2026-06-12", "hair", 4050);
        rebook.status = BookingStatus::Booked;
        rebook.updated_at = at("2026-06-08T19:00:00Z");
        rebook.offer_code = Some(code.to_lowercase());
        let ingest = world.ingest("2026-06-08T19:00:00Z");
        let rebook = [rebook];
        ingest.apply_bookings(&world.tenant, &rebook).await.unwrap();
        assert_eq!(
            ingest.code_statuses(&world.tenant, &rebook).await.unwrap(),
            [Some(CodeStatus::Redeemed)]
        );
        let ended = world.outreach("ana").await.previous.unwrap();
        let redeemed = ended.offer_code.unwrap().redeemed.unwrap();
        assert_eq!(redeemed.booking.as_str(), "ana-back");
        // The same code on another booking later is not a second redemption.
        let mut again = visit("ana-again", "ana", "2026-07-20", "hair", 4050);
        again.status = BookingStatus::Booked;
        again.updated_at = at("2026-07-01T19:00:00Z");
        again.offer_code = Some(code.clone());
        let ingest = world.ingest("2026-07-01T19:00:00Z");
        let again = [again];
        ingest.apply_bookings(&world.tenant, &again).await.unwrap();
        assert_eq!(
            ingest.code_statuses(&world.tenant, &again).await.unwrap(),
            [Some(CodeStatus::AlreadyRedeemed)]
        );
        let still = world.outreach("ana").await.previous.unwrap();
        assert_eq!(
            still.offer_code.unwrap().redeemed.unwrap().booking.as_str(),
            "ana-back"
        );
    }

    #[tokio::test]
    async fn the_business_s_own_wording_is_sent_in_place_of_the_built_in_one() {
        use shared::domain::outreach_settings::TemplateOverride;
        use shared::domain::template::Template;
        let (world, event, outbox) = queued_with(|config| {
            config.outreach.templates.insert(
                "soft_check_in".into(),
                TemplateOverride {
                    email: Some(Template {
                        subject: Some("We miss you, {{first_name|friend}}".into()),
                        text:
                            "Your chair is waiting. {{rebook_link}} Unsubscribe: {{opt_out_link}}"
                                .into(),
                        html: None,
                    }),
                    sms: None,
                },
            );
        })
        .await;
        deliverer(&world, &outbox, "2026-06-01T08:06:00Z")
            .deliver(&event)
            .await
            .unwrap();
        let email = emails(&outbox).remove(0);
        assert!(email.contains("Subject: We miss you, Ana"), "{email}");
        assert!(email.contains("Your chair is waiting."), "{email}");
    }

    #[tokio::test]
    async fn a_booking_after_a_message_ends_the_sequence_and_is_credited_to_it_with_its_revenue() {
        let (world, event, outbox) = queued().await;
        deliverer(&world, &outbox, "2026-06-01T08:06:00Z")
            .deliver(&event)
            .await
            .unwrap();
        // She books a cut for next week, that evening.
        let mut rebook = visit("ana-back", "ana", "2026-06-09", "hair", 5200);
        rebook.status = BookingStatus::Booked;
        rebook.updated_at = at("2026-06-01T19:30:00Z");
        world
            .ingest("2026-06-01T19:30:00Z")
            .apply_bookings(&world.tenant, &[rebook])
            .await
            .unwrap();
        let outreach = world.outreach("ana").await;
        assert!(outreach.active.is_none());
        let ended = world
            .store
            .enrollment(&world.tenant.id, &client("ana"), &event.enrollment_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            ended.status,
            Status::Ended {
                outcome: Outcome::Converted,
                on: day("2026-06-01")
            }
        );
        let back = ended.reactivation.expect("the return is recorded");
        assert_eq!(back.credited_step, Some(0));
        assert_eq!(back.revenue_minor, 5200);
        assert_eq!(back.booking.as_str(), "ana-back");
        assert_eq!(ended.sent.len(), 1);
        assert_eq!(outreach.previous.unwrap().reactivation, Some(back));
        // The visit itself, sent later, is not a second return.
        let mut kept = visit("ana-back", "ana", "2026-06-09", "hair", 5200);
        kept.updated_at = at("2026-06-09T18:00:00Z");
        world
            .ingest("2026-06-09T18:00:00Z")
            .apply_bookings(&world.tenant, &[kept])
            .await
            .unwrap();
        let again = world
            .store
            .enrollment(&world.tenant.id, &client("ana"), &event.enrollment_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.reactivation, ended_reactivation(&world).await);
    }

    async fn ended_reactivation(world: &World) -> Option<shared::domain::enrollment::Reactivation> {
        world.outreach("ana").await.previous?.reactivation
    }

    /// A provider that is down: every send fails as SES or SNS throttling would.
    struct Down;

    #[async_trait]
    impl shared::ports::EmailSender for Down {
        async fn send_email(
            &self,
            _: &shared::ports::OutgoingEmail,
        ) -> Result<String, shared::ports::SendError> {
            Err(shared::ports::SendError::Unavailable(
                "Throttling: rate exceeded".into(),
            ))
        }
    }

    #[async_trait]
    impl shared::ports::SmsSender for Down {
        async fn send_sms(
            &self,
            _: &shared::ports::OutgoingSms,
        ) -> Result<String, shared::ports::SendError> {
            Err(shared::ports::SendError::Unavailable(
                "Throttling: rate exceeded".into(),
            ))
        }
    }

    #[tokio::test]
    async fn a_provider_outage_hands_the_step_back_for_the_event_s_next_delivery() {
        let (world, event, outbox) = queued().await;
        let down = deliverer_with(
            &world,
            Arc::new(Down),
            Arc::new(Down),
            "2026-06-01T08:06:00Z",
        );
        let error = down.deliver(&event).await.unwrap_err();
        assert!(error.is_retryable(), "{error}");
        assert!(error.to_string().contains("Throttling"), "{error}");
        let step = world
            .store
            .step(&world.tenant.id, &client("ana"), &event.enrollment_id, 0)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(step.status, StepStatus::Queued { .. }), "{step:?}");
        // The retry a minute later, with the provider back, sends it once.
        let result = deliverer(&world, &outbox, "2026-06-01T08:07:00Z")
            .deliver(&event)
            .await
            .unwrap();
        assert!(matches!(result, Delivered::Sent { .. }), "{result:?}");
        assert_eq!(emails(&outbox).len(), 1);
    }

    /// The token of the first link to `base/{path}/` in a message.
    fn token_in(message: &str, path: &str) -> String {
        message
            .split(&format!("https://api.salon.example/{path}/"))
            .nth(1)
            .unwrap()
            .split(['>', ' ', '\r', '\n', '"', '<'])
            .next()
            .unwrap()
            .to_owned()
    }

    mod links {
        use super::*;
        use axum::body::{Body, to_bytes};
        use axum::http::{Request, StatusCode, header};
        use shared::app::links::Links;
        use shared::domain::contact::ContactHash;
        use shared::http::links_router;
        use tower::ServiceExt;

        async fn call(
            world: &World,
            now: &str,
            method: &str,
            path: &str,
            body: &str,
        ) -> (StatusCode, Option<String>, String) {
            let links = Arc::new(Links::new(
                Arc::clone(&world.store),
                Arc::new(FixedClock(at(now))),
                keys(),
            ));
            let response = links_router(links)
                .oneshot(
                    Request::builder()
                        .method(method)
                        .uri(path)
                        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(Body::from(body.to_owned()))
                        .unwrap(),
                )
                .await
                .unwrap();
            let status = response.status();
            let location = response
                .headers()
                .get(header::LOCATION)
                .map(|l| l.to_str().unwrap().to_owned());
            assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
            let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
            (status, location, String::from_utf8(body.to_vec()).unwrap())
        }

        /// A sent first message, with a booking page set.
        async fn sent() -> (World, tempfile::TempDir, String) {
            let (world, event, outbox) = queued_with(|config| {
                config.outreach.booking_url = Some(
                    "https://book.salon.example/new?client={client_id}&service={service}".into(),
                );
            })
            .await;
            deliverer(&world, &outbox, "2026-06-01T08:06:00Z")
                .deliver(&event)
                .await
                .unwrap();
            // Quoted-printable soft line breaks undone, as a mail client would.
            let email = emails(&outbox).remove(0).replace("=\r\n", "");
            (world, outbox, email)
        }

        #[tokio::test]
        async fn a_rebook_link_is_recorded_and_lands_on_the_booking_page_filled_in() {
            let (world, _outbox, email) = sent().await;
            let token = token_in(&email, "r");
            let (status, location, _) = call(
                &world,
                "2026-06-02T19:00:00Z",
                "GET",
                &format!("/r/{token}"),
                "",
            )
            .await;
            assert_eq!(status, StatusCode::FOUND);
            let location = location.unwrap();
            assert!(
                location.starts_with("https://book.salon.example/new?client=ana&service=Cut"),
                "{location}"
            );
            for utm in [
                "utm_source=winback",
                "utm_medium=email",
                "utm_content=step-1",
            ] {
                assert!(location.contains(utm), "{location} lacks {utm}");
            }
            let clicks = world
                .store
                .clicks(&world.tenant.id, &client("ana"))
                .await
                .unwrap();
            assert_eq!(clicks.len(), 1);
            assert_eq!(clicks[0].at, at("2026-06-02T19:00:00Z"));
        }

        #[tokio::test]
        async fn an_opt_out_is_confirmed_by_one_post_and_stops_the_sequence_for_good() {
            let (world, outbox, email) = sent().await;
            let token = token_in(&email, "u");
            let path = format!("/u/{token}");
            let now = "2026-06-02T19:00:00Z";
            let contact = ContactHash::of_email(&EmailAddress::parse("ana@example.com").unwrap());

            // Opening the page (or a mail scanner fetching it) changes nothing.
            let (status, _, page) = call(&world, now, "GET", &path, "").await;
            assert_eq!(status, StatusCode::OK);
            assert!(
                page.contains("<form method=\"post\">") && page.contains("Salon"),
                "{page}"
            );
            assert!(
                !world
                    .store
                    .is_suppressed(&world.tenant.id, &contact)
                    .await
                    .unwrap()
            );
            assert!(world.outreach("ana").await.active.is_some());

            // The mail client's one-click POST (RFC 8058).
            let (status, _, page) =
                call(&world, now, "POST", &path, "List-Unsubscribe=One-Click").await;
            assert_eq!(status, StatusCode::OK);
            assert!(page.contains("You are unsubscribed"), "{page}");
            assert!(
                world
                    .store
                    .is_suppressed(&world.tenant.id, &contact)
                    .await
                    .unwrap()
            );
            let outreach = world.outreach("ana").await;
            assert!(outreach.active.is_none() && outreach.pending_step.is_none());
            assert!(world.due("2026-12-31T00:00:00Z").await.is_empty());
            // Again (a second tap): the same page, one ledger line.
            let (status, _, _) = call(&world, now, "POST", &path, "").await;
            assert_eq!(status, StatusCode::OK);
            let ledger = world
                .store
                .consent_ledger(&world.tenant.id, &contact)
                .await
                .unwrap();
            assert_eq!(ledger.len(), 1);
            assert!(!ledger[0].entry.granted);
            assert_eq!(ledger[0].entry.source, "unsubscribe link");
            assert!(ledger[0].entry.wording.contains("one-click"));
            let (_, _, page) = call(&world, now, "GET", &path, "").await;
            assert!(page.contains("You are unsubscribed"), "{page}");
            assert_eq!(emails(&outbox).len(), 1);
        }

        #[tokio::test]
        async fn a_damaged_expired_or_misused_link_gets_a_friendly_page_and_changes_nothing() {
            let (world, _outbox, email) = sent().await;
            let opt_out = token_in(&email, "u");
            let rebook = token_in(&email, "r");
            let now = "2026-06-02T19:00:00Z";
            let mut tampered = opt_out.clone().into_bytes();
            let last = tampered.len() - 1;
            tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(tampered).unwrap();
            let truncated = &opt_out[..opt_out.len() / 2];
            for (path, method, status) in [
                (format!("/u/{tampered}"), "POST", StatusCode::BAD_REQUEST),
                (format!("/u/{truncated}"), "POST", StatusCode::BAD_REQUEST),
                (format!("/u/{rebook}"), "POST", StatusCode::BAD_REQUEST),
                (format!("/r/{opt_out}"), "GET", StatusCode::BAD_REQUEST),
                (format!("/r/{tampered}"), "GET", StatusCode::BAD_REQUEST),
            ] {
                let (got, location, page) = call(&world, now, method, &path, "").await;
                assert_eq!(got, status, "{method} {path}");
                assert_eq!(location, None);
                assert!(page.contains("This link does not work"), "{page}");
            }
            // 120 days on, the links have expired.
            let (got, _, page) = call(
                &world,
                "2026-10-01T00:00:00Z",
                "POST",
                &format!("/u/{opt_out}"),
                "",
            )
            .await;
            assert_eq!(got, StatusCode::GONE);
            assert!(page.contains("expired"), "{page}");
            let contact = ContactHash::of_email(&EmailAddress::parse("ana@example.com").unwrap());
            assert!(
                !world
                    .store
                    .is_suppressed(&world.tenant.id, &contact)
                    .await
                    .unwrap()
            );
            assert!(world.outreach("ana").await.active.is_some());
            assert!(
                world
                    .store
                    .clicks(&world.tenant.id, &client("ana"))
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
    }

    mod feedback {
        use super::*;
        use shared::app::feedback::{Feedback, Handled, InboundSms, MailFeedback, MailProblem};
        use shared::domain::contact::{ContactHash, PhoneNumber};
        use shared::domain::suppression::SuppressionReason;
        use shared::ports::{OutgoingSms, SendError, SmsSender};

        #[derive(Default)]
        struct Replies(Mutex<Vec<OutgoingSms>>);

        #[async_trait]
        impl SmsSender for Replies {
            async fn send_sms(&self, sms: &OutgoingSms) -> Result<String, SendError> {
                self.0.lock().unwrap().push(sms.clone());
                Ok("reply-1".into())
            }
        }

        fn feedback(world: &World, replies: &Arc<Replies>) -> Feedback {
            Feedback::new(
                Arc::clone(&world.store),
                replies.clone(),
                Arc::new(FixedClock(at("2026-06-03T12:00:00Z"))),
            )
        }

        #[tokio::test]
        async fn a_bounce_suppresses_the_address_ends_the_sequence_and_nothing_more_is_sent() {
            let (world, event, outbox) = queued().await;
            let replies = Arc::new(Replies::default());
            let bounce = MailFeedback {
                tenant: world.tenant.id.clone(),
                client: Some(client("ana")),
                address: EmailAddress::parse("ana@example.com").unwrap(),
                problem: MailProblem::PermanentBounce,
                detail: "Permanent bounce (General): 550 user unknown".into(),
            };
            let handled = feedback(&world, &replies).mail(&bounce).await.unwrap();
            assert_eq!(handled, Handled::Suppressed { changed: true });
            let again = feedback(&world, &replies).mail(&bounce).await.unwrap();
            assert_eq!(again, Handled::Suppressed { changed: false });
            let contact = ContactHash::of_email(&bounce.address);
            assert_eq!(
                world
                    .store
                    .suppression(&world.tenant.id, &contact)
                    .await
                    .unwrap(),
                Some(SuppressionReason::Bounced)
            );
            let ledger = world
                .store
                .consent_ledger(&world.tenant.id, &contact)
                .await
                .unwrap();
            assert_eq!(ledger.len(), 1);
            assert_eq!(ledger[0].entry.source, "bounce");
            assert!(world.outreach("ana").await.active.is_none());
            let result = deliverer(&world, &outbox, "2026-06-01T08:06:00Z")
                .deliver(&event)
                .await
                .unwrap();
            assert!(!matches!(result, Delivered::Sent { .. }), "{result:?}");
            assert!(emails(&outbox).is_empty());

            let transient = MailFeedback {
                problem: MailProblem::TransientBounce,
                address: EmailAddress::parse("bo@example.com").unwrap(),
                ..bounce
            };
            let handled = feedback(&world, &replies).mail(&transient).await.unwrap();
            assert!(matches!(handled, Handled::Ignored { .. }));
        }

        #[tokio::test]
        async fn too_many_bounces_pause_the_business_until_it_is_resumed() {
            use shared::domain::reputation::MailEvent;
            let (world, event, outbox) = queued().await;
            let replies = Arc::new(Replies::default());
            for _ in 0..120 {
                world
                    .store
                    .count_mail(&world.tenant.id, day("2026-06-01"), MailEvent::Sent)
                    .await
                    .unwrap();
            }
            for n in 0..7 {
                let bounce = MailFeedback {
                    tenant: world.tenant.id.clone(),
                    client: None,
                    address: EmailAddress::parse(&format!("gone{n}@example.com")).unwrap(),
                    problem: MailProblem::PermanentBounce,
                    detail: "550 user unknown".into(),
                };
                feedback(&world, &replies).mail(&bounce).await.unwrap();
            }
            let tenant = world.store.tenant(&world.tenant.id).await.unwrap().unwrap();
            let pause = tenant
                .paused
                .clone()
                .expect("paused at 7 bounces in 120 emails");
            assert!(pause.reason.contains("7 of 120 emails"), "{}", pause.reason);

            // Paused: the due step waits a day, nothing is sent, nobody new is enrolled.
            let paused = deliverer(&world, &outbox, "2026-06-01T08:06:00Z");
            let result = paused.deliver(&event).await.unwrap();
            assert_eq!(
                result,
                Delivered::Paused {
                    until: at("2026-06-02T08:06:00Z")
                }
            );
            assert!(emails(&outbox).is_empty());
            assert_eq!(world.due("2026-06-02T08:06:00Z").await.len(), 1);
            let run = world
                .detector("2026-06-02T05:00:00Z")
                .run(&tenant)
                .await
                .unwrap();
            assert!(run.paused && run.enrolled == 0, "{run:?}");

            // Resumed: the step goes the next day.
            world.store.set_pause(&world.tenant.id, None).await.unwrap();
            let again = published(&world, "2026-06-02T08:10:00Z").await.remove(0);
            let result = deliverer(&world, &outbox, "2026-06-02T08:11:00Z")
                .deliver(&again)
                .await
                .unwrap();
            assert!(matches!(result, Delivered::Sent { .. }), "{result:?}");
        }

        #[tokio::test]
        async fn stop_start_and_help_by_sms_are_acted_on_recorded_and_answered() {
            let world = World::new(|config| {
                config.outreach.senders.sms_sender = Some("+447700900999".into());
            })
            .await;
            let replies = Arc::new(Replies::default());
            let phone = PhoneNumber::parse("+447700900123").unwrap();
            let contact = ContactHash::of_phone(&phone);
            // Ana has this number and a sequence under way.
            world.regular("ana", "2026-03-02", 4500).await;
            let record = world.store.client(&world.tenant.id, &client("ana")).await;
            let mut ana = record.unwrap().unwrap().profile.unwrap();
            ana.phone = Some(phone.clone());
            world
                .store
                .upsert_client(&world.tenant.id, &ana)
                .await
                .unwrap();
            world
                .detector("2026-06-01T05:00:00Z")
                .run(&world.tenant)
                .await
                .unwrap();
            assert!(world.outreach("ana").await.active.is_some());

            let sms = |body: &str| InboundSms {
                from: phone.clone(),
                to: "+447700900999".into(),
                body: body.into(),
            };
            let feedback = feedback(&world, &replies);
            assert_eq!(
                feedback.sms(&sms("Stop.")).await.unwrap(),
                Handled::OptedOut { changed: true }
            );
            assert_eq!(
                feedback.sms(&sms("STOP")).await.unwrap(),
                Handled::OptedOut { changed: false }
            );
            // Her sequence ended at once, not at its next SMS step.
            let outreach = world.outreach("ana").await;
            assert!(outreach.active.is_none(), "{outreach:?}");
            assert!(
                world
                    .store
                    .is_suppressed(&world.tenant.id, &contact)
                    .await
                    .unwrap()
            );
            assert_eq!(
                feedback.sms(&sms("can I book friday?")).await.unwrap(),
                Handled::Ignored {
                    reason: "not_a_keyword"
                }
            );
            assert_eq!(
                feedback.sms(&sms("unstop")).await.unwrap(),
                Handled::OptedIn { changed: true }
            );
            assert!(
                !world
                    .store
                    .is_suppressed(&world.tenant.id, &contact)
                    .await
                    .unwrap()
            );
            assert_eq!(feedback.sms(&sms("help")).await.unwrap(), Handled::Helped);
            let sent = replies.0.lock().unwrap().clone();
            assert_eq!(sent.len(), 2, "{sent:?}");
            assert!(
                sent.iter()
                    .all(|r| r.to == "+447700900123" && r.sender == "+447700900999")
            );
            assert!(sent[1].text.starts_with("Salon") && sent[1].text.contains("STOP"));
            let ledger = world
                .store
                .consent_ledger(&world.tenant.id, &contact)
                .await
                .unwrap();
            let words: Vec<(bool, &str)> = ledger
                .iter()
                .map(|l| (l.entry.granted, l.entry.wording.as_str()))
                .collect();
            assert_eq!(words, [(false, "Stop."), (true, "unstop")]);
            assert!(ledger.iter().all(|l| l.entry.source == "sms keyword"));
        }
    }
}
