//! Fitting and scoring: the tiers, the business's category priors, the stop models, and one
//! packed score row per client and category.

use super::*;

use crate::domain::lapse_score::{self, OpenGap, StopModel};
use crate::domain::rfm::{self, ClientValue, Tier};
use crate::domain::rhythm::{
    self, CategoryPrior, GapStats, IntervalSource, PriorBuilder, Rhythm, RhythmSettings,
};
use crate::domain::stage::{Stage, StageThresholds};

impl Audit {
    /// Every client's tier, by client number; clients who never visited are low.
    pub(super) fn tiers(&self) -> Vec<Tier> {
        let bound = self.clients.number_bound();
        // Tiers across categories, for clients who have visited at all.
        let mut visited: Vec<u32> = Vec::new();
        let mut values: Vec<ClientValue> = Vec::new();
        for (number, record) in self.clients.iter() {
            let days = &record.visits;
            if !days.is_empty() {
                visited.push(number);
                values.push(ClientValue {
                    last_visit: days.last(),
                    first_visit: days.first(),
                    visits: days.count(),
                    spend_minor: record.spend_minor,
                });
            }
        }
        let mut tiers = vec![Tier::Low; bound];
        // Clients alike in every respect are told apart by id, not by the order they were read.
        let id_of = |at: usize| self.ids.get(self.clients.get(visited[at]).id);
        // The three axes are independent: rank them at once (a business of a million clients
        // waits on three sorts otherwise).
        let axes = std::thread::scope(|scope| {
            let recency = scope.spawn(|| rfm::recency(&values));
            let frequency = scope.spawn(|| rfm::frequency(&values));
            let monetary = rfm::monetary(&values);
            [
                recency.join().expect("ranking does not panic"),
                frequency.join().expect("ranking does not panic"),
                monetary,
            ]
        });
        let scored = rfm::score_ranked(&values, axes, |a, b| id_of(a).cmp(id_of(b)));
        for (number, (_, tier)) in visited.iter().zip(scored) {
            tiers[*number as usize] = tier;
        }
        tiers
    }

    pub(super) fn entry_chunks(&self) -> Vec<&[CategoryEntry]> {
        self.entries.chunks().map(|(_, chunk)| chunk).collect()
    }

    /// The category priors, from every client's gap summary.
    pub(super) fn priors(&self) -> Vec<CategoryPrior> {
        let config = &self.options.config;
        let categories = self.categories.len();
        let entry_chunks = self.entry_chunks();
        let mut builders = vec![PriorBuilder::default(); categories];
        for part in in_parallel(entry_chunks.len(), |range| {
            let mut builders = vec![PriorBuilder::default(); categories];
            for entry in entry_chunks[range].iter().flat_map(|c| c.iter()) {
                if let Some(stats) = GapStats::from_gaps(entry.cadence.days.recent_gaps()) {
                    builders[usize::from(entry.category)].add(&stats);
                }
            }
            builders
        }) {
            for (builder, part) in builders.iter_mut().zip(part) {
                builder.absorb(part);
            }
        }
        builders
            .into_iter()
            .zip(&self.categories)
            .map(|(builder, category)| {
                builder.fit(
                    config.default_interval_for(category),
                    config.industry,
                    &config.rhythm,
                )
            })
            .collect()
    }

    /// The stop model of each category, fitted on its clients' open gaps.
    pub(super) fn stop_models(&self, priors: &[CategoryPrior]) -> Vec<StopModel> {
        let as_of = self.options.as_of;
        let categories = self.categories.len();
        let entry_chunks = self.entry_chunks();
        // Each thread's open gaps by category, in lists sized exactly (counted first): they
        // are as many as the scores, and are fitted where they lie rather than joined.
        let parts: Vec<Vec<Vec<OpenGap>>> = in_parallel(entry_chunks.len(), |range| {
            let visited = || {
                entry_chunks[range.clone()]
                    .iter()
                    .flat_map(|c| c.iter())
                    .filter(|e| !e.cadence.is_empty())
            };
            let mut counts = vec![0; categories];
            for entry in visited() {
                counts[usize::from(entry.category)] += 1;
            }
            let mut open_gaps: Vec<Vec<OpenGap>> =
                counts.into_iter().map(Vec::with_capacity).collect();
            for entry in visited() {
                let days_since = f64::from(as_of.days_since(entry.cadence.days.last()));
                let survival_so_far =
                    rhythm_of(entry, priors, &self.options.config.rhythm).survival(days_since);
                open_gaps[usize::from(entry.category)].push(OpenGap {
                    visits: entry.cadence.days.count(),
                    survival_so_far,
                });
            }
            open_gaps
        });
        in_parallel(categories, |range| {
            range
                .map(|c| StopModel::fit(parts.iter().flat_map(|part| &part[c])))
                .collect::<Vec<_>>()
        })
        .concat()
    }

