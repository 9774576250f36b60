//! The audit: from a business's booking history, who is active, due, at-risk, lapsed, dormant or
//! lost in each category, which clients matter most, and how much revenue sits in the dormant
//! base, before any message is sent.
//!
//! [`Audit`] takes booking lines one at a time and keeps only a bounded summary per client and
//! category, so its memory grows with the number of clients, never with the number of lines.
//! Summaries are packed for exports of millions of rows: client ids and names live in one
//! string arena each, a client's categories are a linked list in one vector, and service and
//! staff names are interned. Audits of disjoint shares of an export's clients
//! [`absorb`](Audit::absorb) one another into the audit of the whole, so a large file can be
//! read by several threads.
//!
//! [`Audit::finish`] fits the business's own population rhythms and stop probabilities, then
//! scores every client and category. It stores nothing and sends nothing.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::app::chunked::ChunkedVec;
use crate::domain::booking::{BookingLine, LineKind};
use crate::domain::cadence::{Cadence, Label, VisitDays, VisitLine};
use crate::domain::churn_signal::{self, CurrentPrice};
use crate::domain::config::BusinessConfig;
use crate::domain::day::Day;
use crate::domain::explanation::Explanation;
use crate::domain::ids::{Category, ClientId, IdError};
use crate::domain::lapse_score::{self, OpenGap, StopModel};
use crate::domain::money::{Currency, Money};
use crate::domain::rfm::{self, ClientValue, Tier};
use crate::domain::rhythm::{
    self, CategoryPrior, DefaultSource, GapStats, IntervalSource, PriorBuilder, Rhythm,
    RhythmSettings,
};
use crate::domain::stage::{Stage, StageThresholds};

/// How many of the most valuable overdue clients a report lists.
pub const TOP_OVERDUE: usize = 10;

/// The end of a linked list.
const NONE: u32 = u32::MAX;

/// A client id's hash: fixed (the same in every process and thread), so it also decides which
/// share of a parallel read a client belongs to.
fn id_hash(id: &str) -> u32 {
    id_bytes_hash(id.as_bytes())
}

fn id_bytes_hash(id: &[u8]) -> u32 {
    let h = FxBuildHasher.hash_one(id);
    (h ^ (h >> 32)) as u32
}

/// Spreads a stored 32-bit id hash over the 64 bits the hash table reads.
fn table_hash(h: u32) -> u64 {
    u64::from(h).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Which of `shares` parallel readers audits a client, from the id's bytes as written (trimmed
/// of ASCII spaces): all of a client's lines must meet in one audit. An empty id (a row whose
/// client cannot be read) belongs to the first.
pub fn share_of(client: &[u8], shares: usize) -> usize {
    if client.is_empty() {
        0
    } else {
        id_bytes_hash(client) as usize % shares.max(1)
    }
}

/// A client in the id index: its number and its id's hash, so the index grows and merges
/// without reading the ids again.
#[derive(Debug, Clone, Copy)]
struct Slot {
    client: u32,
    hash: u32,
}

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
        if past == 0 {
            0.1
        } else {
            failed as f64 / past as f64
        }
    }

    fn add(&mut self, other: &LineCounts) {
        self.visits += other.visits;
        self.future_bookings += other.future_bookings;
        self.cancelled += other.cancelled;
        self.no_shows += other.no_shows;
    }
}

/// Where a string sits in an [`Arena`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    const EMPTY: Span = Span { start: 0, len: 0 };
}

/// Many short strings in one allocation.
#[derive(Debug, Default)]
struct Arena(String);

impl Arena {
    fn push(&mut self, text: &str) -> Span {
        let start = self.0.len() as u32;
        self.0.push_str(text);
        Span {
            start,
            len: text.len() as u32,
        }
    }

    fn get(&self, span: Span) -> &str {
        &self.0[span.start as usize..(span.start + span.len) as usize]
    }
}

/// Service and staff names, each stored once, with the latest price seen for a service.
#[derive(Debug, Default)]
struct Labels {
    index: HashTable<u32>,
    texts: Arena,
    spans: Vec<Span>,
    latest_price: Vec<Option<CurrentPrice>>,
    /// The label last looked up for each [`LabelKind`]: a client's lines often name the same
    /// service or staff member one after another.
    recent: [Option<Label>; 2],
}

/// Which recent label a lookup compares with first.
#[derive(Clone, Copy)]
enum LabelKind {
    Service,
    Staff,
}

