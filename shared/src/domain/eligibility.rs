//! Who may be enrolled in a sequence today, and if not, why: every rule of PRODUCT.md's stop
//! and send rules that the detector applies, each with the reason it records.
//!
//! The decision is a pure function of what the client's partition says (bookings, consent,
//! suppressions, enrollments, the last messages) and the business's rules. Rules are checked
//! in a fixed order, so the recorded reason is the first that applies.

use crate::domain::client::ClientProfile;

use crate::domain::channel::Channel;
use crate::domain::day::Day;

/// What one channel looks like for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelState {
    pub channel: Channel,
    /// The client has an address or number for it.
    pub reachable: bool,
    /// The latest consent on the channel was given (and not withdrawn).
    pub consented: bool,
    /// The client opted out (STOP, unsubscribe) or the address is suppressed (bounce,
    /// complaint, erasure).
    pub blocked: bool,
}

impl ChannelState {
    /// A client's channel as their profile describes it: reachable when they have an address
    /// or number for it and the business a sender, consented when their latest consent there
    /// was given, blocked when the address or number is suppressed.
    pub fn of(
        profile: Option<&ClientProfile>,
        channel: Channel,
        sender_configured: bool,
        suppressed: bool,
    ) -> ChannelState {
        let (has_contact, consent) = match (profile, channel) {
            (None, _) => (false, None),
            (Some(p), Channel::Email) => (p.email.is_some(), p.consent.email.as_ref()),
            (Some(p), Channel::Sms) => (p.phone.is_some(), p.consent.sms.as_ref()),
        };
        ChannelState {
            channel,
            reachable: sender_configured && has_contact,
            consented: consent.is_some_and(|c| c.granted),
            blocked: suppressed,
        }
    }

    pub fn usable(&self) -> bool {
        self.reachable && self.consented && !self.blocked
    }
}

/// What the detector knows about a client in the category it would contact them for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub today: Day,
    pub last_visit: Day,
    /// A booking still to come, in any category or location.
    pub has_future_booking: bool,
    pub channels: Vec<ChannelState>,
    /// The client is in a sequence that has not ended.
    pub in_active_sequence: bool,
    /// When the client's last sequence ended, if any.
    pub last_sequence_ended: Option<Day>,
    /// When the client was last sent any marketing message, from any sequence.
    pub last_marketing_message: Option<Day>,
    /// The client's latest appointment was a no-show.
    pub last_appointment_no_show: bool,
    /// The client was already sent a re-permission message.
    pub asked_for_permission: bool,
    /// On the long-game list (finished a sequence without returning): not before this day.
    pub long_game_until: Option<Day>,
}

/// A business's eligibility settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EligibilityRules {
    /// Days after a sequence ends before another may start.
    pub cooldown_days: u16,
    /// No marketing message within this many days of the last one, from any sequence.
    pub frequency_cap_days: u16,
    /// Hold back clients whose latest appointment was a no-show.
    pub skip_after_no_show: bool,
    /// Beyond this many days since the last visit, a client gets at most one re-permission
    /// message, never a sequence.
    pub max_age_days: u32,
}

impl Default for EligibilityRules {
    fn default() -> Self {
        EligibilityRules {
            cooldown_days: 90,
            frequency_cap_days: 7,
            skip_after_no_show: true,
            max_age_days: 730,
        }
    }
}

/// Why a client is not enrolled today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Ineligible {
    /// A booking is coming: they are not overdue anywhere.
    FutureBooking,
    /// No channel is reachable, consented and unblocked.
    NoUsableChannel,
    AlreadyInSequence,
    Cooldown {
        until: Day,
    },
    FrequencyCap {
        until: Day,
    },
    NoShow,
    /// Past the maximum age and already asked for permission once.
    TooLongAgo,
    /// On the long-game list, whose next check-in is not yet due.
    LongGame {
        until: Day,
    },
}

