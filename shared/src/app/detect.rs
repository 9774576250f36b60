//! Detecting lapses: once a day (or more often: runs overlap safely), look at the cadences
//! whose watch day has come since the last run, and for each client decide, by the rules of
//! [`eligibility`], whether to enroll them, in which sequence, on which channel, and when the
//! first message goes out. The same planning serves manual mode's "contact all overdue".
//!
//! Work is proportional to what is due: the watch index says which cadences to look at, and
//! each client costs one read of their partition and one conditional write. Every look moves
//! the cadence's watch to the day something next happens (the next stage, the end of a
//! sequence, tomorrow for a client held back by the daily cap), so nothing is read twice for
//! nothing and nothing due is missed.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::domain::booking::BookingStatus;
use crate::domain::category_cadence::{CategoryCadence, Watch};
use crate::domain::channel::Channel;
use crate::domain::churn_signal::lengthening;
use crate::domain::contact::ContactHash;
use crate::domain::control_group::is_control;
use crate::domain::day::Day;
use crate::domain::eligibility::{self, Candidate, ChannelState, Decision};
use crate::domain::enrollment::{
    self, Enrollment, EnrollmentId, Kind, Outcome, Outreach, ScheduledStep, Status, StepStatus,
};
use crate::domain::ids::{Category, ClientId, TenantId};
use crate::domain::lapse_score::StopModel;
use crate::domain::outreach_settings::Mode;
use crate::domain::reputation::Pause;
use crate::domain::rfm::{Tier, annual_spend_minor};
use crate::domain::rhythm::Rhythm;
use crate::domain::sequence::Segment;
use crate::domain::sequence::{Reason, Sequence};
use crate::domain::stage::{Stage, StageThresholds};
use crate::domain::tenant::Tenant;
use crate::ports::{
    ClientRecord, ClientStore, Clock, ConsentStore, DailyCount, Look, OutreachChange,
    OutreachStore, Store, StoreError, TenantStore, WatchIndex, Written,
};

/// The horizon of the lapse score that orders clients held back by the daily cap.
const PRIORITY_HORIZON_DAYS: f64 = 90.0;
/// A first run looks back at most this far (to the tenant's creation, if later).
const FIRST_RUN_DAYS: i32 = 3 * 366;
/// Manual contact spreads first messages over at most this many days when the cap is reached.
const MANUAL_SPREAD_DAYS: i32 = 60;

/// What a run did, for logs and for the caller.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DetectionReport {
    pub tenant: String,
    pub from: Option<Day>,
    pub through: Option<Day>,
    /// Cadences read from the watch index.
    pub looked_at: usize,
    pub clients: usize,
    pub enrolled: usize,
    /// Enrolled in the control group: recorded, never messaged.
    pub control: usize,
    pub asked_permission: usize,
    /// Held back by the daily cap: they come first tomorrow.
    pub deferred: usize,
    /// Sequences that ran their course.
    pub completed: usize,
    /// Another run or a booking got there first.
    pub raced: usize,
    /// Eligible-looking clients not enrolled, by reason.
    pub skipped: BTreeMap<&'static str, usize>,
    /// The business's sending is paused: nothing was looked at (the days wait for the resume).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
}

impl DetectionReport {
    fn skip(&mut self, reason: &'static str) {
        *self.skipped.entry(reason).or_default() += 1;
    }
}

/// A client's overdue categories, as the "who is overdue" screen shows them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OverdueList {
    /// The day of the detector's last finished run: stages are as of then.
    pub as_of: Option<Day>,
    pub categories: Vec<OverdueCategory>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OverdueCategory {
    pub category: Category,
    pub at_risk: usize,
    pub lapsed: usize,
    pub dormant: usize,
    pub clients: Vec<OverdueClient>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OverdueClient {
    pub client_id: ClientId,
    pub stage: Stage,
}

/// Why contacting the overdue did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    /// The business's sending is paused (its bounce or complaint rate crossed the line).
    #[error("sending is paused since {}: {}", .0.since, .0.reason)]
    Paused(Pause),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Detector<S: ?Sized = dyn Store> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
}

