//! "Enrol this client?": what one look at a client comes to. Given what was read (the business,
//! the client's record, which of their cadences came due, which contacts are suppressed) and
//! the day, [`plan`] works out the stage of each category, which overdue category leads, whether
//! the rules of [`eligibility`] let the client be enrolled, in which sequence and on which
//! channel, whether they join the control group, when the first message goes out, and when each
//! category is next looked at. The detector reads and writes; every rule is here.
//!
//! In steps: [`categories`] (each category's rhythm, stage and yearly value), [`overdue`] (the
//! overdue ones, the leading first), [`candidate`] (what eligibility judges), [`choose_sequence`]
//! (the segment's sequence), [`enrollment`] (the record and its first step), and
//! [`next_looks`] (the watch days).

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::domain::booking::BookingStatus;
use crate::domain::category_cadence::{CategoryCadence, Watch};
use crate::domain::channel::Channel;
use crate::domain::churn_signal::lengthening;
use crate::domain::client_record::ClientRecord;
use crate::domain::control_group::is_control;
use crate::domain::day::Day;
use crate::domain::eligibility::{self, Candidate, ChannelState, Decision};
use crate::domain::enrollment::{
    self, Enrollment, EnrollmentId, Kind, Outreach, ScheduledStep, Status, StepStatus,
};
use crate::domain::ids::{Category, ClientId};
use crate::domain::lapse_score::StopModel;
use crate::domain::outreach_settings::{Mode, OutreachConfig};
use crate::domain::rfm::{Tier, annual_spend_minor};
use crate::domain::rhythm::Rhythm;
use crate::domain::sequence::{Reason, Segment, Sequence};
use crate::domain::stage::{Stage, StageThresholds};
use crate::domain::tenant::Tenant;

/// The horizon of the lapse score that orders clients held back by the daily cap.
const PRIORITY_HORIZON_DAYS: f64 = 90.0;

/// Which of the client's contacts are suppressed (erased before, bounced, opted out by STOP).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Suppressed {
    pub email: bool,
    pub sms: bool,
}

impl Suppressed {
    fn of(self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email,
            Channel::Sms => self.sms,
        }
    }
}

/// What one look at a client is made from: all of it read before, nothing read here.
#[derive(Debug, Clone, Copy)]
pub struct Looking<'a> {
    pub tenant: &'a Tenant,
    pub client: &'a ClientId,
    pub record: &'a ClientRecord,
    /// The cadences whose watch day brought the client up, with the watch as read (none when
    /// the business asked to contact the overdue).
    pub seen: &'a [(Category, Watch)],
    pub suppressed: Suppressed,
    /// Today in the business's time zone.
    pub today: Day,
    pub now: Timestamp,
}

/// What a look may do: enrol or only look, from which stage, leading with which category.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The least overdue stage that counts.
    pub trigger: Stage,
    pub enrol: bool,
    /// The category the business asked for, which must lead.
    pub lead: Option<&'a Category>,
}

impl Scope<'_> {
    /// The daily run: from the business's trigger stage, enrolling only in automatic mode.
    pub fn daily(config: &OutreachConfig) -> Scope<'static> {
        Scope {
            trigger: config.trigger_stage,
            enrol: config.mode == Mode::Automatic,
            lead: None,
        }
    }

    /// "Contact overdue": every overdue category counts, the one asked for (if any) leads.
    pub fn contact(lead: Option<&Category>) -> Scope<'_> {
        Scope {
            trigger: Stage::AtRisk,
            enrol: true,
            lead,
        }
    }
}

/// What looking at one client came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Enrol(Box<Plan>),
    /// Nothing to do now; the looks to record, and why not if the client was overdue.
    Rest {
        looks: Vec<NextLook>,
        skipped: Option<&'static str>,
    },
}

/// An enrollment ready to be written, with what orders it against the others of the day.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The client's outreach with the enrollment active, and the version of the outreach it was
    /// planned on (the write is conditional on it still being the stored one).
    pub outreach: Outreach,
    pub read_version: u64,
    pub enrollment: Enrollment,
    /// The first message (none for the control group).
    pub first_step: Option<ScheduledStep>,
    pub tier: Tier,
    pub lapse_score: f64,
    /// The client's time zone, for send times.
    pub zone: TimeZone,
    /// The cadences looked at, with their watch moved, to record once the enrollment is written.
    pub looks: Vec<NextLook>,
}

