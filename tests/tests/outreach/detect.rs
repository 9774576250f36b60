//! Detection and enrollment: who is enrolled, when, in which sequence; the daily cap, the
//! control group, manual mode and a paused business.

use shared::app::detect::ContactError;
use shared::domain::booking::BookingStatus;
use shared::domain::channel::Channel;
use shared::domain::client::{ClientProfile, Consent};
use shared::domain::contact::EmailAddress;
use shared::domain::enrollment::{Kind, Outcome, Status, StopReason};
use shared::domain::ids::{Category, ClientId};
use shared::domain::outreach_settings::{Mode, TierCuts};
use shared::domain::reputation::Pause;
use shared::domain::rfm::Tier;
use shared::domain::stage::Stage;

use crate::support::*;

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
            high_from_annual_spend: Some(500.into()),
            medium_from_annual_spend: Some(200.into()),
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
            high_from_annual_spend: Some(500.into()),
            medium_from_annual_spend: Some(200.into()),
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
