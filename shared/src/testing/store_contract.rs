//! The contract every [`Store`] meets, one `async fn` per behaviour. The test crate runs each
//! against the SQLite store and against the DynamoDB store on moto, so a behaviour is written
//! (and fixed) once.

use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::date;

use crate::domain::booking::{Booking, BookingStatus, ServiceLine};
use crate::domain::booking_change::BookingOutcome;
use crate::domain::client::{ClientProfile, Consent};
use crate::domain::config::{BusinessConfig, TimeZoneName};
use crate::domain::contact::{ContactHash, EmailAddress, PhoneNumber};
use crate::domain::day::Day;
use crate::domain::ids::{BookingId, Category, ClientId, TenantId};
use crate::domain::stage::Stage;
use crate::domain::tenant::{ApiKey, ApiKeyHash, Tenant, WebhookSecret};
use crate::ports::{ProfileOutcome, Store, StoreError};

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

pub fn client_id(id: &str) -> ClientId {
    ClientId::parse(id).unwrap()
}

pub fn day(text: &str) -> Day {
    Day::from(text.parse::<jiff::civil::Date>().unwrap())
}

/// A builder for bookings: completed, one hair service at 45.00, version 1.
#[derive(Clone)]
pub struct BookingBuilder(Booking);

pub fn booking(id: &str, client: &str, on: &str) -> BookingBuilder {
    BookingBuilder(Booking {
        id: BookingId::parse(id).unwrap(),
        client_id: client_id(client),
        status: BookingStatus::Completed,
        starts_at: format!("{on}T10:00:00Z").parse().unwrap(),
        updated_at: format!("{on}T18:00:00Z").parse().unwrap(),
        location_id: None,
        staff: Some("Maya".into()),
        offer_code: None,
        services: vec![ServiceLine {
            category: Category::parse("hair").unwrap(),
            name: Some("Cut".into()),
            price_minor: 4500,
        }],
    })
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

fn profile(id: &str) -> ClientProfile {
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

const TODAY: &str = "2026-06-01";

async fn apply(store: &dyn Store, tenant: &Tenant, booking: Booking) -> BookingOutcome {
    store
        .apply_booking(tenant, &booking, day(TODAY))
        .await
        .unwrap()
}

async fn hair_visits(store: &dyn Store, tenant: &Tenant, client: &str) -> Option<(u32, Day)> {
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

pub async fn a_tenant_is_created_once_and_read_back(store: &dyn Store) {
    let created = tenant(store, "t-create").await;
    assert_eq!(
        store.tenant(&created.id).await.unwrap(),
        Some(created.clone())
    );
    assert!(matches!(
        store.create_tenant(&created).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let unknown = TenantId::parse("t-unknown").unwrap();
    assert_eq!(store.tenant(&unknown).await.unwrap(), None);
    let secret = WebhookSecret::from_random([3; 32]);
    store
        .add_webhook_secret(&created.id, &secret)
        .await
        .unwrap();
    store
        .add_webhook_secret(&created.id, &secret)
        .await
        .unwrap();
    let read = store.tenant(&created.id).await.unwrap().unwrap();
    assert_eq!(read.webhook_secrets, vec![secret]);
}

pub async fn an_api_key_resolves_to_its_own_tenant_only(store: &dyn Store) {
    let a = tenant(store, "t-key-a").await;
    let b = tenant(store, "t-key-b").await;
    let key_a = ApiKey::from_random([1; 32]);
    let key_b = ApiKey::from_random([2; 32]);
    store.add_api_key(&a.id, &key_a.hash()).await.unwrap();
    store.add_api_key(&a.id, &key_a.hash()).await.unwrap();
    store.add_api_key(&b.id, &key_b.hash()).await.unwrap();
    assert_eq!(
        store.tenant_for_api_key(&key_a.hash()).await.unwrap(),
        Some(a.id)
    );
    assert_eq!(
        store.tenant_for_api_key(&key_b.hash()).await.unwrap(),
        Some(b.id)
    );
    let unknown = ApiKeyHash::of("wbk_not-a-key");
    assert_eq!(store.tenant_for_api_key(&unknown).await.unwrap(), None);
}

pub async fn webhook_ids_are_remembered_per_tenant_until_they_expire(store: &dyn Store) {
    let a = tenant(store, "t-hook-a").await;
    let b = tenant(store, "t-hook-b").await;
    assert!(
        !store
            .webhook_seen(&a.id, "msg_1", Timestamp::now())
            .await
            .unwrap()
    );
    let later = Timestamp::now()
        .checked_add(jiff::SignedDuration::from_mins(10))
        .unwrap();
    store
        .remember_webhook(&a.id, "msg_1", later, Timestamp::now())
        .await
        .unwrap();
    store
        .remember_webhook(&a.id, "msg_1", later, Timestamp::now())
        .await
        .unwrap();
    assert!(
        store
            .webhook_seen(&a.id, "msg_1", Timestamp::now())
            .await
            .unwrap()
    );
    assert!(
        !store
            .webhook_seen(&b.id, "msg_1", Timestamp::now())
            .await
            .unwrap()
    );
    let past = Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_secs(1))
        .unwrap();
    store
        .remember_webhook(&a.id, "msg_old", past, Timestamp::now())
        .await
        .unwrap();
    assert!(
        !store
            .webhook_seen(&a.id, "msg_old", Timestamp::now())
            .await
            .unwrap()
    );
}

pub async fn a_profile_is_upserted_and_an_older_version_never_overwrites_it(store: &dyn Store) {
    let t = tenant(store, "t-profile").await;
    let first = profile("c1");
    assert_eq!(
        store.upsert_client(&t.id, &first).await.unwrap(),
        ProfileOutcome::Created
    );
    let mut newer = first.clone();
    newer.name = Some("Ana María Lopez".into());
    newer.updated_at = Some("2026-02-01T09:00:00Z".parse().unwrap());
    assert_eq!(
        store.upsert_client(&t.id, &newer).await.unwrap(),
        ProfileOutcome::Updated
    );
    let mut older = first.clone();
    older.name = Some("Old Name".into());
    older.updated_at = Some("2026-01-20T09:00:00Z".parse().unwrap());
    assert_eq!(
        store.upsert_client(&t.id, &older).await.unwrap(),
        ProfileOutcome::Stale
    );
    let record = store
        .client(&t.id, &client_id("c1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.profile, Some(newer));
    assert!(record.bookings.is_empty());
}

pub async fn completed_bookings_build_the_cadence_and_its_watch_day(store: &dyn Store) {
    let t = tenant(store, "t-cadence").await;
    for (i, on) in ["2026-01-05", "2026-02-02", "2026-03-02", "2026-03-30"]
        .iter()
        .enumerate()
    {
        let b = booking(&format!("b{i}"), "c1", on).build();
        assert_eq!(apply(store, &t, b).await, BookingOutcome::Created);
    }
    let record = store
        .client(&t.id, &client_id("c1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.profile, None,
        "bookings may arrive before the profile"
    );
    assert_eq!(record.bookings.len(), 4);
    let [stored] = record.cadences.as_slice() else {
        panic!("one category: {:?}", record.cadences)
    };
    assert_eq!(stored.cadence.visits, 4);
    assert_eq!(stored.cadence.spend_minor, 4 * 4500);
    assert_eq!(stored.cadence.last_staff.as_deref(), Some("Maya"));
    let expected = stored.cadence.watch(day(TODAY), &t.config);
    assert_eq!(stored.watch, expected);
    assert!(stored.watch.is_some());
}

pub async fn the_same_booking_twice_or_an_older_version_changes_nothing(store: &dyn Store) {
    let t = tenant(store, "t-dup").await;
    let b = booking("b1", "c1", "2026-03-02");
    assert_eq!(
        apply(store, &t, b.clone().build()).await,
        BookingOutcome::Created
    );
    assert_eq!(
        apply(store, &t, b.clone().build()).await,
        BookingOutcome::Duplicate
    );
    let newer = b.clone().on("2026-03-03").version(60).build();
    assert_eq!(
        apply(store, &t, newer.clone()).await,
        BookingOutcome::Updated
    );
    let stale = b.clone().on("2026-02-01").version(30).build();
    assert_eq!(apply(store, &t, stale).await, BookingOutcome::Stale);
    let conflicting = b.status(BookingStatus::NoShow).version(60).build();
    assert_eq!(
        apply(store, &t, conflicting).await,
        BookingOutcome::Conflicting
    );
    let record = store
        .client(&t.id, &client_id("c1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.bookings, vec![newer]);
    assert_eq!(
        hair_visits(store, &t, "c1").await,
        Some((1, day("2026-03-03")))
    );
}

pub async fn a_messy_history_leaves_the_cadence_of_a_clean_one(store: &dyn Store) {
    let t = tenant(store, "t-messy").await;
    let clean = [
        booking("b1", "clean", "2026-01-05").build(),
        booking("b2", "clean", "2026-02-02")
            .also("colour", 9000)
            .build(),
        booking("b4", "clean", "2026-04-06").build(),
    ];
    for b in clean {
        apply(store, &t, b).await;
    }
    let messy = [
        booking("b4", "messy", "2026-04-06").build(),
        booking("b2", "messy", "2026-02-02")
            .also("colour", 9000)
            .build(),
        booking("b3", "messy", "2026-03-02").build(),
        booking("b1", "messy", "2026-01-05").build(),
        booking("b2", "messy", "2026-02-02")
            .also("colour", 9000)
            .build(),
        // Completed, then cancelled after the fact.
        booking("b3", "messy", "2026-03-02")
            .status(BookingStatus::Cancelled)
            .version(5)
            .build(),
        // Rescheduled, then moved back.
        booking("b1", "messy", "2026-01-05")
            .on("2026-01-07")
            .version(5)
            .build(),
        booking("b1", "messy", "2026-01-05").version(9).build(),
        // A no-show is not a visit.
        booking("b5", "messy", "2026-05-04")
            .status(BookingStatus::NoShow)
            .build(),
    ];
    for b in messy {
        apply(store, &t, b).await;
    }
    let cadences_of = |record: Option<crate::ports::ClientRecord>| record.unwrap().cadences;
    let clean = cadences_of(store.client(&t.id, &client_id("clean")).await.unwrap());
    let messy = cadences_of(store.client(&t.id, &client_id("messy")).await.unwrap());
    assert_eq!(clean.len(), 2);
    assert_eq!(messy, clean);
}

pub async fn cancelling_the_only_visit_removes_the_cadence_and_its_watch(store: &dyn Store) {
    let t = tenant(store, "t-cancel").await;
    let b = booking("b1", "c1", "2026-03-02");
    apply(store, &t, b.clone().build()).await;
    let record = store
        .client(&t.id, &client_id("c1"))
        .await
        .unwrap()
        .unwrap();
    let watch = record.cadences[0].watch.unwrap();
    let watched = store
        .watched_cadences(&t.id, watch.on, watch.on)
        .await
        .unwrap();
    assert_eq!(watched.len(), 1);
    let cancelled = b.status(BookingStatus::Cancelled).version(10).build();
    assert_eq!(apply(store, &t, cancelled).await, BookingOutcome::Updated);
    assert_eq!(hair_visits(store, &t, "c1").await, None);
    let watched = store
        .watched_cadences(&t.id, watch.on, watch.on)
        .await
        .unwrap();
    assert!(watched.is_empty(), "{watched:?}");
}

pub async fn concurrent_bookings_for_one_client_are_all_counted(store: Arc<dyn Store>) {
    let t = tenant(&*store, "t-concurrent").await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            let t = t.clone();
            let b = booking(
                &format!("b{i}"),
                "c1",
                &format!("2026-0{}-0{}", 1 + i / 4, 1 + i % 4),
            )
            .also("nails", 2000)
            .build();
            tokio::spawn(async move { store.apply_booking(&t, &b, day(TODAY)).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), BookingOutcome::Created);
    }
    let record = store
        .client(&t.id, &client_id("c1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.bookings.len(), 8);
    for cadence in &record.cadences {
        assert_eq!(cadence.cadence.visits, 8, "{:?}", cadence.cadence.category);
    }
    assert_eq!(record.cadences.len(), 2);
}

pub async fn erasure_removes_every_item_and_suppresses_the_contacts(store: &dyn Store) {
    let t = tenant(store, "t-erase").await;
    let p = profile("c1");
    store.upsert_client(&t.id, &p).await.unwrap();
    for i in 0..30 {
        let on = Day::from(date(2024, 1, 1)).plus_days(i * 20).to_string();
        apply(store, &t, booking(&format!("b{i}"), "c1", &on).build()).await;
    }
    apply(store, &t, booking("other", "c2", "2026-05-01").build()).await;
    let erased = store.erase_client(&t.id, &client_id("c1")).await.unwrap();
    assert_eq!(erased.map(|e| e.items), Some(1 + 30 + 1));
    assert_eq!(store.client(&t.id, &client_id("c1")).await.unwrap(), None);
    assert_eq!(
        store.erase_client(&t.id, &client_id("c1")).await.unwrap(),
        None
    );
    let email = ContactHash::of_email(p.email.as_ref().unwrap());
    let phone = ContactHash::of_phone(p.phone.as_ref().unwrap());
    assert!(store.is_suppressed(&t.id, &email).await.unwrap());
    assert!(store.is_suppressed(&t.id, &phone).await.unwrap());
    let other = tenant(store, "t-erase-other").await;
    assert!(!store.is_suppressed(&other.id, &email).await.unwrap());
    assert!(
        store
            .client(&t.id, &client_id("c2"))
            .await
            .unwrap()
            .is_some()
    );
    // Only the other client is left in the watch index.
    let watched = store
        .watched_cadences(&t.id, day(TODAY), day(TODAY).plus_days(60))
        .await
        .unwrap();
    let clients: Vec<&str> = watched.iter().map(|w| w.client_id.as_str()).collect();
    assert_eq!(clients, ["c2"]);
}

pub async fn clients_are_found_by_their_mobile_number_as_it_is_now(store: &dyn Store) {
    let t = tenant(store, "t-phone").await;
    let other = tenant(store, "t-phone-other").await;
    let number = PhoneNumber::parse("+447700900123").unwrap();
    let mut updated = profile("moved");
    store.upsert_client(&t.id, &updated).await.unwrap();
    for id in ["mum", "son"] {
        store.upsert_client(&t.id, &profile(id)).await.unwrap();
    }
    let mut elsewhere = profile("mum");
    elsewhere.phone = Some(number.clone());
    store.upsert_client(&other.id, &elsewhere).await.unwrap();
    let mut no_phone = profile("email-only");
    no_phone.phone = None;
    store.upsert_client(&t.id, &no_phone).await.unwrap();
    // A client whose number changed is found by the new number only.
    updated.phone = Some(PhoneNumber::parse("+447700900999").unwrap());
    updated.updated_at = Some("2026-02-01T09:00:00Z".parse().unwrap());
    store.upsert_client(&t.id, &updated).await.unwrap();

    let found = |tenant: TenantId, phone: &'static str| async move {
        let phone = PhoneNumber::parse(phone).unwrap();
        let ids = store.clients_with_phone(&tenant, &phone).await.unwrap();
        ids.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    assert_eq!(found(t.id.clone(), "+447700900123").await, ["mum", "son"]);
    assert_eq!(found(t.id.clone(), "+447700900999").await, ["moved"]);
    assert_eq!(
        found(t.id.clone(), "+15550001111").await,
        Vec::<String>::new()
    );
    assert_eq!(found(other.id.clone(), "+447700900123").await, ["mum"]);
    // Erased, the client is no longer found.
    store.erase_client(&t.id, &client_id("son")).await.unwrap();
    assert_eq!(found(t.id.clone(), "+447700900123").await, ["mum"]);
}

pub async fn watched_cadences_are_found_by_day_and_tenant(store: &dyn Store) {
    let t = tenant(store, "t-watch").await;
    let other = tenant(store, "t-watch-other").await;
    // Monthly clients whose last visits are a day apart become due a day apart.
    for c in 0..6 {
        for v in 0..4 {
            let on = Day::from(date(2026, 1, 1))
                .plus_days(v * 28 + c)
                .to_string();
            let b = booking(&format!("b{v}"), &format!("c{c}"), &on).build();
            store
                .apply_booking(&t, &b, day("2026-04-01"))
                .await
                .unwrap();
            store
                .apply_booking(&other, &b, day("2026-04-01"))
                .await
                .unwrap();
        }
    }
    let record = store
        .client(&t.id, &client_id("c0"))
        .await
        .unwrap()
        .unwrap();
    let first = record.cadences[0]
        .watch
        .expect("an active client is watched");
    assert_eq!(first.stage, Stage::Due);
    let found = store
        .watched_cadences(&t.id, first.on, first.on.plus_days(2))
        .await
        .unwrap();
    let clients: Vec<&str> = found.iter().map(|w| w.client_id.as_str()).collect();
    assert_eq!(clients, ["c0", "c1", "c2"]);
    assert!(found.iter().all(|w| w.watch.stage == Stage::Due));
    assert_eq!(found[1].watch.on, first.on.plus_days(1));
    let none = store
        .watched_cadences(&t.id, first.on.plus_days(-3), first.on.plus_days(-1))
        .await
        .unwrap();
    assert!(none.is_empty());
}

pub async fn a_tenant_never_sees_another_tenant_s_client(store: &dyn Store) {
    let a = tenant(store, "t-iso-a").await;
    let b = tenant(store, "t-iso-b").await;
    store
        .upsert_client(&a.id, &profile("shared-id"))
        .await
        .unwrap();
    apply(store, &a, booking("b1", "shared-id", "2026-03-02").build()).await;
    assert_eq!(
        store.client(&b.id, &client_id("shared-id")).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .erase_client(&b.id, &client_id("shared-id"))
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .client(&a.id, &client_id("shared-id"))
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn importing_a_history_equals_applying_it_booking_by_booking(store: &dyn Store) {
    let t = tenant(store, "t-import").await;
    let history = |client: &str| -> Vec<Booking> {
        let mut bookings: Vec<Booking> = (0..120)
            .map(|i| {
                let on = Day::from(date(2023, 1, 2)).plus_days(i * 9).to_string();
                let b = booking(&format!("b{i}"), client, &on);
                if i % 3 == 0 {
                    b.also("colour", 7000)
                } else {
                    b
                }
                .build()
            })
            .collect();
        bookings.push(
            booking(
                "b7",
                client,
                &Day::from(date(2023, 1, 2)).plus_days(63).to_string(),
            )
            .status(BookingStatus::Cancelled)
            .version(30)
            .build(),
        );
        bookings.reverse();
        bookings
    };
    for b in history("one-by-one") {
        store.apply_booking(&t, &b, day(TODAY)).await.unwrap();
    }
    let outcomes = store
        .import_history(&t, &client_id("imported"), &history("imported"), day(TODAY))
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 121);
    assert_eq!(outcomes[0], BookingOutcome::Created);
    let read = |record: Option<crate::ports::ClientRecord>| {
        let record = record.unwrap();
        (record.bookings.len(), record.cadences)
    };
    let one = read(store.client(&t.id, &client_id("one-by-one")).await.unwrap());
    let imported = read(store.client(&t.id, &client_id("imported")).await.unwrap());
    assert_eq!(imported, one);
    assert_eq!(imported.0, 120);
    // Importing again changes nothing.
    let again = store
        .import_history(&t, &client_id("imported"), &history("imported"), day(TODAY))
        .await
        .unwrap();
    assert!(
        again
            .iter()
            .all(|o| *o == BookingOutcome::Duplicate || *o == BookingOutcome::Stale)
    );
}

pub async fn tenants_are_listed_and_their_settings_replaced(store: &dyn Store) {
    let a = tenant(store, "t-list-a").await;
    let b = tenant(store, "t-list-b").await;
    let listed = store.tenants().await.unwrap();
    assert!(listed.contains(&a.id) && listed.contains(&b.id));
    let mut config = a.config.clone();
    config.outreach.control_share = 0.2;
    store.update_config(&a.id, &config).await.unwrap();
    let stored = store.tenant(&a.id).await.unwrap().unwrap();
    assert_eq!(stored.config.outreach.control_share, 0.2);
    assert_eq!(stored.name, a.name);
    assert_eq!(store.tenant(&b.id).await.unwrap().unwrap().config, b.config);
}

pub async fn the_detector_checkpoint_never_moves_back(store: &dyn Store) {
    let t = tenant(store, "t-checkpoint").await;
    assert_eq!(store.detector_checkpoint(&t.id).await.unwrap(), None);
    store
        .set_detector_checkpoint(&t.id, day("2026-06-02"))
        .await
        .unwrap();
    store
        .set_detector_checkpoint(&t.id, day("2026-06-01"))
        .await
        .unwrap();
    assert_eq!(
        store.detector_checkpoint(&t.id).await.unwrap(),
        Some(day("2026-06-02"))
    );
    store
        .set_detector_checkpoint(&t.id, day("2026-06-03"))
        .await
        .unwrap();
    assert_eq!(
        store.detector_checkpoint(&t.id).await.unwrap(),
        Some(day("2026-06-03"))
    );
}

pub async fn a_look_moves_the_watch_and_the_overdue_index_unless_the_cadence_changed(
    store: &dyn Store,
) {
    use crate::domain::category_cadence::Watch;
    use crate::ports::Look;
    let t = tenant(store, "t-look").await;
    for (i, on) in ["2026-03-09", "2026-04-06", "2026-05-04"]
        .iter()
        .enumerate()
    {
        apply(store, &t, booking(&format!("b{i}"), "c1", on).build()).await;
    }
    let hair = Category::parse("hair").unwrap();
    let record = store
        .client(&t.id, &client_id("c1"))
        .await
        .unwrap()
        .unwrap();
    let seen = record.cadences[0].watch;
    assert!(store.overdue(&t.id).await.unwrap().is_empty());
    let next = Watch {
        on: day("2026-08-01"),
        stage: Stage::Dormant,
    };
    let look = Look {
        stage: Stage::Lapsed,
        next: Some(next),
    };
    assert!(
        store
            .record_look(&t.id, &client_id("c1"), &hair, seen, look)
            .await
            .unwrap()
    );
    let overdue = store.overdue(&t.id).await.unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(
        (overdue[0].client_id.as_str(), overdue[0].stage),
        ("c1", Stage::Lapsed)
    );
    let watched = store
        .watched_cadences(&t.id, day("2026-08-01"), day("2026-08-01"))
        .await
        .unwrap();
    assert_eq!(watched.len(), 1);
    assert_eq!(watched[0].watch, next);
    let record = store
        .client(&t.id, &client_id("c1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.cadences[0].watch, Some(next));
    // A second look that saw the old watch changes nothing: the first one's stands.
    assert!(
        !store
            .record_look(
                &t.id,
                &client_id("c1"),
                &hair,
                seen,
                Look {
                    stage: Stage::Active,
                    next: None
                }
            )
            .await
            .unwrap()
    );
    assert_eq!(store.overdue(&t.id).await.unwrap().len(), 1);
    // A visit brings the client back: off the overdue index.
    apply(store, &t, booking("b9", "c1", "2026-05-30").build()).await;
    assert!(store.overdue(&t.id).await.unwrap().is_empty());
}

fn enrollment_for(
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

fn step_of(
    enrollment: &crate::domain::enrollment::Enrollment,
    send_at: &str,
) -> crate::domain::enrollment::ScheduledStep {
    use crate::domain::client::Channel;
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

fn enrol_change(
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

pub async fn enrollments_are_listed_by_the_day_they_started_as_they_stand(store: &dyn Store) {
    use crate::domain::client::Channel;
    use crate::domain::enrollment::SentStep;
    let t = tenant(store, "t-report").await;
    let other = tenant(store, "t-report-other").await;
    let starts = [
        ("c1", "2026-01-31"),
        ("c2", "2026-02-01"),
        ("c3", "2026-03-15"),
        ("c4", "2026-04-01"),
    ];
    for (client, started) in starts {
        let e = enrollment_for(client, "hair", started);
        let step = step_of(&e, "2026-06-01T09:00:00Z");
        store
            .write_outreach(&t.id, &enrol_change(&e, &step, 0, None))
            .await
            .unwrap();
    }
    let elsewhere = enrollment_for("c2", "hair", "2026-02-10");
    let step = step_of(&elsewhere, "2026-06-01T09:00:00Z");
    store
        .write_outreach(&other.id, &enrol_change(&elsewhere, &step, 0, None))
        .await
        .unwrap();
    // c2's first message goes out: its record is written again with it.
    let mut sent = enrollment_for("c2", "hair", "2026-02-01");
    sent.sent.push(SentStep {
        step: 0,
        channel: Channel::Email,
        at: "2026-02-02T09:00:00Z".parse().unwrap(),
    });
    let mut change = enrol_change(&sent, &step_of(&sent, "2026-02-09T09:00:00Z"), 1, None);
    change.sent = None;
    store.write_outreach(&t.id, &change).await.unwrap();

    let tenant_id = &t.id;
    let listed = |from: &'static str, through: &'static str| async move {
        let mut found = store
            .enrollments_started(tenant_id, day(from), day(through))
            .await
            .unwrap();
        found.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        found
    };
    let ids = |found: &[crate::domain::enrollment::Enrollment]| {
        found
            .iter()
            .map(|e| e.client_id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&listed("2026-02-01", "2026-03-31").await), ["c2", "c3"]);
    assert_eq!(
        ids(&listed("2026-01-01", "2026-12-31").await),
        ["c1", "c2", "c3", "c4"]
    );
    assert_eq!(ids(&listed("2026-01-31", "2026-01-31").await), ["c1"]);
    assert!(listed("2025-01-01", "2025-12-31").await.is_empty());
    let feb = listed("2026-02-01", "2026-02-28").await;
    assert_eq!(feb[0].sent.len(), 1, "as it stands: with the message sent");
}

pub async fn a_client_has_one_active_enrollment_and_ending_it_unschedules_its_step(
    store: &dyn Store,
) {
    use crate::domain::enrollment::Outcome;
    use crate::ports::Written;
    let t = tenant(store, "t-enrol").await;
    apply(store, &t, booking("b1", "c1", "2026-01-05").build()).await;
    let hair = enrollment_for("c1", "hair", TODAY);
    let step = step_of(&hair, "2026-06-01T09:00:00Z");
    let change = enrol_change(&hair, &step, 0, None);
    assert_eq!(
        store.write_outreach(&t.id, &change).await.unwrap(),
        Written::Done
    );
    // A second detector that read the same (empty) outreach is refused, whatever it enrolls.
    let nails = enrollment_for("c1", "nails", TODAY);
    let other = enrol_change(&nails, &step_of(&nails, "2026-06-01T09:00:00Z"), 0, None);
    assert_eq!(
        store.write_outreach(&t.id, &other).await.unwrap(),
        Written::Changed
    );

    let record = store
        .client(&t.id, &client_id("c1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.outreach.active.as_ref(), Some(&hair));
    assert_eq!(record.outreach_version, 1);
    assert_eq!(
        store
            .enrollment(&t.id, &client_id("c1"), &hair.id)
            .await
            .unwrap(),
        Some(hair.clone())
    );
    let due = store
        .due_steps(&t.id, "2026-06-01T09:00:00Z".parse().unwrap(), 100)
        .await
        .unwrap();
    assert_eq!(due, vec![step.clone()]);

    let mut outreach = record.outreach.clone();
    let ended = outreach.end(Outcome::Converted, day("2026-06-02")).unwrap();
    let end = crate::ports::OutreachChange {
        client_id: client_id("c1"),
        expected_version: record.outreach_version,
        outreach,
        enrollment: Some(ended.clone()),
        schedule: None,
        unschedule: Some((hair.id.clone(), 0)),
        sent: None,
        count: None,
    };
    assert_eq!(
        store.write_outreach(&t.id, &end).await.unwrap(),
        Written::Done
    );
    assert!(
        store
            .due_steps(&t.id, "2026-07-01T00:00:00Z".parse().unwrap(), 100)
            .await
            .unwrap()
            .is_empty()
    );
    let record = store
        .client(&t.id, &client_id("c1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.outreach.active, None);
    assert_eq!(record.outreach.last_ended, Some(day("2026-06-02")));
    assert_eq!(
        store
            .enrollment(&t.id, &client_id("c1"), &hair.id)
            .await
            .unwrap(),
        Some(ended)
    );
    // Erasure takes the outreach with it.
    store.erase_client(&t.id, &client_id("c1")).await.unwrap();
    assert_eq!(
        store
            .enrollment(&t.id, &client_id("c1"), &hair.id)
            .await
            .unwrap(),
        None
    );
}

pub async fn the_daily_cap_refuses_enrollments_once_reached(store: &dyn Store) {
    use crate::domain::client::Channel;
    use crate::ports::{DailyCount, Written};
    let t = tenant(store, "t-cap").await;
    let count = DailyCount {
        day: day(TODAY),
        channel: Channel::Email,
        cap: 2,
    };
    let mut written = Vec::new();
    for i in 0..3 {
        let client = format!("c{i}");
        apply(
            store,
            &t,
            booking(&format!("b{i}"), &client, "2026-01-05").build(),
        )
        .await;
        let e = enrollment_for(&client, "hair", TODAY);
        let change = enrol_change(&e, &step_of(&e, "2026-06-01T09:00:00Z"), 0, Some(count));
        written.push(store.write_outreach(&t.id, &change).await.unwrap());
    }
    assert_eq!(written, [Written::Done, Written::Done, Written::CapReached]);
    let record = store
        .client(&t.id, &client_id("c2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.outreach.active, None, "nothing half-written");
    // The next day has room again; SMS has its own count.
    let e = enrollment_for("c2", "hair", "2026-06-02");
    let tomorrow = DailyCount {
        day: day("2026-06-02"),
        ..count
    };
    let change = enrol_change(&e, &step_of(&e, "2026-06-02T09:00:00Z"), 0, Some(tomorrow));
    assert_eq!(
        store.write_outreach(&t.id, &change).await.unwrap(),
        Written::Done
    );
}

pub async fn due_steps_are_found_by_time_and_claimed_once(store: &dyn Store) {
    let t = tenant(store, "t-steps").await;
    let other = tenant(store, "t-steps-other").await;
    let times = [
        "2026-06-01T08:00:00Z",
        "2026-06-01T09:00:00Z",
        "2026-06-01T10:00:00Z",
    ];
    let mut steps = Vec::new();
    for (i, at) in times.iter().enumerate() {
        let client = format!("c{i}");
        apply(
            store,
            &t,
            booking(&format!("b{i}"), &client, "2026-01-05").build(),
        )
        .await;
        let e = enrollment_for(&client, "hair", TODAY);
        let step = step_of(&e, at);
        let change = enrol_change(&e, &step, 0, None);
        store.write_outreach(&t.id, &change).await.unwrap();
        steps.push(step);
    }
    let through: Timestamp = "2026-06-01T09:00:00Z".parse().unwrap();
    let due = store.due_steps(&t.id, through, 100).await.unwrap();
    assert_eq!(
        due,
        steps[..2].to_vec(),
        "earliest first, none later than `through`"
    );
    assert!(
        store
            .due_steps(&other.id, through, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.due_steps(&t.id, through, 1).await.unwrap(),
        steps[..1].to_vec()
    );

    let at: Timestamp = "2026-06-01T09:00:05Z".parse().unwrap();
    assert!(store.claim_step(&t.id, &due[0], at).await.unwrap());
    assert!(
        !store.claim_step(&t.id, &due[0], at).await.unwrap(),
        "claimed once"
    );
    assert_eq!(
        store.due_steps(&t.id, through, 100).await.unwrap(),
        steps[1..2].to_vec()
    );
    store.release_step(&t.id, &due[0]).await.unwrap();
    assert_eq!(
        store.due_steps(&t.id, through, 100).await.unwrap(),
        steps[..2].to_vec()
    );
    // A step whose enrollment ended (its item gone) cannot be claimed.
    let gone = step_of(&enrollment_for("c9", "hair", TODAY), "2026-06-01T08:00:00Z");
    assert!(!store.claim_step(&t.id, &gone, at).await.unwrap());
}

pub async fn a_queued_step_is_taken_for_sending_once_until_its_lease_runs_out(store: &dyn Store) {
    use crate::domain::enrollment::StepStatus;
    let t = tenant(store, "t-lease").await;
    apply(store, &t, booking("b1", "c1", "2026-01-05").build()).await;
    let e = enrollment_for("c1", "hair", TODAY);
    let step = step_of(&e, "2026-06-01T09:00:00Z");
    store
        .write_outreach(&t.id, &enrol_change(&e, &step, 0, None))
        .await
        .unwrap();
    let at = |s: &str| s.parse::<Timestamp>().unwrap();
    // Scheduled steps are not sent before the queue hands them over.
    assert!(
        !store
            .claim_for_sending(
                &t.id,
                &step,
                at("2026-06-01T09:01:00Z"),
                at("2026-06-01T09:06:00Z")
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_step(&t.id, &step, at("2026-06-01T09:00:30Z"))
            .await
            .unwrap()
    );
    let lease = at("2026-06-01T09:06:00Z");
    assert!(
        store
            .claim_for_sending(&t.id, &step, at("2026-06-01T09:01:00Z"), lease)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_for_sending(
                &t.id,
                &step,
                at("2026-06-01T09:02:00Z"),
                at("2026-06-01T09:07:00Z")
            )
            .await
            .unwrap(),
        "another delivery waits while the lease holds"
    );
    let stored = store
        .step(&t.id, &step.client_id, &step.enrollment, 0)
        .await
        .unwrap();
    assert_eq!(
        stored.unwrap().status,
        StepStatus::Sending { lease_until: lease }
    );
    // The first delivery crashed: once the lease has run out, another takes over.
    assert!(
        store
            .claim_for_sending(
                &t.id,
                &step,
                at("2026-06-01T09:06:00Z"),
                at("2026-06-01T09:11:00Z")
            )
            .await
            .unwrap()
    );
    let record = store
        .client(&t.id, &client_id("c1"))
        .await
        .unwrap()
        .unwrap();
    let sent = crate::domain::enrollment::ScheduledStep {
        status: StepStatus::Sent {
            at: at("2026-06-01T09:06:01Z"),
            message_id: "msg-1".into(),
        },
        ..step.clone()
    };
    let change = crate::ports::OutreachChange {
        client_id: client_id("c1"),
        expected_version: record.outreach_version,
        outreach: record.outreach.clone(),
        enrollment: None,
        schedule: None,
        unschedule: None,
        sent: Some(sent.clone()),
        count: None,
    };
    store.write_outreach(&t.id, &change).await.unwrap();
    assert_eq!(
        store
            .step(&t.id, &step.client_id, &step.enrollment, 0)
            .await
            .unwrap(),
        Some(sent)
    );
    assert!(
        !store
            .claim_for_sending(
                &t.id,
                &step,
                at("2026-06-02T00:00:00Z"),
                at("2026-06-02T00:05:00Z")
            )
            .await
            .unwrap(),
        "a sent step is never taken again"
    );
    assert!(
        store
            .due_steps(&t.id, at("2026-07-01T00:00:00Z"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn an_opt_out_suppresses_once_and_only_start_lifts_it(store: &dyn Store) {
    use crate::domain::client::Channel;
    use crate::domain::feedback::ConsentEntry;
    use crate::ports::{ConsentChange, SuppressionReason};

    let t = tenant(store, "t-consent").await;
    let phone = ContactHash::of_phone(&PhoneNumber::parse("+447700900123").unwrap());
    let at = |minute: i64| {
        "2026-11-30T10:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .checked_add(jiff::SignedDuration::from_mins(minute))
            .unwrap()
    };
    let change =
        |granted: bool, minute: i64, words: &str, reason: SuppressionReason| ConsentChange {
            contact: phone.clone(),
            client: Some(client_id("c1")),
            entry: ConsentEntry {
                channel: Channel::Sms,
                granted,
                at: at(minute),
                source: "sms keyword".into(),
                wording: words.into(),
            },
            reason,
        };
    let stop = change(false, 0, "STOP", SuppressionReason::OptedOut);
    assert!(store.record_consent(&t.id, &stop).await.unwrap());
    // The same STOP again (a redelivered message) writes nothing.
    assert!(!store.record_consent(&t.id, &stop).await.unwrap());
    assert_eq!(
        store.suppression(&t.id, &phone).await.unwrap(),
        Some(SuppressionReason::OptedOut)
    );
    let start = change(true, 5, "Start", SuppressionReason::OptedOut);
    assert!(store.record_consent(&t.id, &start).await.unwrap());
    assert!(!store.is_suppressed(&t.id, &phone).await.unwrap());
    assert!(!store.record_consent(&t.id, &start).await.unwrap());

    // A bounce is not lifted by START.
    let bounce = change(false, 10, "550 no such user", SuppressionReason::Bounced);
    assert!(store.record_consent(&t.id, &bounce).await.unwrap());
    let again = change(true, 15, "START", SuppressionReason::OptedOut);
    assert!(!store.record_consent(&t.id, &again).await.unwrap());
    assert_eq!(
        store.suppression(&t.id, &phone).await.unwrap(),
        Some(SuppressionReason::Bounced)
    );

    let ledger = store.consent_ledger(&t.id, &phone).await.unwrap();
    let lines: Vec<(bool, &str)> = ledger
        .iter()
        .map(|l| (l.entry.granted, l.entry.wording.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (false, "STOP"),
            (true, "Start"),
            (false, "550 no such user")
        ]
    );
    assert_eq!(ledger[0].client, Some(client_id("c1")));
    let other = tenant(store, "t-consent-other").await;
    assert!(
        store
            .consent_ledger(&other.id, &phone)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!store.is_suppressed(&other.id, &phone).await.unwrap());
}

pub async fn clicks_are_kept_with_the_client_and_erased_with_them(store: &dyn Store) {
    use crate::domain::client::Channel;
    use crate::domain::enrollment::EnrollmentId;
    use crate::domain::link_token::{LinkClaims, Purpose};

    let t = tenant(store, "t-clicks").await;
    store.upsert_client(&t.id, &profile("c1")).await.unwrap();
    let enrollment = EnrollmentId::new(day("2026-11-01"), &Category::parse("hair").unwrap());
    let claims = LinkClaims {
        purpose: Purpose::Rebook,
        tenant: t.id.clone(),
        client: client_id("c1"),
        enrollment: enrollment.clone(),
        step: 1,
        channel: Channel::Email,
        expires_at: "2027-03-01T00:00:00Z".parse().unwrap(),
    };
    let first: Timestamp = "2026-11-30T10:00:00Z".parse().unwrap();
    let second: Timestamp = "2026-11-30T10:00:30Z".parse().unwrap();
    store.record_click(&claims, second).await.unwrap();
    store.record_click(&claims, first).await.unwrap();
    let clicks = store.clicks(&t.id, &client_id("c1")).await.unwrap();
    let times: Vec<Timestamp> = clicks.iter().map(|c| c.at).collect();
    assert_eq!(times, [first, second]);
    assert_eq!(clicks[0].enrollment, enrollment);
    assert_eq!((clicks[0].step, clicks[0].channel), (1, Channel::Email));
    assert!(
        store
            .clicks(&t.id, &client_id("c2"))
            .await
            .unwrap()
            .is_empty()
    );
    store.erase_client(&t.id, &client_id("c1")).await.unwrap();
    assert!(
        store
            .clicks(&t.id, &client_id("c1"))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn email_counts_add_up_by_day_and_a_pause_is_kept_until_lifted(store: &dyn Store) {
    use crate::domain::reputation::{MailEvent, Pause};

    let t = tenant(store, "t-mail").await;
    let other = tenant(store, "t-mail-other").await;
    for (on, event, times) in [
        ("2026-11-01", MailEvent::Sent, 3),
        ("2026-11-02", MailEvent::Sent, 2),
        ("2026-11-02", MailEvent::Bounced, 1),
        ("2026-11-20", MailEvent::Complained, 1),
        ("2026-12-01", MailEvent::Sent, 4),
    ] {
        for _ in 0..times {
            store.count_mail(&t.id, day(on), event).await.unwrap();
        }
    }
    store
        .count_mail(&other.id, day("2026-11-02"), MailEvent::Sent)
        .await
        .unwrap();
    let counts = store
        .mail_counts(&t.id, day("2026-11-01"), day("2026-11-30"))
        .await
        .unwrap();
    assert_eq!((counts.sent, counts.bounced, counts.complained), (5, 1, 1));
    let one_day = store
        .mail_counts(&t.id, day("2026-11-02"), day("2026-11-02"))
        .await
        .unwrap();
    assert_eq!((one_day.sent, one_day.bounced), (2, 1));

    let pause = Pause {
        reason: "bounces".into(),
        since: "2026-11-30T12:00:00Z".parse().unwrap(),
    };
    store.set_pause(&t.id, Some(pause.clone())).await.unwrap();
    assert_eq!(
        store.tenant(&t.id).await.unwrap().unwrap().paused,
        Some(pause)
    );
    assert_eq!(store.tenant(&other.id).await.unwrap().unwrap().paused, None);
    store.set_pause(&t.id, None).await.unwrap();
    assert_eq!(store.tenant(&t.id).await.unwrap().unwrap().paused, None);
}