impl Plan {
    /// Enrolled in the control group: recorded, never messaged.
    pub fn is_control(&self) -> bool {
        self.enrollment.control
    }

    /// A re-permission request rather than a sequence.
    pub fn asks_permission(&self) -> bool {
        self.enrollment.kind == Kind::RePermission
    }

    /// The channel of the first message, counted against the day's cap.
    pub fn channel(&self) -> Option<Channel> {
        self.first_step.as_ref().map(|s| s.channel)
    }

    /// Moves the first message to `day` (the daily cap had no room before): the first moment of
    /// the channel's window from that day on, or later if it was planned later.
    pub fn move_to(&mut self, day: Day, config: &OutreachConfig) {
        if let Some(step) = &mut self.first_step {
            let start = day.start_in(&self.zone).unwrap_or(Timestamp::UNIX_EPOCH);
            let window = config.windows.of(step.channel);
            step.send_at = window.next_send(step.send_at.max(start), &self.zone, None);
        }
    }

    /// Held back by the daily cap: the client is looked at again on `tomorrow`, in the stage they
    /// are in now, and comes first then.
    pub fn deferred_looks(self, tomorrow: Day) -> Vec<NextLook> {
        self.looks
            .into_iter()
            .map(|look| NextLook {
                next: Some(Watch {
                    on: tomorrow,
                    stage: look.stage,
                }),
                ..look
            })
            .collect()
    }
}

/// A look to record once the client's outcome is known: the watch as seen, the stage now, and
/// when the category is next looked at.
#[derive(Debug, Clone, PartialEq)]
pub struct NextLook {
    pub category: Category,
    pub seen: Option<Watch>,
    pub stage: Stage,
    pub next: Option<Watch>,
}

impl NextLook {
    /// A run has read every watch bucket through today: the next look is `tomorrow` at the
    /// earliest, or it would never come.
    pub fn not_before(mut self, tomorrow: Day) -> NextLook {
        if let Some(next) = &mut self.next {
            next.on = next.on.max(tomorrow);
        }
        self
    }
}

