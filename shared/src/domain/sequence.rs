//! Outreach sequences: the steps a lapsed client is sent (day offset, channel, template,
//! optional offer), which segment each sequence serves, and the defaults that work with no
//! configuration (PRODUCT.md's 30/60/90 for high and medium tiers, a lighter one for low).
//!
//! Validation names the field at fault, so a business owner (or `PUT /v1/config`) can fix it.

use crate::domain::channel::Channel;
use crate::domain::ids::Category;
use crate::domain::rfm::Tier;
use crate::domain::stage::Stage;

/// Which channel a step prefers; `EmailThenSms` falls back to SMS when email is unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelPreference {
    Email,
    Sms,
    EmailThenSms,
}

impl ChannelPreference {
    /// The first channel to try that `usable` accepts.
    pub fn first_usable(self, usable: impl Fn(Channel) -> bool) -> Option<Channel> {
        self.channels().iter().copied().find(|c| usable(*c))
    }

    /// The channels to try, in order.
    pub fn channels(self) -> &'static [Channel] {
        match self {
            ChannelPreference::Email => &[Channel::Email],
            ChannelPreference::Sms => &[Channel::Sms],
            ChannelPreference::EmailThenSms => &[Channel::Email, Channel::Sms],
        }
    }
}

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Days after the sequence starts (the first step is day 0).
    pub day: u16,
    pub channel: ChannelPreference,
    /// The template to render: a built-in one (`soft_check_in`, ...) or the business's own.
    pub template: String,
    /// The offer key from the business's offers, if the step carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<String>,
}

/// A churn reason a sequence may be reserved for (PRODUCT.md's segmentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    LowRating,
    PriceIncrease,
    IntervalsLengthening,
}

/// A sequence and the segment it serves: each filter left empty accepts every value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sequence {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<Tier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<Stage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Category>,
    /// Served only to clients showing one of these churn reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    #[error("sequences[{sequence}].steps is empty; a sequence needs at least one step")]
    NoSteps { sequence: usize },
    #[error("sequences[{sequence}].steps[0].day is {day}; the first step must be on day 0")]
    FirstStepLater { sequence: usize, day: u16 },
    #[error(
        "sequences[{sequence}].steps[{step}].day is {day}, not after the step before it (day {previous}); list steps in the order they go out, one per day at most"
    )]
    OutOfOrder {
        sequence: usize,
        step: usize,
        day: u16,
        previous: u16,
    },
    #[error(
        "sequences[{sequence}].steps[0].offer is set; the first message never carries a discount (offer it from a later step)"
    )]
    OfferInFirstStep { sequence: usize },
    #[error(
        "sequences[{sequence}].steps[{step}].channel is {channel:?}, but no sender is configured for it; set the business's email sender or SMS origination first"
    )]
    NoSender {
        sequence: usize,
        step: usize,
        channel: Channel,
    },
    #[error("sequences[{sequence}].steps[{step}].template is empty; name a template")]
    NoTemplate { sequence: usize, step: usize },
    #[error(
        "sequences[{sequence}].name is empty or used by sequences[{other}]; give each sequence its own name"
    )]
    Name { sequence: usize, other: usize },
}

impl SequenceError {
    /// The field at fault, as a JSON pointer relative to the outreach settings.
    pub fn pointer(&self) -> String {
        match *self {
            SequenceError::NoSteps { sequence } => format!("sequences/{sequence}/steps"),
            SequenceError::FirstStepLater { sequence, .. } => {
                format!("sequences/{sequence}/steps/0/day")
            }
            SequenceError::OutOfOrder { sequence, step, .. } => {
                format!("sequences/{sequence}/steps/{step}/day")
            }
            SequenceError::OfferInFirstStep { sequence } => {
                format!("sequences/{sequence}/steps/0/offer")
            }
            SequenceError::NoSender { sequence, step, .. } => {
                format!("sequences/{sequence}/steps/{step}/channel")
            }
            SequenceError::NoTemplate { sequence, step } => {
                format!("sequences/{sequence}/steps/{step}/template")
            }
            SequenceError::Name { sequence, .. } => format!("sequences/{sequence}/name"),
        }
    }
}

/// The senders the business has configured: a step may only use a channel it can send on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Senders {
    pub email: bool,
    pub sms: bool,
}

impl Senders {
    pub fn has(self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email,
            Channel::Sms => self.sms,
        }
    }
}

/// What picks a client's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    pub tier: Tier,
    pub stage: Stage,
    pub category: &'a Category,
    /// The churn reasons the client's data shows (may be none).
    pub reasons: &'a [Reason],
}

