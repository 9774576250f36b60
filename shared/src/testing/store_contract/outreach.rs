//! Outreach and enrollments: one active enrollment, the daily cap, the enrolled-by-day listing.

use crate::ports::Store;

use super::{
    TODAY, TODAY_NOON, apply, at, booking, client_id, contract_cases, day, enrol_change,
    enrollment_for, step_of, tenant,
};

async fn a_client_has_one_active_enrollment_and_ending_it_unschedules_its_step(store: &dyn Store) {
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
    store
        .erase_client(&t.id, &client_id("c1"), at(TODAY_NOON))
        .await
        .unwrap();
    assert_eq!(
        store
            .enrollment(&t.id, &client_id("c1"), &hair.id)
            .await
            .unwrap(),
        None
    );
}

async fn enrollments_are_listed_by_the_day_they_started_as_they_stand(store: &dyn Store) {
    use crate::domain::channel::Channel;
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

async fn the_daily_cap_refuses_enrollments_once_reached(store: &dyn Store) {
    use crate::domain::channel::Channel;
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

contract_cases![
    a_client_has_one_active_enrollment_and_ending_it_unschedules_its_step,
    enrollments_are_listed_by_the_day_they_started_as_they_stand,
    the_daily_cap_refuses_enrollments_once_reached,
];
