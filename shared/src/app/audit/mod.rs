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
//!
//! In files: this one takes lines in and joins audits; `packed` holds the per-client summaries
//! and their arenas, `chunked` the vector they live in, `parallel` the passes over clients on
//! every core, `score` the fitting and scoring passes, and `report` what a finished audit says.

mod chunked;
mod packed;
mod parallel;
mod report;
mod score;
#[cfg(test)]
mod tests;

pub use packed::share_of;
use packed::{
    Arena, CategoryEntry, ClientSummary, LabelKind, Labels, NONE, Slot, Span, id_hash, table_hash,
};
use parallel::{in_parallel, workers};
pub use report::{
    AuditReport, CategoryReport, ClientCounts, ClientScore, OverdueClient, StageCounts, TierReport,
};
use score::{ScoreRow, rhythm_of};

use hashbrown::HashTable;
use rustc_hash::FxHashMap;

use crate::domain::booking::{BookingLine, LineKind};
use crate::domain::cadence::{Cadence, Label, VisitDays, VisitLine};
use crate::domain::churn_signal::CurrentPrice;
use crate::domain::config::BusinessConfig;
use crate::domain::day::Day;
use crate::domain::ids::{Category, ClientId, IdError};
use chunked::ChunkedVec;

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
/// An audit in progress.
pub struct Audit {
    options: AuditOptions,
    index: HashTable<Slot>,
    ids: Arena,
    names: Arena,
    clients: ChunkedVec<ClientSummary>,
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
        let i = self.clients.push(ClientSummary {
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
}
