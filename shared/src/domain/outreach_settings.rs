//! A business's outreach settings: automatic or manual, the stage that triggers outreach, the
//! sequences and the segments they serve, offers, eligibility rules, send windows, landmarks,
//! daily caps, the control group and the attribution window.
//!
//! Every field has a default that works with no configuration (PRODUCT.md's 30/60/90 for high
//! and medium tiers, a lighter sequence for low, email first, SMS only where configured and
//! consented), and [`OutreachConfig::validate`] names the field at fault, as a JSON pointer
//! too, so `PUT /v1/config` can answer with it.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Time, Weekday, time};

use crate::domain::channel::Channel;
use crate::domain::day::Day;
use crate::domain::eligibility::EligibilityRules;
use crate::domain::money::{Currency, MajorAmount};
use crate::domain::rebook_link::{self, BookingUrlError};
use crate::domain::rfm::Tier;
use crate::domain::send_window::{SendWindow, WindowError};
use crate::domain::sequence::{self, Segment, Senders, Sequence, SequenceError};
use crate::domain::stage::Stage;
use crate::domain::template::{self, Template, TemplateError};

/// Who starts a sequence: the detector, or a person pressing "contact all overdue".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Automatic,
    Manual,
}

/// Where first messages land: as soon as the client is eligible, or near the start of the next
/// week or month (a "fresh start" people act on more readily).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Landmark {
    #[default]
    None,
    WeekStart,
    MonthStart,
}

impl Landmark {
    /// The day a first message eligible on `day` goes out: the next Monday (or the 1st of the
    /// next month) unless `day` already is within two days of one.
    pub fn first_message_day(self, day: Date) -> Date {
        match self {
            Landmark::None => day,
            Landmark::WeekStart => {
                let since_monday = day.weekday().to_monday_zero_offset();
                if since_monday <= 1 {
                    day
                } else {
                    day.nth_weekday(1, Weekday::Monday).unwrap_or(day)
                }
            }
            Landmark::MonthStart => {
                if day.day() <= 2 {
                    day
                } else {
                    day.last_of_month().tomorrow().unwrap_or(day)
                }
            }
        }
    }
}

/// A daily window in the client's local time, as configured: `{ "start": "09:00", "end": "19:00" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    pub start: Time,
    pub end: Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Windows {
    pub email: WindowConfig,
    /// Never outside 08:00–21:00 local, whatever is configured.
    pub sms: WindowConfig,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            email: WindowConfig {
                start: time(9, 0, 0, 0),
                end: time(19, 0, 0, 0),
            },
            sms: WindowConfig {
                start: time(10, 0, 0, 0),
                end: time(19, 0, 0, 0),
            },
        }
    }
}

impl Windows {
    /// The window of a channel (valid once the configuration is).
    pub fn of(&self, channel: Channel) -> SendWindow {
        let fallback = Windows::default();
        match channel {
            Channel::Email => SendWindow::new(self.email.start, self.email.end)
                .or_else(|_| SendWindow::new(fallback.email.start, fallback.email.end)),
            Channel::Sms => SendWindow::for_sms(self.sms.start, self.sms.end)
                .or_else(|_| SendWindow::for_sms(fallback.sms.start, fallback.sms.end)),
        }
        .expect("the default windows are valid")
    }
}

/// New first messages a business sends a day, per channel; clients over the cap wait for the
/// next day in priority order (tier, then lapse score).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DailyCap {
    pub email: u32,
    pub sms: u32,
}

impl Default for DailyCap {
    fn default() -> Self {
        DailyCap {
            email: 500,
            sms: 100,
        }
    }
}

impl DailyCap {
    pub fn of(&self, channel: Channel) -> u32 {
        match channel {
            Channel::Email => self.email,
            Channel::Sms => self.sms,
        }
    }
}

/// Who sends: email from the deployment's verified identity (or the business's own `from`),
/// SMS only once a sender id or origination number is set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SenderSettings {
    /// Email is sent; `from` overrides the deployment's sender address.
    pub email: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_from: Option<String>,
    /// An alphanumeric sender id or an E.164 origination number; no SMS without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_sender: Option<String>,
}

impl Default for SenderSettings {
    fn default() -> Self {
        SenderSettings {
            email: true,
            email_from: None,
            sms_sender: None,
        }
    }
}

