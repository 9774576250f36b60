//! The step queue: due steps claimed once, taken for sending under a lease.

use jiff::Timestamp;

use crate::domain::enrollment::StepStatus;
use crate::ports::Store;

use super::{
    TODAY, apply, booking, client_id, contract_cases, enrol_change, enrollment_for, step_of, tenant,
};

async fn due_steps_are_found_by_time_and_claimed_once(store: &dyn Store) {
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
    let queued = store.claim_step(&t.id, &due[0], at).await.unwrap().unwrap();
    assert_eq!(queued.status, StepStatus::Queued { at });
    assert!(
        store
            .claim_step(&t.id, &due[0], at)
            .await
            .unwrap()
            .is_none(),
        "claimed once"
    );
    assert_eq!(
        store.due_steps(&t.id, through, 100).await.unwrap(),
        steps[1..2].to_vec()
    );
    store.release_step(&t.id, &queued).await.unwrap();
    assert_eq!(
        store.due_steps(&t.id, through, 100).await.unwrap(),
        steps[..2].to_vec()
    );
    // A step whose enrollment ended (its item gone) cannot be claimed.
    let gone = step_of(&enrollment_for("c9", "hair", TODAY), "2026-06-01T08:00:00Z");
    assert!(store.claim_step(&t.id, &gone, at).await.unwrap().is_none());
}

async fn a_queued_step_is_taken_for_sending_once_until_its_lease_runs_out(store: &dyn Store) {
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
            .is_some()
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

contract_cases![
    due_steps_are_found_by_time_and_claimed_once,
    a_queued_step_is_taken_for_sending_once_until_its_lease_runs_out,
];
