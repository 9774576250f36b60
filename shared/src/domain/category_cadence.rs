//! A client's stored cadence in one category: the aggregate that ingesting a booking keeps up
//! to date, so that detection never reads a client's history again.
//!
//! The aggregate is a fold of the client's completed visits in the category, in day order.
//! A visit on or after the last one extends it ([`CategoryCadence::add`]); anything else (a
//! visit that arrives out of order, a booking that is cancelled after completion, rescheduled or
//! re-priced) is answered by folding the client's bookings again ([`CategoryCadence::fold`]), so
//! the aggregate is always exactly what a clean history would have given. The rules for two
//! visits on one day are order-free (the highest-priced service is the visit's service) so
//! both paths agree.
//!
//! The aggregate also says when it next needs looking at ([`CategoryCadence::watch`]): the
//! day its client enters the next stage. Stores index cadences by that day, which is what makes
//! "who became due today" cost what is due, not what is stored.

use std::cmp::Reverse;

use crate::domain::booking::Booking;
use crate::domain::cadence::RECENT_VISITS;
use crate::domain::config::BusinessConfig;
use crate::domain::day::Day;
use crate::domain::ids::Category;
use crate::domain::rhythm::{GapStats, PriorBuilder, Rhythm, rhythm};
use crate::domain::stage::{Stage, StageThresholds};
use crate::domain::time_zone::TimeZoneName;

/// One completed service of a visit in the category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit<'a> {
    pub day: Day,
    pub price_minor: i64,
    pub service: Option<&'a str>,
    pub staff: Option<&'a str>,
}

impl Visit<'_> {
    /// Which of two services of one day names the visit: the dearer, then a named one, then
    /// the first by name; so the answer does not depend on which arrived first.
    fn rank(&self) -> impl Ord + '_ {
        (
            self.price_minor,
            self.service.is_some(),
            Reverse(self.service),
            Reverse(self.staff),
        )
    }
}

/// The stored summary of a client's visits in one category.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CategoryCadence {
    pub category: Category,
    /// Distinct visit days.
    pub visits: u32,
    pub first_visit: Day,
    pub last_visit: Day,
    /// The most recent visit days, ascending, at most [`RECENT_VISITS`].
    pub recent: Vec<Day>,
    pub spend_minor: i64,
    /// The last visit's main service, its price and its staff member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_service: Option<String>,
    pub last_service_price_minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_staff: Option<String>,
}

/// A visit older than the cadence's last one: the cadence must be folded again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfOrder;

/// When a cadence next needs looking at: the day its client enters `stage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Watch {
    pub on: Day,
    pub stage: Stage,
}

impl CategoryCadence {
    fn first(category: Category, visit: Visit<'_>) -> CategoryCadence {
        CategoryCadence {
            category,
            visits: 1,
            first_visit: visit.day,
            last_visit: visit.day,
            recent: vec![visit.day],
            spend_minor: visit.price_minor,
            last_service: visit.service.map(str::to_owned),
            last_service_price_minor: visit.price_minor,
            last_staff: visit.staff.map(str::to_owned),
        }
    }

    /// Extends the cadence with a visit on or after its last one.
    pub fn add(&mut self, visit: Visit<'_>) -> Result<(), OutOfOrder> {
        if visit.day < self.last_visit {
            return Err(OutOfOrder);
        }
        self.spend_minor += visit.price_minor;
        let takes_details = if visit.day > self.last_visit {
            self.visits += 1;
            self.last_visit = visit.day;
            if self.recent.len() == RECENT_VISITS {
                self.recent.remove(0);
            }
            self.recent.push(visit.day);
            true
        } else {
            let current = Visit {
                day: self.last_visit,
                price_minor: self.last_service_price_minor,
                service: self.last_service.as_deref(),
                staff: self.last_staff.as_deref(),
            };
            visit.rank() > current.rank()
        };
        if takes_details {
            self.last_service = visit.service.map(str::to_owned);
            self.last_service_price_minor = visit.price_minor;
            self.last_staff = visit.staff.map(str::to_owned);
        }
        Ok(())
    }

