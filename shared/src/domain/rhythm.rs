//! A client's own booking rhythm in a category: the usual interval, its spread, and the window
//! in which the client would normally come back.
//!
//! Gaps between service visits are modelled as log-normal: a client who books every 5 weeks
//! books at 4 to 6 weeks, rarely at 3 or 9, and "twice as long" matters equally for a weekly
//! and a yearly client. In log space:
//!
//! - the client's centre is the **median** of their recent gaps, so one odd gap (a holiday, an
//!   illness) does not move it;
//! - their spread is the MAD of those gaps, pooled with the category's typical within-client
//!   spread (a scaled-inverse-χ² style shrinkage), so three identical gaps do not claim
//!   perfect regularity;
//! - a client with fewer visits than the business's minimum borrows strength from the
//!   category's population: their centre is a precision-weighted blend of their own gaps and
//!   the category's, and the extra uncertainty widens their window instead of leaving them
//!   with nothing.
//!
//! The category's population values are fitted from the business's own clients
//! ([`CategoryPrior::fit`]), or come from the business's configured default interval, or from
//! the industry preset when the business has too few regulars to learn from.

use crate::domain::industry::Industry;

/// The most gaps a rhythm is read from.
pub const MAX_GAPS: usize = 16;

/// Clients with at least this many gap-bearing histories are enough to learn a category's
/// typical rhythm from the business's own data.
pub const MIN_CLIENTS_TO_LEARN: usize = 20;

/// Spread (sd of log gaps) assumed when a business has too little data: a 5-week client
/// usually comes between about 4 and 6.5 weeks.
const FALLBACK_WITHIN_SD: f64 = 0.25;
const FALLBACK_BETWEEN_SD: f64 = 0.5;
/// One gap in this many comes from life rather than rhythm (a holiday, an illness): the
/// predicted gap is a mixture with a component this many times wider, so a regular client a
/// little late is not "certainly gone".
const ODD_GAP_SHARE: f64 = 0.1;
const ODD_GAP_WIDTH: f64 = 3.0;
/// The most regular a client can be assumed to be: ±5 % on the log scale.
const MIN_SD: f64 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RhythmSettings {
    /// Completed visits in a category before a client's own interval is used (3 is the common
    /// rule). Fewer visits use the category default.
    pub min_visits_for_personal_interval: u32,
    /// The share of a client's usual returns that fall inside their usual window (0.8: the
    /// window runs from the 10th to the 90th percentile of their gaps).
    pub window_coverage: f64,
    /// How many gaps' worth of weight the category's typical spread carries against a client's
    /// own.
    pub prior_strength: f64,
}

impl Default for RhythmSettings {
    fn default() -> Self {
        RhythmSettings {
            min_visits_for_personal_interval: 3,
            window_coverage: 0.8,
            prior_strength: 2.0,
        }
    }
}

/// A client's recent gaps, summarised robustly in log space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GapStats {
    pub gaps: u32,
    /// Median of the log gaps.
    pub log_centre: f64,
    /// Robust sd of the log gaps (MAD × 1.4826); `None` with a single gap.
    pub log_spread: Option<f64>,
}

impl GapStats {
    /// Summarises gaps in days (each at least 1). `None` when there are none.
    /// Only the most recent [`MAX_GAPS`] gaps are used: a client's rhythm today is what counts.
    pub fn from_gaps(gaps: impl IntoIterator<Item = i32>) -> Option<GapStats> {
        // On the stack: this runs once per client and category, millions of times an audit.
        let mut days = [0_i32; MAX_GAPS];
        let mut n = 0;
        for gap in gaps {
            days[n % MAX_GAPS] = gap.max(1);
            n += 1;
        }
        let days = &mut days[..n.min(MAX_GAPS)];
        if days.is_empty() {
            return None;
        }
        // The log only grows with the gap: sorted as whole days, the logs are sorted too, and
        // their median is the log of the middle gap (or the mean of the two middle logs).
        days.sort_unstable();
        let mut buffer = [0.0_f64; MAX_GAPS];
        let logs = &mut buffer[..days.len()];
        for (log, &gap) in logs.iter_mut().zip(days.iter()) {
            *log = log_days(gap);
        }
        let centre = middle(logs);
        let spread = match logs.len() {
            1 => None,
            2 => Some((logs[0] - logs[1]).abs() / std::f64::consts::SQRT_2),
            _ => {
                for l in logs.iter_mut() {
                    *l = (*l - centre).abs();
                }
                Some(1.4826 * median(logs))
            }
        };
        Some(GapStats {
            gaps: logs.len() as u32,
            log_centre: centre,
            log_spread: spread,
        })
    }
}

/// Where a category's default interval came from, so an explanation can say it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DefaultSource {
    /// Set by the business in its configuration.
    Configured,
    /// Learned from the business's own regular clients in the category.
    Learned { clients: usize },
    /// The industry preset, for lack of either.
    Industry { industry: Industry },
}

