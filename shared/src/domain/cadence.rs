//! A client's visit history in one category, kept as a small summary that is updated one
//! booking line at a time, so reading an export (or, later, ingesting a booking) never needs the
//! whole history again.
//!
//! The summary keeps the first and last visit, the visit count and spend, the most recent
//! [`RECENT_VISITS`] visit days (enough for a robust personal rhythm), and the details of the
//! latest visit (service, price, staff, rating) that churn signals and messages need. Lines may
//! arrive in any order and a visit's several service lines may arrive apart: a day already
//! among the recent days is the same visit, not a new one.

use crate::domain::booking::Rating;
use crate::domain::day::Day;

/// How many recent visit days a summary keeps: 11 gaps are plenty for a personal rhythm, and
/// the oldest visits say least about how a client books today.
pub const RECENT_VISITS: usize = 12;

/// Distinct visit days: first, last, count and the most recent ones.
#[derive(Debug, Clone)]
pub struct VisitDays {
    first: Day,
    last: Day,
    count: u32,
    /// The recent days are `base` plus these offsets, ascending: half the size of whole days,
    /// and 65,535 days span any real history.
    base: Day,
    offsets: [u16; RECENT_VISITS],
    recent_len: u8,
    /// The last day recorded that was older than every recent day (`i32::MIN` for none).
    /// Exports sorted newest first deliver such days in runs, and this recognises a visit's
    /// second service line.
    last_older: i32,
}

/// Whether a recorded day was a new visit or another line of a visit already counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    NewVisit,
    SameVisit,
}

impl VisitDays {
    /// No visit yet.
    pub const EMPTY: VisitDays = VisitDays {
        first: Day::EPOCH,
        last: Day::EPOCH,
        count: 0,
        base: Day::EPOCH,
        offsets: [0; RECENT_VISITS],
        recent_len: 0,
        last_older: i32::MIN,
    };

    pub fn new(day: Day) -> VisitDays {
        let mut days = VisitDays::EMPTY;
        days.record(day);
        days
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn record(&mut self, day: Day) -> Recorded {
        if self.count == 0 {
            *self = VisitDays {
                first: day,
                last: day,
                count: 1,
                base: day,
                recent_len: 1,
                ..VisitDays::EMPTY
            };
            return Recorded::NewVisit;
        }
        let len = usize::from(self.recent_len);
        // A day later than every other, as an export in date order (or a client's bookings in
        // order) gives: it goes at the end, with no search.
        if day > self.last
            && let Ok(offset) = u16::try_from(day.days_since(self.base))
        {
            if len == RECENT_VISITS {
                self.offsets.copy_within(1..len, 0);
                self.offsets[len - 1] = offset;
                self.rebase();
            } else {
                self.offsets[len] = offset;
                self.recent_len += 1;
            }
            self.count += 1;
            self.last = day;
            return Recorded::NewVisit;
        }
        let position = if day < self.base {
            Err(0)
        } else {
            match u16::try_from(day.days_since(self.base)) {
                Ok(offset) => self.offsets[..len].binary_search(&offset),
                // Further than any real history from the rest: counted, not kept.
                Err(_) => Err(0),
            }
        };
        match position {
            Ok(_) => Recorded::SameVisit,
            Err(0) if len == RECENT_VISITS || day.days_since(self.base) > i32::from(u16::MAX) => {
                // Older than every day kept: count it, remember only the range it widens.
                if self.last_older == day.days_since(Day::EPOCH) || day == self.first {
                    return Recorded::SameVisit;
                }
                self.last_older = day.days_since(Day::EPOCH);
                self.count += 1;
                self.first = self.first.min(day);
                self.last = self.last.max(day);
                Recorded::NewVisit
            }
            Err(at) => {
                if at == 0 {
                    // A new oldest recent day: it becomes the base.
                    let shift = self.base.days_since(day);
                    let newest = i32::from(self.offsets[len - 1]) + shift;
                    if newest > i32::from(u16::MAX) {
                        self.count += 1;
                        self.first = self.first.min(day);
                        return Recorded::NewVisit;
                    }
                    for offset in &mut self.offsets[..len] {
                        *offset += shift as u16;
                    }
                    self.base = day;
                }
                let offset = day.days_since(self.base) as u16;
                if len == RECENT_VISITS {
                    // Drop the oldest kept day to make room; it stays counted.
                    self.offsets.copy_within(1..at, 0);
                    self.offsets[at - 1] = offset;
                    self.rebase();
                } else {
                    self.offsets.copy_within(at..len, at + 1);
                    self.offsets[at] = offset;
                    self.recent_len += 1;
                }
                self.count += 1;
                self.first = self.first.min(day);
                self.last = self.last.max(day);
                Recorded::NewVisit
            }
        }
    }

    /// Moves the base up to the oldest kept day, so offsets stay small.
    fn rebase(&mut self) {
        let len = usize::from(self.recent_len);
        let lowest = self.offsets[0];
        if lowest > 0 {
            for offset in &mut self.offsets[..len] {
                *offset -= lowest;
            }
            self.base = self.base.plus_days(i32::from(lowest));
        }
    }

    pub fn first(&self) -> Day {
        self.first
    }

    pub fn last(&self) -> Day {
        self.last
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// The most recent visit days, oldest first.
    pub fn recent(&self) -> impl Iterator<Item = Day> + '_ {
        self.offsets[..usize::from(self.recent_len)]
            .iter()
            .map(|&o| self.base.plus_days(i32::from(o)))
    }

    /// How many recent days are kept.
    pub fn recent_len(&self) -> usize {
        usize::from(self.recent_len)
    }

    /// Gaps in days between consecutive recent visits, oldest first.
    pub fn recent_gaps(&self) -> impl Iterator<Item = i32> + '_ {
        self.offsets[..usize::from(self.recent_len)]
            .windows(2)
            .map(|w| i32::from(w[1]) - i32::from(w[0]))
    }

