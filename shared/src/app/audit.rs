//! The audit: from a business's booking history, who is active, due, at-risk, lapsed, dormant or
//! lost in each category, which clients matter most, and how much revenue sits in the dormant
//! base, before any message is sent.
//!
//! [`Audit`] takes booking lines one at a time and keeps only a bounded summary per client and
//! category, so its memory grows with the number of clients, never with the number of lines.
//! [`Audit::finish`] fits the business's own population rhythms and stop probabilities, then
//! scores every client. It stores nothing and sends nothing.

use std::collections::hash_map::Entry;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::domain::booking::{BookingLine, LineKind};
use crate::domain::cadence::{Cadence, VisitDays, VisitLine};
use crate::domain::churn_signal::{self, ChurnSignal, CurrentPrice};
use crate::domain::config::BusinessConfig;
use crate::domain::day::Day;
use crate::domain::explanation::Explanation;
use crate::domain::ids::{Category, ClientId, IdError};
use crate::domain::lapse_score::{self, OpenGap, StopModel};
use crate::domain::money::{Currency, Money};
use crate::domain::rfm::{self, ClientValue, RfmScore, Tier};
use crate::domain::rhythm::{self, CategoryPrior, DefaultSource, GapStats, IntervalSource, Rhythm};
use crate::domain::stage::{Stage, StageThresholds};

/// How many of the most valuable overdue clients a report lists.
pub const TOP_OVERDUE: usize = 10;

#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub as_of: Day,
    pub horizon_days: u32,
    pub config: BusinessConfig,
}

/// Counts of the lines an audit has taken in, by what they meant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LineCounts {
    pub visits: u64,
    pub future_bookings: u64,
    pub cancelled: u64,
    pub no_shows: u64,
}

impl LineCounts {
    /// The share of past bookings that never became visits.
    fn failure_rate(&self) -> f64 {
        let failed = self.cancelled + self.no_shows;
        let past = self.visits + failed;
        if past == 0 { 0.1 } else { failed as f64 / past as f64 }
    }
}

/// Everything the audit keeps about one client: bounded, whatever the length of the history.
#[derive(Debug)]
struct ClientRecord {
    name: Option<Arc<str>>,
    /// Visit days across all categories.
    visits: Option<VisitDays>,
    spend_minor: i64,
    categories: Vec<(u16, Cadence)>,
    /// The earliest future booking per category.
    future: Vec<(u16, Day)>,
    last_no_show: Option<Day>,
}

impl ClientRecord {
    fn new() -> ClientRecord {
        ClientRecord { name: None, visits: None, spend_minor: 0, categories: Vec::new(), future: Vec::new(), last_no_show: None }
    }
}

/// An audit in progress.
pub struct Audit {
    options: AuditOptions,
    clients: FxHashMap<ClientId, ClientRecord>,
    categories: Vec<Category>,
    /// Category as written → index, so a spelling is normalised once, not once per line.
    category_spellings: FxHashMap<Box<str>, u16>,
    /// Service and staff names, shared by every summary that mentions them.
    labels: FxHashSet<Arc<str>>,
    prices: FxHashMap<Arc<str>, CurrentPrice>,
    lines: LineCounts,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    InvalidId(#[from] IdError),
    #[error("more than {max} service categories; an audit reports at most {max}")]
    TooManyCategories { max: usize },
}

impl Audit {
    pub fn new(options: AuditOptions) -> Audit {
        Audit {
            options,
            clients: FxHashMap::default(),
            categories: Vec::new(),
            category_spellings: FxHashMap::default(),
            labels: FxHashSet::default(),
            prices: FxHashMap::default(),
            lines: LineCounts::default(),
        }
    }

    pub fn currency(&self) -> Currency {
        self.options.config.currency
    }

    pub fn as_of(&self) -> Day {
        self.options.as_of
    }

