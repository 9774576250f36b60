//! "Send this step now?": what a delivery does with a step it holds, given the business, the
//! client's record as just read, whether the step's contact is suppressed, and the moment.
//! [`decide`] says skip, stop the enrollment, wait, or send (with the offer and its single-use
//! code); [`record_sent`] says what the outreach becomes once the message went: the send
//! recorded, the next step scheduled on the first of its channels the client can still be
//! reached on; [`after_failure`] says what a send the provider did not take leads to. The
//! delivery use case reads, sends and writes; every rule is here.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::domain::channel::Channel;
use crate::domain::client_record::ClientRecord;
use crate::domain::day::Day;
use crate::domain::eligibility::ChannelState;
use crate::domain::enrollment::{
    self, Enrollment, OfferCode, Outcome, Outreach, ScheduledStep, SentStep, StepStatus, StopReason,
};
use crate::domain::link_token::LinkKeys;
use crate::domain::outreach_settings::OutreachConfig;
use crate::domain::tenant::Tenant;

/// How long a paused business's step waits before it is tried again.
const PAUSED_RETRY: SignedDuration = SignedDuration::from_hours(24);

/// What a delivery decides on: all of it read before, nothing read here.
#[derive(Debug, Clone, Copy)]
pub struct Delivering<'a> {
    pub tenant: &'a Tenant,
    pub record: &'a ClientRecord,
    /// The step, held under the delivery's lease.
    pub step: &'a ScheduledStep,
    /// Whether the contact the step goes to is suppressed (bounced, complained, erased, STOP).
    pub suppressed: bool,
    pub now: Timestamp,
}

/// Why a step waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// The business's sending is paused: tried again a day later, until it is resumed.
    Paused,
    /// The client was already messaged today: the next window day.
    MessagedToday,
}

/// What to do with a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Nothing to send any more (the enrollment ended or moved on): leave everything as it is.
    Skip(&'static str),
    /// End the enrollment with `outcome`; `reason` says why, for the caller.
    Stop {
        outcome: Outcome,
        reason: &'static str,
    },
    /// Put the step back in the queue, due at `until`.
    Wait {
        until: Timestamp,
        why: Waiting,
    },
    Send(Box<Sending>),
}

/// A message to send now.
#[derive(Debug, Clone, PartialEq)]
pub struct Sending {
    /// The client's local day and time zone.
    pub today: Day,
    pub zone: TimeZone,
    /// The step's place in the sequence and its template.
    pub index: usize,
    pub template: String,
    /// The offer the step carries within the guardrails, as the client reads it (with its code).
    pub offer: Option<OfferText>,
    /// The enrollment's single-use code, when the offer has one: the one it was given, or a new
    /// one made now.
    pub code: Option<OfferCode>,
}

/// An offer as a message carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferText {
    pub text: String,
    /// A price discount (at most one per client in the business's period).
    pub discount: bool,
}

