//! What a new version of a booking changes in a client's cadences.
//!
//! Stores call [`plan`] with what they read (the stored version of the booking and the
//! client's cadences in the categories it touches) and write what it returns, conditionally on
//! nothing having changed in between. Most bookings extend a cadence in place; a booking that
//! changes an earlier one, or a visit older than the last, needs the client's other bookings
//! ([`Planned::NeedsHistory`]), and then the categories are folded again from them.

use crate::domain::booking::{Booking, VersionOrder};
use crate::domain::category_cadence::CategoryCadence;
use crate::domain::ids::Category;
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

#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    Ready(Changes),
    /// The client's other bookings are needed: call [`plan`] again with them.
    NeedsHistory,
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

/// Plans the writes for `incoming`, given the `stored` version of the booking, the current
/// cadences of the touched categories, and, when asked for, the client's other bookings.
pub fn plan(
    stored: Option<&Booking>,
    incoming: &Booking,
    cadence_of: impl Fn(&Category) -> Option<CategoryCadence>,
    others: Option<&[Booking]>,
    timezone: &TimeZoneName,
) -> Planned {
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
                    Err(_) => return refold(incoming, others, timezone, outcome, stored),
                }
            }
            cadences.push((category.clone(), cadence));
        }
    } else {
        // A visit changed (cancelled, rescheduled, re-priced): only the history can say.
        return refold(incoming, others, timezone, outcome, stored);
    }
    Planned::Ready(Changes {
        outcome,
        write_booking: true,
        cadences,
    })
}

fn refold(
    incoming: &Booking,
    others: Option<&[Booking]>,
    timezone: &TimeZoneName,
    outcome: BookingOutcome,
    stored: Option<&Booking>,
) -> Planned {
    let Some(others) = others else {
        return Planned::NeedsHistory;
    };
    let others: Vec<&Booking> = others
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
    Planned::Ready(Changes {
        outcome,
        write_booking: true,
        cadences,
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

/// Merges a batch of one client's bookings into the client's stored ones, as applying them one
/// by one would, and folds the touched categories once.
pub fn merge(stored: &[Booking], incoming: &[Booking], timezone: &TimeZoneName) -> Merged {
    let mut current: Vec<Booking> = stored.to_vec();
    let mut outcomes = Vec::with_capacity(incoming.len());
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
            let mut planned = plan(previous.as_ref(), incoming, |_| current.clone(), None, &tz);
            if planned == Planned::NeedsHistory {
                planned = plan(
                    previous.as_ref(),
                    incoming,
                    |_| current.clone(),
                    Some(&stored),
                    &tz,
                );
            }
            let Planned::Ready(changes) = planned else {
                panic!("history was given")
            };
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
        let merged = merge(&[], &batch, &tz);
        assert_eq!(merged.cadences[0].1, apply_all(&batch));
        assert_eq!(merged.bookings.len(), 3);
        use BookingOutcome::*;
        assert_eq!(
            merged.outcomes,
            [Created, Created, Created, Updated, Duplicate]
        );
    }

    #[test]
    fn a_new_visit_after_the_last_needs_no_history() {
        let tz = TimeZoneName::utc();
        let first = booking("a", 1, BookingStatus::Completed, 1);
        let cadence = CategoryCadence::from_bookings(&hair(), [&first], &tz);
        let second = booking("b", 20, BookingStatus::Completed, 1);
        let Planned::Ready(changes) = plan(None, &second, |_| cadence.clone(), None, &tz) else {
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
        let Planned::Ready(changes) = plan(Some(&stored), &other, |_| None, None, &tz) else {
            panic!()
        };
        assert_eq!(changes.outcome, BookingOutcome::Conflicting);
        assert!(!changes.write_booking && changes.cadences.is_empty());
    }
}