/// A category's population rhythm: what a typical client's gaps look like at this business.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CategoryPrior {
    /// Interval used for clients below the minimum visits.
    pub default_interval_days: f64,
    pub default_source: DefaultSource,
    /// Centre of clients' log gaps.
    pub log_centre: f64,
    /// How much clients' centres differ from each other (sd, log scale).
    pub between_sd: f64,
    /// How much one client's gaps vary around their own centre (sd, log scale).
    pub within_sd: f64,
    /// The normal quantile of the usual window's upper edge, from the window coverage.
    #[serde(skip)]
    pub window_z: f64,
}

/// Collects a category's clients' gap summaries, one at a time, for [`CategoryPrior`].
#[derive(Debug, Clone, Default)]
pub struct PriorBuilder {
    centres: Vec<f64>,
    spreads: Vec<f64>,
}

impl PriorBuilder {
    /// Takes in what another builder collected for the same category.
    pub fn absorb(&mut self, other: PriorBuilder) {
        self.centres.extend(other.centres);
        self.spreads.extend(other.spreads);
    }

    pub fn add(&mut self, stats: &GapStats) {
        if stats.gaps >= 2 {
            self.centres.push(stats.log_centre);
        }
        if stats.gaps >= 3 {
            self.spreads.extend(stats.log_spread);
        }
    }

    /// Fits the category's population rhythm.
    ///
    /// A configured default interval wins for the centre; otherwise the business's own clients
    /// with at least two gaps decide it when there are [`MIN_CLIENTS_TO_LEARN`] of them;
    /// otherwise the industry preset does.
    pub fn fit(
        self,
        configured_interval_days: Option<f64>,
        industry: Industry,
        settings: &RhythmSettings,
    ) -> CategoryPrior {
        let PriorBuilder {
            centres,
            mut spreads,
        } = self;
        let learned = centres.len() >= MIN_CLIENTS_TO_LEARN;
        let learned_centre = learned.then(|| median(&mut centres.clone()));
        let between_sd = if learned {
            let centre = learned_centre.unwrap_or_default();
            let mut deviations: Vec<f64> = centres.iter().map(|c| (c - centre).abs()).collect();
            (1.4826 * median(&mut deviations)).clamp(MIN_SD, 1.5)
        } else {
            FALLBACK_BETWEEN_SD
        };
        let within_sd = if spreads.len() >= MIN_CLIENTS_TO_LEARN / 2 {
            median(&mut spreads).clamp(MIN_SD, 1.0)
        } else {
            FALLBACK_WITHIN_SD
        };
        let (default_interval_days, default_source) =
            match (configured_interval_days, learned_centre) {
                (Some(days), _) => (days, DefaultSource::Configured),
                (None, Some(centre)) => (
                    centre.exp(),
                    DefaultSource::Learned {
                        clients: centres.len(),
                    },
                ),
                (None, None) => (
                    industry.default_interval_days(),
                    DefaultSource::Industry { industry },
                ),
            };
        CategoryPrior {
            default_interval_days,
            default_source,
            log_centre: default_interval_days.ln(),
            between_sd,
            within_sd,
            window_z: standard_normal_quantile(0.5 + settings.window_coverage / 2.0),
        }
    }
}

impl CategoryPrior {
    /// Fits the category's population rhythm from the gap summaries of its clients.
    pub fn fit<'a>(
        clients: impl IntoIterator<Item = &'a GapStats>,
        configured_interval_days: Option<f64>,
        industry: Industry,
        settings: &RhythmSettings,
    ) -> CategoryPrior {
        let mut builder = PriorBuilder::default();
        for stats in clients {
            builder.add(stats);
        }
        builder.fit(configured_interval_days, industry, settings)
    }
}

/// Where a client's interval came from.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum IntervalSource {
    /// The client's own visits.
    Personal { visits: u32 },
    /// The category default, because the client has fewer visits than the minimum.
    CategoryDefault { visits: u32, source: DefaultSource },
}

/// A client's rhythm in a category: usual interval, spread, and usual return window.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Rhythm {
    /// The interval the stages are multiples of.
    pub interval_days: f64,
    pub source: IntervalSource,
    /// Centre of the predicted next gap, log scale.
    pub log_mu: f64,
    /// Spread of the predicted next gap, log scale: the client's own variability plus the
    /// uncertainty about their centre.
    pub log_sd: f64,
    /// The usual return window in days since the last visit.
    pub window_low_days: f64,
    pub window_high_days: f64,
}

impl Rhythm {
    /// The spread in days around the interval, for people: half the window's width.
    pub fn spread_days(&self) -> f64 {
        (self.window_high_days - self.window_low_days) / 2.0
    }

