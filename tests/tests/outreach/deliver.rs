//! Delivery: a due step sent once with signed links, the rules checked again at the moment of
//! sending, offers and codes, the business's wording, attribution and provider outages.

use std::sync::Arc;

use async_trait::async_trait;

use shared::domain::booking::BookingStatus;
use shared::domain::channel::Channel;
use shared::domain::client::{ClientProfile, Consent};
use shared::domain::contact::EmailAddress;
use shared::domain::enrollment::{CodeStatus, Outcome, Status, StepStatus};
use shared::ports::FixedClock;

use crate::support::*;

use shared::adapters::local::outbox::Outbox;
use shared::app::deliver::{DeliverError, Delivered, Deliverer, DeliverySettings, Senders};
use shared::domain::link_token::Purpose;

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
                    text: "Your chair is waiting. {{rebook_link}} Unsubscribe: {{opt_out_link}}"
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