    /// Every client and category with a visit, scored: clients in the order they first
    /// appeared (share by share), each client's categories in the order seen. Each thread fills
    /// its own part of one exactly sized vector.
    pub(super) fn score_rows(
        &self,
        tiers: &[Tier],
        priors: &[CategoryPrior],
        stop_models: &[StopModel],
    ) -> Vec<ScoreRow> {
        let config = &self.options.config;
        let as_of = self.options.as_of;
        let horizon = f64::from(self.options.horizon_days);
        let failure_rate = self.lines.failure_rate();

        let client_chunks: Vec<(u32, &[ClientSummary])> = self.clients.chunks().collect();
        let entries = &self.entries;
        let scored_entries = |record: &ClientSummary, linked: &mut Vec<u32>| {
            linked.clear();
            let mut at = record.first_entry;
            while at != NONE {
                let entry = entries.get(at);
                if !entry.cadence.is_empty() {
                    linked.push(at);
                }
                at = entry.next;
            }
            linked.reverse();
        };
        let counts: Vec<usize> = in_parallel(client_chunks.len(), |range| {
            let mut linked = Vec::new();
            client_chunks[range]
                .iter()
                .map(|(_, chunk)| {
                    chunk
                        .iter()
                        .map(|record| {
                            scored_entries(record, &mut linked);
                            linked.len()
                        })
                        .sum::<usize>()
                })
                .collect::<Vec<_>>()
        })
        .concat();
        let mut rows = vec![ScoreRow::EMPTY; counts.iter().sum()];
        let score_chunk = |first: u32, chunk: &[ClientSummary], out: &mut [ScoreRow]| {
            let mut linked = Vec::new();
            let mut written = 0;
            for (offset, record) in chunk.iter().enumerate() {
                let client = first + offset as u32;
                scored_entries(record, &mut linked);
                for &at in &linked {
                    let entry = entries.get(at);
                    let cadence = &entry.cadence;
                    let rhythm = rhythm_of(entry, priors, &config.rhythm);
                    let days_since = as_of.days_since(cadence.days.last());
                    let thresholds = StageThresholds::new(&rhythm, &config.stages);
                    let stage = thresholds.stage(
                        f64::from(days_since),
                        record.has_future_booking,
                        &config.stages,
                    );
                    let model = &stop_models[usize::from(entry.category)];
                    let mut lapse_score = model.no_visit_probability(
                        &rhythm,
                        cadence.days.count(),
                        f64::from(days_since),
                        horizon,
                    );
                    if lapse_score::booked_within(entry.earliest_future, as_of, horizon) {
                        lapse_score =
                            lapse_score::with_booking_in_horizon(lapse_score, failure_rate);
                    }
                    let annual_value_minor = rfm::annual_spend_minor(
                        cadence.spend_minor,
                        cadence.days.first(),
                        cadence.days.last(),
                        rhythm.interval_days,
                    );
                    out[written] = ScoreRow {
                        client,
                        entry: at,
                        stage,
                        tier: tiers[client as usize],
                        personal: matches!(rhythm.source, IntervalSource::Personal { .. }),
                        interval_days: rhythm.interval_days as f32,
                        spread_days: rhythm.spread_days() as f32,
                        lapse_score: lapse_score as f32,
                        annual_value_minor,
                    };
                    written += 1;
                }
            }
        };
        let threads = workers().min(client_chunks.len()).max(1);
        let per_thread = client_chunks.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let mut rest: &mut [ScoreRow] = &mut rows;
            for (t, group) in client_chunks.chunks(per_thread.max(1)).enumerate() {
                let group_rows: usize = counts[t * per_thread..t * per_thread + group.len()]
                    .iter()
                    .sum();
                let (mine, others) = rest.split_at_mut(group_rows);
                rest = others;
                let (counts, score_chunk) = (&counts[t * per_thread..], &score_chunk);
                scope.spawn(move || {
                    let mut out = mine;
                    for (k, (first, chunk)) in group.iter().enumerate() {
                        let (part, later) = out.split_at_mut(counts[k]);
                        score_chunk(*first, chunk, part);
                        out = later;
                    }
                });
            }
        });

        rows
    }
}

/// One client in one category, scored: packed, since an audit of a large export holds millions.
#[derive(Debug, Clone, Copy)]
pub(super) struct ScoreRow {
    pub(super) client: u32,
    /// The client's entry in the category, which says the category.
    pub(super) entry: u32,
    pub(super) stage: Stage,
    pub(super) tier: Tier,
    pub(super) personal: bool,
    pub(super) interval_days: f32,
    pub(super) spread_days: f32,
    pub(super) lapse_score: f32,
    pub(super) annual_value_minor: i64,
}

impl ScoreRow {
    pub(super) const EMPTY: ScoreRow = ScoreRow {
        client: NONE,
        entry: NONE,
        stage: Stage::Active,
        tier: Tier::Low,
        personal: false,
        interval_days: 0.0,
        spread_days: 0.0,
        lapse_score: 0.0,
        annual_value_minor: 0,
    };
}

/// A client's rhythm in a category, from their gap summary and the category's prior.
pub(super) fn rhythm_of(
    entry: &CategoryEntry,
    priors: &[CategoryPrior],
    settings: &RhythmSettings,
) -> Rhythm {
    let cadence = &entry.cadence;
    let stats = GapStats::from_gaps(cadence.days.recent_gaps());
    rhythm::rhythm(
        stats.as_ref(),
        cadence.days.count(),
        &priors[usize::from(entry.category)],
        settings,
    )
}