impl Labels {
    /// The label of `text`, trying the last one of its kind first.
    fn intern_as(&mut self, kind: LabelKind, text: &str) -> Label {
        if let Some(label) = self.recent[kind as usize]
            && self.text(label) == text
        {
            return label;
        }
        let label = self.intern(text);
        self.recent[kind as usize] = Some(label);
        label
    }

    fn intern(&mut self, text: &str) -> Label {
        let hash = FxBuildHasher.hash_one(text);
        let (texts, spans) = (&self.texts, &self.spans);
        if let Some(&i) = self
            .index
            .find(hash, |&i| texts.get(spans[i as usize]) == text)
        {
            return Label::new(i);
        }
        let i = self.spans.len() as u32;
        self.spans.push(self.texts.push(text));
        self.latest_price.push(None);
        let (texts, spans) = (&self.texts, &self.spans);
        self.index.insert_unique(hash, i, |&j| {
            FxBuildHasher.hash_one(texts.get(spans[j as usize]))
        });
        Label::new(i)
    }

    fn text(&self, label: Label) -> &str {
        self.texts.get(self.spans[label.index() as usize])
    }

    fn saw_price(&mut self, label: Label, price: CurrentPrice) {
        let slot = &mut self.latest_price[label.index() as usize];
        if slot.is_none_or(|p| p.day < price.day) {
            *slot = Some(price);
        }
    }
}

/// Everything the audit keeps about one client: bounded, whatever the length of the history.
#[derive(Debug)]
struct ClientRecord {
    id: Span,
    /// The name on the client's latest booking that has one (the smallest of a day's names),
    /// so the name does not depend on the order rows are read in.
    name: Span,
    name_day: Day,
    /// Visit days across all categories (empty for a client who never came).
    visits: VisitDays,
    spend_minor: i64,
    /// Head of the client's list in `Audit::entries`.
    first_entry: u32,
    has_future_booking: bool,
    /// The day of the latest no-show, as days since 1970 (`i32::MIN` for none): four bytes
    /// where an `Option<Day>` takes eight.
    last_no_show: i32,
}

/// A client's standing in one category.
#[derive(Debug)]
struct CategoryEntry {
    /// Empty while the client has only a future booking in the category.
    cadence: Cadence,
    earliest_future: Option<Day>,
    next: u32,
    category: u16,
}

/// An audit in progress.
pub struct Audit {
    options: AuditOptions,
    index: HashTable<Slot>,
    ids: Arena,
    names: Arena,
    clients: ChunkedVec<ClientRecord>,
    entries: ChunkedVec<CategoryEntry>,
    categories: Vec<Category>,
    /// Category as written → index, so a spelling is normalised once, not once per line.
    category_spellings: FxHashMap<Box<str>, u16>,
    labels: Labels,
    lines: LineCounts,
    /// The client of the previous line.
    last_client: u32,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    InvalidId(#[from] IdError),
    #[error("more than {max} service categories; an audit reports at most {max}")]
    TooManyCategories { max: usize },
    #[error("client {0} was read into two shares of one audit")]
    ClientInTwoShares(String),
}

impl Audit {
    pub fn new(options: AuditOptions) -> Audit {
        Audit {
            options,
            index: HashTable::new(),
            ids: Arena::default(),
            names: Arena::default(),
            clients: ChunkedVec::default(),
            entries: ChunkedVec::default(),
            categories: Vec::new(),
            category_spellings: FxHashMap::default(),
            labels: Labels::default(),
            lines: LineCounts::default(),
            last_client: NONE,
        }
    }

    /// The index of a client, added if new.
    fn client_index(&mut self, id: &str) -> Result<u32, IdError> {
        // Exports often list a client's bookings together: try the last client first.
        if self.last_client != NONE && self.ids.get(self.clients.get(self.last_client).id) == id {
            return Ok(self.last_client);
        }
        let client = self.find_or_add_client(id)?;
        self.last_client = client;
        Ok(client)
    }