    /// Takes in one booking line. Lines may come in any order.
    pub fn add(&mut self, line: &BookingLine<'_>) -> Result<(), AuditError> {
        let category = self.category_index(line.category)?;
        let kind = line.kind(self.options.as_of);
        let service = line.service.map(|s| intern(&mut self.labels, s));
        let staff = line.staff.map(|s| intern(&mut self.labels, s));
        if let Some(service) = &service
            && line.price_minor > 0
            && matches!(kind, LineKind::Visit | LineKind::FutureBooking)
        {
            let latest = CurrentPrice { day: line.day, minor: line.price_minor };
            match self.prices.get_mut(&**service) {
                Some(price) if price.day >= line.day => {}
                Some(price) => *price = latest,
                None => {
                    self.prices.insert(service.clone(), latest);
                }
            }
        }

        let record = match self.clients.get_mut(line.client) {
            Some(record) => record,
            None => self.clients.entry(ClientId::parse(line.client)?).or_insert_with(ClientRecord::new),
        };
        if record.name.is_none()
            && let Some(name) = line.client_name
        {
            record.name = Some(Arc::from(name));
        }
        match kind {
            LineKind::Cancelled => self.lines.cancelled += 1,
            LineKind::NoShow => {
                self.lines.no_shows += 1;
                record.last_no_show = record.last_no_show.max(Some(line.day));
            }
            LineKind::FutureBooking => {
                self.lines.future_bookings += 1;
                match record.future.iter_mut().find(|(c, _)| *c == category) {
                    Some((_, day)) => *day = (*day).min(line.day),
                    None => record.future.push((category, line.day)),
                }
            }
            LineKind::Visit => {
                self.lines.visits += 1;
                record.spend_minor += line.price_minor;
                match &mut record.visits {
                    Some(days) => {
                        days.record(line.day);
                    }
                    None => record.visits = Some(VisitDays::new(line.day)),
                }
                let visit = VisitLine {
                    day: line.day,
                    price_minor: line.price_minor,
                    service: service.as_ref(),
                    staff: staff.as_ref(),
                    rating: line.rating,
                };
                match record.categories.iter_mut().find(|(c, _)| *c == category) {
                    Some((_, cadence)) => {
                        cadence.record(visit);
                    }
                    None => record.categories.push((category, Cadence::new(visit))),
                }
            }
        }
        Ok(())
    }

    fn category_index(&mut self, written: &str) -> Result<u16, AuditError> {
        if let Some(&index) = self.category_spellings.get(written) {
            return Ok(index);
        }
        let category = Category::parse(written)?;
        let index = match self.categories.iter().position(|c| *c == category) {
            Some(index) => index,
            None => {
                self.categories.push(category);
                self.categories.len() - 1
            }
        };
        let index = u16::try_from(index).map_err(|_| AuditError::TooManyCategories { max: usize::from(u16::MAX) })?;
        self.category_spellings.insert(written.into(), index);
        Ok(index)
    }