    /// The cadence of a category from every visit in it, in any order; `None` without visits.
    pub fn fold<'a>(
        category: &Category,
        visits: impl IntoIterator<Item = Visit<'a>>,
    ) -> Option<CategoryCadence> {
        let mut visits: Vec<Visit<'a>> = visits.into_iter().collect();
        visits.sort_by_key(|v| v.day);
        let mut visits = visits.into_iter();
        let mut cadence = CategoryCadence::first(category.clone(), visits.next()?);
        for visit in visits {
            cadence.add(visit).expect("visits are sorted by day");
        }
        Some(cadence)
    }

    /// Extends `cadence` (or starts one) with a visit, when that can be done without history.
    pub fn extend(
        cadence: Option<CategoryCadence>,
        category: &Category,
        visit: Visit<'_>,
    ) -> Result<CategoryCadence, OutOfOrder> {
        match cadence {
            None => Ok(CategoryCadence::first(category.clone(), visit)),
            Some(mut cadence) => cadence.add(visit).map(|()| cadence),
        }
    }

    /// The visits a booking makes in a category: none unless it was completed.
    pub fn visits_of<'a>(
        booking: &'a Booking,
        category: &'a Category,
        timezone: &TimeZoneName,
    ) -> impl Iterator<Item = Visit<'a>> + 'a {
        let day = booking.day(timezone);
        let visit = booking.is_visit();
        booking
            .services
            .iter()
            .filter(move |line| visit && &line.category == category)
            .map(move |line| Visit {
                day,
                price_minor: line.price_minor,
                service: line.name.as_deref(),
                staff: booking.staff.as_deref(),
            })
    }

    /// The cadence of a category from a client's bookings (each at its latest version).
    pub fn from_bookings<'a>(
        category: &'a Category,
        bookings: impl IntoIterator<Item = &'a Booking>,
        timezone: &TimeZoneName,
    ) -> Option<CategoryCadence> {
        CategoryCadence::fold(
            category,
            bookings
                .into_iter()
                .flat_map(|booking| CategoryCadence::visits_of(booking, category, timezone)),
        )
    }

    /// The client's rhythm in this category, against the business's configured or industry
    /// prior (a store has no population at hand to learn one from).
    pub fn rhythm(&self, config: &BusinessConfig) -> Rhythm {
        let prior = PriorBuilder::default().fit(
            config.default_interval_for(&self.category),
            config.industry,
            &config.rhythm,
        );
        let gaps = self.recent.windows(2).map(|w| w[1].days_since(w[0]));
        let stats = GapStats::from_gaps(gaps);
        rhythm(stats.as_ref(), self.visits, &prior, &config.rhythm)
    }

    pub fn thresholds(&self, config: &BusinessConfig) -> StageThresholds {
        StageThresholds::new(&self.rhythm(config), &config.stages)
    }

    /// The stage on `today`.
    pub fn stage(&self, today: Day, has_future_booking: bool, config: &BusinessConfig) -> Stage {
        self.stage_under(&self.thresholds(config), today, has_future_booking, config)
    }

    /// The stage on `today`, under thresholds the caller already worked out.
    pub fn stage_under(
        &self,
        thresholds: &StageThresholds,
        today: Day,
        has_future_booking: bool,
        config: &BusinessConfig,
    ) -> Stage {
        let since = f64::from(today.days_since(self.last_visit));
        thresholds.stage(since, has_future_booking, &config.stages)
    }

    /// When the cadence next needs looking at, seen from `today` (the day it was written): a
    /// client already past active is watched today, so nobody overdue goes unseen; otherwise
    /// on the day they become due. `None` once lost: nothing more will happen by itself.
    pub fn watch(&self, today: Day, config: &BusinessConfig) -> Option<Watch> {
        let thresholds = self.thresholds(config);
        let current = self.stage_under(&thresholds, today, false, config);
        if current == Stage::Lost {
            return None;
        }
        if current != Stage::Active {
            return Some(Watch {
                on: today,
                stage: current,
            });
        }
        self.next_watch_under(&thresholds, today.plus_days(-1), config)
    }

    /// The first stage the client enters after `day`, and when.
    pub fn next_watch_after(&self, day: Day, config: &BusinessConfig) -> Option<Watch> {
        self.next_watch_under(&self.thresholds(config), day, config)
    }

    /// The same, under thresholds the caller already worked out.
    pub fn next_watch_under(
        &self,
        thresholds: &StageThresholds,
        day: Day,
        config: &BusinessConfig,
    ) -> Option<Watch> {
        let max_age = f64::from(config.stages.max_age_days) + 1.0;
        Stage::ALL[1..]
            .iter()
            .map(|&stage| {
                let start = thresholds.start_of(stage);
                let start = if stage == Stage::Lost {
                    start.min(max_age)
                } else {
                    start
                };
                (stage, self.last_visit.plus_days(start.ceil() as i32))
            })
            .find(|&(_, on)| on > day)
            .map(|(stage, on)| Watch { on, stage })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn day(offset: i32) -> Day {
        Day::from(date(2026, 1, 1)).plus_days(offset)
    }

    fn visit(offset: i32, price: i64, service: &'static str) -> Visit<'static> {
        Visit {
            day: day(offset),
            price_minor: price,
            service: Some(service),
            staff: None,
        }
    }

    fn hair() -> Category {
        Category::parse("hair").unwrap()
    }

    #[test]
    fn visits_in_any_order_fold_to_the_same_cadence() {
        let visits = [
            visit(0, 4000, "Cut"),
            visit(35, 4000, "Cut"),
            visit(35, 9000, "Colour"),
            visit(70, 4500, "Cut"),
            visit(140, 4500, "Cut"),
        ];
        let forward = CategoryCadence::fold(&hair(), visits).unwrap();
        let mut reversed = visits;
        reversed.reverse();
        let backward = CategoryCadence::fold(&hair(), reversed).unwrap();
        assert_eq!(forward, backward);
        assert_eq!(forward.visits, 4);
        assert_eq!(forward.spend_minor, 26_000);
        assert_eq!(forward.recent, vec![day(0), day(35), day(70), day(140)]);
    }

    #[test]
    fn adding_in_order_equals_folding_and_an_older_visit_is_refused() {
        let visits = [
            visit(0, 4000, "Cut"),
            visit(30, 4000, "Cut"),
            visit(30, 9000, "Colour"),
        ];
        let mut cadence = None;
        for v in visits.iter().rev().skip(1).rev().chain([&visits[2]]) {
            cadence = Some(CategoryCadence::extend(cadence, &hair(), *v).unwrap());
        }
        let cadence = cadence.unwrap();
        assert_eq!(cadence, CategoryCadence::fold(&hair(), visits).unwrap());
        assert_eq!(cadence.last_service.as_deref(), Some("Colour"));
        assert_eq!(
            CategoryCadence::extend(Some(cadence), &hair(), visit(10, 1, "Cut")),
            Err(OutOfOrder)
        );
    }

    #[test]
    fn only_the_most_recent_visit_days_are_kept() {
        let visits = (0..30).map(|i| visit(i * 30, 4000, "Cut"));
        let cadence = CategoryCadence::fold(&hair(), visits).unwrap();
        assert_eq!(cadence.visits, 30);
        assert_eq!(cadence.recent.len(), RECENT_VISITS);
        assert_eq!(cadence.recent.last(), Some(&day(29 * 30)));
        assert_eq!(cadence.first_visit, day(0));
    }

    #[test]
    fn a_monthly_client_is_watched_from_the_day_they_become_due() {
        let config = BusinessConfig::default();
        let visits = (0..6).map(|i| visit(i * 28, 4000, "Cut"));
        let cadence = CategoryCadence::fold(&hair(), visits).unwrap();
        let last = day(5 * 28);
        let watch = cadence.watch(last, &config).unwrap();
        assert_eq!(watch.stage, Stage::Due);
        assert_eq!(watch.on, last.plus_days(28));
        let next = cadence.next_watch_after(watch.on, &config).unwrap();
        assert_eq!(next.stage, Stage::AtRisk);
        assert!(next.on > watch.on);
        // Written while already overdue, the cadence is watched at once.
        let late = last.plus_days(60);
        let watch = cadence.watch(late, &config).unwrap();
        assert_eq!(watch.on, late);
        assert!(watch.stage.is_overdue());
    }

    #[test]
    fn a_lost_client_is_no_longer_watched() {
        let config = BusinessConfig::default();
        let cadence = CategoryCadence::fold(&hair(), [visit(0, 4000, "Cut")]).unwrap();
        assert_eq!(cadence.watch(day(3000), &config), None);
    }
}
