//! The step queue: every few minutes, claim the steps whose send time has come (scheduled →
//! queued, one conditional write each, so overlapping runs never queue a step twice) and
//! publish one `winback.step.due` event per step, in batches of at most ten, for the delivery
//! function of its channel. Entries the bus refuses are retried; a step whose event still
//! cannot be published goes back to scheduled for the next run. Nothing is dropped.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::enrollment::ScheduledStep;
use crate::domain::ids::TenantId;
use crate::ports::{
    Clock, EventPublisher, MAX_EVENTS_PER_PUBLISH, StepDue, StepQueue, Store, StoreError,
    TenantStore,
};

/// Steps read from the due index per query.
const PAGE: usize = 500;
/// Tries per batch before refused entries go back to the queue.
const PUBLISH_ATTEMPTS: u32 = 4;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EnqueueReport {
    pub tenants: usize,
    pub due: usize,
    /// Claimed by this run (the rest were claimed by another, or their enrollment ended).
    pub claimed: usize,
    pub published: usize,
    /// Put back for the next run: the bus kept refusing them.
    pub released: usize,
    pub publish_calls: usize,
}

pub struct Enqueuer<S: ?Sized = dyn Store> {
    store: Arc<S>,
    publisher: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
    retry_pause: Duration,
}

impl<S> Enqueuer<S>
where
    S: TenantStore + StepQueue + ?Sized,
{
    pub fn new(
        store: Arc<S>,
        publisher: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Enqueuer<S> {
        Enqueuer {
            store,
            publisher,
            clock,
            retry_pause: Duration::from_millis(200),
        }
    }

    /// Every tenant's due steps.
    pub async fn run(&self) -> Result<EnqueueReport, StoreError> {
        let mut report = EnqueueReport::default();
        for tenant in self.store.tenants().await? {
            report.tenants += 1;
            self.run_tenant(&tenant, &mut report).await?;
        }
        Ok(report)
    }

    /// One tenant's due steps, page by page, until none is left or the bus refuses.
    pub async fn run_tenant(
        &self,
        tenant: &TenantId,
        report: &mut EnqueueReport,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        loop {
            let due = self.store.due_steps(tenant, now, PAGE).await?;
            report.due += due.len();
            let mut claimed = Vec::with_capacity(due.len());
            for step in due.iter() {
                if let Some(queued) = self.store.claim_step(tenant, step, now).await? {
                    claimed.push(queued);
                }
            }
            report.claimed += claimed.len();
            let mut refused = false;
            for batch in claimed.chunks(MAX_EVENTS_PER_PUBLISH) {
                let unsent = self.publish(tenant, batch, report).await;
                refused |= !unsent.is_empty();
                for step in unsent {
                    self.store.release_step(tenant, step).await?;
                    report.released += 1;
                }
            }
            // A full page may hide more; a refusing bus is left for the next run.
            if due.len() < PAGE || refused {
                return Ok(());
            }
        }
    }

    /// Publishes one batch, retrying refused entries; returns the steps never accepted.
    async fn publish<'a>(
        &self,
        tenant: &TenantId,
        batch: &'a [ScheduledStep],
        report: &mut EnqueueReport,
    ) -> Vec<&'a ScheduledStep> {
        let mut pending: Vec<&ScheduledStep> = batch.iter().collect();
        for attempt in 1..=PUBLISH_ATTEMPTS {
            let events: Vec<StepDue> = pending.iter().map(|s| StepDue::of(tenant, s)).collect();
            report.publish_calls += 1;
            match self.publisher.publish(&events).await {
                Ok(failed) => {
                    report.published += pending.len() - failed.len();
                    pending = failed
                        .iter()
                        .filter_map(|&i| pending.get(i).copied())
                        .collect();
                }
                Err(error) => {
                    tracing::warn!(%tenant, attempt, error = %error, "publishing due steps failed");
                }
            }
            if pending.is_empty() {
                break;
            }
            if attempt < PUBLISH_ATTEMPTS {
                tokio::time::sleep(self.retry_pause * attempt).await;
            }
        }
        pending
    }
}