    /// The mean gap over the whole history: (last − first) / (visits − 1).
    pub fn mean_interval(&self) -> Option<f64> {
        (self.count > 1)
            .then(|| f64::from(self.last.days_since(self.first)) / f64::from(self.count - 1))
    }
}

/// A service or staff name, interned by whoever keeps the summaries: summaries hold the handle,
/// the holder resolves it to text. Never zero inside, so an `Option<Label>` takes four bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(std::num::NonZeroU32);

impl Label {
    pub fn new(index: u32) -> Label {
        Label(
            std::num::NonZeroU32::new(index.wrapping_add(1)).expect("fewer than 4 billion labels"),
        )
    }

    pub fn index(self) -> u32 {
        self.0.get() - 1
    }
}

/// The details of the latest visit in a category.
#[derive(Debug, Clone, Default)]
pub struct LastVisit {
    /// The visit's main service: the highest-priced line of that day in this category.
    pub service: Option<Label>,
    /// What the client paid for that service, in minor units.
    pub service_price_minor: i64,
    pub staff: Option<Label>,
    /// The lowest rating given for that day, if any.
    pub rating: Option<Rating>,
}

/// One completed service line, as the summary needs it.
#[derive(Debug, Clone, Copy)]
pub struct VisitLine {
    pub day: Day,
    pub price_minor: i64,
    pub service: Option<Label>,
    pub staff: Option<Label>,
    pub rating: Option<Rating>,
}

/// A client's cadence in one category: visit days, spend, and the latest visit.
#[derive(Debug, Clone)]
pub struct Cadence {
    pub days: VisitDays,
    pub spend_minor: i64,
    pub last_visit: LastVisit,
}

impl Cadence {
    /// No visit yet (a category in which a client only holds a future booking, say).
    pub const EMPTY: Cadence = Cadence {
        days: VisitDays::EMPTY,
        spend_minor: 0,
        last_visit: LastVisit {
            service: None,
            service_price_minor: 0,
            staff: None,
            rating: None,
        },
    };

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    pub fn new(line: VisitLine) -> Cadence {
        let mut cadence = Cadence {
            days: VisitDays::new(line.day),
            spend_minor: 0,
            last_visit: LastVisit::default(),
        };
        cadence.take_details(line);
        cadence
    }

    pub fn record(&mut self, line: VisitLine) -> Recorded {
        if self.is_empty() {
            *self = Cadence::new(line);
            return Recorded::NewVisit;
        }
        let previous_last = self.days.last();
        let recorded = self.days.record(line.day);
        if line.day > previous_last {
            self.take_details(line);
        } else {
            self.spend_minor += line.price_minor;
            if line.day == previous_last {
                self.take_details_of_same_day(line);
            }
        }
        recorded
    }

    /// Adds the spend of a line that is now the latest visit, and takes its details.
    fn take_details(&mut self, line: VisitLine) {
        self.spend_minor += line.price_minor;
        self.last_visit = LastVisit {
            service: line.service,
            service_price_minor: line.price_minor,
            staff: line.staff,
            rating: line.rating,
        };
    }

    fn take_details_of_same_day(&mut self, line: VisitLine) {
        let last = &mut self.last_visit;
        if line.service.is_some()
            && (last.service.is_none() || line.price_minor > last.service_price_minor)
        {
            last.service = line.service;
            last.service_price_minor = line.price_minor;
        }
        if last.staff.is_none() {
            last.staff = line.staff;
        }
        last.rating = match (last.rating, line.rating) {
            (Some(a), Some(b)) => Some(if b < a { b } else { a }),
            (a, b) => a.or(b),
        };
    }