    /// Fits the business's rhythms and stop probabilities, scores every client and category,
    /// and summarises.
    pub fn finish(self) -> AuditReport {
        let Audit { options, clients, categories, prices, lines, .. } = self;
        let config = &options.config;
        let as_of = options.as_of;
        let horizon = f64::from(options.horizon_days);
        let currency = config.currency;

        // Clients in a stable order, so every output is reproducible.
        let mut clients: Vec<(ClientId, ClientRecord)> = clients.into_iter().collect();
        clients.sort_unstable_by(|a, b| a.0.cmp(&b.0));

        // Tiers across categories, for clients who have visited at all.
        let values: Vec<(usize, ClientValue)> = clients
            .iter()
            .enumerate()
            .filter_map(|(i, (_, record))| {
                record.visits.as_ref().map(|days| {
                    (i, ClientValue { last_visit: days.last(), first_visit: days.first(), visits: days.count(), spend_minor: record.spend_minor })
                })
            })
            .collect();
        let scored = rfm::score(&values.iter().map(|(_, v)| *v).collect::<Vec<_>>());
        let mut client_rfm: Vec<Option<(RfmScore, Tier)>> = vec![None; clients.len()];
        for ((i, _), score) in values.iter().zip(scored) {
            client_rfm[*i] = Some(score);
        }

        // Per category: gap summaries, then the population prior.
        struct Pending<'a> {
            client: usize,
            category: u16,
            cadence: &'a Cadence,
            stats: Option<GapStats>,
        }
        let mut pending: Vec<Pending<'_>> = Vec::new();
        for (i, (_, record)) in clients.iter().enumerate() {
            for (category, cadence) in &record.categories {
                let stats = GapStats::from_gaps(cadence.days.recent_gaps());
                pending.push(Pending { client: i, category: *category, cadence, stats });
            }
        }
        let priors: Vec<CategoryPrior> = categories
            .iter()
            .enumerate()
            .map(|(c, category)| {
                let stats = pending.iter().filter(|p| usize::from(p.category) == c).filter_map(|p| p.stats.as_ref());
                CategoryPrior::fit(stats, config.default_interval_for(category), config.industry)
            })
            .collect();

        // Rhythms and stages, then the stop model per category on the open gaps.
        let rhythms: Vec<Rhythm> = pending
            .iter()
            .map(|p| rhythm::rhythm(p.stats.as_ref(), p.cadence.days.count(), &priors[usize::from(p.category)], &config.rhythm))
            .collect();
        let stop_models: Vec<StopModel> = (0..categories.len())
            .map(|c| {
                let open: Vec<OpenGap> = pending
                    .iter()
                    .zip(&rhythms)
                    .filter(|(p, _)| usize::from(p.category) == c)
                    .map(|(p, r)| OpenGap {
                        visits: p.cadence.days.count(),
                        survival_so_far: r.survival(f64::from(as_of.days_since(p.cadence.days.last()))),
                    })
                    .collect();
                StopModel::fit(&open)
            })
            .collect();
        let failure_rate = lines.failure_rate();
        let current_price = |service: &str| prices.get(service).copied();

        let mut scores = Vec::with_capacity(pending.len());
        for (p, rhythm) in pending.iter().zip(rhythms) {
            let (client_id, record) = &clients[p.client];
            let category = &categories[usize::from(p.category)];
            let cadence = p.cadence;
            let days_since = as_of.days_since(cadence.days.last());
            let thresholds = StageThresholds::new(&rhythm, &config.stages);
            let has_future_booking = !record.future.is_empty();
            let stage = thresholds.stage(f64::from(days_since), has_future_booking, &config.stages);
            let model = &stop_models[usize::from(p.category)];
            let mut lapse_score = model.no_visit_probability(&rhythm, cadence.days.count(), f64::from(days_since), horizon);
            let booked_in_horizon = record
                .future
                .iter()
                .any(|(c, day)| *c == p.category && f64::from(day.days_since(as_of)) <= horizon);
            if booked_in_horizon {
                lapse_score = lapse_score::with_booking_in_horizon(lapse_score, failure_rate);
            }
            let (rfm, tier) = client_rfm[p.client].expect("a client with a cadence has visited");
            let signals = churn_signal::signals(cadence, current_price, config.low_rating_at_most);
            let span = f64::from(cadence.days.last().days_since(cadence.days.first()));
            let annual_value_minor = (cadence.spend_minor as f64 * 365.25 / (span + rhythm.interval_days).max(365.25)).round() as i64;
            scores.push(ClientScore {
                client: client_id.clone(),
                name: record.name.clone(),
                category: category.clone(),
                stage,
                visits: cadence.days.count(),
                last_visit: cadence.days.last(),
                days_since_last_visit: days_since,
                rhythm,
                thresholds,
                overdue_ratio: f64::from(days_since) / rhythm.interval_days,
                lapse_score,
                rfm,
                tier,
                lifetime_value: Money::from_minor(record.spend_minor, currency),
                category_spend: Money::from_minor(cadence.spend_minor, currency),
                annual_value: Money::from_minor(annual_value_minor, currency),
                has_future_booking,
                last_no_show: record.last_no_show,
                signals,
            });
        }