/// What a step comes to. See the module's doc.
pub fn decide(delivering: &Delivering<'_>, keys: &LinkKeys) -> Decision {
    let Delivering {
        tenant,
        record,
        step,
        suppressed,
        now,
    } = *delivering;
    let Some(active) = record
        .outreach
        .active
        .as_ref()
        .filter(|a| a.id == step.enrollment && !a.control)
        .filter(|_| record.outreach.pending_step == Some(step.index))
    else {
        return Decision::Skip("enrollment_ended");
    };
    // The business's sending is paused: the step waits, a day at a time.
    if tenant.paused.is_some() {
        return Decision::Wait {
            until: now.checked_add(PAUSED_RETRY).unwrap_or(now),
            why: Waiting::Paused,
        };
    }
    let timezone = &tenant.config.timezone;
    let zone = record.zone(timezone);
    let today = record.local_day(timezone, now);
    // A booking a moment ago wins.
    if record
        .bookings
        .iter()
        .any(|b| b.is_future_booking(timezone.day_of(now), timezone))
    {
        return Decision::Stop {
            outcome: Outcome::Rebooked,
            reason: "booked",
        };
    }
    // Consent and suppression, as they are now.
    if !ChannelState::of(record.profile.as_ref(), step.channel, true, suppressed).usable() {
        return Decision::Stop {
            outcome: Outcome::Stopped {
                reason: StopReason::OptedOut,
            },
            reason: "no_consent_or_suppressed",
        };
    }
    let config = &tenant.config.outreach;
    // Never two messages on one local day.
    if record.outreach.last_message == Some(today) {
        let window = config.windows.of(step.channel);
        return Decision::Wait {
            until: window.next_send(now, &zone, Some(today.date())),
            why: Waiting::MessagedToday,
        };
    }
    let index = usize::from(step.index);
    let Some(plan) = active.steps.get(index) else {
        return Decision::Skip("step_removed");
    };
    let offer = plan.offer.as_deref().and_then(|key| {
        config.guarded_offer(
            index,
            key,
            active.tier,
            record.outreach.last_discount,
            false,
            today,
        )
    });
    // A single-use code: the one this enrollment was given, or its own, made now.
    let code = offer.filter(|(_, o)| o.unique_code).map(|(key, _)| {
        match active.offer_code.as_ref().filter(|c| c.offer == key) {
            Some(given) => given.clone(),
            None => OfferCode {
                code: keys.offer_code(
                    tenant.id.as_str(),
                    step.client_id.as_str(),
                    step.enrollment.as_str(),
                    key,
                ),
                offer: key.to_owned(),
                issued_at: now,
                redeemed: None,
            },
        }
    });
    let offer = offer.map(|(_, o)| OfferText {
        text: match &code {
            Some(code) => format!("{} with code {}", o.text, code.code),
            None => o.text.clone(),
        },
        discount: o.discount,
    });
    Decision::Send(Box::new(Sending {
        today,
        zone,
        index,
        template: plan.template.clone(),
        offer,
        code,
    }))
}

/// What the outreach becomes once a step's message went out.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub outreach: Outreach,
    /// The enrollment's record as it now stands (none if the enrollment ended meanwhile).
    pub enrollment: Option<Enrollment>,
    /// The next step, scheduled.
    pub next: Option<ScheduledStep>,
    /// The step, recorded as sent with the provider's message id.
    pub sent: ScheduledStep,
}

/// Records a sent step on the client's outreach as it now stands (read again if it changed
/// while sending: the send is recorded whatever happened, the next step only if the
/// enrollment is still on). The next step goes on the first of its channels the client can be
/// reached on now, else its first channel (where the delivery will stop it if still unusable).
pub fn record_sent(
    record: &ClientRecord,
    config: &OutreachConfig,
    step: &ScheduledStep,
    sending: &Sending,
    message_id: &str,
    now: Timestamp,
) -> Sent {
    let mut outreach = record.outreach.clone();
    outreach.last_message = Some(sending.today);
    if sending.offer.as_ref().is_some_and(|o| o.discount) {
        outreach.last_discount = Some(sending.today);
    }
    let still_on = outreach
        .active
        .as_ref()
        .is_some_and(|a| a.id == step.enrollment);
    let next = outreach
        .active
        .as_ref()
        .filter(|_| still_on)
        .and_then(|active| next_step(active, record, config, step, sending, now));
    if still_on {
        outreach.pending_step = next.as_ref().map(|s| s.index);
        if let Some(active) = outreach.active.as_mut() {
            if active.offer_code.is_none() {
                active.offer_code = sending.code.clone();
            }
            active.sent.push(SentStep {
                step: step.index,
                channel: step.channel,
                at: now,
            });
        }
    }
    // The enrollment's own record is kept current with what was sent, for the report.
    let enrollment = outreach.active.clone().filter(|_| still_on);
    Sent {
        outreach,
        enrollment,
        next,
        sent: ScheduledStep {
            status: StepStatus::Sent {
                at: now,
                message_id: message_id.to_owned(),
            },
            ..step.clone()
        },
    }
}

/// Why the provider did not take a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// Refused for good: a bad address, a number that cannot take the message.
    Refused,
    /// Down or throttling, after the provider client's own retries.
    Unavailable,
}

/// What follows a send the provider did not take.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterFailure {
    /// End the enrollment with `outcome`: nothing sent to this contact will ever arrive.
    Stop {
        outcome: Outcome,
        reason: &'static str,
    },
    /// Hand the step back to the queue, due now, for the event's next delivery (the function's
    /// retries; after the last one the event waits in the dead-letter queue to be redriven).
    Requeue(ScheduledStep),
}