    /// Average spend per visit, in minor units.
    pub fn average_ticket_minor(&self) -> i64 {
        self.spend_minor / i64::from(self.days.count().max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn day(offset: i32) -> Day {
        Day::from(date(2025, 1, 1)).plus_days(offset)
    }

    fn line(offset: i32, price: i64) -> VisitLine {
        VisitLine {
            day: day(offset),
            price_minor: price,
            service: None,
            staff: None,
            rating: None,
        }
    }

    #[test]
    fn rows_in_any_order_give_the_same_summary() {
        let offsets = [
            0, 30, 58, 91, 120, 150, 178, 210, 240, 271, 300, 330, 361, 390, 420,
        ];
        let mut forward = Cadence::new(line(offsets[0], 100));
        for &o in &offsets[1..] {
            forward.record(line(o, 100));
        }
        let mut backward = Cadence::new(line(*offsets.last().unwrap(), 100));
        for &o in offsets.iter().rev().skip(1) {
            backward.record(line(o, 100));
        }
        for summary in [&forward, &backward] {
            assert_eq!(summary.days.count(), 15);
            assert_eq!(summary.days.first(), day(0));
            assert_eq!(summary.days.last(), day(420));
            assert_eq!(summary.spend_minor, 1500);
            assert_eq!(summary.days.recent_len(), RECENT_VISITS);
        }
        assert!(forward.days.recent().eq(backward.days.recent()));
    }

    #[test]
    fn a_multi_line_visit_counts_once_even_in_a_newest_first_export() {
        let mut cadence = Cadence::new(line(400, 50));
        for o in (0..15).rev() {
            cadence.record(line(o * 28, 50));
            cadence.record(line(o * 28, 20)); // a second service of the same visit
        }
        assert_eq!(cadence.days.count(), 16);
        assert_eq!(cadence.spend_minor, 50 + 15 * 70);
    }

    #[test]
    fn the_latest_visit_keeps_its_main_service_and_lowest_rating() {
        let (cut, blow_dry) = (Label::new(1), Label::new(2));
        let mut cadence = Cadence::new(line(0, 10));
        cadence.record(VisitLine {
            day: day(30),
            price_minor: 2000,
            service: Some(blow_dry),
            staff: None,
            rating: Rating::new(4.0),
        });
        cadence.record(VisitLine {
            day: day(30),
            price_minor: 4500,
            service: Some(cut),
            staff: None,
            rating: Rating::new(2.0),
        });
        assert_eq!(cadence.last_visit.service, Some(cut));
        assert_eq!(cadence.last_visit.service_price_minor, 4500);
        assert_eq!(cadence.last_visit.rating, Rating::new(2.0));
        assert_eq!(cadence.days.count(), 2);
    }

    #[test]
    fn recent_days_far_apart_and_in_any_order_are_kept_exactly() {
        let days = [400, 0, 20_000, 35, 19_990, 7, 365];
        let mut visits = VisitDays::new(day(days[0]));
        for &d in &days[1..] {
            visits.record(day(d));
        }
        let mut sorted = days.to_vec();
        sorted.sort();
        assert!(visits.recent().eq(sorted.iter().map(|&d| day(d))));
        assert_eq!(visits.count(), 7);
        assert_eq!(visits.last(), day(20_000));
    }

    #[test]
    fn days_in_date_order_with_repeats_match_days_in_any_order() {
        let days = [
            3, 3, 10, 41, 41, 41, 70, 99, 130, 160, 161, 200, 230, 230, 262, 300,
        ];
        let mut in_order = VisitDays::EMPTY;
        let new_visits = days
            .iter()
            .filter(|&&d| in_order.record(day(d)) == Recorded::NewVisit)
            .count();
        let mut shuffled = VisitDays::EMPTY;
        for i in [5, 0, 9, 2, 14, 7, 11, 1, 15, 4, 13, 8, 3, 12, 6, 10] {
            shuffled.record(day(days[i]));
        }
        assert_eq!(new_visits, 12);
        assert_eq!(in_order.count(), 12);
        assert_eq!((in_order.first(), in_order.last()), (day(3), day(300)));
        assert!(in_order.recent().eq(shuffled.recent()));
        assert_eq!(shuffled.count(), 12);
    }

    #[test]
    fn mean_interval_spans_the_whole_history() {
        let mut cadence = Cadence::new(line(0, 0));
        cadence.record(line(20, 0));
        cadence.record(line(60, 0));
        assert_eq!(cadence.days.mean_interval(), Some(30.0));
        assert_eq!(cadence.days.recent_gaps().collect::<Vec<_>>(), vec![20, 40]);
    }
}
