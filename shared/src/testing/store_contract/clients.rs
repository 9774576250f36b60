//! Clients and bookings: profiles, booking application and its cadences, imports, concurrency,
//! the phone lookup, tenant isolation, clicks and erasure.

use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::date;

use crate::domain::booking::{Booking, BookingStatus};
use crate::domain::booking_change::BookingOutcome;
use crate::domain::contact::{ContactHash, PhoneNumber};
use crate::domain::day::Day;
use crate::domain::ids::{Category, TenantId};
use crate::ports::{ProfileOutcome, Store};

use super::{
    TODAY, TODAY_NOON, apply, at, booking, client_id, contract_cases, day, hair_visits, profile,
    tenant,
};

async fn a_profile_is_upserted_and_an_older_version_never_overwrites_it(store: &dyn Store) {
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

async fn completed_bookings_build_the_cadence_and_its_watch_day(store: &dyn Store) {
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

async fn the_same_booking_twice_or_an_older_version_changes_nothing(store: &dyn Store) {
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

async fn a_messy_history_leaves_the_cadence_of_a_clean_one(store: &dyn Store) {
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

async fn cancelling_the_only_visit_removes_the_cadence_and_its_watch(store: &dyn Store) {
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

async fn concurrent_bookings_for_one_client_are_all_counted(store: Arc<dyn Store>) {
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

async fn erasure_removes_every_item_and_suppresses_the_contacts(store: &dyn Store) {
    let t = tenant(store, "t-erase").await;
    let p = profile("c1");
    store.upsert_client(&t.id, &p).await.unwrap();
    for i in 0..30 {
        let on = Day::from(date(2024, 1, 1)).plus_days(i * 20).to_string();
        apply(store, &t, booking(&format!("b{i}"), "c1", &on).build()).await;
    }
    apply(store, &t, booking("other", "c2", "2026-05-01").build()).await;
    let erased = store
        .erase_client(&t.id, &client_id("c1"), at(TODAY_NOON))
        .await
        .unwrap();
    assert_eq!(erased.map(|e| e.items), Some(1 + 30 + 1));
    assert_eq!(store.client(&t.id, &client_id("c1")).await.unwrap(), None);
    assert_eq!(
        store
            .erase_client(&t.id, &client_id("c1"), at(TODAY_NOON))
            .await
            .unwrap(),
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

async fn clients_are_found_by_their_mobile_number_as_it_is_now(store: &dyn Store) {
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
    store
        .erase_client(&t.id, &client_id("son"), at(TODAY_NOON))
        .await
        .unwrap();
    assert_eq!(found(t.id.clone(), "+447700900123").await, ["mum"]);
}

async fn a_tenant_never_sees_another_tenant_s_client(store: &dyn Store) {
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
            .erase_client(&b.id, &client_id("shared-id"), at(TODAY_NOON))
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

async fn importing_a_history_equals_applying_it_booking_by_booking(store: &dyn Store) {
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

async fn clicks_are_kept_with_the_client_and_erased_with_them(store: &dyn Store) {
    use crate::domain::channel::Channel;
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
    store
        .erase_client(&t.id, &client_id("c1"), at(TODAY_NOON))
        .await
        .unwrap();
    assert!(
        store
            .clicks(&t.id, &client_id("c1"))
            .await
            .unwrap()
            .is_empty()
    );
}

contract_cases![
    a_profile_is_upserted_and_an_older_version_never_overwrites_it,
    completed_bookings_build_the_cadence_and_its_watch_day,
    the_same_booking_twice_or_an_older_version_changes_nothing,
    a_messy_history_leaves_the_cadence_of_a_clean_one,
    cancelling_the_only_visit_removes_the_cadence_and_its_watch,
    concurrent_bookings_for_one_client_are_all_counted,
    erasure_removes_every_item_and_suppresses_the_contacts,
    clients_are_found_by_their_mobile_number_as_it_is_now,
    a_tenant_never_sees_another_tenant_s_client,
    importing_a_history_equals_applying_it_booking_by_booking,
    clicks_are_kept_with_the_client_and_erased_with_them,
];