    fn find_or_add_client(&mut self, id: &str) -> Result<u32, IdError> {
        let hash = id_hash(id);
        let (ids, clients) = (&self.ids, &self.clients);
        if let Some(slot) = self.index.find(table_hash(hash), |s| {
            s.hash == hash && ids.get(clients.get(s.client).id) == id
        }) {
            return Ok(slot.client);
        }
        let id = ClientId::check(id)?;
        let span = self.ids.push(id);
        let i = self.clients.push(ClientRecord {
            id: span,
            name: Span::EMPTY,
            name_day: Day::EPOCH,
            visits: VisitDays::EMPTY,
            spend_minor: 0,
            first_entry: NONE,
            has_future_booking: false,
            last_no_show: i32::MIN,
        });
        self.index
            .insert_unique(table_hash(hash), Slot { client: i, hash }, |s| {
                table_hash(s.hash)
            });
        Ok(i)
    }

    /// The client's entry for a category, added if new.
    fn entry(&mut self, client: u32, category: u16) -> &mut CategoryEntry {
        let record = self.clients.get_mut(client);
        let mut at = record.first_entry;
        while at != NONE {
            if self.entries.get(at).category == category {
                return self.entries.get_mut(at);
            }
            at = self.entries.get(at).next;
        }
        let new = self.entries.push(CategoryEntry {
            category,
            next: record.first_entry,
            cadence: Cadence::EMPTY,
            earliest_future: None,
        });
        record.first_entry = new;
        self.entries.get_mut(new)
    }

    /// Takes in one booking line. Lines may come in any order.
    pub fn add(&mut self, line: &BookingLine<'_>) -> Result<(), AuditError> {
        let category = self.category_index(line.category)?;
        let kind = line.kind(self.options.as_of);
        let client = self.client_index(line.client)?;
        if let Some(name) = line.client_name {
            let record = self.clients.get(client);
            let current = self.names.get(record.name);
            let newer = record.name.len == 0
                || line.day > record.name_day
                || (line.day == record.name_day && name < current);
            if newer && name != current {
                // A changed name is stored anew: names change rarely, so this stays small.
                let span = self.names.push(name);
                self.clients.get_mut(client).name = span;
            }
            if newer {
                self.clients.get_mut(client).name_day = line.day;
            }
        }
        match kind {
            LineKind::Cancelled => self.lines.cancelled += 1,
            LineKind::NoShow => {
                self.lines.no_shows += 1;
                let record = self.clients.get_mut(client);
                record.last_no_show = record.last_no_show.max(line.day.days_since(Day::EPOCH));
            }
            LineKind::FutureBooking => {
                self.lines.future_bookings += 1;
                self.note_price(line);
                self.clients.get_mut(client).has_future_booking = true;
                let entry = self.entry(client, category);
                entry.earliest_future =
                    Some(entry.earliest_future.map_or(line.day, |d| d.min(line.day)));
            }
            LineKind::Visit => {
                self.lines.visits += 1;
                let service = self.note_price(line);
                let staff = line
                    .staff
                    .map(|s| self.labels.intern_as(LabelKind::Staff, s));
                let record = self.clients.get_mut(client);
                record.spend_minor += line.price_minor;
                record.visits.record(line.day);
                let visit = VisitLine {
                    day: line.day,
                    price_minor: line.price_minor,
                    service,
                    staff,
                    rating: line.rating,
                };
                self.entry(client, category).cadence.record(visit);
            }
        }
        Ok(())
    }

    /// Interns the line's service and remembers its price as the business's latest.
    fn note_price(&mut self, line: &BookingLine<'_>) -> Option<Label> {
        let label = self.labels.intern_as(LabelKind::Service, line.service?);
        if line.price_minor > 0 {
            self.labels.saw_price(
                label,
                CurrentPrice {
                    day: line.day,
                    minor: line.price_minor,
                },
            );
        }
        Some(label)
    }

    fn category_index(&mut self, written: &str) -> Result<u16, AuditError> {
        if let Some(&index) = self.category_spellings.get(written) {
            return Ok(index);
        }
        let category = Category::parse(written)?;
        let index = self.category_of(category)?;
        self.category_spellings.insert(written.into(), index);
        Ok(index)
    }

    fn category_of(&mut self, category: Category) -> Result<u16, AuditError> {
        let index = match self.categories.iter().position(|c| *c == category) {
            Some(index) => index,
            None => {
                self.categories.push(category);
                self.categories.len() - 1
            }
        };
        u16::try_from(index).map_err(|_| AuditError::TooManyCategories {
            max: usize::from(u16::MAX),
        })
    }