impl Sequence {
    /// The default for high and medium tiers (PRODUCT.md's 30/60/90): day 0 soft check-in,
    /// day 7 value-add, day 14 a time-limited incentive, day 30 an honest last chance, and
    /// for high-value clients only a day 60 long-game check-in. Email first.
    pub fn default_for(tier: Tier) -> Sequence {
        let step = |day, template: &str, offer: Option<&str>| Step {
            day,
            channel: ChannelPreference::EmailThenSms,
            template: template.into(),
            offer: offer.map(str::to_owned),
        };
        match tier {
            Tier::High | Tier::Medium => {
                let mut steps = vec![
                    step(0, "soft_check_in", None),
                    step(7, "value_add", None),
                    step(14, "incentive", Some("loyalty")),
                    step(30, "last_chance", None),
                ];
                if tier == Tier::High {
                    steps.push(step(60, "long_game", None));
                }
                Sequence {
                    name: format!("{tier:?} tier 30/60/90").to_lowercase(),
                    tiers: vec![tier],
                    ..Sequence::named("", steps)
                }
            }
            Tier::Low => Sequence {
                tiers: vec![Tier::Low],
                ..Sequence::named(
                    "low tier light",
                    vec![
                        Step {
                            channel: ChannelPreference::Email,
                            ..step(0, "soft_check_in", None)
                        },
                        Step {
                            channel: ChannelPreference::Email,
                            ..step(14, "incentive", Some("welcome_back"))
                        },
                        Step {
                            channel: ChannelPreference::Email,
                            ..step(35, "last_chance", None)
                        },
                    ],
                )
            },
        }
    }

    /// A sequence for every segment.
    pub fn named(name: &str, steps: Vec<Step>) -> Sequence {
        Sequence {
            name: name.to_owned(),
            tiers: Vec::new(),
            stages: Vec::new(),
            categories: Vec::new(),
            reasons: Vec::new(),
            steps,
        }
    }

    /// The one message of the long-game list: a client who finished a sequence without
    /// returning hears from the business again only this rarely.
    pub fn long_game() -> Sequence {
        Sequence::named(
            "long game",
            vec![Step {
                day: 0,
                channel: ChannelPreference::Email,
                template: "long_game".into(),
                offer: None,
            }],
        )
    }

    /// The one message to a client past the maximum age: asks whether they still want to hear
    /// from the business, never a sequence.
    pub fn re_permission() -> Sequence {
        Sequence::named(
            "re-permission",
            vec![Step {
                day: 0,
                channel: ChannelPreference::Email,
                template: "re_permission".into(),
                offer: None,
            }],
        )
    }

    /// Whether the sequence serves a segment.
    pub fn serves(&self, segment: &Segment<'_>) -> bool {
        (self.tiers.is_empty() || self.tiers.contains(&segment.tier))
            && (self.stages.is_empty() || self.stages.contains(&segment.stage))
            && (self.categories.is_empty() || self.categories.contains(segment.category))
            && (self.reasons.is_empty() || self.reasons.iter().any(|r| segment.reasons.contains(r)))
    }

    /// The last step's day: how long the sequence runs.
    pub fn length_days(&self) -> u16 {
        self.steps.last().map_or(0, |step| step.day)
    }

    /// The defaults: one sequence per tier.
    pub fn defaults() -> Vec<Sequence> {
        [Tier::High, Tier::Medium, Tier::Low]
            .into_iter()
            .map(Sequence::default_for)
            .collect()
    }
}

