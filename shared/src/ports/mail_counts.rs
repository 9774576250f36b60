//! Mail counts: a business's email events per day (sent, bounced, complained), from which its
//! sending reputation is judged.
//!
//! Reads are safe to repeat; an error is worth retrying when [`StoreError::is_retryable`] says so.

use async_trait::async_trait;

use crate::domain::day::Day;
use crate::domain::ids::TenantId;
use crate::domain::reputation::{MailCounts, MailEvent};
use crate::ports::StoreError;

/// Email events counted by day.
#[async_trait]
pub trait MailStats: Send + Sync {
    /// Counts one email event of a tenant's day (kept 60 days).
    async fn count_mail(
        &self,
        tenant: &TenantId,
        day: Day,
        event: MailEvent,
    ) -> Result<(), StoreError>;

    /// A tenant's email counts over `from..=through`.
    async fn mail_counts(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<MailCounts, StoreError>;
}
