//! The audit's summaries, packed for exports of millions of rows: client ids and names in
//! string arenas, service and staff names interned once, a client's categories as a linked list,
//! and the fixed id hash that also decides which share of a parallel read a client belongs to.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::domain::cadence::{Cadence, Label, VisitDays};
use crate::domain::churn_signal::CurrentPrice;
use crate::domain::day::Day;

/// The end of a linked list.
pub(super) const NONE: u32 = u32::MAX;

/// A client id's hash: fixed (the same in every process and thread), so it also decides which
/// share of a parallel read a client belongs to.
pub(super) fn id_hash(id: &str) -> u32 {
    id_bytes_hash(id.as_bytes())
}

pub(super) fn id_bytes_hash(id: &[u8]) -> u32 {
    let h = FxBuildHasher.hash_one(id);
    (h ^ (h >> 32)) as u32
}

/// Spreads a stored 32-bit id hash over the 64 bits the hash table reads.
pub(super) fn table_hash(h: u32) -> u64 {
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
pub(super) struct Slot {
    pub(super) client: u32,
    pub(super) hash: u32,
}

/// Where a string sits in an [`Arena`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) start: u32,
    pub(super) len: u32,
}

impl Span {
    pub(super) const EMPTY: Span = Span { start: 0, len: 0 };
}

/// Many short strings in one allocation.
#[derive(Debug, Default)]
pub(super) struct Arena(pub(super) String);

impl Arena {
    pub(super) fn push(&mut self, text: &str) -> Span {
        let start = self.0.len() as u32;
        self.0.push_str(text);
        Span {
            start,
            len: text.len() as u32,
        }
    }

    pub(super) fn get(&self, span: Span) -> &str {
        &self.0[span.start as usize..(span.start + span.len) as usize]
    }
}

/// Service and staff names, each stored once, with the latest price seen for a service.
#[derive(Debug, Default)]
pub(super) struct Labels {
    pub(super) index: HashTable<u32>,
    pub(super) texts: Arena,
    pub(super) spans: Vec<Span>,
    pub(super) latest_price: Vec<Option<CurrentPrice>>,
    /// The label last looked up for each [`LabelKind`]: a client's lines often name the same
    /// service or staff member one after another.
    pub(super) recent: [Option<Label>; 2],
}

/// Which recent label a lookup compares with first.
#[derive(Clone, Copy)]
pub(super) enum LabelKind {
    Service,
    Staff,
}

impl Labels {
    /// The label of `text`, trying the last one of its kind first.
    pub(super) fn intern_as(&mut self, kind: LabelKind, text: &str) -> Label {
        if let Some(label) = self.recent[kind as usize]
            && self.text(label) == text
        {
            return label;
        }
        let label = self.intern(text);
        self.recent[kind as usize] = Some(label);
        label
    }

    pub(super) fn intern(&mut self, text: &str) -> Label {
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

    pub(super) fn text(&self, label: Label) -> &str {
        self.texts.get(self.spans[label.index() as usize])
    }

    pub(super) fn saw_price(&mut self, label: Label, price: CurrentPrice) {
        let slot = &mut self.latest_price[label.index() as usize];
        if slot.is_none_or(|p| p.day < price.day) {
            *slot = Some(price);
        }
    }
}

/// Everything the audit keeps about one client: bounded, whatever the length of the history.
#[derive(Debug)]
pub(super) struct ClientSummary {
    pub(super) id: Span,
    /// The name on the client's latest booking that has one (the smallest of a day's names),
    /// so the name does not depend on the order rows are read in.
    pub(super) name: Span,
    pub(super) name_day: Day,
    /// Visit days across all categories (empty for a client who never came).
    pub(super) visits: VisitDays,
    pub(super) spend_minor: i64,
    /// Head of the client's list in `Audit::entries`.
    pub(super) first_entry: u32,
    pub(super) has_future_booking: bool,
    /// The day of the latest no-show, as days since 1970 (`i32::MIN` for none): four bytes
    /// where an `Option<Day>` takes eight.
    pub(super) last_no_show: i32,
}

/// A client's standing in one category.
#[derive(Debug)]
pub(super) struct CategoryEntry {
    /// Empty while the client has only a future booking in the category.
    pub(super) cadence: Cadence,
    pub(super) earliest_future: Option<Day>,
    pub(super) next: u32,
    pub(super) category: u16,
}
