//! The local server's stand-in for EventBridge schedules: every tick, lapse detection for every
//! tenant, then the step queue, in process. A failed run is logged and tried again next tick,
//! as a scheduled Lambda would be retried.

use std::sync::Arc;
use std::time::Duration;

use crate::app::detect::Detector;
use crate::app::enqueue::Enqueuer;
use crate::ports::{Clock, EventPublisher, Store, StoreError};

/// Runs the detector and the step queue every `every`, for ever.
pub async fn run_schedules(
    store: Arc<dyn Store>,
    publisher: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
    every: Duration,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = tick(&store, &publisher, &clock).await {
            tracing::warn!(%error, "scheduled run failed; trying again next tick");
        }
    }
}

/// One tick: detection for every tenant, then the step queue.
pub async fn tick(
    store: &Arc<dyn Store>,
    publisher: &Arc<dyn EventPublisher>,
    clock: &Arc<dyn Clock>,
) -> Result<(), StoreError> {
    let detector = Detector::new(Arc::clone(store), Arc::clone(clock));
    for (tenant, run) in detector.run_every_tenant().await? {
        match run {
            Ok(report) if report.enrolled + report.control + report.completed > 0 => {
                tracing::info!(
                    %tenant,
                    enrolled = report.enrolled,
                    control = report.control,
                    deferred = report.deferred,
                    completed = report.completed,
                    "detection run"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%tenant, %error, "detection run failed"),
        }
    }
    let report = Enqueuer::new(Arc::clone(store), Arc::clone(publisher), Arc::clone(clock))
        .run()
        .await?;
    if report.claimed > 0 {
        tracing::info!(published = report.published, "due steps queued");
    }
    Ok(())
}