    /// Adds the audit of another share of the same export's clients: every line of a client
    /// went to the same audit, so no client is in both and their summaries are exact. The
    /// other audit's storage is moved, not copied.
    pub fn absorb(&mut self, mut other: Audit) -> Result<(), AuditError> {
        let category_map: Vec<u16> = other
            .categories
            .iter()
            .map(|c| self.category_of(c.clone()))
            .collect::<Result<_, _>>()?;
        let label_map: Vec<Label> = (0..other.labels.spans.len() as u32)
            .map(|i| {
                let label = self.labels.intern(other.labels.text(Label::new(i)));
                if let Some(price) = other.labels.latest_price[i as usize] {
                    self.labels.saw_price(label, price);
                }
                label
            })
            .collect();
        let relabel = |label: Option<Label>| label.map(|l| label_map[l.index() as usize]);
        for slot in &other.index {
            let id = other.ids.get(other.clients.get(slot.client).id);
            let (ids, clients) = (&self.ids, &self.clients);
            if self
                .index
                .find(table_hash(slot.hash), |s| {
                    s.hash == slot.hash && ids.get(clients.get(s.client).id) == id
                })
                .is_some()
            {
                return Err(AuditError::ClientInTwoShares(id.to_owned()));
            }
        }
        self.lines.add(&other.lines);

        let entry_shift = self.entries.shift_for_append();
        let shift = |at: u32| if at == NONE { NONE } else { at + entry_shift };
        for (_, entry) in other.entries.iter_mut() {
            entry.category = category_map[usize::from(entry.category)];
            entry.next = shift(entry.next);
            let last = &mut entry.cadence.last_visit;
            last.service = relabel(last.service);
            last.staff = relabel(last.staff);
        }
        let id_offset = self.ids.0.len() as u32;
        let name_offset = self.names.0.len() as u32;
        self.ids.0.push_str(&other.ids.0);
        self.names.0.push_str(&other.names.0);
        for (_, record) in other.clients.iter_mut() {
            record.id.start += id_offset;
            if record.name.len > 0 {
                record.name.start += name_offset;
            }
            record.first_entry = shift(record.first_entry);
        }
        let client_shift = self.clients.shift_for_append();
        self.index
            .reserve(other.index.len(), |s| table_hash(s.hash));
        for slot in other.index.drain() {
            let moved = Slot {
                client: slot.client + client_shift,
                hash: slot.hash,
            };
            self.index
                .insert_unique(table_hash(slot.hash), moved, |s| table_hash(s.hash));
        }
        self.entries.append(other.entries);
        self.clients.append(other.clients);
        Ok(())
    }

    /// Fits the business's rhythms and stop probabilities, scores every client and category,
    /// and summarises. The passes over clients run on every core, and the tiers, which need no
    /// rhythm, are ranked on a thread of their own while the rhythms are fitted.
    pub fn finish(mut self) -> AuditReport {
        // Every line is in: the id index is no longer needed, and scoring needs the room.
        self.index = HashTable::new();
        let (tiers, priors, stop_models) = std::thread::scope(|scope| {
            let tiers = scope.spawn(|| self.tiers());
            let priors = self.priors();
            let stop_models = self.stop_models(&priors);
            let tiers = tiers.join().expect("ranking does not panic");
            (tiers, priors, stop_models)
        });
        let rows = self.score_rows(&tiers, &priors, &stop_models);
        AuditReport::summarise(self, tiers, priors, rows)
    }

    /// Every client's tier, by client number; clients who never visited are low.
    fn tiers(&self) -> Vec<Tier> {
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
        let scored = rfm::score(&values, |a, b| id_of(a).cmp(id_of(b)));
        for (number, (_, tier)) in visited.iter().zip(scored) {
            tiers[*number as usize] = tier;
        }
        tiers
    }

    fn entry_chunks(&self) -> Vec<&[CategoryEntry]> {
        self.entries.chunks().map(|(_, chunk)| chunk).collect()
    }

