//! RFM (recency, frequency, monetary) scores and value tiers, per business.
//!
//! Each client gets a quintile score of 1–5 on each axis within their own business (5 is best:
//! most recent, most frequent, highest spend). Tiers rank clients by the sum of the three, spend
//! breaking ties: high is the top 20 %, medium the next 30 %, low the bottom 50 %. The tier picks
//! the sequence, the tone and the offer.

use std::cmp::Reverse;
use std::fmt;

use crate::domain::day::Day;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    High,
    Medium,
    Low,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::High, Tier::Medium, Tier::Low];

    pub fn name(self) -> &'static str {
        match self {
            Tier::High => "high",
            Tier::Medium => "medium",
            Tier::Low => "low",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What RFM scoring needs to know of a client, across all categories.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientValue {
    pub last_visit: Day,
    pub first_visit: Day,
    pub visits: u32,
    pub spend_minor: i64,
}

impl ClientValue {
    /// Lifetime value so far: everything the client has spent.
    pub fn lifetime_value_minor(&self) -> i64 {
        self.spend_minor
    }

    pub fn average_ticket_minor(&self) -> i64 {
        self.spend_minor / i64::from(self.visits.max(1))
    }

    /// Visits per year over the client's tenure; a tenure under a year counts as a year, so a
    /// new client's two visits in a month are not "24 a year".
    pub fn visits_per_year(&self, as_of: Day) -> f64 {
        let tenure_days = f64::from(as_of.days_since(self.first_visit).max(365));
        f64::from(self.visits) * 365.25 / tenure_days
    }
}

/// What a client spends a year in a category, over their time as a client there: their spend
/// divided by the years from their first visit to one interval past their last (at least a
/// year, so a new client's two visits in a month are not read as a yearly habit). This is what
/// a lapsed client "used to spend per year", the revenue at stake.
pub fn annual_spend_minor(
    spend_minor: i64,
    first_visit: Day,
    last_visit: Day,
    interval_days: f64,
) -> i64 {
    let span = f64::from(last_visit.days_since(first_visit));
    (spend_minor as f64 * 365.25 / (span + interval_days).max(365.25)).round() as i64
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RfmScore {
    pub recency: u8,
    pub frequency: u8,
    pub monetary: u8,
}

impl RfmScore {
    pub fn total(self) -> u8 {
        self.recency + self.frequency + self.monetary
    }
}

/// What ranks clients for tiers, compared in order: RFM total, spend, visits, last visit.
type TierKey = (u8, i64, u32, Day);

/// Each client's quintile (1–5) on one axis of RFM, in the input's order.
pub type Quintiles = Vec<u8>;

/// Recency quintiles: the later the last visit, the higher.
pub fn recency(clients: &[ClientValue]) -> Quintiles {
    quintiles(
        clients
            .iter()
            .map(|c| i64::from(c.last_visit.days_since(Day::EPOCH)))
            .collect(),
    )
}

/// Frequency quintiles: the more visits, the higher.
pub fn frequency(clients: &[ClientValue]) -> Quintiles {
    quintiles(clients.iter().map(|c| i64::from(c.visits)).collect())
}

/// Monetary quintiles: the more spent, the higher.
pub fn monetary(clients: &[ClientValue]) -> Quintiles {
    quintiles(clients.iter().map(|c| c.spend_minor).collect())
}

/// Scores and tiers every client of one business; the result is in the input's order.
///
/// `tie` orders two clients (by their positions in `clients`) that nothing else separates, the
/// first going to the higher tier: with their ids, tiers do not depend on the order the clients
/// were read in.
pub fn score(
    clients: &[ClientValue],
    tie: impl Fn(usize, usize) -> std::cmp::Ordering,
) -> Vec<(RfmScore, Tier)> {
    let axes = [recency(clients), frequency(clients), monetary(clients)];
    score_ranked(clients, axes, tie)
}

/// [`score`], with the three axes already ranked (`[recency, frequency, monetary]`, from the
/// functions of those names): they are independent, so a caller with threads to spare ranks
/// them at once.
pub fn score_ranked(
    clients: &[ClientValue],
    [recency, frequency, monetary]: [Quintiles; 3],
    tie: impl Fn(usize, usize) -> std::cmp::Ordering,
) -> Vec<(RfmScore, Tier)> {
    let n = clients.len();
    let scores: Vec<RfmScore> = (0..n)
        .map(|i| RfmScore {
            recency: recency[i],
            frequency: frequency[i],
            monetary: monetary[i],
        })
        .collect();

    // Best first: highest total, then spend, visits, most recent, longest-standing. Only the
    // two tier boundaries need finding, not a full order; clients are ordered by position, with
    // their keys looked up, so the order takes four bytes a client.
    let key = |i: u32| -> (Reverse<TierKey>, Day) {
        let c = &clients[i as usize];
        (
            Reverse((
                scores[i as usize].total(),
                c.spend_minor,
                c.visits,
                c.last_visit,
            )),
            c.first_visit,
        )
    };
    let compare = |a: &u32, b: &u32| {
        key(*a)
            .cmp(&key(*b))
            .then_with(|| tie(*a as usize, *b as usize))
    };
    let mut order: Vec<u32> = (0..n as u32).collect();
    let high = (n as f64 * 0.2).round() as usize;
    let medium = (n as f64 * 0.5).round() as usize;
    if medium < n {
        order.select_nth_unstable_by(medium, compare);
    }
    if high < medium {
        order[..medium].select_nth_unstable_by(high, compare);
    }
    let mut tiers = vec![Tier::Low; n];
    for (rank, &i) in order.iter().enumerate() {
        tiers[i as usize] = if rank < high {
            Tier::High
        } else if rank < medium {
            Tier::Medium
        } else {
            Tier::Low
        };
    }
    scores.into_iter().zip(tiers).collect()
}

/// Quintile scores 1–5 by rank of `values` (the largest scores 5). Equal values share the score
/// of their mid rank, so ties never split across quintiles.
fn quintiles(values: Vec<i64>) -> Vec<u8> {
    let n = values.len();
    let quintile = |first_rank: usize, last_rank: usize| {
        let mid_rank = (first_rank + last_rank) as f64 / 2.0;
        ((mid_rank + 0.5) / n as f64 * 5.0).ceil().clamp(1.0, 5.0) as u8
    };
    let (Some(&min), Some(&max)) = (values.iter().min(), values.iter().max()) else {
        return Vec::new();
    };
    // Days and visit counts span a small range: count them instead of sorting a million.
    if max.abs_diff(min) < 1 << 20 {
        let mut counts = vec![0_u32; (max - min) as usize + 1];
        for &v in &values {
            counts[(v - min) as usize] += 1;
        }
        let mut by_value = vec![0_u8; counts.len()];
        let mut rank = 0_usize;
        for (slot, &count) in by_value.iter_mut().zip(&counts) {
            if count > 0 {
                *slot = quintile(rank, rank + count as usize - 1);
                rank += count as usize;
            }
        }
        return values
            .iter()
            .map(|&v| by_value[(v - min) as usize])
            .collect();
    }
    let mut order: Vec<(i64, u32)> = values.into_iter().zip(0..).collect();
    order.sort_unstable();
    let mut result = vec![0u8; n];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && order[end].0 == order[start].0 {
            end += 1;
        }
        for &(_, i) in &order[start..end] {
            result[i as usize] = quintile(start, end - 1);
        }
        start = end;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn client(i: i32) -> ClientValue {
        let base = Day::from(date(2025, 1, 1));
        ClientValue {
            last_visit: base.plus_days(i),
            first_visit: base.plus_days(-400),
            visits: i as u32 + 1,
            spend_minor: i64::from(i) * 1000,
        }
    }

    /// Ties broken by position, for tests whose clients have no ids.
    fn by_position(a: usize, b: usize) -> std::cmp::Ordering {
        a.cmp(&b)
    }

    #[test]
    fn clients_alike_in_everything_are_tiered_by_the_tie_break_whatever_their_order() {
        // Ten clients exactly alike: two go high, three medium, five low, by the tie-break.
        fn tiers_of(ids: &[&'static str]) -> Vec<(&'static str, Tier)> {
            let scored = score(&vec![client(7); ids.len()], |a, b| ids[a].cmp(ids[b]));
            let mut tiers: Vec<(&str, Tier)> = ids
                .iter()
                .copied()
                .zip(scored.into_iter().map(|(_, t)| t))
                .collect();
            tiers.sort();
            tiers
        }
        let ids = ["j", "a", "h", "c", "e", "b", "i", "d", "g", "f"];
        let tiers = tiers_of(&ids);
        let mut reversed = ids;
        reversed.reverse();
        assert_eq!(tiers, tiers_of(&reversed));
        assert_eq!(
            &tiers[..3],
            &[("a", Tier::High), ("b", Tier::High), ("c", Tier::Medium)]
        );
        assert_eq!(tiers[9], ("j", Tier::Low));
    }

    #[test]
    fn tiers_are_top_twenty_next_thirty_and_bottom_fifty_percent() {
        let clients: Vec<ClientValue> = (0..100).map(client).collect();
        let scored = score(&clients, by_position);
        let count = |tier| scored.iter().filter(|(_, t)| *t == tier).count();
        assert_eq!(
            (count(Tier::High), count(Tier::Medium), count(Tier::Low)),
            (20, 30, 50)
        );
        assert_eq!(scored[99].1, Tier::High);
        assert_eq!(scored[0].1, Tier::Low);
    }

    #[test]
    fn rfm_scores_are_quintiles_within_the_business() {
        let clients: Vec<ClientValue> = (0..100).map(client).collect();
        let scored = score(&clients, by_position);
        assert_eq!(
            scored[0].0,
            RfmScore {
                recency: 1,
                frequency: 1,
                monetary: 1
            }
        );
        assert_eq!(
            scored[99].0,
            RfmScore {
                recency: 5,
                frequency: 5,
                monetary: 5
            }
        );
        for quintile in 1..=5u8 {
            assert_eq!(
                scored
                    .iter()
                    .filter(|(s, _)| s.monetary == quintile)
                    .count(),
                20
            );
        }
    }

    #[test]
    fn counting_and_sorting_give_the_same_quintiles() {
        let narrow: Vec<i64> = (0..1000).map(|i| (i * 7919 % 97) as i64).collect();
        let wide: Vec<i64> = narrow.iter().map(|v| v * (1 << 21)).collect();
        assert_eq!(quintiles(narrow), quintiles(wide));
    }

    #[test]
    fn equal_values_share_a_quintile() {
        let mut clients: Vec<ClientValue> = (0..10).map(client).collect();
        for c in &mut clients {
            c.spend_minor = 500;
        }
        let scored = score(&clients, by_position);
        assert!(
            scored
                .iter()
                .all(|(s, _)| s.monetary == scored[0].0.monetary)
        );
    }

    #[test]
    fn annual_spend_is_spend_over_the_years_a_client_came_and_at_least_a_year() {
        let first = Day::from(date(2024, 1, 1));
        // Monthly for two years: 24 visits of 50.00 over 730 days, plus one interval.
        assert_eq!(
            annual_spend_minor(120_000, first, first.plus_days(700), 30.0),
            60_041
        );
        // Two visits a month apart are not twelve a year.
        assert_eq!(
            annual_spend_minor(10_000, first, first.plus_days(30), 30.0),
            10_000
        );
    }

    #[test]
    fn lifetime_value_average_ticket_and_visits_per_year() {
        let base = Day::from(date(2024, 1, 1));
        let value = ClientValue {
            first_visit: base,
            last_visit: base.plus_days(700),
            visits: 20,
            spend_minor: 100_000,
        };
        assert_eq!(value.lifetime_value_minor(), 100_000);
        assert_eq!(value.average_ticket_minor(), 5_000);
        assert!((value.visits_per_year(base.plus_days(730)) - 10.0).abs() < 0.1);
        let newcomer = ClientValue {
            first_visit: base,
            last_visit: base.plus_days(30),
            visits: 2,
            spend_minor: 0,
        };
        assert!((newcomer.visits_per_year(base.plus_days(30)) - 2.0).abs() < 0.01);
    }
}
