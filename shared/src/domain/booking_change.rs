//! What a new version of a booking changes in a client's cadences.
//!
//! The protocol every store follows, written once here: read the stored version of the
//! booking and the client's cadences in the categories it touches; call [`plan`]; if it answers
//! [`Planned::NeedsHistory`], read the client's bookings and hand them to
//! [`Refold::with_history`], which always completes the plan; write the [`Changes`],
//! conditionally on nothing having changed in between. Most bookings extend a cadence in place;
//! a booking that changes an earlier one, or a visit older than the last, needs the client's
//! other bookings, and then the categories are folded again from them. The stores supply only
//! the reads and the conditional write.

use crate::domain::booking::{Booking, VersionOrder};
use crate::domain::category_cadence::CategoryCadence;
use crate::domain::ids::{Category, ClientId};
use crate::domain::time_zone::TimeZoneName;

/// What applying a booking did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingOutcome {
    /// The booking was new.
    Created,
    /// A newer version replaced the stored one.
    Updated,
    /// The same version again: nothing changed.
    Duplicate,
    /// An older version than the stored one: nothing changed.
    Stale,
    /// Same version, different content: nothing changed; the booking tool must send a new
    /// `updated_at`.
    Conflicting,
}

/// The writes that apply a booking.
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    pub outcome: BookingOutcome,
    /// Whether the booking itself is written (false for duplicates, stale and conflicting).
    pub write_booking: bool,
    /// The new cadence of each category the booking changes; `None` removes a cadence whose
    /// last visit was taken away.
    pub cadences: Vec<(Category, Option<CategoryCadence>)>,
}

/// What [`plan`] came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Planned<'a> {
    Ready(Changes),
    /// The client's other bookings are needed: read them and give them to the [`Refold`].
    NeedsHistory(Refold<'a>),
}

impl Planned<'_> {
    /// The changes, reading the client's bookings with `history` only if the plan needs them
    /// (a synchronous store's one call; an asynchronous store matches on the plan instead).
    pub fn complete<E>(
        self,
        history: impl FnOnce() -> Result<Vec<Booking>, E>,
    ) -> Result<Changes, E> {
        match self {
            Planned::Ready(changes) => Ok(changes),
            Planned::NeedsHistory(refold) => Ok(refold.with_history(&history()?)),
        }
    }
}

/// A plan waiting for the client's bookings: the categories it touches are folded again from
/// them, so it always completes.
#[derive(Debug, Clone, PartialEq)]
pub struct Refold<'a> {
    stored: Option<&'a Booking>,
    incoming: &'a Booking,
    timezone: &'a TimeZoneName,
    outcome: BookingOutcome,
}

impl Refold<'_> {
    /// The changes, given the client's stored bookings (the booking's own stored version and
    /// any other client's bookings among them are left out).
    pub fn with_history(self, history: &[Booking]) -> Changes {
        let Refold {
            stored,
            incoming,
            timezone,
            outcome,
        } = self;
        let others: Vec<&Booking> = history
            .iter()
            .filter(|b| b.id != incoming.id && b.client_id == incoming.client_id)
            .collect();
        let cadences = touched_categories(stored, incoming)
            .into_iter()
            .map(|category| {
                let bookings = others.iter().copied().chain([incoming]);
                let cadence = CategoryCadence::from_bookings(&category, bookings, timezone);
                (category, cadence)
            })
            .collect();
        Changes {
            outcome,
            write_booking: true,
            cadences,
        }
    }
}

/// The categories whose cadences applying `incoming` over `stored` may change.
pub fn touched_categories(stored: Option<&Booking>, incoming: &Booking) -> Vec<Category> {
    let mut categories: Vec<Category> = Vec::new();
    for category in stored
        .into_iter()
        .flat_map(Booking::categories)
        .chain(incoming.categories())
    {
        if !categories.contains(category) {
            categories.push(category.clone());
        }
    }
    categories
}

/// Plans the writes for `incoming`, given the `stored` version of the booking and the current
/// cadences of the touched categories.
pub fn plan<'a>(
    stored: Option<&'a Booking>,
    incoming: &'a Booking,
    cadence_of: impl Fn(&Category) -> Option<CategoryCadence>,
    timezone: &'a TimeZoneName,
) -> Planned<'a> {
    let outcome = match incoming.compare_with(stored) {
        VersionOrder::New => BookingOutcome::Created,
        VersionOrder::Newer => BookingOutcome::Updated,
        VersionOrder::Duplicate => BookingOutcome::Duplicate,
        VersionOrder::Stale => BookingOutcome::Stale,
        VersionOrder::Conflicting => BookingOutcome::Conflicting,
    };
    if !matches!(outcome, BookingOutcome::Created | BookingOutcome::Updated) {
        return Planned::Ready(Changes {
            outcome,
            write_booking: false,
            cadences: Vec::new(),
        });
    }
    let was_visit = stored.is_some_and(Booking::is_visit);
    let mut cadences = Vec::new();
    if !was_visit && !incoming.is_visit() {
        // Neither version is a visit: no cadence changes.
    } else if !was_visit {
        // A new visit: extend each category's cadence if it is not older than its last visit.
        for category in incoming.categories() {
            let mut cadence = cadence_of(category);
            for visit in CategoryCadence::visits_of(incoming, category, timezone) {
                match CategoryCadence::extend(cadence, category, visit) {
                    Ok(extended) => cadence = Some(extended),
                    Err(_) => return refold(stored, incoming, timezone, outcome),
                }
            }
            cadences.push((category.clone(), cadence));
        }
    } else {
        // A visit changed (cancelled, rescheduled, re-priced): only the history can say.
        return refold(stored, incoming, timezone, outcome);
    }
    Planned::Ready(Changes {
        outcome,
        write_booking: true,
        cadences,
    })
}

