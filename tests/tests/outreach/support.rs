//! What the outreach tests share: a business on an in-memory store with its clients, a fixed
//! clock per use case, a recording event bus, a deliverer writing to an outbox folder.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use shared::adapters::local::SqliteStore;
use shared::app::detect::Detector;
use shared::app::enqueue::Enqueuer;
use shared::app::ingest::Ingest;
use shared::domain::config::BusinessConfig;
use shared::domain::ids::Category;
use shared::domain::tenant::Tenant;
use shared::ports::{EventPublisher, FixedClock, PublishError, StepDue, Store};

pub struct World {
    pub store: Arc<dyn Store>,
    pub tenant: Tenant,
}

use shared::domain::fixtures;
pub use shared::domain::fixtures::{at, client_id as client, day, visit};

pub fn hair() -> Category {
    fixtures::category("hair")
}

impl World {
    /// A business in London with no control group (the fixtures' tenant), configured by
    /// `configure`, on an in-memory store.
    pub async fn new(configure: impl FnOnce(&mut BusinessConfig)) -> World {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
        let tenant = fixtures::tenant(configure);
        store.create_tenant(&tenant).await.unwrap();
        World { store, tenant }
    }

    pub fn ingest(&self, now: &str) -> Ingest {
        Ingest::new(Arc::clone(&self.store), Arc::new(FixedClock(at(now))))
    }

    pub fn detector(&self, now: &str) -> Detector {
        Detector::new(Arc::clone(&self.store), Arc::new(FixedClock(at(now))))
    }

    /// A client with email consent who came for a haircut every four weeks, five times, the
    /// last on `last` (at `price_minor` each).
    pub async fn regular(&self, id: &str, last: &str, price_minor: i64) {
        let ingest = self.ingest("2026-06-01T12:00:00Z");
        ingest
            .upsert_client(&self.tenant, &fixtures::profile(id))
            .await
            .unwrap();
        let visits = fixtures::every_four_weeks(id, "hair", last, price_minor);
        let last = day(last);
        self.store
            .import_history(&self.tenant, &client(id), &visits, last)
            .await
            .unwrap();
    }

    pub async fn outreach(&self, id: &str) -> shared::domain::enrollment::Outreach {
        self.store
            .client(&self.tenant.id, &client(id))
            .await
            .unwrap()
            .unwrap()
            .outreach
    }

    pub async fn due(&self, through: &str) -> Vec<shared::domain::enrollment::ScheduledStep> {
        self.store
            .due_steps(&self.tenant.id, at(through), 10_000)
            .await
            .unwrap()
    }
}

/// A publisher that records every call and can refuse entries.
#[derive(Default)]
pub struct Recorder {
    pub calls: Mutex<Vec<Vec<StepDue>>>,
    pub refuse_first: Mutex<usize>,
}

#[async_trait]
impl EventPublisher for Recorder {
    async fn publish(&self, events: &[StepDue]) -> Result<Vec<usize>, PublishError> {
        assert!(events.len() <= 10, "EventBridge takes at most 10 entries");
        self.calls.lock().unwrap().push(events.to_vec());
        let mut refuse = self.refuse_first.lock().unwrap();
        let refused: Vec<usize> = (0..events.len()).take(*refuse).collect();
        *refuse = refuse.saturating_sub(refused.len());
        Ok(refused)
    }
}

use shared::adapters::local::outbox::Outbox;
use shared::app::deliver::{Deliverer, DeliverySettings, Senders};
use shared::domain::link_token::{LinkKey, LinkKeys};

/// A lapsed client enrolled and their first step queued: the world, the event, the outbox.
pub async fn queued() -> (World, StepDue, tempfile::TempDir) {
    queued_with(|_| {}).await
}

pub async fn queued_with(
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
pub async fn published(world: &World, now: &str) -> Vec<StepDue> {
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

pub fn keys() -> LinkKeys {
    LinkKeys::new(vec![LinkKey::new("k1", vec![3; 32]).unwrap()]).unwrap()
}

pub fn deliverer(world: &World, outbox: &tempfile::TempDir, now: &str) -> Deliverer {
    let outbox = Arc::new(Outbox::new(outbox.path().to_owned()).unwrap());
    deliverer_with(world, outbox.clone(), outbox, now)
}

pub fn deliverer_with(
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

pub fn emails(outbox: &tempfile::TempDir) -> Vec<String> {
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

/// The token of the first link to `base/{path}/` in a message.
pub fn token_in(message: &str, path: &str) -> String {
    message
        .split(&format!("https://api.salon.example/{path}/"))
        .nth(1)
        .unwrap()
        .split(['>', ' ', '\r', '\n', '"', '<'])
        .next()
        .unwrap()
        .to_owned()
}
