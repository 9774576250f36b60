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
    recent_len: u8,
    /// Ascending; only `recent[..recent_len]` is meaningful.
    recent: [Day; RECENT_VISITS],
    /// The last day recorded that was older than every recent day. Exports sorted newest
    /// first deliver such days in runs, and this recognises a visit's second service line.
    last_older: Option<Day>,
}

/// Whether a recorded day was a new visit or another line of a visit already counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    NewVisit,
    SameVisit,
}

impl VisitDays {
    pub fn new(day: Day) -> VisitDays {
        let mut recent = [day; RECENT_VISITS];
        recent[0] = day;
        VisitDays { first: day, last: day, count: 1, recent_len: 1, recent, last_older: None }
    }

    pub fn record(&mut self, day: Day) -> Recorded {
        let len = usize::from(self.recent_len);
        let recent = &self.recent[..len];
        match recent.binary_search(&day) {
            Ok(_) => Recorded::SameVisit,
            Err(0) if len == RECENT_VISITS => {
                // Older than every day kept: count it, remember only the range it widens.
                if self.last_older == Some(day) || day == self.first {
                    return Recorded::SameVisit;
                }
                self.last_older = Some(day);
                self.count += 1;
                self.first = self.first.min(day);
                Recorded::NewVisit
            }
            Err(at) => {
                if len == RECENT_VISITS {
                    // Drop the oldest kept day to make room; it stays counted.
                    self.recent.copy_within(1..at, 0);
                    self.recent[at - 1] = day;
                } else {
                    self.recent.copy_within(at..len, at + 1);
                    self.recent[at] = day;
                    self.recent_len += 1;
                }
                self.count += 1;
                self.first = self.first.min(day);
                self.last = self.last.max(day);
                Recorded::NewVisit
            }
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
    pub fn recent(&self) -> &[Day] {
        &self.recent[..usize::from(self.recent_len)]
    }

    /// Gaps in days between consecutive recent visits, oldest first.
    pub fn recent_gaps(&self) -> impl Iterator<Item = i32> + '_ {
        self.recent().windows(2).map(|w| w[1].days_since(w[0]))
    }

    /// The mean gap over the whole history: (last − first) / (visits − 1).
    pub fn mean_interval(&self) -> Option<f64> {
        (self.count > 1).then(|| f64::from(self.last.days_since(self.first)) / f64::from(self.count - 1))
    }
}

/// A service or staff name, interned by whoever keeps the summaries: summaries hold the handle,
/// the holder resolves it to text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(pub u32);

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
        if line.service.is_some() && (last.service.is_none() || line.price_minor > last.service_price_minor) {
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
        VisitLine { day: day(offset), price_minor: price, service: None, staff: None, rating: None }
    }

    #[test]
    fn rows_in_any_order_give_the_same_summary() {
        let offsets = [0, 30, 58, 91, 120, 150, 178, 210, 240, 271, 300, 330, 361, 390, 420];
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
            assert_eq!(summary.days.recent().len(), RECENT_VISITS);
        }
        assert_eq!(forward.days.recent(), backward.days.recent());
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
        let (cut, blow_dry) = (Label(1), Label(2));
        let mut cadence = Cadence::new(line(0, 10));
        cadence.record(VisitLine { day: day(30), price_minor: 2000, service: Some(blow_dry), staff: None, rating: Some(Rating(4.0)) });
        cadence.record(VisitLine { day: day(30), price_minor: 4500, service: Some(cut), staff: None, rating: Some(Rating(2.0)) });
        assert_eq!(cadence.last_visit.service, Some(cut));
        assert_eq!(cadence.last_visit.service_price_minor, 4500);
        assert_eq!(cadence.last_visit.rating, Some(Rating(2.0)));
        assert_eq!(cadence.days.count(), 2);
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