    /// The probability that the next gap is longer than `days`.
    pub fn survival(&self, days: f64) -> f64 {
        if days <= 0.0 {
            return 1.0;
        }
        let z = (days.ln() - self.log_mu) / self.log_sd;
        let tail = |z: f64| 0.5 * libm::erfc(z / std::f64::consts::SQRT_2);
        (1.0 - ODD_GAP_SHARE) * tail(z) + ODD_GAP_SHARE * tail(z / ODD_GAP_WIDTH)
    }
}

/// Works out a client's rhythm from their gap summary, their visit count and the category.
pub fn rhythm(
    stats: Option<&GapStats>,
    visits: u32,
    prior: &CategoryPrior,
    settings: &RhythmSettings,
) -> Rhythm {
    let gaps = stats.map_or(0, |s| s.gaps);
    let own_weight = f64::from(gaps.saturating_sub(1));
    let own_variance = stats.and_then(|s| s.log_spread).map_or(0.0, |s| s * s);
    let within_variance = ((settings.prior_strength * prior.within_sd.powi(2)
        + own_weight * own_variance)
        / (settings.prior_strength + own_weight))
        .max(MIN_SD * MIN_SD);

    let personal = visits >= settings.min_visits_for_personal_interval.max(2) && gaps > 0;
    let (log_mu, centre_variance, interval_days, source) = match stats {
        Some(s) if personal => (
            s.log_centre,
            within_variance / f64::from(s.gaps),
            s.log_centre.exp(),
            IntervalSource::Personal { visits },
        ),
        _ => {
            let default_source = IntervalSource::CategoryDefault {
                visits,
                source: prior.default_source,
            };
            let prior_precision = 1.0 / prior.between_sd.powi(2);
            match stats {
                Some(s) => {
                    let own_precision = f64::from(s.gaps) / within_variance;
                    let precision = own_precision + prior_precision;
                    let mu = (own_precision * s.log_centre + prior_precision * prior.log_centre)
                        / precision;
                    (
                        mu,
                        1.0 / precision,
                        prior.default_interval_days,
                        default_source,
                    )
                }
                None => (
                    prior.log_centre,
                    prior.between_sd.powi(2),
                    prior.default_interval_days,
                    default_source,
                ),
            }
        }
    };
    let log_sd = (within_variance + centre_variance).sqrt();
    let z = prior.window_z;
    Rhythm {
        interval_days,
        source,
        log_mu,
        log_sd,
        window_low_days: (log_mu - z * log_sd).exp(),
        window_high_days: (log_mu + z * log_sd).exp(),
    }
}

/// The natural log of a gap of `days` (at least 1), from a table for the common gaps: the
/// audit takes millions of them, and the table holds exactly what `ln` gives.
fn log_days(days: i32) -> f64 {
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    const TABULATED: usize = 4096;
    let table = TABLE.get_or_init(|| (0..TABULATED).map(|d| (d as f64).ln()).collect());
    match usize::try_from(days) {
        Ok(d) if d < TABULATED => table[d],
        _ => f64::from(days).ln(),
    }
}

/// The median of a non-empty slice (reorders it).
fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    middle(values)
}