/// Highest tier first, then the likeliest to be lost: who goes first when the cap binds.
pub fn by_priority(plans: &mut [Plan]) {
    plans.sort_by(|a, b| {
        (a.tier, b.lapse_score)
            .partial_cmp(&(b.tier, a.lapse_score))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

/// A category of the client as one look sees it.
#[derive(Debug, Clone)]
pub struct Looked<'a> {
    pub cadence: &'a CategoryCadence,
    pub rhythm: Rhythm,
    pub thresholds: StageThresholds,
    pub stage: Stage,
    /// What the client spends a year in it.
    pub annual_minor: i64,
}

/// Looks at one client: the stage of each category, whether and how to enrol them.
pub fn plan(looking: &Looking<'_>, scope: &Scope<'_>) -> Verdict {
    let Looking { tenant, record, .. } = *looking;
    let outreach_config = &tenant.config.outreach;
    let next_booking = next_booking(looking);
    let stages = categories(looking, next_booking);
    let looks = |held_until| next_looks(looking, &stages, next_booking, held_until);
    let rest = |looks, skipped| Verdict::Rest { looks, skipped };
    let active_ends = record.outreach.active.as_ref().map(|a| a.ends_on);

    let overdue = overdue(&stages, scope, record.outreach.long_game);
    if scope
        .lead
        .is_some_and(|lead| overdue.first().is_none_or(|l| l.cadence.category != *lead))
    {
        return rest(looks(active_ends), None);
    }
    let Some(&leading) = overdue.first() else {
        return rest(looks(active_ends), None);
    };
    if !scope.enrol {
        return rest(looks(active_ends), None);
    }

    let (kind, usable) = match eligibility::decide(
        &candidate(looking, leading, next_booking),
        &outreach_config.eligibility,
    ) {
        Decision::Skip(reason) => {
            return rest(looks(reason.until().or(active_ends)), Some(reason.name()));
        }
        Decision::AskPermission { channel } => (Kind::RePermission, vec![channel]),
        Decision::Enrol { channels } if record.outreach.long_game => (Kind::LongGame, channels),
        Decision::Enrol { channels } => (Kind::Sequence, channels),
    };
    let total_annual: i64 = stages.iter().map(|l| l.annual_minor).sum();
    let tier = outreach_config
        .tiers
        .in_minor_units(tenant.config.currency)
        .tier(total_annual);
    let Some(sequence) = choose_sequence(outreach_config, kind, tier, leading) else {
        // The business's sequences leave this segment out on purpose.
        return rest(looks(None), Some("no_sequence_for_segment"));
    };
    let Some(channel) = sequence.steps[0]
        .channel
        .first_usable(|c| usable.contains(&c))
    else {
        return rest(looks(None), Some("no_channel_for_sequence"));
    };
    let also_overdue = overdue[1..]
        .iter()
        .map(|l| l.cadence.category.clone())
        .collect();
    let plan = enrollment(
        looking,
        leading,
        kind,
        tier,
        sequence,
        channel,
        also_overdue,
    );
    let looks = looks(Some(plan.enrollment.ends_on));
    Verdict::Enrol(Box::new(Plan { looks, ..plan }))
}

/// The day of the client's next booking, if one is still to come.
fn next_booking(looking: &Looking<'_>) -> Option<Day> {
    let timezone = &looking.tenant.config.timezone;
    looking
        .record
        .bookings
        .iter()
        .filter(|b| b.is_future_booking(looking.today, timezone))
        .map(|b| b.day(timezone))
        .min()
}

/// Every category's rhythm, thresholds, stage today and yearly value, worked out once.
pub fn categories<'a>(looking: &Looking<'a>, next_booking: Option<Day>) -> Vec<Looked<'a>> {
    let config = &looking.tenant.config;
    looking
        .record
        .cadences
        .iter()
        .map(|c| {
            let cadence = &c.cadence;
            let rhythm = cadence.rhythm(config);
            let thresholds = StageThresholds::new(&rhythm, &config.stages);
            Looked {
                cadence,
                stage: cadence.stage_under(
                    &thresholds,
                    looking.today,
                    next_booking.is_some(),
                    config,
                ),
                annual_minor: annual_spend_minor(
                    cadence.spend_minor,
                    cadence.first_visit,
                    cadence.last_visit,
                    rhythm.interval_days,
                ),
                rhythm,
                thresholds,
            }
        })
        .collect()
}

/// The overdue categories at or past the scope's trigger (and, for a client on the long-game
/// list, the lost ones), the leading one first: the one asked for, then the most valuable a year,
/// then by name.
pub fn overdue<'s, 'a>(
    stages: &'s [Looked<'a>],
    scope: &Scope<'_>,
    long_game: bool,
) -> Vec<&'s Looked<'a>> {
    let mut overdue: Vec<&Looked<'_>> = stages
        .iter()
        .filter(|l| {
            (l.stage.is_overdue() && l.stage >= scope.trigger)
                || (long_game && l.stage == Stage::Lost)
        })
        .collect();
    overdue.sort_by(|a, b| {
        let asked = |l: &Looked<'_>| scope.lead != Some(&l.cadence.category);
        (asked(a), b.annual_minor, &a.cadence.category).cmp(&(
            asked(b),
            a.annual_minor,
            &b.cadence.category,
        ))
    });
    overdue
}