/// One enrollment ready to be written, with what orders it against the others of the day.
struct Planned {
    change: OutreachChange,
    tier: Tier,
    lapse_score: f64,
    control: bool,
    permission: bool,
    /// Channel of the first message (none for the control group).
    channel: Option<Channel>,
    /// The client's time zone, for send times.
    zone: TimeZone,
    /// The cadences looked at for this client, to move their watch once written.
    looks: Vec<PendingLook>,
}

/// A look to record once the client's outcome is known.
struct PendingLook {
    category: Category,
    seen: Option<Watch>,
    stage: Stage,
    next: Option<Watch>,
}

/// A category of a client as one look sees it.
struct Looked<'a> {
    cadence: &'a CategoryCadence,
    rhythm: Rhythm,
    thresholds: StageThresholds,
    stage: Stage,
    /// What the client spends a year in it.
    annual_minor: i64,
}

/// What a look may do: enroll or only look, from which stage, leading with which category.
struct Scope<'a> {
    trigger: Stage,
    enrol: bool,
    lead: Option<&'a Category>,
}

/// What looking at one client came to.
enum Verdict {
    Enrol(Box<Planned>),
    /// Nothing to do now, and why if the client was overdue; record the looks as they are.
    Rest(Vec<PendingLook>, Option<&'static str>),
}

impl<S> Detector<S>
where
    S: TenantStore + ClientStore + WatchIndex + OutreachStore + ConsentStore + ?Sized,
{
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>) -> Detector<S> {
        Detector { store, clock }
    }

    /// Today in the business's time zone.
    pub fn today(&self, tenant: &Tenant) -> Day {
        tenant.config.timezone.day_of(self.clock.now())
    }

    /// One run for one tenant: the watch buckets from the day after the last finished run
    /// through today (today's again if it already ran today), then the checkpoint.
    pub async fn run(&self, tenant: &Tenant) -> Result<DetectionReport, StoreError> {
        if tenant.paused.is_some() {
            return Ok(DetectionReport {
                tenant: tenant.id.to_string(),
                paused: true,
                ..DetectionReport::default()
            });
        }
        let today = self.today(tenant);
        let from = match self.store.detector_checkpoint(&tenant.id).await? {
            Some(last) => last.plus_days(1).min(today),
            // Nothing is watched before the tenant existed: a first run starts there.
            None => {
                let created = tenant.config.timezone.day_of(tenant.created_at);
                created.max(today.plus_days(-FIRST_RUN_DAYS)).min(today)
            }
        };
        let mut report = DetectionReport {
            tenant: tenant.id.to_string(),
            from: Some(from),
            through: Some(today),
            ..DetectionReport::default()
        };
        let watched = self.store.watched_cadences(&tenant.id, from, today).await?;
        report.looked_at = watched.len();
        let mut by_client: BTreeMap<ClientId, Vec<(Category, Watch)>> = BTreeMap::new();
        for w in watched {
            by_client
                .entry(w.client_id)
                .or_default()
                .push((w.category, w.watch));
        }
        report.clients = by_client.len();
        let automatic = tenant.config.outreach.mode == Mode::Automatic;
        let mut planned = Vec::new();
        for (client, seen) in by_client {
            let Some(record) = self.store.client(&tenant.id, &client).await? else {
                continue;
            };
            let record = self
                .complete_if_due(tenant, &client, record, today, &mut report)
                .await?;
            let suppressed = self.suppressed(tenant, &record).await?;
            let scope = Scope {
                trigger: tenant.config.outreach.trigger_stage,
                enrol: automatic,
                lead: None,
            };
            match self.judge(tenant, &client, &record, &seen, today, &scope, suppressed) {
                Verdict::Enrol(plan) => planned.push(*plan),
                Verdict::Rest(looks, reason) => {
                    if let Some(reason) = reason {
                        report.skip(reason);
                    }
                    self.record_looks(tenant, &client, looks).await?;
                }
            }
        }
        by_priority(&mut planned);
        for plan in planned {
            self.write_plan(tenant, plan, today, None, &mut report)
                .await?;
        }
        self.store
            .set_detector_checkpoint(&tenant.id, today)
            .await?;
        Ok(report)
    }

