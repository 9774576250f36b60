//! Detecting lapses: once a day (or more often: runs overlap safely), look at the cadences
//! whose watch day has come since the last run, read each client, and let
//! [`enrollment_plan::plan`] decide whether to enrol them, in which sequence, on which channel,
//! and when the first message goes out; then write the plan conditionally, against the day's
//! cap. The same planning serves manual mode's "contact all overdue".
//!
//! Work is proportional to what is due: the watch index says which cadences to look at, and
//! each client costs one read of their partition and one conditional write. Every look moves
//! the cadence's watch to the day something next happens (the next stage, the end of a
//! sequence, tomorrow for a client held back by the daily cap), so nothing is read twice for
//! nothing and nothing due is missed.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::domain::category_cadence::Watch;
use crate::domain::contact::ContactHash;
use crate::domain::day::Day;
use crate::domain::enrollment::Outcome;
use crate::domain::enrollment_plan::{self, Looking, NextLook, Plan, Scope, Suppressed, Verdict};
use crate::domain::ids::{Category, ClientId, TenantId};
use crate::domain::reputation::Pause;
use crate::domain::stage::Stage;
use crate::domain::tenant::Tenant;
use crate::ports::{
    ClientRecord, ClientStore, Clock, ConsentStore, DailyCount, Look, OutreachChange,
    OutreachStore, Store, StoreError, TenantStore, WatchIndex, Written,
};

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
        let mut planned = Vec::new();
        for (client, seen) in by_client {
            let Some(record) = self.store.client(&tenant.id, &client).await? else {
                continue;
            };
            let record = self
                .complete_if_due(tenant, &client, record, today, &mut report)
                .await?;
            let looking = Looking {
                tenant,
                client: &client,
                record: &record,
                seen: &seen,
                suppressed: self.suppressed(tenant, &record).await?,
                today,
                now: self.clock.now(),
            };
            match enrollment_plan::plan(&looking, &Scope::daily(&tenant.config.outreach)) {
                Verdict::Enrol(plan) => planned.push(*plan),
                Verdict::Rest { looks, skipped } => {
                    if let Some(reason) = skipped {
                        report.skip(reason);
                    }
                    self.record_looks(tenant, &client, looks).await?;
                }
            }
        }
        enrollment_plan::by_priority(&mut planned);
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
            let looking = Looking {
                tenant,
                client: &client,
                record: &record,
                seen: &[],
                suppressed: self.suppressed(tenant, &record).await?,
                today,
                now: self.clock.now(),
            };
            // Every overdue category of the client counts; the one asked for leads.
            match enrollment_plan::plan(&looking, &Scope::contact(category)) {
                Verdict::Enrol(plan) => planned.push(*plan),
                Verdict::Rest { skipped, .. } => {
                    if let Some(reason) = skipped {
                        report.skip(reason);
                    }
                }
            }
        }
        enrollment_plan::by_priority(&mut planned);
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
    ) -> Result<Suppressed, StoreError> {
        let mut suppressed = Suppressed::default();
        if let Some(profile) = &record.profile {
            if let Some(email) = &profile.email {
                suppressed.email = self
                    .store
                    .is_suppressed(&tenant.id, &ContactHash::of_email(email))
                    .await?;
            }
            if let Some(phone) = &profile.phone {
                suppressed.sms = self
                    .store
                    .is_suppressed(&tenant.id, &ContactHash::of_phone(phone))
                    .await?;
            }
        }
        Ok(suppressed)
    }

    /// Writes a planned enrollment against the day's cap: deferred to tomorrow when the cap is
    /// reached, or with `spread`, scheduled on the first of the following days with room.
    async fn write_plan(
        &self,
        tenant: &Tenant,
        mut plan: Plan,
        today: Day,
        spread: Option<i32>,
        report: &mut DetectionReport,
    ) -> Result<(), StoreError> {
        let client = plan.enrollment.client_id.clone();
        let mut day = today;
        loop {
            if day > today {
                plan.move_to(day, &tenant.config.outreach);
            }
            let change = OutreachChange {
                client_id: client.clone(),
                expected_version: plan.read_version,
                outreach: plan.outreach.clone(),
                enrollment: Some(plan.enrollment.clone()),
                schedule: plan.first_step.clone(),
                unschedule: None,
                sent: None,
                count: plan.channel().map(|channel| DailyCount {
                    day,
                    channel,
                    cap: tenant.config.outreach.daily_cap.of(channel),
                }),
            };
            match self.store.write_outreach(&tenant.id, &change).await? {
                Written::Done => {
                    if plan.is_control() {
                        report.control += 1;
                    } else if plan.asks_permission() {
                        report.asked_permission += 1;
                    } else {
                        report.enrolled += 1;
                    }
                    return self.record_looks(tenant, &client, plan.looks).await;
                }
                Written::Changed => {
                    report.raced += 1;
                    return Ok(());
                }
                Written::CapReached => match spread {
                    Some(days) if day < today.plus_days(days) => day = day.plus_days(1),
                    _ => {
                        report.deferred += 1;
                        let looks = plan.deferred_looks(today.plus_days(1));
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
        looks: Vec<NextLook>,
    ) -> Result<(), StoreError> {
        let tomorrow = self.today(tenant).plus_days(1);
        for look in looks {
            let look = look.not_before(tomorrow);
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