    /// The category priors, from every client's gap summary.
    fn priors(&self) -> Vec<CategoryPrior> {
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
    fn stop_models(&self, priors: &[CategoryPrior]) -> Vec<StopModel> {
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
    fn score_rows(
        &self,
        tiers: &[Tier],
        priors: &[CategoryPrior],
        stop_models: &[StopModel],
    ) -> Vec<ScoreRow> {
        let config = &self.options.config;
        let as_of = self.options.as_of;
        let horizon = f64::from(self.options.horizon_days);
        let failure_rate = self.lines.failure_rate();

        let client_chunks: Vec<(u32, &[ClientRecord])> = self.clients.chunks().collect();
        let entries = &self.entries;
        let scored_entries = |record: &ClientRecord, linked: &mut Vec<u32>| {
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
        let score_chunk = |first: u32, chunk: &[ClientRecord], out: &mut [ScoreRow]| {
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

/// A client's rhythm in a category, from their gap summary and the category's prior.
fn rhythm_of(entry: &CategoryEntry, priors: &[CategoryPrior], settings: &RhythmSettings) -> Rhythm {
    let cadence = &entry.cadence;
    let stats = GapStats::from_gaps(cadence.days.recent_gaps());
    rhythm::rhythm(
        stats.as_ref(),
        cadence.days.count(),
        &priors[usize::from(entry.category)],
        settings,
    )
}

/// How many threads the audit's passes use: one per core, at most eight.
fn workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
}

/// Runs `work` over `0..items` split into one contiguous range per core, returning the
/// results in range order.
fn in_parallel<T: Send>(items: usize, work: impl Fn(std::ops::Range<usize>) -> T + Sync) -> Vec<T> {
    let threads = workers().min(items).max(1);
    if threads == 1 {
        return vec![work(0..items)];
    }
    let chunk = items.div_ceil(threads);
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || work((t * chunk).min(items)..((t + 1) * chunk).min(items)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("audit work does not panic"))
            .collect()
    })
}

/// One client in one category, scored: packed, since an audit of a large export holds millions.
#[derive(Debug, Clone, Copy)]
struct ScoreRow {
    client: u32,
    /// The client's entry in the category, which says the category.
    entry: u32,
    stage: Stage,
    tier: Tier,
    personal: bool,
    interval_days: f32,
    spread_days: f32,
    lapse_score: f32,
    annual_value_minor: i64,
}

impl ScoreRow {
    const EMPTY: ScoreRow = ScoreRow {
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

/// One client in one category, as a report shows it.
#[derive(Debug, Clone, Copy)]
pub struct ClientScore<'a> {
    report: &'a AuditReport,
    row: &'a ScoreRow,
}

impl<'a> ClientScore<'a> {
    fn record(&self) -> &'a ClientRecord {
        self.report.records.get(self.row.client)
    }

    fn entry(&self) -> &'a CategoryEntry {
        self.report.entries.get(self.row.entry)
    }

    fn cadence(&self) -> &'a Cadence {
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
    fn add(&mut self, stage: Stage) {
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
    options: AuditOptions,
    /// In client order.
    #[serde(skip)]
    rows: Vec<ScoreRow>,
    #[serde(skip)]
    ids: Arena,
    #[serde(skip)]
    names: Arena,
    #[serde(skip)]
    records: ChunkedVec<ClientRecord>,
    #[serde(skip)]
    entries: ChunkedVec<CategoryEntry>,
    #[serde(skip)]
    category_names: Vec<Category>,
    #[serde(skip)]
    labels: Labels,
    #[serde(skip)]
    priors: Vec<CategoryPrior>,
}

impl AuditReport {
    fn summarise(
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

    fn client_id(&self, client: u32) -> &str {
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
    fn find_client(&self, id: &str) -> Option<u32> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::booking::BookingStatus;
    use jiff::civil::date;

    fn as_of() -> Day {
        Day::from(date(2026, 6, 1))
    }

    fn options() -> AuditOptions {
        AuditOptions {
            as_of: as_of(),
            horizon_days: 90,
            config: BusinessConfig::default(),
        }
    }

    fn audit() -> Audit {
        Audit::new(options())
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
            audit
                .add(&visit(client, "hair", days_ago + 28 * k, 5000))
                .unwrap();
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
        assert_eq!(report.client("c1")[0].stage(), Stage::Active);
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
        assert!(rows.iter().all(|r| r.visits() == 1));
        assert_eq!(rows[0].category().as_str(), "hair");
        assert_eq!(rows[0].category_spend().minor, 6000);
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
        let row = report.client("c1")[0];
        assert_eq!(row.days_since_last_visit(), 50);
        assert_eq!(row.stage(), Stage::Lapsed);
        assert_eq!(row.last_no_show(), Some(as_of().plus_days(-3)));
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
        assert!(report.knows_client("lead"));
    }

    #[test]
    fn revenue_at_stake_is_what_lapsed_and_dormant_clients_spent_per_year() {
        let mut audit = audit();
        monthly(&mut audit, "lapsed", 45); // 8 visits of 50.00 over 196 days + 28: under a year
        monthly(&mut audit, "active", 5);
        let report = audit.finish();
        let lapsed = report.client("lapsed")[0];
        assert_eq!(lapsed.stage(), Stage::Lapsed);
        assert_eq!(report.revenue_at_stake, lapsed.annual_value());
        assert_eq!(lapsed.annual_value().minor, 40_000);
        assert_eq!(report.top_overdue.len(), 1);
        assert!(
            report.top_overdue[0]
                .explanation
                .contains("lapsed, usually every 28 days")
        );
    }

    #[test]
    fn a_flagged_client_is_explained_in_numbers_a_person_can_check() {
        let mut audit = audit();
        monthly(&mut audit, "c1", 45);
        let report = audit.finish();
        let text = report.client("c1")[0].explanation().to_string();
        assert!(
            text.starts_with("hair: lapsed, usually every 28 days (window "),
            "{text}"
        );
        assert!(text.contains("from 8 visits"), "{text}");
        assert!(text.contains("(45 days ago"), "{text}");
        assert!(text.contains("days past the window"), "{text}");
        assert!(
            text.contains("% chance of no hair visit in the next 90 days; tier "),
            "{text}"
        );
    }

    #[test]
    fn summaries_stay_within_their_memory_budget() {
        // Ten million rows of 1.3 million clients fit in less memory than DuckDB needs to
        // aggregate them only while these stay this small.
        assert!(
            size_of::<CategoryEntry>() <= 96,
            "{}",
            size_of::<CategoryEntry>()
        );
        assert!(
            size_of::<ClientRecord>() <= 88,
            "{}",
            size_of::<ClientRecord>()
        );
        assert!(size_of::<ScoreRow>() <= 32, "{}", size_of::<ScoreRow>());
    }

    #[test]
    fn memory_is_per_client_not_per_line() {
        let mut audit = audit();
        for k in 0..5_000 {
            audit.add(&visit("c1", "hair", k, 100)).unwrap();
        }
        assert_eq!(audit.clients.len(), 1);
        assert_eq!(audit.entries.len(), 1);
        let cadence = &audit.entries.get(0).cadence;
        assert_eq!(cadence.days.count(), 5_000);
        assert_eq!(
            cadence.days.recent_len(),
            crate::domain::cadence::RECENT_VISITS
        );
    }

    #[test]
    fn audits_of_disjoint_shares_of_the_clients_add_up_to_the_audit_of_the_whole() {
        let lines: Vec<(String, &str, i32, i64)> = (0..300)
            .map(|i| {
                (
                    format!("c{}", i % 37),
                    ["hair", "nails", "colour"][i % 3],
                    (i as i32 * 7) % 400,
                    1000 + i as i64,
                )
            })
            .collect();
        let mut whole = audit();
        let (mut first, mut second) = (audit(), audit());
        for (client, category, days_ago, price) in &lines {
            let mut line = visit(client, category, *days_ago, *price);
            line.service = Some(if *price % 2 == 0 { "cut" } else { "colour" });
            whole.add(&line).unwrap();
            if client.len() % 2 == 0 {
                first.add(&line).unwrap()
            } else {
                second.add(&line).unwrap()
            }
        }
        first.absorb(second).unwrap();
        let (whole, merged) = (whole.finish(), first.finish());
        let summary = |r: &AuditReport| {
            let mut rows: Vec<_> = r
                .scores()
                .map(|s| {
                    (
                        s.client().to_owned(),
                        s.category().to_string(),
                        s.visits(),
                        s.last_visit(),
                        s.stage(),
                        s.tier(),
                        s.explanation().to_string(),
                    )
                })
                .collect();
            rows.sort();
            rows
        };
        assert_eq!(summary(&whole), summary(&merged));
        assert_eq!(whole.revenue_at_stake, merged.revenue_at_stake);
        assert_eq!(whole.lines, merged.lines);
        assert!(merged.knows_client("c3") && merged.knows_client("c30"));
    }

    #[test]
    fn a_client_in_two_shares_is_refused() {
        let (mut first, mut second) = (audit(), audit());
        first.add(&visit("c1", "hair", 3, 100)).unwrap();
        second.add(&visit("c1", "hair", 9, 100)).unwrap();
        assert!(matches!(
            first.absorb(second),
            Err(AuditError::ClientInTwoShares(_))
        ));
    }
}
