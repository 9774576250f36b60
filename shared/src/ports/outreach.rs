//! Outreach and enrollments: a client's outreach record (the one active enrollment, its pending
//! step), the enrollment records the report reads, and the all-or-nothing change that moves them.
//!
//! Reads are safe to repeat; an error is worth retrying when [`StoreError::is_retryable`] says so.

use async_trait::async_trait;

use crate::domain::channel::Channel;
use crate::domain::client_record::ClientRecord;
use crate::domain::day::Day;
use crate::domain::enrollment::{Enrollment, EnrollmentId, Outcome, Outreach, ScheduledStep};
use crate::domain::ids::{ClientId, TenantId};
use crate::ports::StoreError;

/// A day's count of new first messages on a channel, and its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyCount {
    pub day: Day,
    pub channel: Channel,
    pub cap: u32,
}

/// A change to one client's outreach, written all or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct OutreachChange {
    pub client_id: ClientId,
    /// The version the outreach was read at (0: none was stored); the change is made only if
    /// it is still the stored one.
    pub expected_version: u64,
    pub outreach: Outreach,
    /// An enrollment record to write: a new one, one that just sent a message, or one that
    /// just ended.
    pub enrollment: Option<Enrollment>,
    /// A step to schedule (it goes into the due index).
    pub schedule: Option<ScheduledStep>,
    /// A scheduled step to remove: the pending step of an enrollment that ended.
    pub unschedule: Option<(EnrollmentId, u16)>,
    /// A step to record as it is given (sent, with its message id), outside the due index.
    pub sent: Option<ScheduledStep>,
    /// Counts the change against a day's cap, and refuses it if the cap is reached.
    pub count: Option<DailyCount>,
}

impl ClientRecord {
    /// The change that ends the client's active enrollment with `outcome` and removes its
    /// pending step; `None` when nothing is active.
    pub fn ending(&self, client: &ClientId, outcome: Outcome, on: Day) -> Option<OutreachChange> {
        let active = self.outreach.active.as_ref()?;
        let mut outreach = self.outreach.clone();
        let pending = outreach.pending_step.map(|step| (active.id.clone(), step));
        let ended = outreach.end(outcome, on);
        Some(OutreachChange {
            client_id: client.clone(),
            expected_version: self.outreach_version,
            outreach,
            enrollment: ended,
            schedule: None,
            unschedule: pending,
            sent: None,
            count: None,
        })
    }

    /// The change that puts `step` (back) in the queue as given, the outreach unchanged.
    pub fn requeuing(&self, step: ScheduledStep) -> OutreachChange {
        OutreachChange {
            client_id: step.client_id.clone(),
            expected_version: self.outreach_version,
            outreach: self.outreach.clone(),
            enrollment: None,
            schedule: Some(step),
            unschedule: None,
            sent: None,
            count: None,
        }
    }
}

/// What writing an outreach change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Done,
    /// The outreach changed since it was read (another detector, a booking): read again.
    Changed,
    /// The day's cap on the channel is reached: nothing was written.
    CapReached,
}

/// Enrollments, and the conditional write that starts, advances or ends one.
#[async_trait]
pub trait OutreachStore: Send + Sync {
    /// Writes a change to one client's outreach: the outreach record, the enrollment record,
    /// the step to schedule or unschedule and the day's count, all or nothing, on condition
    /// that the outreach is still at the version read and the cap has room.
    async fn write_outreach(
        &self,
        tenant: &TenantId,
        change: &OutreachChange,
    ) -> Result<Written, StoreError>;

    /// An enrollment record (active or ended) of a client.
    async fn enrollment(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        id: &EnrollmentId,
    ) -> Result<Option<Enrollment>, StoreError>;

    /// Every enrollment of the business that started from `from` through `through` (local
    /// days), as it stands now (an active one with the messages sent so far): what the
    /// outreach report is made from. Reads those enrollments only, not the clients.
    async fn enrollments_started(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<Vec<Enrollment>, StoreError>;
}
