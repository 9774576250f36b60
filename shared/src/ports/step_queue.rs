//! The step queue: scheduled steps in the due index, claimed for publishing, taken for sending
//! under a lease. Each move is one conditional write, so a step is sent once.
//!
//! Reads are safe to repeat; an error is worth retrying when [`StoreError::is_retryable`] says so.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::domain::enrollment::{EnrollmentId, ScheduledStep};
use crate::domain::ids::{ClientId, TenantId};
use crate::ports::StoreError;

/// The steps waiting to go out, and the moves that hand each to exactly one delivery.
#[async_trait]
pub trait StepQueue: Send + Sync {
    /// Scheduled steps whose send time is at or before `through`, earliest first, at most
    /// `limit`, from the due index only.
    async fn due_steps(
        &self,
        tenant: &TenantId,
        through: Timestamp,
        limit: usize,
    ) -> Result<Vec<ScheduledStep>, StoreError>;

    /// Moves a step from scheduled to queued (`StepStatus::queued`; it leaves the due index)
    /// and returns it as queued: `None` if it was not scheduled any more (another run claimed
    /// it, or its enrollment ended).
    async fn claim_step(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
        at: Timestamp,
    ) -> Result<Option<ScheduledStep>, StoreError>;

    /// Puts a step claimed by [`StepQueue::claim_step`] back to scheduled
    /// (`StepStatus::released`: its event could not be published), so the next run tries
    /// again. Does nothing if the step is not queued any more.
    async fn release_step(&self, tenant: &TenantId, step: &ScheduledStep)
    -> Result<(), StoreError>;

    /// A step as stored, if it is.
    async fn step(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        enrollment: &EnrollmentId,
        index: u16,
    ) -> Result<Option<ScheduledStep>, StoreError>;

    /// Takes a step for sending (queued, or sending with a lease run out → sending until
    /// `lease_until`): `false` if another delivery has it or it was sent or removed.
    async fn claim_for_sending(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError>;
}