        AuditReport::summarise(&options, &categories, &priors, &clients, &client_rfm, lines, scores)
    }
}

fn intern(labels: &mut FxHashSet<Arc<str>>, text: &str) -> Arc<str> {
    match labels.get(text) {
        Some(label) => label.clone(),
        None => {
            let label: Arc<str> = Arc::from(text);
            labels.insert(label.clone());
            label
        }
    }
}

/// One client in one category, scored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClientScore {
    pub client: ClientId,
    #[serde(skip)]
    pub name: Option<Arc<str>>,
    pub category: Category,
    pub stage: Stage,
    pub visits: u32,
    pub last_visit: Day,
    pub days_since_last_visit: i32,
    pub rhythm: Rhythm,
    pub thresholds: StageThresholds,
    /// Days since the last visit over the interval.
    pub overdue_ratio: f64,
    /// Probability of no visit in the category within the horizon if nobody reaches out.
    pub lapse_score: f64,
    pub rfm: RfmScore,
    pub tier: Tier,
    pub lifetime_value: Money,
    pub category_spend: Money,
    /// What the client spends a year in this category, over their time as a client.
    pub annual_value: Money,
    pub has_future_booking: bool,
    pub last_no_show: Option<Day>,
    pub signals: Vec<ChurnSignal>,
}

impl ClientScore {
    /// Whether the client's interval is their own, or the category's for lack of visits.
    pub fn has_personal_interval(&self) -> bool {
        matches!(self.rhythm.source, IntervalSource::Personal { .. })
    }

    pub fn explanation(&self, horizon_days: u32) -> Explanation {
        Explanation {
            category: self.category.clone(),
            stage: self.stage,
            rhythm: self.rhythm,
            last_visit: self.last_visit,
            days_since_last_visit: self.days_since_last_visit,
            lapse_score: self.lapse_score,
            horizon_days,
            tier: self.tier,
            has_future_booking: self.has_future_booking,
            signals: self.signals.clone(),
        }
    }
}

/// Client counts per stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StageCounts {
    pub active: usize,
    pub due: usize,
    pub at_risk: usize,
    pub lapsed: usize,
    pub dormant: usize,
    pub lost: usize,
}

impl StageCounts {
    fn add(&mut self, stage: Stage) {
        *self.slot(stage) += 1;
    }

    fn slot(&mut self, stage: Stage) -> &mut usize {
        match stage {
            Stage::Active => &mut self.active,
            Stage::Due => &mut self.due,
            Stage::AtRisk => &mut self.at_risk,
            Stage::Lapsed => &mut self.lapsed,
            Stage::Dormant => &mut self.dormant,
            Stage::Lost => &mut self.lost,
        }
    }

