//! The memory of webhook deliveries already processed, so a booking tool's retry is answered,
//! not applied twice.
//!
//! Reads are safe to repeat; an error is worth retrying when [`StoreError::is_retryable`] says so.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::domain::ids::TenantId;
use crate::ports::StoreError;

/// Which webhook deliveries (by `webhook-id`) a tenant has processed.
#[async_trait]
pub trait WebhookLog: Send + Sync {
    /// Whether a webhook delivery with this `webhook-id` was already processed.
    /// (Not if its memory expired by `now`.)
    async fn webhook_seen(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Records that a webhook delivery was processed, until `expires_at`. Idempotent.
    async fn remember_webhook(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError>;
}
