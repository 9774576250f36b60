//! The watch and overdue indexes and the detector's checkpoint.

use jiff::civil::date;

use crate::domain::day::Day;
use crate::domain::ids::Category;
use crate::domain::stage::Stage;
use crate::ports::Store;

use super::{apply, booking, client_id, contract_cases, day, tenant};

async fn watched_cadences_are_found_by_day_and_tenant(store: &dyn Store) {
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

async fn the_detector_checkpoint_never_moves_back(store: &dyn Store) {
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

async fn a_look_moves_the_watch_and_the_overdue_index_unless_the_cadence_changed(
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

contract_cases![
    watched_cadences_are_found_by_day_and_tenant,
    the_detector_checkpoint_never_moves_back,
    a_look_moves_the_watch_and_the_overdue_index_unless_the_cadence_changed,
];