fn refold<'a>(
    stored: Option<&'a Booking>,
    incoming: &'a Booking,
    timezone: &'a TimeZoneName,
    outcome: BookingOutcome,
) -> Planned<'a> {
    Planned::NeedsHistory(Refold {
        stored,
        incoming,
        timezone,
        outcome,
    })
}

/// What importing many bookings of one client at once changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// One outcome per incoming booking, in order.
    pub outcomes: Vec<BookingOutcome>,
    /// The bookings to write: each incoming one that is new or newer, at its latest version.
    pub bookings: Vec<Booking>,
    /// The new cadence of every category those bookings touch (`None` removes it).
    pub cadences: Vec<(Category, Option<CategoryCadence>)>,
}

/// Merges a batch of bookings of `client` into the client's stored ones, as applying them one
/// by one would, and folds the touched categories once. Bookings of other clients are ignored
/// (they have no outcome).
pub fn merge(
    client: &ClientId,
    stored: &[Booking],
    incoming: &[Booking],
    timezone: &TimeZoneName,
) -> Merged {
    let mut current: Vec<Booking> = stored.to_vec();
    let incoming = incoming.iter().filter(|b| b.client_id == *client);
    let mut outcomes = Vec::new();
    let mut written: Vec<usize> = Vec::new();
    let mut touched: Vec<Category> = Vec::new();
    for booking in incoming {
        let index = current.iter().position(|b| b.id == booking.id);
        let previous = index.map(|i| &current[i]);
        let outcome = match booking.compare_with(previous) {
            VersionOrder::New => BookingOutcome::Created,
            VersionOrder::Newer => BookingOutcome::Updated,
            VersionOrder::Duplicate => BookingOutcome::Duplicate,
            VersionOrder::Stale => BookingOutcome::Stale,
            VersionOrder::Conflicting => BookingOutcome::Conflicting,
        };
        outcomes.push(outcome);
        if !matches!(outcome, BookingOutcome::Created | BookingOutcome::Updated) {
            continue;
        }
        for category in touched_categories(previous, booking) {
            if !touched.contains(&category) {
                touched.push(category);
            }
        }
        let i = match index {
            Some(i) => {
                current[i] = booking.clone();
                i
            }
            None => {
                current.push(booking.clone());
                current.len() - 1
            }
        };
        if !written.contains(&i) {
            written.push(i);
        }
    }
    let cadences = touched
        .into_iter()
        .map(|category| {
            let cadence = CategoryCadence::from_bookings(&category, &current, timezone);
            (category, cadence)
        })
        .collect();
    Merged {
        outcomes,
        bookings: written.into_iter().map(|i| current[i].clone()).collect(),
        cadences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::booking::{BookingStatus, ServiceLine};
    use crate::domain::ids::{BookingId, ClientId};

    fn booking(id: &str, day: u32, status: BookingStatus, version: u32) -> Booking {
        Booking {
            id: BookingId::parse(id).unwrap(),
            client_id: ClientId::parse("c1").unwrap(),
            status,
            starts_at: format!("2026-03-{day:02}T10:00:00Z").parse().unwrap(),
            updated_at: format!("2026-04-01T10:00:{version:02}Z").parse().unwrap(),
            location_id: None,
            staff: None,
            offer_code: None,
            services: vec![ServiceLine {
                category: Category::parse("hair").unwrap(),
                name: None,
                price_minor: 4000,
            }],
        }
    }

    fn hair() -> Category {
        Category::parse("hair").unwrap()
    }

    /// Applies bookings one at a time the way a store does, and returns the hair cadence.
    fn apply_all(bookings: &[Booking]) -> Option<CategoryCadence> {
        let tz = TimeZoneName::utc();
        let mut stored: Vec<Booking> = Vec::new();
        let mut cadence: Option<CategoryCadence> = None;
        for incoming in bookings {
            let previous = stored.iter().find(|b| b.id == incoming.id).cloned();
            let current = cadence.clone();
            let planned = plan(previous.as_ref(), incoming, |_| current.clone(), &tz);
            let changes = planned
                .complete(|| Ok::<_, std::convert::Infallible>(stored.clone()))
                .unwrap();
            if changes.write_booking {
                stored.retain(|b| b.id != incoming.id);
                stored.push(incoming.clone());
            }
            for (_, new) in changes.cadences {
                cadence = new;
            }
        }
        cadence
    }

    #[test]
    fn bookings_out_of_order_twice_or_cancelled_leave_the_cadence_of_a_clean_history() {
        use BookingStatus::*;
        let clean = apply_all(&[
            booking("a", 1, Completed, 1),
            booking("c", 29, Completed, 1),
        ]);
        let messy = apply_all(&[
            booking("c", 29, Completed, 1),
            booking("b", 15, Completed, 1),
            booking("a", 1, Completed, 1),
            booking("a", 1, Completed, 1),
            booking("b", 15, Cancelled, 2),
            booking("b", 15, Completed, 1),
        ]);
        assert_eq!(messy, clean);
        assert_eq!(clean.unwrap().visits, 2);
    }

    #[test]
    fn a_rescheduled_visit_moves_and_a_cancelled_only_visit_removes_the_cadence() {
        use BookingStatus::*;
        let moved = apply_all(&[booking("a", 1, Completed, 1), booking("a", 9, Completed, 2)]);
        assert_eq!(moved.unwrap().last_visit.to_string(), "2026-03-09");
        let gone = apply_all(&[booking("a", 1, Completed, 1), booking("a", 1, Cancelled, 2)]);
        assert_eq!(gone, None);
    }

    #[test]
    fn merging_a_batch_equals_applying_it_booking_by_booking() {
        use BookingStatus::*;
        let tz = TimeZoneName::utc();
        let batch = [
            booking("c", 29, Completed, 1),
            booking("a", 1, Completed, 1),
            booking("b", 15, Completed, 1),
            booking("b", 15, Cancelled, 2),
            booking("a", 1, Completed, 1),
        ];
        let merged = merge(&ClientId::parse("c1").unwrap(), &[], &batch, &tz);
        assert_eq!(merged.cadences[0].1, apply_all(&batch));
        assert_eq!(merged.bookings.len(), 3);
        use BookingOutcome::*;
        assert_eq!(
            merged.outcomes,
            [Created, Created, Created, Updated, Duplicate]
        );
    }

    #[test]
    fn bookings_of_another_client_in_a_batch_are_ignored() {
        let tz = TimeZoneName::utc();
        let mine = booking("a", 1, BookingStatus::Completed, 1);
        let theirs = Booking {
            client_id: ClientId::parse("c2").unwrap(),
            ..booking("b", 9, BookingStatus::Completed, 1)
        };
        let merged = merge(&ClientId::parse("c1").unwrap(), &[], &[theirs, mine], &tz);
        assert_eq!(merged.outcomes, [BookingOutcome::Created]);
        assert_eq!(merged.bookings.len(), 1);
        assert_eq!(merged.cadences[0].1.as_ref().unwrap().visits, 1);
    }

    #[test]
    fn an_earlier_visit_is_folded_again_from_the_clients_own_history_only() {
        let tz = TimeZoneName::utc();
        let later = booking("b", 20, BookingStatus::Completed, 1);
        let cadence = CategoryCadence::from_bookings(&hair(), [&later], &tz);
        let earlier = booking("a", 1, BookingStatus::Completed, 1);
        let Planned::NeedsHistory(refold) = plan(None, &earlier, |_| cadence.clone(), &tz) else {
            panic!("a visit before the last one needs the history")
        };
        let stranger = Booking {
            client_id: ClientId::parse("c2").unwrap(),
            ..booking("x", 10, BookingStatus::Completed, 1)
        };
        let changes = refold.with_history(&[later.clone(), stranger]);
        assert_eq!(changes.outcome, BookingOutcome::Created);
        assert_eq!(changes.cadences[0].1.as_ref().unwrap().visits, 2);
    }

    #[test]
    fn a_new_visit_after_the_last_needs_no_history() {
        let tz = TimeZoneName::utc();
        let first = booking("a", 1, BookingStatus::Completed, 1);
        let cadence = CategoryCadence::from_bookings(&hair(), [&first], &tz);
        let second = booking("b", 20, BookingStatus::Completed, 1);
        let Planned::Ready(changes) = plan(None, &second, |_| cadence.clone(), &tz) else {
            panic!("an in-order visit needs no history")
        };
        assert_eq!(changes.outcome, BookingOutcome::Created);
        assert_eq!(changes.cadences[0].1.as_ref().unwrap().visits, 2);
    }

    #[test]
    fn same_version_with_other_content_is_a_conflict_and_changes_nothing() {
        let tz = TimeZoneName::utc();
        let stored = booking("a", 1, BookingStatus::Completed, 1);
        let other = booking("a", 2, BookingStatus::Completed, 1);
        let Planned::Ready(changes) = plan(Some(&stored), &other, |_| None, &tz) else {
            panic!()
        };
        assert_eq!(changes.outcome, BookingOutcome::Conflicting);
        assert!(!changes.write_booking && changes.cadences.is_empty());
    }
}