/// What the eligibility rules judge: the client's channels, history and outreach as they are.
fn candidate(looking: &Looking<'_>, leading: &Looked<'_>, next_booking: Option<Day>) -> Candidate {
    let Looking {
        tenant,
        record,
        suppressed,
        today,
        ..
    } = *looking;
    let outreach_config = &tenant.config.outreach;
    let timezone = &tenant.config.timezone;
    let profile = record.profile.as_ref();
    let senders = outreach_config.senders.senders();
    let channel_state = |channel| {
        ChannelState::of(
            profile,
            channel,
            senders.has(channel),
            suppressed.of(channel),
        )
    };
    let outreach = &record.outreach;
    let last_visit = record
        .cadences
        .iter()
        .map(|c| c.cadence.last_visit)
        .max()
        .unwrap_or(leading.cadence.last_visit);
    // The client's last appointment (not a cancelled one), if it was a no-show.
    let last_appointment_no_show = record
        .bookings
        .iter()
        .filter(|b| b.status != BookingStatus::Cancelled && b.day(timezone) <= today)
        .max_by_key(|b| b.starts_at)
        .is_some_and(|b| b.status == BookingStatus::NoShow);
    Candidate {
        today,
        last_visit,
        has_future_booking: next_booking.is_some(),
        channels: vec![channel_state(Channel::Email), channel_state(Channel::Sms)],
        in_active_sequence: outreach.active.is_some(),
        last_sequence_ended: outreach.last_ended,
        last_marketing_message: outreach.last_message,
        last_appointment_no_show,
        asked_for_permission: outreach.asked_permission,
        long_game_until: outreach
            .long_game
            .then_some(outreach.last_ended)
            .flatten()
            .map(|ended| ended.plus_days(i32::from(outreach_config.long_game_every_days))),
    }
}

/// The sequence for the client's segment: the business's first that serves it for an ordinary
/// enrollment (none if its sequences leave the segment out), the built-in long-game or
/// re-permission sequence otherwise. Intervals growing longer between the last visits of the
/// leading category mark the segment.
pub fn choose_sequence(
    config: &OutreachConfig,
    kind: Kind,
    tier: Tier,
    leading: &Looked<'_>,
) -> Option<Sequence> {
    let lead = leading.cadence;
    let gaps: Vec<i32> = lead
        .recent
        .windows(2)
        .map(|w| w[1].days_since(w[0]))
        .collect();
    let reasons: Vec<Reason> = lengthening(&gaps)
        .map(|_| Reason::IntervalsLengthening)
        .into_iter()
        .collect();
    let segment = Segment {
        tier,
        stage: leading.stage,
        category: &lead.category,
        reasons: &reasons,
    };
    match kind {
        Kind::Sequence => config
            .sequence_for(&segment)
            .map(|(_, sequence)| sequence.clone()),
        Kind::LongGame => Some(Sequence::long_game()),
        Kind::RePermission => Some(Sequence::re_permission()),
    }
}

/// The enrollment in `sequence`, led by `leading`, and its first step: in the control group
/// (by a stable draw, only for ordinary sequences) there is none; otherwise it waits for the
/// upper edge of the client's usual window in the leading category, then for the channel's send
/// window. The looks are left for the caller.
fn enrollment(
    looking: &Looking<'_>,
    leading: &Looked<'_>,
    kind: Kind,
    tier: Tier,
    sequence: Sequence,
    channel: Channel,
    also_overdue: Vec<Category>,
) -> Plan {
    let Looking {
        tenant,
        client,
        record,
        today,
        now,
        ..
    } = *looking;
    let config = &tenant.config.outreach;
    let lead = leading.cadence;
    let rhythm = &leading.rhythm;
    let days_since = f64::from(today.days_since(lead.last_visit));
    let lapse_score = StopModel::default().no_visit_probability(
        rhythm,
        lead.visits,
        days_since,
        PRIORITY_HORIZON_DAYS,
    );
    let control = kind == Kind::Sequence
        && is_control(&tenant.id, client, &sequence.name, config.control_share);
    let started = today;
    let ends_on = enrollment::ends_on(&sequence, started);
    let enrollment = Enrollment {
        id: EnrollmentId::new(started, &lead.category),
        client_id: client.clone(),
        category: lead.category.clone(),
        also_overdue,
        kind,
        sequence: sequence.name.clone(),
        steps: sequence.steps,
        tier,
        stage: leading.stage,
        lapse_score,
        started,
        control,
        ends_on,
        status: Status::Active,
        sent: Vec::new(),
        reactivation: None,
        offer_code: None,
    };
    let mut outreach = Outreach {
        active: Some(enrollment.clone()),
        pending_step: (!control).then_some(0),
        ..record.outreach.clone()
    };
    if kind == Kind::RePermission {
        outreach.asked_permission = true;
    }
    let zone = record.zone(&tenant.config.timezone);
    // The first message waits for the upper edge of the client's usual window.
    let window_edge = lead
        .last_visit
        .plus_days(rhythm.window_high_days.ceil() as i32);
    let first_step = (!control).then(|| ScheduledStep {
        client_id: client.clone(),
        enrollment: enrollment.id.clone(),
        index: 0,
        channel,
        send_at: enrollment::first_send_at(
            now,
            window_edge,
            config.landmark,
            &config.windows.of(channel),
            &zone,
            record.outreach.last_message,
        ),
        status: StepStatus::Scheduled,
    });
    Plan {
        outreach,
        read_version: record.outreach_version,
        enrollment,
        first_step,
        tier,
        lapse_score,
        zone,
        looks: Vec::new(),
    }
}

