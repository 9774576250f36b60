//! The bus that hands due steps to the delivery functions: the project's EventBridge bus, or
//! the in-process bus of the local server.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::domain::channel::Channel;
use crate::domain::enrollment::{EnrollmentId, ScheduledStep};
use crate::domain::ids::{ClientId, TenantId};
use crate::ports::BoxError;

/// EventBridge's limit of entries per PutEvents call, which every publisher keeps to.
pub const MAX_EVENTS_PER_PUBLISH: usize = 10;

/// The event that hands a step to delivery: ids only, never personal data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepDue {
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub enrollment_id: EnrollmentId,
    pub step: u16,
    /// Which delivery function takes it (the bus routes on it).
    pub channel: Channel,
    pub send_at: Timestamp,
}

impl StepDue {
    pub const SOURCE: &'static str = "winback";
    pub const DETAIL_TYPE: &'static str = "winback.step.due";

    pub fn of(tenant: &TenantId, step: &ScheduledStep) -> StepDue {
        StepDue {
            tenant_id: tenant.clone(),
            client_id: step.client_id.clone(),
            enrollment_id: step.enrollment.clone(),
            step: step.index,
            channel: step.channel,
            send_at: step.send_at,
        }
    }
}

/// Why no event of a call was published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// More events than one call takes: a bug of the caller.
    #[error("{0} events in one call; a call takes at most {MAX_EVENTS_PER_PUBLISH}")]
    TooMany(usize),
    /// An event could not be written as JSON.
    #[error("an event could not be written: {0}")]
    Encode(#[source] BoxError),
    /// The bus could not be reached or refused the call (worth retrying).
    #[error("the event bus is unavailable: {0}")]
    Unavailable(#[source] BoxError),
}

/// Where due steps are published for delivery: the project's EventBridge bus, or the
/// in-process bus of the local server.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes at most [`MAX_EVENTS_PER_PUBLISH`] events in one call. `Ok` lists the indexes
    /// of the events that were not accepted (worth retrying); `Err` means none was.
    async fn publish(&self, events: &[StepDue]) -> Result<Vec<usize>, PublishError>;
}