/// The median of a non-empty sorted slice.
fn middle(values: &[f64]) -> f64 {
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// The standard normal quantile, by bisection on `erfc`: called once per rhythm with a
/// probability from configuration, so 60 halvings are cheap and exact to machine precision.
pub fn standard_normal_quantile(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let (mut low, mut high) = (-10.0_f64, 10.0_f64);
    for _ in 0..60 {
        let mid = (low + high) / 2.0;
        if 0.5 * libm::erfc(-mid / std::f64::consts::SQRT_2) < p {
            low = mid;
        } else {
            high = mid;
        }
    }
    (low + high) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn salon_prior() -> CategoryPrior {
        CategoryPrior::fit([], None, Industry::Salon, &RhythmSettings::default())
    }

    fn rhythm_of(gaps: &[i32]) -> Rhythm {
        let stats = GapStats::from_gaps(gaps.iter().copied());
        rhythm(
            stats.as_ref(),
            gaps.len() as u32 + 1,
            &salon_prior(),
            &RhythmSettings::default(),
        )
    }

    #[test]
    fn personal_interval_needs_three_completed_visits() {
        let two_visits = rhythm_of(&[28]);
        assert!(matches!(
            two_visits.source,
            IntervalSource::CategoryDefault { .. }
        ));
        assert_eq!(two_visits.interval_days, 75.0);
        let three_visits = rhythm_of(&[28, 28]);
        assert_eq!(three_visits.source, IntervalSource::Personal { visits: 3 });
        assert!((three_visits.interval_days - 28.0).abs() < 1e-9);
    }

    #[test]
    fn gap_stats_are_the_median_and_mad_of_the_last_gaps_logs() {
        // The summary, worked out the plain way: logs of the last MAX_GAPS gaps, sorted.
        fn plain(gaps: &[i32]) -> (f64, Option<f64>) {
            let last = &gaps[gaps.len().saturating_sub(MAX_GAPS)..];
            let mut logs: Vec<f64> = last.iter().map(|&g| f64::from(g.max(1)).ln()).collect();
            let pair = (logs.len() == 2).then(|| (logs[0] - logs[1]).abs() / 2_f64.sqrt());
            let centre = median(&mut logs);
            let spread = match logs.len() {
                1 => None,
                2 => pair,
                _ => {
                    let mut deviations: Vec<f64> =
                        logs.iter().map(|l| (l - centre).abs()).collect();
                    Some(1.4826 * median(&mut deviations))
                }
            };
            (centre, spread)
        }
        let cases: [&[i32]; 7] = [
            &[30],
            &[28, 35],
            &[35, 28, 35],
            &[0, -3, 7, 7, 7, 60],
            &[
                21, 28, 35, 28, 90, 30, 31, 29, 27, 400, 28, 28, 33, 35, 28, 30, 29, 5000, 31,
            ],
            &[5000, 4, 4, 4],
            &[
                14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 1,
            ],
        ];
        for gaps in cases {
            let stats = GapStats::from_gaps(gaps.iter().copied()).unwrap();
            let (centre, spread) = plain(gaps);
            assert_eq!(stats.log_centre, centre, "{gaps:?}");
            assert_eq!(stats.log_spread, spread, "{gaps:?}");
            assert_eq!(stats.gaps as usize, gaps.len().min(MAX_GAPS));
        }
        assert_eq!(GapStats::from_gaps([]), None);
    }

    #[test]
    fn one_odd_gap_does_not_move_the_personal_interval() {
        let steady = rhythm_of(&[28, 29, 27, 28, 28]);
        let with_holiday = rhythm_of(&[28, 29, 120, 28, 28]);
        assert!((with_holiday.interval_days - steady.interval_days).abs() < 1.0);
    }

    #[test]
    fn the_usual_window_contains_the_interval_and_widens_with_irregular_gaps() {
        let regular = rhythm_of(&[35, 35, 36, 34, 35]);
        let irregular = rhythm_of(&[20, 50, 30, 45, 25]);
        assert!(regular.window_low_days < 35.0 && 35.0 < regular.window_high_days);
        assert!(
            irregular.window_high_days - irregular.window_low_days
                > regular.window_high_days - regular.window_low_days
        );
    }

    #[test]
    fn few_visits_borrow_strength_from_the_category_with_a_wider_window() {
        let mut population = Vec::new();
        for i in 0..40 {
            let g = 30 + (i % 5);
            population.push(GapStats::from_gaps([g, g + 2, g - 1, g + 1]).unwrap());
        }
        let prior = CategoryPrior::fit(
            &population,
            None,
            Industry::Salon,
            &RhythmSettings::default(),
        );
        assert!(matches!(
            prior.default_source,
            DefaultSource::Learned { clients: 40 }
        ));
        assert!((prior.default_interval_days - 32.0).abs() < 3.0);

        let settings = RhythmSettings::default();
        let one_gap = GapStats::from_gaps([60]).unwrap();
        let newcomer = rhythm(Some(&one_gap), 2, &prior, &settings);
        // The one gap pulls the centre up from the category's, but not all the way.
        assert!(newcomer.log_mu.exp() > 33.0 && newcomer.log_mu.exp() < 60.0);
        let regular = rhythm(
            GapStats::from_gaps([32, 32, 33, 31, 32]).as_ref(),
            6,
            &prior,
            &settings,
        );
        assert!(newcomer.log_sd > regular.log_sd);
        let nothing = rhythm(None, 1, &prior, &settings);
        assert!(
            nothing.window_high_days.is_finite()
                && nothing.window_high_days > prior.default_interval_days
        );
    }

    #[test]
    fn a_configured_default_interval_wins_over_learned_and_preset_ones() {
        let prior = CategoryPrior::fit([], Some(42.0), Industry::Salon, &RhythmSettings::default());
        assert_eq!(prior.default_interval_days, 42.0);
        assert_eq!(prior.default_source, DefaultSource::Configured);
    }

    #[test]
    fn survival_falls_from_one_through_a_half_at_the_centre() {
        let r = rhythm_of(&[28, 28, 28, 28]);
        assert_eq!(r.survival(0.0), 1.0);
        assert!((r.survival(28.0) - 0.5).abs() < 1e-9);
        assert!(r.survival(60.0) < 0.01);
    }

    #[test]
    fn normal_quantile_matches_known_values() {
        assert!((standard_normal_quantile(0.9) - 1.281_551_6).abs() < 1e-6);
        assert!(standard_normal_quantile(0.5).abs() < 1e-9);
    }
}
