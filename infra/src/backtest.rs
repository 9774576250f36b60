//! `winback backtest`: checks the lapse score honestly on a business's own history.
//!
//! The audit sees only the rows up to the cut-off date, as if it were run that day; the rows
//! after it say who actually came back within the horizon. The lapse score should rank the
//! clients who did not come back above those who did better than recency alone (days since
//! the last visit) does. Rows after the cut-off are never shown to the audit, not even as
//! future bookings, so nothing leaks from the answer into the score.

use std::io::Read;

use rustc_hash::FxHashSet;
use shared::adapters::bookings_csv::{ExportError, ReadOptions};
use shared::app::audit::{Audit, AuditOptions};
use shared::domain::booking::LineKind;
use shared::domain::ids::Category;
use shared::domain::lapse_score::roc_auc;

use shared::adapters::bookings_csv::audit_run::{InputSummary, read_rows};

/// Clients last seen at most this many days before the cut-off are the "recent" subset.
const RECENT_DAYS: f64 = 180.0;

#[derive(Debug, Clone, serde::Serialize)]
pub struct BacktestResult {
    pub cutoff: String,
    pub horizon_days: u32,
    /// Client-category pairs with a completed visit before the cut-off.
    pub scored: usize,
    /// Of those, how many made no visit in the category within the horizon.
    pub did_not_return: usize,
    /// AUC of the lapse score for "did not return" (1 is perfect, 0.5 is chance).
    pub lapse_score_auc: Option<f64>,
    /// AUC of days since the last visit, the baseline.
    pub recency_auc: Option<f64>,
    /// The same two AUCs among clients whose last visit was at most 180 days before the cut-off:
    /// the ones a business would still try to win back, where telling them apart is harder.
    pub recent_scored: usize,
    pub recent_lapse_score_auc: Option<f64>,
    pub recent_recency_auc: Option<f64>,
    /// Mean lapse score against the observed share that did not return: calibration in brief.
    pub mean_lapse_score: f64,
    pub observed_no_return_rate: f64,
    #[serde(skip)]
    pub input: InputSummary,
}

pub fn backtest<R: Read>(
    input: R,
    read_options: ReadOptions,
    options: AuditOptions,
) -> Result<BacktestResult, ExportError> {
    let cutoff = options.as_of;
    let horizon = options.horizon_days;
    let end = cutoff.plus_days(horizon as i32);
    let mut audit = Audit::new(options);
    let mut returned: FxHashSet<(Box<str>, Category)> = FxHashSet::default();
    let summary = read_rows(input, read_options, |line| {
        if line.day <= cutoff {
            return audit.add(line).map_err(|e| e.to_string());
        }
        if line.day <= end && line.kind(end) == LineKind::Visit {
            let category = Category::parse(line.category).map_err(|e| e.to_string())?;
            returned.insert((line.client.into(), category));
        }
        Ok(())
    })?;
    let report = audit.finish();
    let (mut labels, mut lapse, mut recency) = (Vec::new(), Vec::new(), Vec::new());
    for score in report.scores() {
        let came_back = returned.contains(&(Box::from(score.client()), score.category().clone()));
        labels.push(!came_back);
        lapse.push(score.lapse_score());
        recency.push(f64::from(score.days_since_last_visit()));
    }
    let recent: Vec<usize> = (0..labels.len())
        .filter(|&i| recency[i] <= RECENT_DAYS)
        .collect();
    let pick = |values: &[f64]| recent.iter().map(|&i| values[i]).collect::<Vec<_>>();
    let recent_labels: Vec<bool> = recent.iter().map(|&i| labels[i]).collect();
    let did_not_return = labels.iter().filter(|&&l| l).count();
    let n = labels.len().max(1) as f64;
    Ok(BacktestResult {
        cutoff: cutoff.to_string(),
        horizon_days: horizon,
        scored: labels.len(),
        did_not_return,
        lapse_score_auc: roc_auc(&lapse, &labels),
        recency_auc: roc_auc(&recency, &labels),
        recent_scored: recent.len(),
        recent_lapse_score_auc: roc_auc(&pick(&lapse), &recent_labels),
        recent_recency_auc: roc_auc(&pick(&recency), &recent_labels),
        mean_lapse_score: lapse.iter().sum::<f64>() / n,
        observed_no_return_rate: did_not_return as f64 / n,
        input: summary,
    })
}