impl SenderSettings {
    pub fn senders(&self) -> Senders {
        Senders {
            email: self.email,
            sms: self.sms_sender.is_some(),
        }
    }
}

/// An incentive a step may carry, and the tiers it may be offered to (empty: every tier).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// What the client reads: "15% off your next colour", "a free deep-conditioning".
    pub text: String,
    /// A price discount (at most one per client per period) or a non-price incentive.
    #[serde(default)]
    pub discount: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<Tier>,
    /// Each client gets their own single-use code with the offer ("10% off your next visit
    /// with code WB-7KQ2-M4XD"); the booking tool sends it back as the booking's
    /// `offer_code` when the client redeems it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unique_code: bool,
}

/// Annual spend (in the business's currency units) from which a client is high or medium tier.
/// Without them every client is medium tier: the deployed system cannot rank clients against a
/// whole business on each booking, so the business (or `winback audit`) supplies the cut points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TierCuts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high_from_annual_spend: Option<MajorAmount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium_from_annual_spend: Option<MajorAmount>,
}

impl TierCuts {
    /// The cut points in minor units of `currency` (cents for USD), rounded once: the tier is
    /// then decided on whole amounts. (A cut too large for minor units, which validation
    /// refuses, is one no client reaches.)
    pub fn in_minor_units(&self, currency: Currency) -> MinorTierCuts {
        let minor = |major: MajorAmount| major.in_minor_units(currency).unwrap_or(i64::MAX);
        MinorTierCuts {
            high: self.high_from_annual_spend.map(minor),
            medium: self.medium_from_annual_spend.map(minor),
        }
    }
}

/// [`TierCuts`] in minor units of the business's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MinorTierCuts {
    pub high: Option<i64>,
    pub medium: Option<i64>,
}