/// What a failed send of `step` at `now` leads to: a refusal ends the enrollment as a
/// suppressed contact would; an outage hands the step back, free for the next attempt.
pub fn after_failure(step: &ScheduledStep, failure: SendFailure, now: Timestamp) -> AfterFailure {
    match failure {
        SendFailure::Refused => AfterFailure::Stop {
            outcome: Outcome::Stopped {
                reason: StopReason::Suppressed,
            },
            reason: "refused_by_provider",
        },
        SendFailure::Unavailable => AfterFailure::Requeue(ScheduledStep {
            status: StepStatus::Queued { at: now },
            ..step.clone()
        }),
    }
}

/// The step after `step`, if the sequence has one.
fn next_step(
    active: &Enrollment,
    record: &ClientRecord,
    config: &OutreachConfig,
    step: &ScheduledStep,
    sending: &Sending,
    now: Timestamp,
) -> Option<ScheduledStep> {
    let next_index = sending.index + 1;
    let plan = active.steps.get(next_index)?;
    let senders = config.senders.senders();
    let channel = first_reachable(record, plan.channel.channels(), |c| senders.has(c));
    let send_at = enrollment::step_send_at(
        active,
        next_index,
        now,
        &config.windows.of(channel),
        &sending.zone,
        Some(sending.today),
    )?;
    Some(ScheduledStep {
        client_id: step.client_id.clone(),
        enrollment: step.enrollment.clone(),
        index: next_index as u16,
        channel,
        send_at,
        status: StepStatus::Scheduled,
    })
}