/// Checks a business's sequences; the first problem found, named by its field.
pub fn validate(sequences: &[Sequence], senders: Senders) -> Result<(), SequenceError> {
    for (s, sequence) in sequences.iter().enumerate() {
        let clash = sequences[..s]
            .iter()
            .position(|other| other.name == sequence.name);
        if sequence.name.trim().is_empty() || clash.is_some() {
            return Err(SequenceError::Name {
                sequence: s,
                other: clash.unwrap_or(s),
            });
        }
        let Some(first) = sequence.steps.first() else {
            return Err(SequenceError::NoSteps { sequence: s });
        };
        if first.day != 0 {
            return Err(SequenceError::FirstStepLater {
                sequence: s,
                day: first.day,
            });
        }
        if first.offer.is_some() {
            return Err(SequenceError::OfferInFirstStep { sequence: s });
        }
        for (i, step) in sequence.steps.iter().enumerate() {
            if i > 0 && step.day <= sequence.steps[i - 1].day {
                return Err(SequenceError::OutOfOrder {
                    sequence: s,
                    step: i,
                    day: step.day,
                    previous: sequence.steps[i - 1].day,
                });
            }
            if step.template.trim().is_empty() {
                return Err(SequenceError::NoTemplate {
                    sequence: s,
                    step: i,
                });
            }
            // A step must be sendable on at least its first choice of channel.
            let channel = step.channel.channels()[0];
            let configured = match channel {
                Channel::Email => senders.email,
                Channel::Sms => senders.sms,
            };
            if !configured {
                return Err(SequenceError::NoSender {
                    sequence: s,
                    step: i,
                    channel,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Senders = Senders {
        email: true,
        sms: true,
    };

    #[test]
    fn the_defaults_are_30_60_90_for_high_and_medium_with_day_60_only_for_high() {
        let days = |tier| -> Vec<u16> {
            Sequence::default_for(tier)
                .steps
                .iter()
                .map(|s| s.day)
                .collect()
        };
        assert_eq!(days(Tier::High), [0, 7, 14, 30, 60]);
        assert_eq!(days(Tier::Medium), [0, 7, 14, 30]);
        let low = Sequence::default_for(Tier::Low);
        assert!((2..=3).contains(&low.steps.len()));
        assert!(low.steps.last().unwrap().day >= 28 && low.steps.last().unwrap().day <= 42);
        assert_eq!(validate(&Sequence::defaults(), BOTH), Ok(()));
    }

    #[test]
    fn the_defaults_send_email_first_and_no_discount_in_the_first_message() {
        for sequence in Sequence::defaults() {
            assert_eq!(sequence.steps[0].channel.channels()[0], Channel::Email);
            assert_eq!(sequence.steps[0].offer, None);
        }
        let email_only = Senders {
            email: true,
            sms: false,
        };
        assert_eq!(validate(&Sequence::defaults(), email_only), Ok(()));
    }

    #[test]
    fn a_step_before_the_one_listed_ahead_of_it_is_refused_by_name() {
        let mut sequences = Sequence::defaults();
        sequences[0].steps[2].day = 5;
        let error = validate(&sequences, BOTH).unwrap_err();
        assert_eq!(
            error,
            SequenceError::OutOfOrder {
                sequence: 0,
                step: 2,
                day: 5,
                previous: 7
            }
        );
        assert!(
            error
                .to_string()
                .starts_with("sequences[0].steps[2].day is 5")
        );
    }

    #[test]
    fn an_sms_step_without_an_sms_sender_is_refused() {
        let mut sequences = Sequence::defaults();
        sequences[2].steps[1].channel = ChannelPreference::Sms;
        let email_only = Senders {
            email: true,
            sms: false,
        };
        assert_eq!(
            validate(&sequences, email_only),
            Err(SequenceError::NoSender {
                sequence: 2,
                step: 1,
                channel: Channel::Sms
            })
        );
    }

    #[test]
    fn a_discount_in_the_first_step_or_a_name_used_twice_is_refused() {
        let mut sequences = Sequence::defaults();
        sequences[1].steps[0].offer = Some("loyalty".into());
        assert_eq!(
            validate(&sequences, BOTH),
            Err(SequenceError::OfferInFirstStep { sequence: 1 })
        );
        let mut sequences = Sequence::defaults();
        sequences[2].name = sequences[0].name.clone();
        assert_eq!(
            validate(&sequences, BOTH),
            Err(SequenceError::Name {
                sequence: 2,
                other: 0
            })
        );
    }

    #[test]
    fn a_sequence_serves_the_segment_its_filters_name() {
        let hair = Category::parse("hair").unwrap();
        let segment = Segment {
            tier: Tier::High,
            stage: Stage::Lapsed,
            category: &hair,
            reasons: &[Reason::IntervalsLengthening],
        };
        assert!(Sequence::default_for(Tier::High).serves(&segment));
        assert!(!Sequence::default_for(Tier::Low).serves(&segment));
        let mut drift = Sequence::named("drift", Sequence::default_for(Tier::High).steps);
        drift.reasons = vec![Reason::IntervalsLengthening];
        drift.stages = vec![Stage::Lapsed, Stage::Dormant];
        assert!(drift.serves(&segment));
        assert!(!drift.serves(&Segment {
            reasons: &[],
            ..segment
        }));
        assert!(!drift.serves(&Segment {
            stage: Stage::AtRisk,
            ..segment
        }));
    }
}
