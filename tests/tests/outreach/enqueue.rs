//! The step queue: due steps claimed once and published in batches, refused ones queued again.

use std::sync::Arc;

use shared::app::enqueue::Enqueuer;
use shared::domain::enrollment::StepStatus;
use shared::ports::{FixedClock, StepDue};

use crate::support::*;

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