    pub fn get(&self, stage: Stage) -> usize {
        match stage {
            Stage::Active => self.active,
            Stage::Due => self.due,
            Stage::AtRisk => self.at_risk,
            Stage::Lapsed => self.lapsed,
            Stage::Dormant => self.dormant,
            Stage::Lost => self.lost,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CategoryReport {
    pub category: Category,
    /// Clients with at least one completed visit in the category.
    pub clients: usize,
    pub stages: StageCounts,
    /// Clients whose interval is the category default, for lack of visits of their own.
    pub too_few_visits: usize,
    pub default_interval_days: f64,
    pub default_source: DefaultSource,
    /// What the lapsed and dormant clients of this category used to spend per year.
    pub revenue_at_stake: Money,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TierReport {
    pub tier: Tier,
    pub clients: usize,
    pub lifetime_value: Money,
    pub average_ticket: Money,
    /// Clients of this tier at-risk, lapsed or dormant in at least one category.
    pub overdue_clients: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ClientCounts {
    /// Every client the export mentions.
    pub total: usize,
    pub with_visits: usize,
    /// Clients with no completed visit yet: leads who booked but never came.
    pub never_visited: usize,
    /// Clients with exactly one completed visit.
    pub one_time: usize,
    pub with_future_booking: usize,
}

/// One of the most valuable overdue clients, with the reason in a line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OverdueClient {
    pub client: ClientId,
    pub name: Option<String>,
    pub category: Category,
    pub stage: Stage,
    pub tier: Tier,
    pub annual_value: Money,
    pub lapse_score: f64,
    pub explanation: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditReport {
    pub as_of: Day,
    pub horizon_days: u32,
    pub currency: Currency,
    pub lines: LineCounts,
    pub clients: ClientCounts,
    pub stages: StageCounts,
    pub categories: Vec<CategoryReport>,
    pub tiers: Vec<TierReport>,
    /// What the lapsed and dormant clients used to spend per year, across categories.
    pub revenue_at_stake: Money,
    pub top_overdue: Vec<OverdueClient>,
    /// One row per client and category with a completed visit, sorted by client then category.
    #[serde(skip)]
    pub scores: Vec<ClientScore>,
}

impl AuditReport {
    fn summarise(
        options: &AuditOptions,
        categories: &[Category],
        priors: &[CategoryPrior],
        clients: &[(ClientId, ClientRecord)],
        client_rfm: &[Option<(RfmScore, Tier)>],
        lines: LineCounts,
        mut scores: Vec<ClientScore>,
    ) -> AuditReport {
        let currency = options.config.currency;
        scores.sort_by(|a, b| a.client.cmp(&b.client).then_with(|| a.category.cmp(&b.category)));

        let mut category_reports: Vec<CategoryReport> = categories
            .iter()
            .zip(priors)
            .map(|(category, prior)| CategoryReport {
                category: category.clone(),
                clients: 0,
                stages: StageCounts::default(),
                too_few_visits: 0,
                default_interval_days: prior.default_interval_days,
                default_source: prior.default_source,
                revenue_at_stake: Money::zero(currency),
            })
            .collect();
        let mut stages = StageCounts::default();
        let mut revenue_at_stake = 0_i64;
        // The furthest stage each client reached in any category, and their best overdue entry.
        let mut overdue_by_client: FxHashMap<&ClientId, &ClientScore> = FxHashMap::default();
        for score in &scores {
            let index = categories.iter().position(|c| *c == score.category).expect("scored categories are known");
            let report = &mut category_reports[index];
            report.clients += 1;
            report.stages.add(score.stage);
            stages.add(score.stage);
            if !score.has_personal_interval() {
                report.too_few_visits += 1;
            }
            if matches!(score.stage, Stage::Lapsed | Stage::Dormant) {
                report.revenue_at_stake.minor += score.annual_value.minor;
                revenue_at_stake += score.annual_value.minor;
            }
            if score.stage.is_overdue() {
                match overdue_by_client.entry(&score.client) {
                    Entry::Occupied(mut best) => {
                        if score.annual_value.minor > best.get().annual_value.minor {
                            best.insert(score);
                        }
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(score);
                    }
                }
            }
        }
        category_reports.sort_by(|a, b| b.clients.cmp(&a.clients).then_with(|| a.category.cmp(&b.category)));

        let mut tiers: Vec<TierReport> = Tier::ALL
            .iter()
            .map(|&tier| TierReport {
                tier,
                clients: 0,
                lifetime_value: Money::zero(currency),
                average_ticket: Money::zero(currency),
                overdue_clients: 0,
            })
            .collect();
        let mut tier_visits = [0_u64; 3];
        for ((client, record), rfm) in clients.iter().zip(client_rfm) {
            let (Some((_, tier)), Some(days)) = (rfm, &record.visits) else { continue };
            let slot = Tier::ALL.iter().position(|t| t == tier).expect("every tier is listed");
            tiers[slot].clients += 1;
            tiers[slot].lifetime_value.minor += record.spend_minor;
            tier_visits[slot] += u64::from(days.count());
            if overdue_by_client.contains_key(client) {
                tiers[slot].overdue_clients += 1;
            }
        }
        for (report, visits) in tiers.iter_mut().zip(tier_visits) {
            report.average_ticket.minor = report.lifetime_value.minor / visits.max(1) as i64;
        }

        let mut top: Vec<&ClientScore> = overdue_by_client.into_values().collect();
        top.sort_by(|a, b| b.annual_value.minor.cmp(&a.annual_value.minor).then_with(|| a.client.cmp(&b.client)));
        let top_overdue = top
            .into_iter()
            .take(TOP_OVERDUE)
            .map(|s| OverdueClient {
                client: s.client.clone(),
                name: s.name.as_deref().map(str::to_owned),
                category: s.category.clone(),
                stage: s.stage,
                tier: s.tier,
                annual_value: s.annual_value,
                lapse_score: s.lapse_score,
                explanation: s.explanation(options.horizon_days).to_string(),
            })
            .collect();

        let with_visits = clients.iter().filter(|(_, r)| r.visits.is_some()).count();
        AuditReport {
            as_of: options.as_of,
            horizon_days: options.horizon_days,
            currency,
            lines,
            clients: ClientCounts {
                total: clients.len(),
                with_visits,
                never_visited: clients.len() - with_visits,
                one_time: clients.iter().filter(|(_, r)| r.visits.as_ref().is_some_and(|d| d.count() == 1)).count(),
                with_future_booking: clients.iter().filter(|(_, r)| !r.future.is_empty()).count(),
            },
            stages,
            categories: category_reports,
            tiers,
            revenue_at_stake: Money::from_minor(revenue_at_stake, currency),
            top_overdue,
            scores,
        }
    }

    /// The rows of one client, one per category.
    pub fn client(&self, id: &str) -> &[ClientScore] {
        let start = self.scores.partition_point(|s| s.client.as_str() < id);
        let end = start + self.scores[start..].iter().take_while(|s| s.client.as_str() == id).count();
        &self.scores[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::booking::BookingStatus;
    use jiff::civil::date;

    fn as_of() -> Day {
        Day::from(date(2026, 6, 1))
    }

    fn audit() -> Audit {
        Audit::new(AuditOptions { as_of: as_of(), horizon_days: 90, config: BusinessConfig::default() })
    }

    fn visit<'a>(client: &'a str, category: &'a str, days_ago: i32, price: i64) -> BookingLine<'a> {
        BookingLine {
            client,
            day: as_of().plus_days(-days_ago),
            status: BookingStatus::Completed,
            category,
            price_minor: price,
            service: None,
            staff: None,
            location: None,
            rating: None,
            client_name: None,
        }
    }

    /// A monthly client whose last visit was `days_ago`.
    fn monthly(audit: &mut Audit, client: &str, days_ago: i32) {
        for k in 0..8 {
            audit.add(&visit(client, "hair", days_ago + 28 * k, 5000)).unwrap();
        }
    }

    #[test]
    fn a_future_booking_in_another_category_or_location_keeps_a_client_off_every_overdue_list() {
        let mut audit = audit();
        monthly(&mut audit, "c1", 60);
        let mut future = visit("c1", "nails", -7, 3000);
        future.status = BookingStatus::Booked;
        future.location = Some("other-branch");
        audit.add(&future).unwrap();
        let report = audit.finish();
        assert_eq!(report.client("c1")[0].stage, Stage::Active);
        assert!(report.top_overdue.is_empty());
    }

    #[test]
    fn a_multi_service_booking_counts_as_a_visit_in_each_of_its_categories() {
        let mut audit = audit();
        audit.add(&visit("c1", "hair", 10, 5000)).unwrap();
        audit.add(&visit("c1", "colour", 10, 9000)).unwrap();
        audit.add(&visit("c1", "Hair ", 10, 1000)).unwrap(); // a second hair service, same visit
        let report = audit.finish();
        let rows = report.client("c1");
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.visits == 1));
        assert_eq!(rows.iter().find(|r| r.category.as_str() == "hair").unwrap().category_spend.minor, 6000);
        assert_eq!(report.lines.visits, 3);
    }

    #[test]
    fn cancelled_and_no_show_bookings_do_not_reset_the_clock() {
        let mut audit = audit();
        monthly(&mut audit, "c1", 50);
        let mut cancelled = visit("c1", "hair", 5, 5000);
        cancelled.status = BookingStatus::Cancelled;
        let mut no_show = visit("c1", "hair", 3, 5000);
        no_show.status = BookingStatus::NoShow;
        audit.add(&cancelled).unwrap();
        audit.add(&no_show).unwrap();
        let report = audit.finish();
        let row = &report.client("c1")[0];
        assert_eq!(row.days_since_last_visit, 50);
        assert_eq!(row.stage, Stage::Lapsed);
        assert_eq!(row.last_no_show, Some(as_of().plus_days(-3)));
    }

    #[test]
    fn leads_who_never_visited_and_one_time_clients_are_counted_apart() {
        let mut audit = audit();
        monthly(&mut audit, "regular", 10);
        audit.add(&visit("once", "hair", 100, 4000)).unwrap();
        let mut lead = visit("lead", "hair", 20, 0);
        lead.status = BookingStatus::Cancelled;
        audit.add(&lead).unwrap();
        let report = audit.finish();
        assert_eq!(report.clients.total, 3);
        assert_eq!(report.clients.never_visited, 1);
        assert_eq!(report.clients.one_time, 1);
        assert!(report.client("lead").is_empty());
    }

    #[test]
    fn revenue_at_stake_is_what_lapsed_and_dormant_clients_spent_per_year() {
        let mut audit = audit();
        monthly(&mut audit, "lapsed", 45); // 8 visits of 50.00 over 196 days + 28 → a year's worth
        monthly(&mut audit, "active", 5);
        let report = audit.finish();
        let lapsed = &report.client("lapsed")[0];
        assert_eq!(lapsed.stage, Stage::Lapsed);
        assert_eq!(report.revenue_at_stake, lapsed.annual_value);
        assert_eq!(lapsed.annual_value.minor, 40_000); // span + interval < a year: spend per year
        assert_eq!(report.top_overdue.len(), 1);
        assert!(report.top_overdue[0].explanation.contains("lapsed, usually every 28 days"));
    }

    #[test]
    fn a_flagged_client_is_explained_in_numbers_a_person_can_check() {
        let mut audit = audit();
        monthly(&mut audit, "c1", 45);
        let report = audit.finish();
        let text = report.client("c1")[0].explanation(90).to_string();
        assert!(text.starts_with("hair: lapsed, usually every 28 days (window "), "{text}");
        assert!(text.contains("from 8 visits"), "{text}");
        assert!(text.contains("(45 days ago"), "{text}");
        assert!(text.contains("days past the window"), "{text}");
        assert!(text.contains("% chance of no hair visit in the next 90 days; tier "), "{text}");
    }

    #[test]
    fn memory_is_per_client_not_per_line() {
        let mut audit = audit();
        for k in 0..5_000 {
            audit.add(&visit("c1", "hair", k, 100)).unwrap();
        }
        let record = &audit.clients["c1"];
        assert_eq!(record.categories.len(), 1);
        assert_eq!(record.categories[0].1.days.count(), 5_000);
        assert_eq!(record.categories[0].1.days.recent().len(), crate::domain::cadence::RECENT_VISITS);
    }
}
