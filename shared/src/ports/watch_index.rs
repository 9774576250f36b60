//! The watch index: each cadence's next day to be looked at (the sparse, day-bucketed index the
//! detector reads instead of the history), the overdue index, and the detector's checkpoint.
//!
//! Reads are safe to repeat; an error is worth retrying when [`StoreError::is_retryable`] says so.

use async_trait::async_trait;

use crate::domain::category_cadence::Watch;
use crate::domain::day::Day;
use crate::domain::ids::{Category, ClientId, TenantId};
use crate::domain::stage::Stage;
use crate::ports::StoreError;

/// What the detector (or ingest) saw when it looked at a cadence: the stage it is in now and
/// when to look next. The overdue index lists the cadences whose last look found them overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    pub stage: Stage,
    pub next: Option<Watch>,
}

/// A cadence the overdue index lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueCadence {
    pub client_id: ClientId,
    pub category: Category,
    pub stage: Stage,
}

/// A cadence whose watch day fell in a queried range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedCadence {
    pub client_id: ClientId,
    pub category: Category,
    pub watch: Watch,
}

/// When each cadence is next looked at, and which cadences were last found overdue.
#[async_trait]
pub trait WatchIndex: Send + Sync {
    /// The cadences whose watch day lies in `from..=through`, from the watch index only: the
    /// items read are the ones returned, plus a constant number of requests per day of the
    /// range (meant for the days since the detector's last run, not for years).
    async fn watched_cadences(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<Vec<WatchedCadence>, StoreError>;

    /// The last day the detector finished for a tenant, if it ever did.
    async fn detector_checkpoint(&self, tenant: &TenantId) -> Result<Option<Day>, StoreError>;

    /// Records that the detector finished through `day`; never moves the checkpoint back, so
    /// overlapping or late runs do no harm. Idempotent.
    async fn set_detector_checkpoint(&self, tenant: &TenantId, day: Day) -> Result<(), StoreError>;

    /// Records what a look at a cadence found: its stage (for the overdue index) and its next
    /// watch day, unless the cadence's watch is no longer `seen` (a booking changed it in the
    /// meantime and its own watch stands): then `false` and nothing changes.
    async fn record_look(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        category: &Category,
        seen: Option<Watch>,
        look: Look,
    ) -> Result<bool, StoreError>;

    /// The cadences whose last look found them overdue (at-risk, lapsed or dormant), from the
    /// overdue index only.
    async fn overdue(&self, tenant: &TenantId) -> Result<Vec<OverdueCadence>, StoreError>;
}