impl Ineligible {
    /// The reason as reports and logs name it.
    pub fn name(&self) -> &'static str {
        match self {
            Ineligible::FutureBooking => "future_booking",
            Ineligible::NoUsableChannel => "no_usable_channel",
            Ineligible::AlreadyInSequence => "already_in_sequence",
            Ineligible::Cooldown { .. } => "cooldown",
            Ineligible::FrequencyCap { .. } => "frequency_cap",
            Ineligible::NoShow => "no_show",
            Ineligible::TooLongAgo => "too_long_ago",
            Ineligible::LongGame { .. } => "long_game",
        }
    }

    /// The day the reason stops holding by itself, if it does.
    pub fn until(&self) -> Option<Day> {
        match *self {
            Ineligible::Cooldown { until }
            | Ineligible::FrequencyCap { until }
            | Ineligible::LongGame { until } => Some(until),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Enrol, on these channels (in the order of the candidate's channels).
    Enrol {
        channels: Vec<Channel>,
    },
    /// Past the maximum age: one re-permission message on this channel, no sequence.
    AskPermission {
        channel: Channel,
    },
    Skip(Ineligible),
}

pub fn decide(candidate: &Candidate, rules: &EligibilityRules) -> Decision {
    use Ineligible::*;
    if candidate.has_future_booking {
        return Decision::Skip(FutureBooking);
    }
    let usable: Vec<Channel> = candidate
        .channels
        .iter()
        .filter(|c| c.usable())
        .map(|c| c.channel)
        .collect();
    if usable.is_empty() {
        return Decision::Skip(NoUsableChannel);
    }
    if candidate.in_active_sequence {
        return Decision::Skip(AlreadyInSequence);
    }
    if let Some(ended) = candidate.last_sequence_ended {
        let until = ended.plus_days(i32::from(rules.cooldown_days));
        if candidate.today < until {
            return Decision::Skip(Cooldown { until });
        }
    }
    if let Some(until) = candidate.long_game_until
        && candidate.today < until
    {
        return Decision::Skip(LongGame { until });
    }
    if let Some(last) = candidate.last_marketing_message {
        let until = last.plus_days(i32::from(rules.frequency_cap_days));
        if candidate.today < until {
            return Decision::Skip(FrequencyCap { until });
        }
    }
    if rules.skip_after_no_show && candidate.last_appointment_no_show {
        return Decision::Skip(NoShow);
    }
    let age = candidate.today.days_since(candidate.last_visit);
    if i64::from(age) > i64::from(rules.max_age_days) {
        return if candidate.asked_for_permission {
            Decision::Skip(TooLongAgo)
        } else {
            Decision::AskPermission { channel: usable[0] }
        };
    }
    Decision::Enrol { channels: usable }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn today() -> Day {
        Day::from(date(2026, 11, 23))
    }

    fn email(consented: bool, blocked: bool) -> ChannelState {
        ChannelState {
            channel: Channel::Email,
            reachable: true,
            consented,
            blocked,
        }
    }

    fn sms(consented: bool, blocked: bool) -> ChannelState {
        ChannelState {
            channel: Channel::Sms,
            reachable: true,
            consented,
            blocked,
        }
    }

    /// A lapsed client, reachable by email and SMS, never messaged.
    fn candidate() -> Candidate {
        Candidate {
            today: today(),
            last_visit: today().plus_days(-80),
            has_future_booking: false,
            channels: vec![email(true, false), sms(true, false)],
            in_active_sequence: false,
            last_sequence_ended: None,
            last_marketing_message: None,
            last_appointment_no_show: false,
            asked_for_permission: false,
            long_game_until: None,
        }
    }

    #[test]
    fn a_client_on_the_long_game_list_waits_for_its_much_lower_cadence() {
        let c = Candidate {
            long_game_until: Some(today().plus_days(30)),
            ..candidate()
        };
        assert_eq!(
            decide(&c, &rules()),
            Decision::Skip(Ineligible::LongGame {
                until: today().plus_days(30)
            })
        );
        let c = Candidate {
            long_game_until: Some(today()),
            ..candidate()
        };
        assert!(matches!(decide(&c, &rules()), Decision::Enrol { .. }));
    }

    fn rules() -> EligibilityRules {
        EligibilityRules::default()
    }

    #[test]
    fn an_overdue_client_with_consent_is_enrolled_on_every_usable_channel() {
        assert_eq!(
            decide(&candidate(), &rules()),
            Decision::Enrol {
                channels: vec![Channel::Email, Channel::Sms]
            }
        );
    }

    #[test]
    fn a_client_with_a_future_booking_anywhere_is_never_contacted() {
        let c = Candidate {
            has_future_booking: true,
            ..candidate()
        };
        assert_eq!(
            decide(&c, &rules()),
            Decision::Skip(Ineligible::FutureBooking)
        );
    }

    #[test]
    fn a_client_opted_out_or_suppressed_on_every_channel_or_without_consent_is_skipped() {
        let c = Candidate {
            channels: vec![email(true, true), sms(false, false)],
            ..candidate()
        };
        assert_eq!(
            decide(&c, &rules()),
            Decision::Skip(Ineligible::NoUsableChannel)
        );
        let sms_only = Candidate {
            channels: vec![email(false, false), sms(true, false)],
            ..candidate()
        };
        assert_eq!(
            decide(&sms_only, &rules()),
            Decision::Enrol {
                channels: vec![Channel::Sms]
            }
        );
    }

    #[test]
    fn a_client_already_in_a_sequence_gets_no_second_one() {
        let c = Candidate {
            in_active_sequence: true,
            ..candidate()
        };
        assert_eq!(
            decide(&c, &rules()),
            Decision::Skip(Ineligible::AlreadyInSequence)
        );
    }

    #[test]
    fn the_cooldown_after_a_finished_sequence_is_respected() {
        let c = Candidate {
            last_sequence_ended: Some(today().plus_days(-30)),
            ..candidate()
        };
        assert_eq!(
            decide(&c, &rules()),
            Decision::Skip(Ineligible::Cooldown {
                until: today().plus_days(60)
            })
        );
        let later = Candidate {
            last_sequence_ended: Some(today().plus_days(-90)),
            ..candidate()
        };
        assert!(matches!(decide(&later, &rules()), Decision::Enrol { .. }));
    }

    #[test]
    fn no_marketing_message_within_seven_days_of_the_last_from_any_sequence() {
        let c = Candidate {
            last_marketing_message: Some(today().plus_days(-6)),
            ..candidate()
        };
        assert_eq!(
            decide(&c, &rules()),
            Decision::Skip(Ineligible::FrequencyCap {
                until: today().plus_days(1)
            })
        );
        let week = Candidate {
            last_marketing_message: Some(today().plus_days(-7)),
            ..candidate()
        };
        assert!(matches!(decide(&week, &rules()), Decision::Enrol { .. }));
    }

    #[test]
    fn a_no_show_holds_the_client_back_unless_the_business_says_otherwise() {
        let c = Candidate {
            last_appointment_no_show: true,
            ..candidate()
        };
        assert_eq!(decide(&c, &rules()), Decision::Skip(Ineligible::NoShow));
        let lenient = EligibilityRules {
            skip_after_no_show: false,
            ..rules()
        };
        assert!(matches!(decide(&c, &lenient), Decision::Enrol { .. }));
    }

    #[test]
    fn beyond_two_years_a_client_gets_one_re_permission_message_and_never_a_sequence() {
        let c = Candidate {
            last_visit: today().plus_days(-731),
            ..candidate()
        };
        assert_eq!(
            decide(&c, &rules()),
            Decision::AskPermission {
                channel: Channel::Email
            }
        );
        let asked = Candidate {
            asked_for_permission: true,
            ..c
        };
        assert_eq!(
            decide(&asked, &rules()),
            Decision::Skip(Ineligible::TooLongAgo)
        );
    }
}