/// When each category that brought the client up is next looked at: the day after their next
/// booking (by then it happened, or not), else the day its stage next changes; no later than
/// `held_until` (the day a sequence ends or a rule stops holding the client back), and on that
/// day even with no stage left to reach, unless the category is lost for good.
pub fn next_looks(
    looking: &Looking<'_>,
    stages: &[Looked<'_>],
    next_booking: Option<Day>,
    held_until: Option<Day>,
) -> Vec<NextLook> {
    let config = &looking.tenant.config;
    let today = looking.today;
    let long_game = looking.record.outreach.long_game;
    looking
        .seen
        .iter()
        .filter_map(|(category, watch)| {
            let looked = stages.iter().find(|l| l.cadence.category == *category)?;
            let (cadence, stage) = (looked.cadence, looked.stage);
            let natural = match next_booking {
                Some(day) => Some(Watch {
                    on: day.plus_days(1),
                    stage: cadence.stage_under(&looked.thresholds, day.plus_days(1), false, config),
                }),
                None => cadence.next_watch_under(&looked.thresholds, today, config),
            };
            let next = match (natural, held_until) {
                (Some(n), Some(until)) if until > today => Some(Watch {
                    on: n.on.min(until),
                    stage: n.stage,
                }),
                (None, Some(until)) if until > today && (stage != Stage::Lost || long_game) => {
                    Some(Watch { on: until, stage })
                }
                (natural, _) => natural,
            };
            Some(NextLook {
                category: category.clone(),
                seen: Some(*watch),
                stage,
                next,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::booking::BookingStatus;
    use crate::domain::config::BusinessConfig;
    use crate::domain::fixtures::{
        at, category, client_id, day, every_four_weeks, profile, profile_with_phone, record,
        tenant, visit,
    };
    use crate::domain::outreach_settings::TierCuts;

    /// What the detector would decide for `record` of client `ana` at `now`, in `scope`.
    fn look_at(tenant: &Tenant, record: &ClientRecord, now: &str, scope: &Scope<'_>) -> Verdict {
        look_as("ana", tenant, record, now, Suppressed::default(), scope)
    }

    fn look_as(
        id: &str,
        tenant: &Tenant,
        record: &ClientRecord,
        now: &str,
        suppressed: Suppressed,
        scope: &Scope<'_>,
    ) -> Verdict {
        let now = at(now);
        let client = client_id(id);
        let seen: Vec<(Category, Watch)> = record
            .cadences
            .iter()
            .map(|c| {
                let watch = Watch {
                    on: tenant.config.timezone.day_of(now),
                    stage: Stage::Due,
                };
                (c.cadence.category.clone(), watch)
            })
            .collect();
        let looking = Looking {
            tenant,
            client: &client,
            record,
            seen: &seen,
            suppressed,
            today: tenant.config.timezone.day_of(now),
            now,
        };
        plan(&looking, scope)
    }

    fn enrolled(verdict: Verdict) -> Plan {
        match verdict {
            Verdict::Enrol(plan) => *plan,
            Verdict::Rest { skipped, .. } => panic!("not enrolled: {skipped:?}"),
        }
    }

    fn resting(verdict: Verdict) -> (Vec<NextLook>, Option<&'static str>) {
        match verdict {
            Verdict::Rest { looks, skipped } => (looks, skipped),
            Verdict::Enrol(plan) => panic!("enrolled in {}", plan.enrollment.sequence),
        }
    }

    /// Ana, four-weekly for hair, last seen 2 March: lapsed by 1 June.
    fn ana() -> ClientRecord {
        record(
            Some(profile("ana")),
            every_four_weeks("ana", "hair", "2026-03-02", 4500),
        )
    }

    fn daily(tenant: &Tenant) -> Scope<'static> {
        Scope::daily(&tenant.config.outreach)
    }

    #[test]
    fn a_lapsed_client_is_enrolled_in_their_tier_s_sequence_with_the_first_message_in_the_morning_window()
     {
        let business = tenant(|_| {});
        let plan = enrolled(look_at(
            &business,
            &ana(),
            "2026-06-01T05:00:00Z",
            &daily(&business),
        ));
        assert_eq!(plan.enrollment.category, category("hair"));
        assert_eq!(plan.enrollment.kind, Kind::Sequence);
        assert_eq!(plan.enrollment.sequence, "medium tier 30/60/90");
        assert!(plan.enrollment.stage >= Stage::Lapsed);
        assert_eq!(plan.outreach.pending_step, Some(0));
        assert_eq!(plan.outreach.active.as_ref(), Some(&plan.enrollment));
        let first = plan.first_step.expect("a first message");
        // 09:00 in London in summer is 08:00 UTC.
        assert_eq!(first.send_at, at("2026-06-01T08:00:00Z"));
        assert_eq!(first.channel, Channel::Email);
        assert_eq!(first.index, 0);
        // Looked at again when the sequence ends, at the latest.
        assert!(
            plan.looks
                .iter()
                .all(|l| l.next.is_some_and(|n| n.on <= plan.enrollment.ends_on))
        );
    }

    #[test]
    fn the_first_message_is_never_before_the_upper_edge_of_the_usual_window() {
        let business = tenant(|_| {});
        let record = ana();
        // Ten days after the last visit, were the client counted at risk already.
        let now = at("2026-03-12T05:00:00Z");
        let client = client_id("ana");
        let looking = Looking {
            tenant: &business,
            client: &client,
            record: &record,
            seen: &[],
            suppressed: Suppressed::default(),
            today: day("2026-03-12"),
            now,
        };
        let mut stages = categories(&looking, None);
        stages[0].stage = Stage::AtRisk;
        let leading = &stages[0];
        let edge = day("2026-03-02").plus_days(leading.rhythm.window_high_days.ceil() as i32);
        assert!(edge > day("2026-03-12"), "the window is still open");
        let sequence = Sequence::default_for(Tier::Medium);
        let plan = enrollment(
            &looking,
            leading,
            Kind::Sequence,
            Tier::Medium,
            sequence,
            Channel::Email,
            Vec::new(),
        );
        let send_at = plan.first_step.unwrap().send_at;
        let zone = business.config.timezone.zone();
        assert_eq!(Day::from(zone.to_datetime(send_at).date()), edge);
    }

    #[test]
    fn the_most_valuable_overdue_category_leads_and_the_others_are_noted() {
        let business = tenant(|_| {});
        let mut bookings = every_four_weeks("ana", "hair", "2026-03-02", 4500);
        bookings.extend(every_four_weeks("ana", "nails", "2026-03-03", 9000));
        let record = record(Some(profile("ana")), bookings);
        let plan = enrolled(look_at(
            &business,
            &record,
            "2026-06-01T05:00:00Z",
            &daily(&business),
        ));
        assert_eq!(plan.enrollment.category, category("nails"));
        assert_eq!(plan.enrollment.also_overdue, [category("hair")]);
    }

    #[test]
    fn the_category_the_business_asks_to_contact_leads_and_one_not_overdue_enrols_nobody() {
        let business = tenant(|config| config.outreach.mode = Mode::Manual);
        let mut bookings = every_four_weeks("ana", "hair", "2026-03-02", 4500);
        bookings.extend(every_four_weeks("ana", "nails", "2026-03-03", 9000));
        bookings.extend(every_four_weeks("ana", "brows", "2026-05-25", 2000));
        let record = record(Some(profile("ana")), bookings);
        let now = "2026-06-01T05:00:00Z";
        let hair = category("hair");
        let plan = enrolled(look_at(
            &business,
            &record,
            now,
            &Scope::contact(Some(&hair)),
        ));
        assert_eq!(plan.enrollment.category, hair);
        assert_eq!(plan.enrollment.also_overdue, [category("nails")]);
        let brows = category("brows");
        let (_, skipped) = resting(look_at(
            &business,
            &record,
            now,
            &Scope::contact(Some(&brows)),
        ));
        assert_eq!(skipped, None);
        // Any category: the most valuable leads.
        let plan = enrolled(look_at(&business, &record, now, &Scope::contact(None)));
        assert_eq!(plan.enrollment.category, category("nails"));
    }

    #[test]
    fn the_daily_run_in_manual_mode_only_looks() {
        let business = tenant(|config| config.outreach.mode = Mode::Manual);
        let (looks, skipped) = resting(look_at(
            &business,
            &ana(),
            "2026-06-01T05:00:00Z",
            &daily(&business),
        ));
        assert_eq!(skipped, None);
        assert_eq!(looks.len(), 1);
        assert!(looks[0].stage.is_overdue());
    }

    #[test]
    fn only_an_ordinary_sequence_draws_a_control_group_and_a_control_client_gets_no_message() {
        let business = tenant(|config| config.outreach.control_share = 0.5);
        let (mut control, mut messaged) = (0, 0);
        for i in 0..40 {
            let id = format!("c{i}");
            let record = record(
                Some(profile(&id)),
                every_four_weeks(&id, "hair", "2026-03-02", 4500),
            );
            let verdict = look_as(
                &id,
                &business,
                &record,
                "2026-06-01T05:00:00Z",
                Suppressed::default(),
                &daily(&business),
            );
            let plan = enrolled(verdict);
            assert_eq!(plan.is_control(), plan.first_step.is_none());
            assert_eq!(plan.is_control(), plan.outreach.pending_step.is_none());
            assert_eq!(plan.is_control(), plan.channel().is_none());
            if plan.is_control() {
                control += 1;
            } else {
                messaged += 1;
            }

            // The same client on the long-game list is never held back.
            let mut long_game = record.clone();
            long_game.outreach.long_game = true;
            long_game.outreach.last_ended = Some(day("2025-10-01"));
            let verdict = look_as(
                &id,
                &business,
                &long_game,
                "2026-06-01T05:00:00Z",
                Suppressed::default(),
                &daily(&business),
            );
            let plan = enrolled(verdict);
            assert_eq!(plan.enrollment.kind, Kind::LongGame);
            assert!(!plan.is_control());
        }
        assert!(control > 5 && messaged > 5, "{control} {messaged}");
    }

    #[test]
    fn a_client_short_of_the_trigger_stage_is_looked_at_again_when_they_reach_the_next_stage() {
        let business = tenant(|_| {});
        let record = record(
            Some(profile("ana")),
            every_four_weeks("ana", "hair", "2026-05-01", 4500),
        );
        let (looks, skipped) = resting(look_at(
            &business,
            &record,
            "2026-06-01T05:00:00Z",
            &daily(&business),
        ));
        assert_eq!(skipped, None);
        assert!(looks[0].stage < Stage::Lapsed, "{:?}", looks[0].stage);
        let next = looks[0].next.expect("a next look");
        assert!(next.stage > looks[0].stage);
        assert!(next.on > day("2026-06-01"));
    }

    #[test]
    fn a_future_booking_keeps_the_client_active_until_the_day_after_it() {
        let business = tenant(|_| {});
        let mut bookings = every_four_weeks("ana", "hair", "2026-03-02", 4500);
        let mut upcoming = visit("next", "ana", "2026-06-20", "nails", 3000);
        upcoming.status = BookingStatus::Booked;
        bookings.push(upcoming);
        let record = record(Some(profile("ana")), bookings);
        let (looks, skipped) = resting(look_at(
            &business,
            &record,
            "2026-06-01T05:00:00Z",
            &daily(&business),
        ));
        assert_eq!(skipped, None);
        assert_eq!(looks[0].stage, Stage::Active);
        assert_eq!(looks[0].next.unwrap().on, day("2026-06-21"));
    }

    #[test]
    fn the_first_message_falls_back_to_sms_when_the_email_is_suppressed_and_waits_when_nothing_is_left()
     {
        let business = tenant(|config: &mut BusinessConfig| {
            config.outreach.senders.sms_sender = Some("Salon".into());
        });
        let record = record(
            Some(profile_with_phone("ana")),
            every_four_weeks("ana", "hair", "2026-03-02", 4500),
        );
        let now = "2026-06-01T05:00:00Z";
        let scope = daily(&business);
        let email_gone = Suppressed {
            email: true,
            sms: false,
        };
        let plan = enrolled(look_as("ana", &business, &record, now, email_gone, &scope));
        assert_eq!(plan.channel(), Some(Channel::Sms));
        let both_gone = Suppressed {
            email: true,
            sms: true,
        };
        let (_, skipped) = resting(look_as("ana", &business, &record, now, both_gone, &scope));
        assert!(skipped.is_some());
    }

    #[test]
    fn a_sequence_whose_channels_the_client_cannot_get_skips_them_with_its_reason() {
        // The low tier's sequence is email only; Ana can only be texted.
        let business = tenant(|config: &mut BusinessConfig| {
            config.outreach.senders.sms_sender = Some("Salon".into());
            config.outreach.tiers = TierCuts {
                high_from_annual_spend: Some(50_000.into()),
                medium_from_annual_spend: Some(20_000.into()),
            };
        });
        let mut texts_only = profile_with_phone("ana");
        texts_only.email = None;
        let record = record(
            Some(texts_only),
            every_four_weeks("ana", "hair", "2026-03-02", 4500),
        );
        let (_, skipped) = resting(look_at(
            &business,
            &record,
            "2026-06-01T05:00:00Z",
            &daily(&business),
        ));
        assert_eq!(skipped, Some("no_channel_for_sequence"));
    }

    #[test]
    fn a_client_held_back_by_the_cap_is_looked_at_tomorrow_in_the_stage_they_are_in_now() {
        let business = tenant(|_| {});
        let plan = enrolled(look_at(
            &business,
            &ana(),
            "2026-06-01T05:00:00Z",
            &daily(&business),
        ));
        let stage = plan.looks[0].stage;
        let looks = plan.deferred_looks(day("2026-06-02"));
        assert_eq!(
            looks[0].next,
            Some(Watch {
                on: day("2026-06-02"),
                stage
            })
        );
    }

    #[test]
    fn a_first_message_moved_to_a_later_day_opens_that_day_s_window() {
        let business = tenant(|_| {});
        let mut plan = enrolled(look_at(
            &business,
            &ana(),
            "2026-06-01T05:00:00Z",
            &daily(&business),
        ));
        plan.move_to(day("2026-06-03"), &business.config.outreach);
        assert_eq!(plan.first_step.unwrap().send_at, at("2026-06-03T08:00:00Z"));
    }

    #[test]
    fn no_look_is_put_before_tomorrow() {
        let look = NextLook {
            category: category("hair"),
            seen: None,
            stage: Stage::Lapsed,
            next: Some(Watch {
                on: day("2026-05-30"),
                stage: Stage::Dormant,
            }),
        };
        let next = look.not_before(day("2026-06-02")).next.unwrap();
        assert_eq!(next.on, day("2026-06-02"));
    }

    #[test]
    fn the_highest_tier_goes_first_then_the_likeliest_to_be_lost() {
        let business = tenant(|_| {});
        let base = enrolled(look_at(
            &business,
            &ana(),
            "2026-06-01T05:00:00Z",
            &daily(&business),
        ));
        let with = |tier, lapse_score| Plan {
            tier,
            lapse_score,
            ..base.clone()
        };
        let mut plans = vec![
            with(Tier::Low, 0.99),
            with(Tier::Medium, 0.5),
            with(Tier::High, 0.2),
            with(Tier::Medium, 0.9),
        ];
        by_priority(&mut plans);
        let order: Vec<(Tier, f64)> = plans.iter().map(|p| (p.tier, p.lapse_score)).collect();
        assert_eq!(
            order,
            [
                (Tier::High, 0.2),
                (Tier::Medium, 0.9),
                (Tier::Medium, 0.5),
                (Tier::Low, 0.99)
            ]
        );
    }
}
