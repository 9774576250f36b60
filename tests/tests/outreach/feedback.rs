//! Feedback: bounces and complaints, a business paused by its rates, SMS keywords.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use shared::domain::contact::EmailAddress;
use shared::ports::FixedClock;

use crate::support::*;

use shared::app::deliver::Delivered;
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