impl MinorTierCuts {
    /// The tier of a client spending `annual_spend_minor` a year.
    pub fn tier(&self, annual_spend_minor: i64) -> Tier {
        match (self.high, self.medium) {
            (Some(high), _) if annual_spend_minor >= high => Tier::High,
            (_, Some(medium)) if annual_spend_minor >= medium => Tier::Medium,
            (_, Some(_)) => Tier::Low,
            _ => Tier::Medium,
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutreachConfig {
    pub mode: Mode,
    /// The stage at which a client enters a sequence: lapsed by default, at-risk for earlier
    /// outreach, dormant for later.
    pub trigger_stage: Stage,
    /// The first sequence whose segment fits a client is theirs.
    pub sequences: Vec<Sequence>,
    pub offers: BTreeMap<String, Offer>,
    #[serde(flatten)]
    pub eligibility: EligibilityRules,
    pub windows: Windows,
    pub landmark: Landmark,
    pub daily_cap: DailyCap,
    /// Share of eligible clients held back as the control group, 0 to 0.5.
    pub control_share: f64,
    /// Days after a message within which a booking of the category counts as won back by it.
    pub attribution_window_days: u16,
    /// Days between long-game check-ins once a client finished a sequence without returning.
    pub long_game_every_days: u16,
    /// At most one discounted offer per client in this many days.
    pub discount_every_days: u16,
    pub senders: SenderSettings,
    pub tiers: TierCuts,
    /// The business's online booking page, where rebook links land: an `https` address that
    /// may hold `{client_id}`, `{service}` and `{category}`. Without one, a rebook link shows
    /// the business's name and asks the client to get in touch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booking_url: Option<String>,
    /// The business's own wording for a step, by template name (`soft_check_in`,
    /// `value_add`, `incentive`, `last_chance`, `long_game`, `re_permission`, or a name a
    /// sequence step uses), per channel; the built-in one is used where there is none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub templates: BTreeMap<String, TemplateOverride>,
}

/// A business's wording for one template, per channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Template>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<Template>,
}

impl TemplateOverride {
    pub fn of(&self, channel: Channel) -> Option<&Template> {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
        }
    }
}

impl Default for OutreachConfig {
    fn default() -> Self {
        OutreachConfig {
            mode: Mode::Automatic,
            trigger_stage: Stage::Lapsed,
            sequences: Sequence::defaults(),
            offers: BTreeMap::from([
                (
                    "loyalty".to_owned(),
                    Offer {
                        text: "a complimentary treatment add-on with your next visit".into(),
                        discount: false,
                        tiers: vec![Tier::High, Tier::Medium],
                        unique_code: false,
                    },
                ),
                (
                    "welcome_back".to_owned(),
                    Offer {
                        text: "10% off your next visit".into(),
                        discount: true,
                        tiers: vec![Tier::Low],
                        unique_code: true,
                    },
                ),
            ]),
            eligibility: EligibilityRules::default(),
            windows: Windows::default(),
            landmark: Landmark::None,
            daily_cap: DailyCap::default(),
            control_share: crate::domain::control_group::DEFAULT_SHARE,
            attribution_window_days: 90,
            long_game_every_days: 180,
            discount_every_days: 180,
            senders: SenderSettings::default(),
            tiers: TierCuts::default(),
            booking_url: None,
            templates: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutreachError {
    #[error(
        "outreach.trigger_stage is {0}; outreach starts at at-risk, lapsed or dormant (due is too early: the client would likely come back anyway)"
    )]
    TriggerStage(&'static str),
    #[error("outreach.{0}")]
    Sequence(#[from] SequenceError),
    #[error("outreach.sequences is empty; keep at least one sequence (or set mode to manual)")]
    NoSequences,
    #[error("outreach.windows.{channel}: {error}")]
    Window {
        channel: &'static str,
        error: WindowError,
    },
    #[error(
        "outreach.sequences[{sequence}].steps[{step}].offer is \"{offer}\", which is not one of outreach.offers; add it there or correct the name"
    )]
    UnknownOffer {
        sequence: usize,
        step: usize,
        offer: String,
    },
    #[error("outreach.offers.\"{0}\".text is empty; say what the client gets")]
    EmptyOffer(String),
    #[error(
        "outreach.control_share is {0}; it must be between 0 and 0.5 (0.1 holds back one eligible client in ten)"
    )]
    ControlShare(f64),
    #[error("outreach.discount_every_days is {0}; it must be between 30 and 730")]
    DiscountEvery(u16),
    #[error("outreach.attribution_window_days is {0}; it must be between 1 and 365")]
    AttributionWindow(u16),
    #[error(
        "outreach.long_game_every_days is {0}; it must be at least 30 (the long-game list is contacted rarely)"
    )]
    LongGame(u16),
    #[error(
        "outreach.cooldown_days is {0}; it must be at most 730 days (or the client is never contacted again)"
    )]
    Cooldown(u16),
    #[error("outreach.max_age_days is {0}; it must be between 90 and 3650 days")]
    MaxAge(u32),
    #[error(
        "outreach.tiers: high_from_annual_spend ({high}) must be above medium_from_annual_spend ({medium})"
    )]
    TierCuts {
        high: MajorAmount,
        medium: MajorAmount,
    },
    #[error(
        "tiers: a cut point of {0} is not an amount; give the annual spend in the business's currency, from 0 to 1,000,000,000,000"
    )]
    TierCut(MajorAmount),
    #[error(
        "outreach.senders.sms_sender is empty; give a sender id or an E.164 number, or leave it out"
    )]
    EmptySmsSender,
    #[error("outreach.senders.email_from: {0}")]
    EmailFrom(#[from] crate::domain::contact::SenderError),
    #[error("outreach.booking_url: {0}")]
    BookingUrl(#[from] BookingUrlError),
    #[error("outreach.templates.\"{name}\" is not a template any step uses; the names are {known}")]
    UnknownTemplate { name: String, known: String },
    #[error("outreach.templates.\"{name}\".{channel}: {error}")]
    Template {
        name: String,
        channel: &'static str,
        error: TemplateError,
    },
}

impl OutreachError {
    /// The field at fault as an RFC 6901 pointer into the configuration document.
    pub fn pointer(&self) -> String {
        let field = match self {
            OutreachError::TriggerStage(_) => "trigger_stage".to_owned(),
            OutreachError::Sequence(error) => return format!("/outreach/{}", error.pointer()),
            OutreachError::NoSequences => "sequences".to_owned(),
            OutreachError::Window { channel, .. } => format!("windows/{channel}"),
            OutreachError::UnknownOffer { sequence, step, .. } => {
                format!("sequences/{sequence}/steps/{step}/offer")
            }
            OutreachError::EmptyOffer(key) => format!("offers/{}", escape(key)),
            OutreachError::ControlShare(_) => "control_share".to_owned(),
            OutreachError::AttributionWindow(_) => "attribution_window_days".to_owned(),
            OutreachError::DiscountEvery(_) => "discount_every_days".to_owned(),
            OutreachError::LongGame(_) => "long_game_every_days".to_owned(),
            OutreachError::Cooldown(_) => "cooldown_days".to_owned(),
            OutreachError::MaxAge(_) => "max_age_days".to_owned(),
            OutreachError::TierCuts { .. } | OutreachError::TierCut(_) => "tiers".to_owned(),
            OutreachError::EmptySmsSender => "senders/sms_sender".to_owned(),
            OutreachError::EmailFrom(_) => "senders/email_from".to_owned(),
            OutreachError::BookingUrl(_) => "booking_url".to_owned(),
            OutreachError::UnknownTemplate { name, .. } => format!("templates/{}", escape(name)),
            OutreachError::Template { name, channel, .. } => {
                format!("templates/{}/{channel}", escape(name))
            }
        };
        format!("/outreach/{field}")
    }
}

/// A key as one step of an RFC 6901 pointer.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl OutreachConfig {
    pub fn validate(&self) -> Result<(), OutreachError> {
        if !matches!(
            self.trigger_stage,
            Stage::AtRisk | Stage::Lapsed | Stage::Dormant
        ) {
            return Err(OutreachError::TriggerStage(self.trigger_stage.name()));
        }
        if self.sequences.is_empty() && self.mode == Mode::Automatic {
            return Err(OutreachError::NoSequences);
        }
        SendWindow::new(self.windows.email.start, self.windows.email.end).map_err(|error| {
            OutreachError::Window {
                channel: "email",
                error,
            }
        })?;
        SendWindow::for_sms(self.windows.sms.start, self.windows.sms.end).map_err(|error| {
            OutreachError::Window {
                channel: "sms",
                error,
            }
        })?;
        if self
            .senders
            .sms_sender
            .as_deref()
            .is_some_and(|s| s.trim().is_empty())
        {
            return Err(OutreachError::EmptySmsSender);
        }
        if let Some(from) = &self.senders.email_from {
            crate::domain::contact::Sender::parse(from)?;
        }
        sequence::validate(&self.sequences, self.senders.senders())?;
        for (s, sequence) in self.sequences.iter().enumerate() {
            for (i, step) in sequence.steps.iter().enumerate() {
                if let Some(offer) = &step.offer
                    && !self.offers.contains_key(offer)
                {
                    return Err(OutreachError::UnknownOffer {
                        sequence: s,
                        step: i,
                        offer: offer.clone(),
                    });
                }
            }
        }
        if let Some((key, _)) = self.offers.iter().find(|(_, o)| o.text.trim().is_empty()) {
            return Err(OutreachError::EmptyOffer(key.clone()));
        }
        if !(0.0..=0.5).contains(&self.control_share) {
            return Err(OutreachError::ControlShare(self.control_share));
        }
        if !(1..=365).contains(&self.attribution_window_days) {
            return Err(OutreachError::AttributionWindow(
                self.attribution_window_days,
            ));
        }
        if !(30..=730).contains(&self.discount_every_days) {
            return Err(OutreachError::DiscountEvery(self.discount_every_days));
        }
        if self.long_game_every_days < 30 {
            return Err(OutreachError::LongGame(self.long_game_every_days));
        }
        if self.eligibility.cooldown_days > 730 {
            return Err(OutreachError::Cooldown(self.eligibility.cooldown_days));
        }
        if !(90..=3650).contains(&self.eligibility.max_age_days) {
            return Err(OutreachError::MaxAge(self.eligibility.max_age_days));
        }
        if let (Some(high), Some(medium)) = (
            self.tiers.high_from_annual_spend,
            self.tiers.medium_from_annual_spend,
        ) && high <= medium
        {
            return Err(OutreachError::TierCuts { high, medium });
        }
        for cut in [
            self.tiers.high_from_annual_spend,
            self.tiers.medium_from_annual_spend,
        ]
        .into_iter()
        .flatten()
        {
            if cut.is_negative() || cut > MajorAmount::MAX {
                return Err(OutreachError::TierCut(cut));
            }
        }
        if let Some(url) = &self.booking_url {
            rebook_link::validate(url)?;
        }
        let known = self.template_names();
        for (name, wording) in &self.templates {
            if !known.contains(name.as_str()) {
                return Err(OutreachError::UnknownTemplate {
                    name: name.clone(),
                    known: known.iter().copied().collect::<Vec<_>>().join(", "),
                });
            }
            for channel in [Channel::Email, Channel::Sms] {
                if let Some(template) = wording.of(channel) {
                    template
                        .validate(channel)
                        .map_err(|error| OutreachError::Template {
                            name: name.clone(),
                            channel: channel.name(),
                            error,
                        })?;
                }
            }
        }
        Ok(())
    }

    /// Every template name a step may use: the built-in ones and those the sequences name.
    pub fn template_names(&self) -> BTreeSet<&str> {
        template::BUILT_IN
            .iter()
            .copied()
            .chain(
                self.sequences
                    .iter()
                    .flat_map(|s| s.steps.iter().map(|step| step.template.as_str())),
            )
            .collect()
    }

    /// The wording of a step on a channel: the business's own, else the built-in one, else
    /// the built-in soft check-in.
    pub fn template(&self, name: &str, channel: Channel) -> Template {
        self.templates
            .get(name)
            .and_then(|wording| wording.of(channel))
            .cloned()
            .or_else(|| template::built_in(name, channel))
            .or_else(|| template::built_in("soft_check_in", channel))
            .expect("the soft check-in is built in on every channel")
    }

    /// The sequence for a segment: the first whose filters all fit, by index.
    pub fn sequence_for(&self, segment: &Segment<'_>) -> Option<(usize, &Sequence)> {
        self.sequences
            .iter()
            .enumerate()
            .find(|(_, sequence)| sequence.serves(segment))
    }

    /// Whether an offer may go to a client of `tier`.
    pub fn offer_for(&self, key: &str, tier: Tier) -> Option<&Offer> {
        self.offers
            .get(key)
            .filter(|offer| offer.tiers.is_empty() || offer.tiers.contains(&tier))
    }

    /// The offer a step actually carries for a client, by the guardrails: never in the first
    /// message; only offers meant for the client's tier; at most one discount per client per
    /// `discount_every_days` (`last_discount` is the day of their last one); and a high-tier
    /// client is offered a non-price incentive before any discount. `None`: the step goes out
    /// without an offer.
    pub fn guarded_offer(
        &self,
        step_index: usize,
        key: &str,
        tier: Tier,
        last_discount: Option<Day>,
        non_price_offered: bool,
        today: Day,
    ) -> Option<(&str, &Offer)> {
        if step_index == 0 {
            return None;
        }
        let (key, offer) = self.offers.get_key_value(key)?;
        let for_tier = |offer: &Offer| offer.tiers.is_empty() || offer.tiers.contains(&tier);
        let discount_allowed = last_discount
            .is_none_or(|day| today.days_since(day) >= i32::from(self.discount_every_days));
        if offer.discount && tier == Tier::High && !non_price_offered {
            // A non-price incentive first, if the business has one for high-value clients.
            if let Some((k, o)) = self.offers.iter().find(|(_, o)| !o.discount && for_tier(o)) {
                return Some((k.as_str(), o));
            }
        }
        if !for_tier(offer) || (offer.discount && !discount_allowed) {
            return None;
        }
        Some((key.as_str(), offer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::Category;
    use crate::domain::sequence::ChannelPreference;
    use jiff::civil::date;

    #[test]
    fn the_defaults_work_with_no_configuration() {
        let config = OutreachConfig::default();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.trigger_stage, Stage::Lapsed);
        assert_eq!(config.mode, Mode::Automatic);
        assert_eq!(config.control_share, 0.10);
        // SMS is off until a sender is configured.
        assert!(!config.senders.senders().sms);
        let parsed: OutreachConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, config);
    }

    #[test]
    fn outreach_triggers_at_at_risk_lapsed_or_dormant_only() {
        let mut config = OutreachConfig {
            trigger_stage: Stage::AtRisk,
            ..OutreachConfig::default()
        };
        assert_eq!(config.validate(), Ok(()));
        config.trigger_stage = Stage::Due;
        let error = config.validate().unwrap_err();
        assert_eq!(error.pointer(), "/outreach/trigger_stage");
    }

    #[test]
    fn an_empty_window_and_an_sms_window_at_night_are_refused_by_field() {
        let mut config = OutreachConfig::default();
        config.windows.email = WindowConfig {
            start: time(18, 0, 0, 0),
            end: time(9, 0, 0, 0),
        };
        let error = config.validate().unwrap_err();
        assert_eq!(error.pointer(), "/outreach/windows/email");
        assert!(error.to_string().contains("empty"), "{error}");

        let mut config = OutreachConfig::default();
        config.windows.sms.end = time(22, 0, 0, 0);
        let error = config.validate().unwrap_err();
        assert_eq!(error.pointer(), "/outreach/windows/sms");
        assert!(error.to_string().contains("08:00"), "{error}");
    }

    #[test]
    fn a_step_out_of_order_or_on_a_channel_without_sender_names_its_field() {
        let mut config = OutreachConfig::default();
        config.sequences[0].steps[1].day = 21;
        let error = config.validate().unwrap_err();
        assert_eq!(error.pointer(), "/outreach/sequences/0/steps/2/day");
        assert!(
            error
                .to_string()
                .starts_with("outreach.sequences[0].steps[2].day"),
            "{error}"
        );

        let mut config = OutreachConfig::default();
        config.sequences[1].steps[1].channel = ChannelPreference::Sms;
        let error = config.validate().unwrap_err();
        assert_eq!(error.pointer(), "/outreach/sequences/1/steps/1/channel");
        config.senders.sms_sender = Some("Salon".into());
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn offers_named_by_steps_must_exist_and_are_offered_by_tier() {
        let mut config = OutreachConfig::default();
        config.sequences[0].steps[2].offer = Some("free_blowdry".into());
        assert!(matches!(
            config.validate(),
            Err(OutreachError::UnknownOffer {
                sequence: 0,
                step: 2,
                ..
            })
        ));
        let config = OutreachConfig::default();
        assert!(config.offer_for("loyalty", Tier::High).is_some());
        assert!(config.offer_for("loyalty", Tier::Low).is_none());
        // Higher-value tiers get a non-price incentive first.
        assert!(!config.offer_for("loyalty", Tier::High).unwrap().discount);
    }

    #[test]
    fn offers_follow_the_guardrails() {
        let config = OutreachConfig::default();
        let today = Day::from_date(date(2026, 11, 30));
        // Never in the first message.
        assert_eq!(
            config.guarded_offer(0, "welcome_back", Tier::Low, None, false, today),
            None
        );
        let (key, offer) = config
            .guarded_offer(1, "welcome_back", Tier::Low, None, false, today)
            .unwrap();
        assert_eq!(key, "welcome_back");
        assert!(offer.discount);
        // At most one discount per period.
        let recent = Some(today.plus_days(-30));
        assert_eq!(
            config.guarded_offer(1, "welcome_back", Tier::Low, recent, false, today),
            None
        );
        let long_ago = Some(today.plus_days(-200));
        assert!(
            config
                .guarded_offer(1, "welcome_back", Tier::Low, long_ago, false, today)
                .is_some()
        );
        // Offers are by tier: a low-tier client gets no loyalty add-on.
        assert_eq!(
            config.guarded_offer(2, "loyalty", Tier::Low, None, false, today),
            None
        );
        // High-value clients get a non-price incentive before any discount.
        let mut config = OutreachConfig::default();
        config.offers.get_mut("welcome_back").unwrap().tiers.clear();
        let (key, offer) = config
            .guarded_offer(2, "welcome_back", Tier::High, None, false, today)
            .unwrap();
        assert_eq!(key, "loyalty");
        assert!(!offer.discount);
        let (key, _) = config
            .guarded_offer(3, "welcome_back", Tier::High, None, true, today)
            .unwrap();
        assert_eq!(key, "welcome_back");
    }

    #[test]
    fn the_control_share_and_attribution_window_are_bounded() {
        let mut config = OutreachConfig {
            control_share: 0.8,
            ..OutreachConfig::default()
        };
        assert_eq!(
            config.validate().unwrap_err().pointer(),
            "/outreach/control_share"
        );
        config.control_share = 0.0;
        config.attribution_window_days = 0;
        assert_eq!(
            config.validate().unwrap_err().pointer(),
            "/outreach/attribution_window_days"
        );
    }

    #[test]
    fn the_first_sequence_whose_segment_fits_is_chosen() {
        let mut config = OutreachConfig::default();
        let colour = Category::parse("colour").unwrap();
        let hair = Category::parse("hair").unwrap();
        let mut colour_sequence = Sequence::default_for(Tier::Medium);
        colour_sequence.name = "colour refresh".into();
        colour_sequence.categories = vec![colour.clone()];
        config.sequences.insert(0, colour_sequence);
        assert_eq!(config.validate(), Ok(()));
        let segment = |category| Segment {
            tier: Tier::Medium,
            stage: Stage::Lapsed,
            category,
            reasons: &[],
        };
        assert_eq!(
            config.sequence_for(&segment(&colour)).unwrap().1.name,
            "colour refresh"
        );
        assert_eq!(
            config.sequence_for(&segment(&hair)).unwrap().1.name,
            "medium tier 30/60/90"
        );
    }

    #[test]
    fn tiers_come_from_annual_spend_cut_points_or_are_medium_without_them() {
        let usd = Currency::parse("USD").unwrap();
        let none = TierCuts::default().in_minor_units(usd);
        assert_eq!(none.tier(100_000), Tier::Medium);
        let cuts = TierCuts {
            high_from_annual_spend: Some(600.into()),
            medium_from_annual_spend: Some(200.into()),
        }
        .in_minor_units(usd);
        assert_eq!(cuts.tier(70_000), Tier::High);
        assert_eq!(cuts.tier(30_000), Tier::Medium);
        assert_eq!(cuts.tier(10_000), Tier::Low);
    }

    #[test]
    fn tier_cut_points_are_whole_minor_units_so_a_cent_decides_exactly() {
        // Read from JSON numbers as written, not as the nearest binary float (600.3 is
        // 600.299999... as an f64), then rounded to the cent once.
        let usd = Currency::parse("USD").unwrap();
        let cuts: TierCuts = serde_json::from_str(
            r#"{"high_from_annual_spend": 600.3, "medium_from_annual_spend": 0.295}"#,
        )
        .unwrap();
        assert_eq!(cuts.high_from_annual_spend, MajorAmount::parse("600.3"));
        assert_eq!(
            serde_json::to_string(&cuts).unwrap(),
            r#"{"high_from_annual_spend":600.3,"medium_from_annual_spend":0.295}"#,
            "written back as the numbers that were read"
        );
        let cuts = cuts.in_minor_units(usd);
        assert_eq!(cuts.high, Some(60_030));
        assert_eq!(cuts.medium, Some(30));
        assert_eq!(cuts.tier(30), Tier::Medium);
        assert_eq!(cuts.tier(29), Tier::Low);
        assert_eq!(cuts.tier(60_030), Tier::High);
        let yen = TierCuts {
            high_from_annual_spend: Some(60_000.into()),
            medium_from_annual_spend: None,
        }
        .in_minor_units(Currency::parse("JPY").unwrap());
        assert_eq!(yen.high, Some(60_000), "the yen has no minor unit");
    }

    #[test]
    fn first_messages_can_land_at_the_start_of_a_week_or_month() {
        // 2026-11-25 is a Wednesday.
        let wednesday = date(2026, 11, 25);
        assert_eq!(Landmark::None.first_message_day(wednesday), wednesday);
        assert_eq!(
            Landmark::WeekStart.first_message_day(wednesday),
            date(2026, 11, 30)
        );
        assert_eq!(
            Landmark::WeekStart.first_message_day(date(2026, 11, 24)),
            date(2026, 11, 24)
        );
        assert_eq!(
            Landmark::MonthStart.first_message_day(wednesday),
            date(2026, 12, 1)
        );
        assert_eq!(
            Landmark::MonthStart.first_message_day(date(2026, 12, 2)),
            date(2026, 12, 2)
        );
    }

    #[test]
    fn windows_are_written_as_local_times() {
        let parsed: Windows =
            serde_json::from_str(r#"{"email":{"start":"08:30","end":"20:00"}}"#).unwrap();
        assert_eq!(parsed.email.start, time(8, 30, 0, 0));
        assert_eq!(parsed.sms, Windows::default().sms);
    }
}
