//! What a finished audit says: counts by stage, category and tier, the most valuable overdue
//! clients, and each client's score with its explanation.

use super::*;
use std::sync::Arc;

use super::chunked::ChunkedVec;
use crate::domain::cadence::{Cadence, Label};
use crate::domain::churn_signal::{self};
use crate::domain::day::Day;
use crate::domain::explanation::Explanation;
use crate::domain::ids::Category;
use crate::domain::money::{Currency, Money};
use crate::domain::rfm::Tier;
use crate::domain::rhythm::{CategoryPrior, DefaultSource, Rhythm};
use crate::domain::stage::Stage;

/// One client in one category, as a report shows it.
#[derive(Debug, Clone, Copy)]
pub struct ClientScore<'a> {
    pub(super) report: &'a AuditReport,
    pub(super) row: &'a ScoreRow,
}

impl<'a> ClientScore<'a> {
    pub(super) fn record(&self) -> &'a ClientSummary {
        self.report.records.get(self.row.client)
    }

    pub(super) fn entry(&self) -> &'a CategoryEntry {
        self.report.entries.get(self.row.entry)
    }

    pub(super) fn cadence(&self) -> &'a Cadence {
        &self.entry().cadence
    }

    pub fn client(&self) -> &'a str {
        self.report.ids.get(self.record().id)
    }

    pub fn name(&self) -> Option<&'a str> {
        let span = self.record().name;
        (span.len > 0).then(|| self.report.names.get(span))
    }

    pub fn category(&self) -> &'a Category {
        &self.report.category_names[usize::from(self.entry().category)]
    }

    pub fn stage(&self) -> Stage {
        self.row.stage
    }

    pub fn tier(&self) -> Tier {
        self.row.tier
    }

    pub fn visits(&self) -> u32 {
        self.cadence().days.count()
    }

    pub fn last_visit(&self) -> Day {
        self.cadence().days.last()
    }

    pub fn days_since_last_visit(&self) -> i32 {
        self.report.as_of.days_since(self.last_visit())
    }

    /// The interval the stages are multiples of.
    pub fn interval_days(&self) -> f64 {
        f64::from(self.row.interval_days)
    }

    /// Half the width of the usual return window.
    pub fn spread_days(&self) -> f64 {
        f64::from(self.row.spread_days)
    }

    /// Days since the last visit over the interval.
    pub fn overdue_ratio(&self) -> f64 {
        f64::from(self.days_since_last_visit()) / f64::from(self.row.interval_days)
    }

    /// Probability of no visit in the category within the horizon if nobody reaches out.
    pub fn lapse_score(&self) -> f64 {
        f64::from(self.row.lapse_score)
    }

    /// Whether the client's interval is their own, or the category's for lack of visits.
    pub fn has_personal_interval(&self) -> bool {
        self.row.personal
    }

    /// What the client spends a year in this category, over their time as a client.
    pub fn annual_value(&self) -> Money {
        Money::from_minor(self.row.annual_value_minor, self.report.currency)
    }

    pub fn category_spend(&self) -> Money {
        Money::from_minor(self.cadence().spend_minor, self.report.currency)
    }

    pub fn lifetime_value(&self) -> Money {
        Money::from_minor(self.record().spend_minor, self.report.currency)
    }

    pub fn has_future_booking(&self) -> bool {
        self.record().has_future_booking
    }

    pub fn last_no_show(&self) -> Option<Day> {
        let day = self.record().last_no_show;
        (day != i32::MIN).then(|| Day::EPOCH.plus_days(day))
    }

    /// The rhythm behind the stage, worked out again from the client's summary.
    pub fn rhythm(&self) -> Rhythm {
        rhythm_of(
            self.entry(),
            &self.report.priors,
            &self.report.options.config.rhythm,
        )
    }

    /// Why the client is where they are, in numbers a person can check.
    pub fn explanation(&self) -> Explanation {
        let report = self.report;
        let labels = &report.labels;
        let price_of = |label: Label| {
            labels.latest_price[label.index() as usize]
                .map(|price| (price, Arc::<str>::from(labels.text(label))))
        };
        Explanation {
            category: self.category().clone(),
            stage: self.stage(),
            rhythm: self.rhythm(),
            last_visit: self.last_visit(),
            days_since_last_visit: self.days_since_last_visit(),
            lapse_score: self.lapse_score(),
            horizon_days: report.horizon_days,
            tier: self.tier(),
            has_future_booking: self.has_future_booking(),
            signals: churn_signal::signals(
                self.cadence(),
                price_of,
                report.options.config.low_rating_at_most,
            ),
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
    pub(super) fn add(&mut self, stage: Stage) {
        *match stage {
            Stage::Active => &mut self.active,
            Stage::Due => &mut self.due,
            Stage::AtRisk => &mut self.at_risk,
            Stage::Lapsed => &mut self.lapsed,
            Stage::Dormant => &mut self.dormant,
            Stage::Lost => &mut self.lost,
        } += 1;
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
    pub client: String,
    pub name: Option<String>,
    pub category: Category,
    pub stage: Stage,
    pub tier: Tier,
    pub annual_value: Money,
    pub lapse_score: f64,
    pub explanation: String,
}

#[derive(Debug, serde::Serialize)]
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
    #[serde(skip)]
    pub(super) options: AuditOptions,
    /// In client order.
    #[serde(skip)]
    pub(super) rows: Vec<ScoreRow>,
    #[serde(skip)]
    pub(super) ids: Arena,
    #[serde(skip)]
    pub(super) names: Arena,
    #[serde(skip)]
    pub(super) records: ChunkedVec<ClientSummary>,
    #[serde(skip)]
    pub(super) entries: ChunkedVec<CategoryEntry>,
    #[serde(skip)]
    pub(super) category_names: Vec<Category>,
    #[serde(skip)]
    pub(super) labels: Labels,
    #[serde(skip)]
    pub(super) priors: Vec<CategoryPrior>,
}

impl AuditReport {
    pub(super) fn summarise(
        audit: Audit,
        tiers: Vec<Tier>,
        priors: Vec<CategoryPrior>,
        rows: Vec<ScoreRow>,
    ) -> AuditReport {
        let currency = audit.options.config.currency;
        let mut category_reports: Vec<CategoryReport> = audit
            .categories
            .iter()
            .zip(&priors)
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
        // Each overdue client's most valuable overdue category.
        let bound = audit.clients.number_bound();
        let mut best_overdue = vec![NONE; bound];
        for (i, row) in rows.iter().enumerate() {
            let report = &mut category_reports[usize::from(audit.entries.get(row.entry).category)];
            report.clients += 1;
            report.stages.add(row.stage);
            stages.add(row.stage);
            if !row.personal {
                report.too_few_visits += 1;
            }
            if row.stage.counts_toward_revenue_at_stake() {
                report.revenue_at_stake.minor += row.annual_value_minor;
                revenue_at_stake += row.annual_value_minor;
            }
            if row.stage.is_overdue() {
                let best = &mut best_overdue[row.client as usize];
                if *best == NONE || row.annual_value_minor > rows[*best as usize].annual_value_minor
                {
                    *best = i as u32;
                }
            }
        }
        category_reports.sort_by(|a, b| {
            b.clients
                .cmp(&a.clients)
                .then_with(|| a.category.cmp(&b.category))
        });

        let mut tier_reports: Vec<TierReport> = Tier::ALL
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
        for (number, record) in audit.clients.iter() {
            let i = number as usize;
            let days = &record.visits;
            if days.is_empty() {
                continue;
            }
            let slot = tiers[i] as usize;
            tier_reports[slot].clients += 1;
            tier_reports[slot].lifetime_value.minor += record.spend_minor;
            tier_visits[slot] += u64::from(days.count());
            if best_overdue[i] != NONE {
                tier_reports[slot].overdue_clients += 1;
            }
        }
        for (report, visits) in tier_reports.iter_mut().zip(tier_visits) {
            report.average_ticket.minor = report.lifetime_value.minor / visits.max(1) as i64;
        }

        let with_visits = audit
            .clients
            .iter()
            .filter(|(_, r)| !r.visits.is_empty())
            .count();
        let clients = ClientCounts {
            total: audit.clients.len(),
            with_visits,
            never_visited: audit.clients.len() - with_visits,
            one_time: audit
                .clients
                .iter()
                .filter(|(_, r)| r.visits.count() == 1)
                .count(),
            with_future_booking: audit
                .clients
                .iter()
                .filter(|(_, r)| r.has_future_booking)
                .count(),
        };
        let mut report = AuditReport {
            as_of: audit.options.as_of,
            horizon_days: audit.options.horizon_days,
            currency,
            lines: audit.lines,
            clients,
            stages,
            categories: category_reports,
            tiers: tier_reports,
            revenue_at_stake: Money::from_minor(revenue_at_stake, currency),
            top_overdue: Vec::new(),
            options: audit.options,
            rows,
            ids: audit.ids,
            names: audit.names,
            records: audit.clients,
            entries: audit.entries,
            category_names: audit.categories,
            labels: audit.labels,
            priors,
        };

        let mut top: Vec<u32> = best_overdue.into_iter().filter(|&i| i != NONE).collect();
        let by_value = |a: &u32, b: &u32| {
            let (a, b) = (&report.rows[*a as usize], &report.rows[*b as usize]);
            b.annual_value_minor
                .cmp(&a.annual_value_minor)
                .then_with(|| report.client_id(a.client).cmp(report.client_id(b.client)))
        };
        if top.len() > TOP_OVERDUE {
            top.select_nth_unstable_by(TOP_OVERDUE, by_value);
            top.truncate(TOP_OVERDUE);
        }
        top.sort_by(by_value);
        report.top_overdue = top
            .into_iter()
            .take(TOP_OVERDUE)
            .map(|i| {
                let score = ClientScore {
                    report: &report,
                    row: &report.rows[i as usize],
                };
                OverdueClient {
                    client: score.client().to_owned(),
                    name: score.name().map(str::to_owned),
                    category: score.category().clone(),
                    stage: score.stage(),
                    tier: score.tier(),
                    annual_value: score.annual_value(),
                    lapse_score: score.lapse_score(),
                    explanation: score.explanation().to_string(),
                }
            })
            .collect();
        report
    }

    pub(super) fn client_id(&self, client: u32) -> &str {
        self.ids.get(self.records.get(client).id)
    }

    /// One row per client and category with a completed visit, clients in the order the
    /// export first mentioned them.
    pub fn scores(&self) -> impl ExactSizeIterator<Item = ClientScore<'_>> {
        self.scores_in(0..self.rows.len())
    }

    /// The rows at these positions of [`scores`](Self::scores), for splitting output work.
    pub fn scores_in(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl ExactSizeIterator<Item = ClientScore<'_>> {
        self.rows[range]
            .iter()
            .map(move |row| ClientScore { report: self, row })
    }

    /// How many rows [`scores`](Self::scores) has.
    pub fn score_count(&self) -> usize {
        self.rows.len()
    }

    /// A client's number, found by reading every id: a report answers for one client at a
    /// time, so it keeps no index of them (the audit's is dropped before scoring, to make room).
    pub(super) fn find_client(&self, id: &str) -> Option<u32> {
        self.records
            .iter()
            .find(|(_, record)| self.ids.get(record.id) == id)
            .map(|(number, _)| number)
    }

    /// The rows of one client, one per category.
    pub fn client(&self, id: &str) -> Vec<ClientScore<'_>> {
        let Some(client) = self.find_client(id) else {
            return Vec::new();
        };
        let start = self.rows.partition_point(|r| r.client < client);
        self.rows[start..]
            .iter()
            .take_while(|r| r.client == client)
            .map(|row| ClientScore { report: self, row })
            .collect()
    }

    /// Whether the export mentions a client at all (perhaps without a completed visit).
    pub fn knows_client(&self, id: &str) -> bool {
        self.find_client(id).is_some()
    }
}
