//! The local server's stand-in for a Lambda function's retries of an event: a delivery that
//! fails in a way worth retrying is tried again after a wait, then given up with a log line
//! (where AWS would put the event in the dead-letter queue).

use std::time::Duration;

use crate::app::deliver::{Delivered, Deliverer};
use crate::ports::StepDue;

/// The waits before each retry, as Lambda's asynchronous invocation spaces them.
pub const RETRY_WAITS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(120)];

/// Delivers `event`, retrying after each of `waits` while the failure is retryable.
pub async fn deliver_with_retries(
    deliverer: &Deliverer,
    event: &StepDue,
    waits: &[Duration],
) -> Option<Delivered> {
    let mut waits = waits.iter();
    loop {
        match deliverer.deliver(event).await {
            Ok(result) => {
                tracing::info!(?result, "step delivered");
                return Some(result);
            }
            Err(error) if error.is_retryable() => match waits.next() {
                Some(wait) => {
                    tracing::warn!(%error, "a step could not be delivered; trying again");
                    tokio::time::sleep(*wait).await;
                }
                None => {
                    tracing::error!(%error, client = %event.client_id, "a step could not be delivered; giving up");
                    return None;
                }
            },
            Err(error) => {
                tracing::error!(%error, client = %event.client_id, "a step could not be delivered");
                return None;
            }
        }
    }
}