    /// One run for every tenant. A tenant whose run fails does not stop the others: each
    /// tenant's result is returned (an `Err` only when the tenants cannot be listed).
    pub async fn run_every_tenant(
        &self,
    ) -> Result<Vec<(TenantId, Result<DetectionReport, StoreError>)>, StoreError> {
        let mut runs = Vec::new();
        for id in self.store.tenants().await? {
            let result = match self.store.tenant(&id).await {
                Ok(Some(tenant)) => self.run(&tenant).await,
                Ok(None) => continue,
                Err(error) => Err(error),
            };
            runs.push((id, result));
        }
        Ok(runs)
    }

    /// The business's "who is overdue" screen, from the overdue index.
    pub async fn overdue(
        &self,
        tenant: &Tenant,
        category: Option<&Category>,
    ) -> Result<OverdueList, StoreError> {
        let mut categories: BTreeMap<Category, OverdueCategory> = BTreeMap::new();
        for entry in self.store.overdue(&tenant.id).await? {
            if category.is_some_and(|c| *c != entry.category) {
                continue;
            }
            let listed =
                categories
                    .entry(entry.category.clone())
                    .or_insert_with(|| OverdueCategory {
                        category: entry.category.clone(),
                        at_risk: 0,
                        lapsed: 0,
                        dormant: 0,
                        clients: Vec::new(),
                    });
            match entry.stage {
                Stage::AtRisk => listed.at_risk += 1,
                Stage::Lapsed => listed.lapsed += 1,
                _ => listed.dormant += 1,
            }
            listed.clients.push(OverdueClient {
                client_id: entry.client_id,
                stage: entry.stage,
            });
        }
        Ok(OverdueList {
            as_of: self.store.detector_checkpoint(&tenant.id).await?,
            categories: categories.into_values().collect(),
        })
    }

    /// Manual mode's one action: enrolls every overdue client (of one category, or of all) who
    /// is eligible, at once. Safe to repeat: clients already enrolled are skipped. When the
    /// daily cap binds, first messages spread over the following days in priority order.
    pub async fn contact_overdue(
        &self,
        tenant: &Tenant,
        category: Option<&Category>,
    ) -> Result<DetectionReport, ContactError> {
        // A paused business contacts nobody, however it is asked to.
        if let Some(pause) = &tenant.paused {
            return Err(ContactError::Paused(pause.clone()));
        }
        let today = self.today(tenant);
        let mut report = DetectionReport {
            tenant: tenant.id.to_string(),
            through: Some(today),
            ..DetectionReport::default()
        };
        let mut by_client: BTreeMap<ClientId, Vec<Category>> = BTreeMap::new();
        for entry in self.store.overdue(&tenant.id).await? {
            if category.is_none_or(|c| *c == entry.category) {
                by_client
                    .entry(entry.client_id)
                    .or_default()
                    .push(entry.category);
            }
        }
        report.clients = by_client.len();
        let mut planned = Vec::new();
        for (client, _) in by_client {
            let Some(record) = self.store.client(&tenant.id, &client).await? else {
                continue;
            };
            let suppressed = self.suppressed(tenant, &record).await?;
            // Every overdue category of the client counts; the one asked for leads.
            let scope = Scope {
                trigger: Stage::AtRisk,
                enrol: true,
                lead: category,
            };
            match self.judge(tenant, &client, &record, &[], today, &scope, suppressed) {
                Verdict::Enrol(plan) => planned.push(*plan),
                Verdict::Rest(_, reason) => {
                    if let Some(reason) = reason {
                        report.skip(reason);
                    }
                }
            }
        }
        by_priority(&mut planned);
        for plan in planned {
            self.write_plan(tenant, plan, today, Some(MANUAL_SPREAD_DAYS), &mut report)
                .await?;
        }
        Ok(report)
    }

    /// Completes the client's active enrollment if its time is up, and returns the record as
    /// it now stands.
    async fn complete_if_due(
        &self,
        tenant: &Tenant,
        client: &ClientId,
        mut record: ClientRecord,
        today: Day,
        report: &mut DetectionReport,
    ) -> Result<ClientRecord, StoreError> {
        if record
            .outreach
            .active
            .as_ref()
            .is_none_or(|a| a.ends_on > today)
        {
            return Ok(record);
        }
        let Some(change) = record.ending(client, Outcome::Completed, today) else {
            return Ok(record);
        };
        if self.store.write_outreach(&tenant.id, &change).await? == Written::Done {
            report.completed += 1;
            record.outreach = change.outreach;
            record.outreach_version += 1;
        }
        Ok(record)
    }

