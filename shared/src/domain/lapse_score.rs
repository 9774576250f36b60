//! The lapse score: the probability that a client makes **no** visit in a category within the
//! next `horizon` days if nobody reaches out.
//!
//! The model is a per-visit "cure" model fitted per business:
//!
//! - after each visit a client either stops coming (with probability `q`, which depends on how
//!   many visits they have made: one-time clients leave far more often than regulars), or
//!   returns after a gap drawn from their own log-normal rhythm ([`Rhythm`]);
//! - given that a client has not returned `t` days after their last visit, the chance they make
//!   no visit in the next `h` days is
//!   `(q + (1 − q)·S(t + h)) / (q + (1 − q)·S(t))`, with `S` the survival function of their gap;
//! - `q` per visit-count bucket is fitted by expectation–maximisation on the business's own
//!   clients as of the audit date: every gap a client has made is a visit they did not stop
//!   after, and their open last gap is "stopped" with the posterior probability above.
//!
//! Recency alone treats a weekly and a yearly client 60 days out alike; this score knows the
//! first is almost surely gone and the second is not yet due.

use crate::domain::day::Day;
use crate::domain::rhythm::Rhythm;

/// Visit-count buckets for the stop probability: 1, 2, 3, 4–5, 6–9, 10+ visits.
const BUCKETS: usize = 6;

fn bucket(visits: u32) -> usize {
    match visits {
        0 | 1 => 0,
        2 => 1,
        3 => 2,
        4..=5 => 3,
        6..=9 => 4,
        _ => 5,
    }
}

/// Pseudo-observations pulling a thin bucket toward the category-wide stop rate.
const POOLING: f64 = 20.0;
/// EM stops when no stop probability moves by more than a millionth, or after this many rounds.
const EM_ROUNDS: usize = 200;

/// One client's history in a category, as the stop-probability fit needs it.
#[derive(Debug, Clone, Copy)]
pub struct OpenGap {
    pub visits: u32,
    /// The probability, under the client's rhythm, of a gap at least as long as the one now open.
    pub survival_so_far: f64,
}

/// Per-visit stop probabilities for one category of one business.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StopModel {
    by_visits: [f64; BUCKETS],
}

impl Default for StopModel {
    /// Without data: one in three one-time clients never return, regulars rarely stop.
    fn default() -> Self {
        StopModel {
            by_visits: [0.35, 0.25, 0.2, 0.15, 0.1, 0.07],
        }
    }
}

impl StopModel {
    /// Fits stop probabilities by EM over the category's clients, which may come in several
    /// parts (one per thread that gathered them).
    pub fn fit<'a>(clients: impl IntoIterator<Item = &'a OpenGap> + Clone) -> StopModel {
        if clients.clone().into_iter().next().is_none() {
            return StopModel::default();
        }
        // Trials per bucket: every visit is a chance to stop; only the last can have been one.
        let mut trials = [0.0_f64; BUCKETS];
        for client in clients.clone() {
            let visits = client.visits.max(1);
            for (b, slot) in trials.iter_mut().enumerate() {
                *slot += f64::from(visits_in_bucket(visits, b));
            }
        }
        let total_trials: f64 = trials.iter().sum();
        let clamp = |q: f64| q.clamp(0.001, 0.999);

        let mut overall = 0.2_f64;
        let mut by_visits = [overall; BUCKETS];
        for _ in 0..EM_ROUNDS {
            let previous = by_visits;
            let mut stopped = [0.0_f64; BUCKETS];
            for client in clients.clone() {
                let b = bucket(client.visits);
                let q = by_visits[b];
                let s = client.survival_so_far;
                stopped[b] += q / (q + (1.0 - q) * s);
            }
            overall = clamp(stopped.iter().sum::<f64>() / total_trials);
            for b in 0..BUCKETS {
                by_visits[b] = clamp((stopped[b] + POOLING * overall) / (trials[b] + POOLING));
            }
            if by_visits
                .iter()
                .zip(previous)
                .all(|(q, p)| (q - p).abs() < 1e-6)
            {
                break;
            }
        }
        StopModel { by_visits }
    }

    /// The probability that a client with this many visits has stopped coming after the last.
    pub fn stop_probability(&self, visits: u32) -> f64 {
        self.by_visits[bucket(visits)]
    }

    /// The probability of no visit in the next `horizon_days`, `days_since_last` days after the
    /// last visit.
    pub fn no_visit_probability(
        &self,
        rhythm: &Rhythm,
        visits: u32,
        days_since_last: f64,
        horizon_days: f64,
    ) -> f64 {
        let q = self.stop_probability(visits);
        let now = rhythm.survival(days_since_last);
        let later = rhythm.survival(days_since_last + horizon_days);
        let denominator = q + (1.0 - q) * now;
        if denominator <= 0.0 {
            1.0
        } else {
            ((q + (1.0 - q) * later) / denominator).clamp(0.0, 1.0)
        }
    }
}