/// The first of `channels` the client can be reached on (a sender, an address, consent), else
/// the first of them.
fn first_reachable(
    record: &ClientRecord,
    channels: &[Channel],
    has_sender: impl Fn(Channel) -> bool,
) -> Channel {
    channels
        .iter()
        .copied()
        .find(|&c| ChannelState::of(record.profile.as_ref(), c, has_sender(c), false).usable())
        .unwrap_or(channels[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::booking::BookingStatus;
    use crate::domain::config::BusinessConfig;
    use crate::domain::enrollment_plan::{self, Looking, Scope, Suppressed, Verdict};
    use crate::domain::fixtures::{
        at, client_id, day, every_four_weeks, profile, profile_with_phone, record, tenant, visit,
    };
    use crate::domain::link_token::LinkKey;
    use crate::domain::reputation::Pause;
    use crate::domain::sequence::ChannelPreference;

    fn keys() -> LinkKeys {
        LinkKeys::new(vec![LinkKey::new("k1", vec![7u8; 32]).unwrap()]).unwrap()
    }

    /// Ana's record enrolled on 1 June (four-weekly for hair, last seen 2 March), and the
    /// first step as the detector scheduled it.
    fn enrolled(tenant: &Tenant, mut record: ClientRecord) -> (ClientRecord, ScheduledStep) {
        let client = client_id("ana");
        let now = at("2026-06-01T05:00:00Z");
        let looking = Looking {
            tenant,
            client: &client,
            record: &record,
            seen: &[],
            suppressed: Suppressed::default(),
            today: day("2026-06-01"),
            now,
        };
        let Verdict::Enrol(plan) = enrollment_plan::plan(&looking, &Scope::contact(None)) else {
            panic!("Ana is lapsed")
        };
        record.outreach = plan.outreach;
        record.outreach_version = 1;
        (record, plan.first_step.expect("not in the control group"))
    }

    fn ana(tenant: &Tenant) -> (ClientRecord, ScheduledStep) {
        enrolled(
            tenant,
            record(
                Some(profile("ana")),
                every_four_weeks("ana", "hair", "2026-03-02", 4500),
            ),
        )
    }

    fn decide_at(
        tenant: &Tenant,
        record: &ClientRecord,
        step: &ScheduledStep,
        now: &str,
        suppressed: bool,
    ) -> Decision {
        let delivering = Delivering {
            tenant,
            record,
            step,
            suppressed,
            now: at(now),
        };
        decide(&delivering, &keys())
    }

    fn sending(decision: Decision) -> Sending {
        match decision {
            Decision::Send(sending) => *sending,
            other => panic!("not sent: {other:?}"),
        }
    }

    #[test]
    fn a_due_step_of_the_active_enrollment_is_sent_on_the_client_s_local_day() {
        let business = tenant(|_| {});
        let (record, step) = ana(&business);
        let sending = sending(decide_at(
            &business,
            &record,
            &step,
            "2026-06-01T23:30:00Z",
            false,
        ));
        // 00:30 in London on 2 June.
        assert_eq!(sending.today, day("2026-06-02"));
        assert_eq!(sending.index, 0);
        assert_eq!(sending.template, "soft_check_in");
        // The first step never carries an offer.
        assert_eq!(sending.offer, None);
    }

    #[test]
    fn a_message_the_provider_refuses_ends_the_enrollment_and_an_outage_hands_the_step_back() {
        let business = tenant(|_| {});
        let (_, step) = ana(&business);
        let now = at("2026-06-02T09:00:00Z");
        assert_eq!(
            after_failure(&step, SendFailure::Refused, now),
            AfterFailure::Stop {
                outcome: Outcome::Stopped {
                    reason: StopReason::Suppressed
                },
                reason: "refused_by_provider",
            }
        );
        let AfterFailure::Requeue(again) = after_failure(&step, SendFailure::Unavailable, now)
        else {
            panic!("an outage requeues");
        };
        assert_eq!(again.status, StepStatus::Queued { at: now });
        assert_eq!(
            ScheduledStep {
                status: step.status.clone(),
                ..again
            },
            step,
            "the same step, due now"
        );
    }

    #[test]
    fn a_step_of_an_enrollment_that_ended_or_moved_on_is_skipped() {
        let business = tenant(|_| {});
        let (record, step) = ana(&business);
        let now = "2026-06-01T08:00:00Z";
        let mut ended = record.clone();
        ended.outreach.end(Outcome::Converted, day("2026-06-01"));
        assert_eq!(
            decide_at(&business, &ended, &step, now, false),
            Decision::Skip("enrollment_ended")
        );
        let mut moved_on = record.clone();
        moved_on.outreach.pending_step = Some(1);
        assert_eq!(
            decide_at(&business, &moved_on, &step, now, false),
            Decision::Skip("enrollment_ended")
        );
    }

    #[test]
    fn a_paused_business_s_step_waits_a_day_at_a_time() {
        let mut business = tenant(|_| {});
        let (record, step) = ana(&business);
        business.paused = Some(Pause {
            since: at("2026-05-31T00:00:00Z"),
            reason: "bounce rate 6.0%".into(),
        });
        assert_eq!(
            decide_at(&business, &record, &step, "2026-06-01T08:00:00Z", false),
            Decision::Wait {
                until: at("2026-06-02T08:00:00Z"),
                why: Waiting::Paused
            }
        );
    }

    #[test]
    fn a_booking_a_moment_ago_wins() {
        let business = tenant(|_| {});
        let (mut record, step) = ana(&business);
        let mut booked = visit("next", "ana", "2026-06-10", "hair", 4500);
        booked.status = BookingStatus::Booked;
        record.bookings.push(booked);
        assert_eq!(
            decide_at(&business, &record, &step, "2026-06-01T08:00:00Z", false),
            Decision::Stop {
                outcome: Outcome::Rebooked,
                reason: "booked"
            }
        );
    }

    #[test]
    fn a_withdrawn_consent_or_a_suppressed_address_stops_the_enrollment() {
        let business = tenant(|_| {});
        let (record, step) = ana(&business);
        let now = "2026-06-01T08:00:00Z";
        let opted_out = Decision::Stop {
            outcome: Outcome::Stopped {
                reason: StopReason::OptedOut,
            },
            reason: "no_consent_or_suppressed",
        };
        assert_eq!(decide_at(&business, &record, &step, now, true), opted_out);
        let mut withdrawn = record.clone();
        let profile = withdrawn.profile.as_mut().unwrap();
        profile.consent.email.as_mut().unwrap().granted = false;
        assert_eq!(
            decide_at(&business, &withdrawn, &step, now, false),
            opted_out
        );
    }

    #[test]
    fn never_two_messages_on_one_local_day() {
        let business = tenant(|_| {});
        let (mut record, step) = ana(&business);
        record.outreach.last_message = Some(day("2026-06-01"));
        assert_eq!(
            decide_at(&business, &record, &step, "2026-06-01T08:00:00Z", false),
            Decision::Wait {
                // The next morning's window in London.
                until: at("2026-06-02T08:00:00Z"),
                why: Waiting::MessagedToday
            }
        );
    }

    #[test]
    fn a_single_use_code_is_made_once_per_enrollment_and_shown_with_the_offer() {
        // A low-tier client: the second step carries the single-use "welcome back" discount.
        let business = tenant(|config: &mut BusinessConfig| {
            config.outreach.tiers.medium_from_annual_spend = Some(100_000.into());
            config.outreach.tiers.high_from_annual_spend = Some(200_000.into());
        });
        let (mut record, first) = ana(&business);
        let second = ScheduledStep {
            index: 1,
            ..first.clone()
        };
        record.outreach.pending_step = Some(1);
        let now = "2026-06-15T08:00:00Z";
        let sent = sending(decide_at(&business, &record, &second, now, false));
        let code = sent.code.clone().expect("a single-use code");
        let offer = sent.offer.clone().expect("the offer");
        assert!(offer.discount);
        assert!(
            offer.text.ends_with(&format!("with code {}", code.code)),
            "{offer:?}"
        );
        // Recorded with the send, and the same code again on a later step.
        let recorded = record_sent(
            &record,
            &business.config.outreach,
            &second,
            &sent,
            "m-1",
            at(now),
        );
        assert_eq!(recorded.outreach.last_discount, Some(day("2026-06-15")));
        let given = recorded
            .outreach
            .active
            .as_ref()
            .unwrap()
            .offer_code
            .clone();
        assert_eq!(given, Some(code.clone()));
        record.outreach.active.as_mut().unwrap().offer_code = given;
        let later = sending(decide_at(
            &business,
            &record,
            &second,
            "2026-06-20T08:00:00Z",
            false,
        ));
        assert_eq!(later.code, Some(code));
    }

    #[test]
    fn a_sent_step_schedules_the_next_on_the_first_channel_the_client_can_still_get() {
        let business = tenant(|config: &mut BusinessConfig| {
            config.outreach.senders.sms_sender = Some("Salon".into());
        });
        let (mut record, step) = enrolled(
            &business,
            record(
                Some(profile_with_phone("ana")),
                every_four_weeks("ana", "hair", "2026-03-02", 4500),
            ),
        );
        let now = at("2026-06-01T08:00:00Z");
        let sent = sending(decide_at(
            &business,
            &record,
            &step,
            "2026-06-01T08:00:00Z",
            false,
        ));
        assert_eq!(step.channel, Channel::Email);
        // Email first while the client can get it...
        let recorded = record_sent(&record, &business.config.outreach, &step, &sent, "m-1", now);
        let next = recorded.next.expect("a second step");
        assert_eq!((next.index, next.channel), (1, Channel::Email));
        assert_eq!(recorded.outreach.pending_step, Some(1));
        assert_eq!(recorded.outreach.last_message, Some(day("2026-06-01")));
        assert_eq!(recorded.enrollment.as_ref().unwrap().sent.len(), 1);
        assert!(matches!(recorded.sent.status, StepStatus::Sent { .. }));
        // ...then by text once the email consent is withdrawn.
        let profile = record.profile.as_mut().unwrap();
        profile.consent.email.as_mut().unwrap().granted = false;
        let recorded = record_sent(&record, &business.config.outreach, &step, &sent, "m-1", now);
        assert_eq!(recorded.next.unwrap().channel, Channel::Sms);
        // A step for email only stays on email (where delivery stops it).
        let active = record.outreach.active.as_mut().unwrap();
        active.steps[1].channel = ChannelPreference::Email;
        let recorded = record_sent(&record, &business.config.outreach, &step, &sent, "m-1", now);
        assert_eq!(recorded.next.unwrap().channel, Channel::Email);
    }

    #[test]
    fn a_send_recorded_after_the_enrollment_ended_schedules_nothing_more() {
        let business = tenant(|_| {});
        let (record, step) = ana(&business);
        let now = at("2026-06-01T08:00:00Z");
        let sent = sending(decide_at(
            &business,
            &record,
            &step,
            "2026-06-01T08:00:00Z",
            false,
        ));
        let mut ended = record.clone();
        ended.outreach.end(Outcome::Converted, day("2026-06-01"));
        let recorded = record_sent(&ended, &business.config.outreach, &step, &sent, "m-1", now);
        assert_eq!(recorded.next, None);
        assert_eq!(recorded.enrollment, None);
        // The message went all the same: the day's message is counted.
        assert_eq!(recorded.outreach.last_message, Some(day("2026-06-01")));
    }
}