    /// Whether the client's email and phone are suppressed (erased before, bounced, ...).
    async fn suppressed(
        &self,
        tenant: &Tenant,
        record: &ClientRecord,
    ) -> Result<[bool; 2], StoreError> {
        let mut suppressed = [false, false];
        if let Some(profile) = &record.profile {
            if let Some(email) = &profile.email {
                suppressed[0] = self
                    .store
                    .is_suppressed(&tenant.id, &ContactHash::of_email(email))
                    .await?;
            }
            if let Some(phone) = &profile.phone {
                suppressed[1] = self
                    .store
                    .is_suppressed(&tenant.id, &ContactHash::of_phone(phone))
                    .await?;
            }
        }
        Ok(suppressed)
    }

    /// Looks at one client: the stage of each category, whether and how to enroll them.
    #[allow(clippy::too_many_arguments)]
    fn judge(
        &self,
        tenant: &Tenant,
        client: &ClientId,
        record: &ClientRecord,
        seen: &[(Category, Watch)],
        today: Day,
        scope: &Scope<'_>,
        suppressed: [bool; 2],
    ) -> Verdict {
        let config = &tenant.config;
        let outreach_config = &config.outreach;
        let timezone = &config.timezone;
        let next_booking = record
            .bookings
            .iter()
            .filter(|b| b.is_future_booking(today, timezone))
            .map(|b| b.day(timezone))
            .min();
        let active_ends = record.outreach.active.as_ref().map(|a| a.ends_on);
        // A client on the long-game list stays watched (and contactable) once lost.
        let long_game = record.outreach.long_game;

        // Every category's rhythm, thresholds, stage now and yearly value, worked out once.
        let stages: Vec<Looked<'_>> = record
            .cadences
            .iter()
            .map(|c| {
                let cadence = &c.cadence;
                let rhythm = cadence.rhythm(config);
                let thresholds = StageThresholds::new(&rhythm, &config.stages);
                Looked {
                    cadence,
                    stage: cadence.stage_under(&thresholds, today, next_booking.is_some(), config),
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
            .collect();
        // When each watched category is next looked at.
        let looks = |held_until: Option<Day>| -> Vec<PendingLook> {
            seen.iter()
                .filter_map(|(category, watch)| {
                    let looked = stages.iter().find(|l| l.cadence.category == *category)?;
                    let (cadence, stage) = (looked.cadence, &looked.stage);
                    let natural = match next_booking {
                        // Look again the day after the booking: by then it happened, or not.
                        Some(day) => Some(Watch {
                            on: day.plus_days(1),
                            stage: cadence.stage_under(
                                &looked.thresholds,
                                day.plus_days(1),
                                false,
                                config,
                            ),
                        }),
                        None => cadence.next_watch_under(&looked.thresholds, today, config),
                    };
                    let next = match (natural, held_until) {
                        (Some(n), Some(until)) if until > today => Some(Watch {
                            on: n.on.min(until),
                            stage: n.stage,
                        }),
                        (None, Some(until))
                            if until > today && (*stage != Stage::Lost || long_game) =>
                        {
                            Some(Watch {
                                on: until,
                                stage: *stage,
                            })
                        }
                        (natural, _) => natural,
                    };
                    Some(PendingLook {
                        category: category.clone(),
                        seen: Some(*watch),
                        stage: *stage,
                        next,
                    })
                })
                .collect()
        };

        // Overdue categories at or past the trigger, the most valuable first.
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
        if scope
            .lead
            .is_some_and(|lead| overdue.first().is_none_or(|l| l.cadence.category != *lead))
        {
            return Verdict::Rest(looks(active_ends), None);
        }
        let Some(&leading) = overdue.first() else {
            return Verdict::Rest(looks(active_ends), None);
        };
        let (lead, stage) = (leading.cadence, leading.stage);
        if !scope.enrol {
            return Verdict::Rest(looks(active_ends), None);
        }

        let profile = record.profile.as_ref();
        let senders = outreach_config.senders.senders();
        let channel_state = |channel: Channel| match channel {
            Channel::Email => ChannelState::of(profile, channel, senders.email, suppressed[0]),
            Channel::Sms => ChannelState::of(profile, channel, senders.sms, suppressed[1]),
        };
        let outreach = &record.outreach;
        let last_visit = record
            .cadences
            .iter()
            .map(|c| c.cadence.last_visit)
            .max()
            .unwrap_or(lead.last_visit);
        let last_appointment_no_show = record
            .bookings
            .iter()
            .filter(|b| b.status != BookingStatus::Cancelled && b.day(timezone) <= today)
            .max_by_key(|b| b.starts_at)
            .is_some_and(|b| b.status == BookingStatus::NoShow);
        let candidate = Candidate {
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
        };
        let (kind, usable) = match eligibility::decide(&candidate, &outreach_config.eligibility) {
            Decision::Skip(reason) => {
                return Verdict::Rest(looks(reason.until().or(active_ends)), Some(reason.name()));
            }
            Decision::AskPermission { channel } => (Kind::RePermission, vec![channel]),
            Decision::Enrol { channels } if outreach.long_game => (Kind::LongGame, channels),
            Decision::Enrol { channels } => (Kind::Sequence, channels),
        };

        // The segment picks the sequence.
        let rhythm = &leading.rhythm;
        let total_annual: i64 = stages.iter().map(|l| l.annual_minor).sum();
        let tier = outreach_config
            .tiers
            .in_minor_units(config.currency)
            .tier(total_annual);
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
            stage,
            category: &lead.category,
            reasons: &reasons,
        };
        let sequence = match kind {
            Kind::Sequence => match outreach_config.sequence_for(&segment) {
                Some((_, sequence)) => sequence.clone(),
                // The business's sequences leave this segment out on purpose.
                None => return Verdict::Rest(looks(None), Some("no_sequence_for_segment")),
            },
            Kind::LongGame => Sequence::long_game(),
            Kind::RePermission => Sequence::re_permission(),
        };
        let first = &sequence.steps[0];
        let Some(channel) = first.channel.first_usable(|c| usable.contains(&c)) else {
            return Verdict::Rest(looks(None), Some("no_channel_for_sequence"));
        };
        let days_since = f64::from(today.days_since(lead.last_visit));
        let lapse_score = StopModel::default().no_visit_probability(
            rhythm,
            lead.visits,
            days_since,
            PRIORITY_HORIZON_DAYS,
        );
        let control = kind == Kind::Sequence
            && is_control(
                &tenant.id,
                client,
                &sequence.name,
                outreach_config.control_share,
            );
        let started = today;
        let ends_on = enrollment::ends_on(&sequence, started);
        let enrollment = Enrollment {
            id: EnrollmentId::new(started, &lead.category),
            client_id: client.clone(),
            category: lead.category.clone(),
            also_overdue: overdue[1..]
                .iter()
                .map(|l| l.cadence.category.clone())
                .collect(),
            kind,
            sequence: sequence.name.clone(),
            steps: sequence.steps.clone(),
            tier,
            stage,
            lapse_score,
            started,
            control,
            ends_on,
            status: Status::Active,
            sent: Vec::new(),
            reactivation: None,
            offer_code: None,
        };
        let mut new_outreach = Outreach {
            active: Some(enrollment.clone()),
            pending_step: (!control).then_some(0),
            ..outreach.clone()
        };
        if kind == Kind::RePermission {
            new_outreach.asked_permission = true;
        }
        // The first message waits for the upper edge of the client's usual window.
        let window_edge = lead
            .last_visit
            .plus_days(rhythm.window_high_days.ceil() as i32);
        let step = (!control).then(|| ScheduledStep {
            client_id: client.clone(),
            enrollment: enrollment.id.clone(),
            index: 0,
            channel,
            send_at: Timestamp::UNIX_EPOCH,
            status: StepStatus::Scheduled,
        });
        Verdict::Enrol(Box::new(Planned {
            change: OutreachChange {
                client_id: client.clone(),
                expected_version: record.outreach_version,
                outreach: new_outreach,
                enrollment: Some(enrollment),
                schedule: step.map(|mut step| {
                    step.send_at = self.first_send_at(tenant, record, window_edge, channel);
                    step
                }),
                unschedule: None,
                sent: None,
                count: None,
            },
            tier,
            lapse_score,
            control,
            permission: kind == Kind::RePermission,
            channel: (!control).then_some(channel),
            looks: looks(Some(ends_on)),
            zone: record.zone(&tenant.config.timezone),
        }))
    }

    /// When a first message goes out: see [`enrollment::first_send_at`].
    fn first_send_at(
        &self,
        tenant: &Tenant,
        record: &ClientRecord,
        not_before: Day,
        channel: Channel,
    ) -> Timestamp {
        let outreach = &tenant.config.outreach;
        let zone = record.zone(&tenant.config.timezone);
        enrollment::first_send_at(
            self.clock.now(),
            not_before,
            outreach.landmark,
            &outreach.windows.of(channel),
            &zone,
            record.outreach.last_message,
        )
    }

    /// Writes a planned enrollment against the day's cap: deferred to tomorrow when the cap is
    /// reached, or with `spread`, scheduled on the first of the following days with room.
    async fn write_plan(
        &self,
        tenant: &Tenant,
        mut plan: Planned,
        today: Day,
        spread: Option<i32>,
        report: &mut DetectionReport,
    ) -> Result<(), StoreError> {
        let client = plan.change.client_id.clone();
        let mut day = today;
        loop {
            plan.change.count = plan.channel.map(|channel| DailyCount {
                day,
                channel,
                cap: tenant.config.outreach.daily_cap.of(channel),
            });
            if day > today
                && let Some(step) = &mut plan.change.schedule
            {
                let start = start_of_day(day, &plan.zone);
                let window = tenant.config.outreach.windows.of(step.channel);
                step.send_at = window.next_send(step.send_at.max(start), &plan.zone, None);
            }
            match self.store.write_outreach(&tenant.id, &plan.change).await? {
                Written::Done => {
                    if plan.control {
                        report.control += 1;
                    } else if plan.permission {
                        report.asked_permission += 1;
                    } else {
                        report.enrolled += 1;
                    }
                    let looks = std::mem::take(&mut plan.looks);
                    return self.record_looks(tenant, &client, looks).await;
                }
                Written::Changed => {
                    report.raced += 1;
                    return Ok(());
                }
                Written::CapReached => match spread {
                    Some(days) if day < today.plus_days(days) => day = day.plus_days(1),
                    _ => {
                        report.deferred += 1;
                        // Looked at again tomorrow, in the stage they are in now.
                        let tomorrow = today.plus_days(1);
                        let mut looks = std::mem::take(&mut plan.looks);
                        for look in &mut looks {
                            look.next = Some(Watch {
                                on: tomorrow,
                                stage: look.stage,
                            });
                        }
                        return self.record_looks(tenant, &client, looks).await;
                    }
                },
            }
        }
    }

    async fn record_looks(
        &self,
        tenant: &Tenant,
        client: &ClientId,
        looks: Vec<PendingLook>,
    ) -> Result<(), StoreError> {
        // This run has read every bucket through today: the next look is tomorrow at the
        // earliest, or it would never come.
        let tomorrow = self.today(tenant).plus_days(1);
        for mut look in looks {
            if let Some(next) = &mut look.next {
                next.on = next.on.max(tomorrow);
            }
            // A `false` means a booking re-wrote the cadence meanwhile: its watch stands.
            self.store
                .record_look(
                    &tenant.id,
                    client,
                    &look.category,
                    look.seen,
                    Look {
                        stage: look.stage,
                        next: look.next,
                    },
                )
                .await?;
        }
        Ok(())
    }
}

/// Highest tier first, then the likeliest to be lost: who goes first when the cap binds.
fn by_priority(planned: &mut [Planned]) {
    planned.sort_by(|a, b| {
        (a.tier, b.lapse_score)
            .partial_cmp(&(b.tier, a.lapse_score))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

fn start_of_day(day: Day, zone: &TimeZone) -> Timestamp {
    zone.to_ambiguous_timestamp(day.date().to_datetime(jiff::civil::Time::midnight()))
        .compatible()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}