/// How many of a client's `visits` visit positions (1st, 2nd, ...) fall in bucket `b`.
fn visits_in_bucket(visits: u32, b: usize) -> u32 {
    let (low, high) = match b {
        0 => (1, 1),
        1 => (2, 2),
        2 => (3, 3),
        3 => (4, 5),
        4 => (6, 9),
        _ => (10, u32::MAX),
    };
    if visits < low {
        0
    } else {
        visits.min(high) - low + 1
    }
}

/// The lapse score of a client who already holds a booking in the category within the horizon:
/// they will come unless that booking falls through, as the business's cancelled and no-show
/// bookings say it does at `failure_rate`.
pub fn with_booking_in_horizon(no_visit_probability: f64, failure_rate: f64) -> f64 {
    no_visit_probability * failure_rate.clamp(0.01, 1.0)
}

/// Whether a client's earliest future booking in a category falls within the horizon.
pub fn booked_within(earliest_future: Option<Day>, as_of: Day, horizon_days: f64) -> bool {
    earliest_future.is_some_and(|day| f64::from(day.days_since(as_of)) <= horizon_days)
}

/// Area under the ROC curve of `scores` for the positive `labels`: the probability that a
/// random positive scores above a random negative (ties count a half).
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = labels.iter().filter(|&&l| l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    // Sum of positive ranks, with tied scores sharing their mid rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i + 1;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        let mid_rank = (i + j + 1) as f64 / 2.0;
        rank_sum += mid_rank * pairs[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::industry::Industry;
    use crate::domain::rhythm::{CategoryPrior, GapStats, RhythmSettings, rhythm};

    fn client(gap: i32, visits: u32) -> Rhythm {
        let gaps = vec![gap; visits as usize - 1];
        let prior = CategoryPrior::fit([], None, Industry::Salon, &RhythmSettings::default());
        rhythm(
            GapStats::from_gaps(gaps).as_ref(),
            visits,
            &prior,
            &RhythmSettings::default(),
        )
    }

    #[test]
    fn clients_sixty_days_out_differ_by_their_own_rhythm_where_recency_sees_no_difference() {
        let model = StopModel::default();
        let weekly = model.no_visit_probability(&client(7, 10), 10, 60.0, 90.0);
        assert!(
            weekly > 0.9,
            "a weekly client silent for 60 days has almost surely stopped: {weekly}"
        );
        let due_soon = model.no_visit_probability(&client(100, 10), 10, 60.0, 90.0);
        assert!(
            due_soon < 0.4,
            "a 100-day client 60 days out will likely come within 90: {due_soon}"
        );
    }

    #[test]
    fn the_score_rises_as_a_client_drifts_past_their_window() {
        let model = StopModel::default();
        let r = client(30, 8);
        let scores: Vec<f64> = [10.0, 30.0, 45.0, 90.0, 200.0]
            .iter()
            .map(|&d| model.no_visit_probability(&r, 8, d, 90.0))
            .collect();
        assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");
        assert!(scores[0] < 0.2 && scores[4] > 0.9, "{scores:?}");
    }

    #[test]
    fn stop_probabilities_are_fitted_from_who_came_back() {
        // One-time clients: half have long since stopped (survival ≈ 0), half are recent.
        let mut clients = Vec::new();
        for i in 0..400 {
            clients.push(OpenGap {
                visits: 1,
                survival_so_far: if i % 2 == 0 { 0.0 } else { 0.9 },
            });
        }
        // Regulars: all recent.
        for _ in 0..400 {
            clients.push(OpenGap {
                visits: 12,
                survival_so_far: 0.8,
            });
        }
        let model = StopModel::fit(&clients);
        // 200 of the 800 first visits were followed by nothing for a very long time.
        assert!((model.stop_probability(1) - 0.25).abs() < 0.1, "{model:?}");
        assert!(model.stop_probability(12) < 0.02, "{model:?}");
    }

    #[test]
    fn a_booking_in_the_horizon_leaves_only_the_chance_it_falls_through() {
        assert!((with_booking_in_horizon(0.8, 0.1) - 0.08).abs() < 1e-12);
    }

    #[test]
    fn auc_is_one_for_perfect_ranking_and_a_half_for_ties() {
        assert_eq!(
            roc_auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]),
            Some(1.0)
        );
        assert_eq!(
            roc_auc(&[0.5, 0.5, 0.5, 0.5], &[false, true, false, true]),
            Some(0.5)
        );
        assert_eq!(roc_auc(&[0.5], &[true]), None);
    }
}
