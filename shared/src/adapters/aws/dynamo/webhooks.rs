//! Webhook deliveries already processed, as items that expire (TTL).

use async_trait::async_trait;
use jiff::Timestamp;

use crate::domain::ids::TenantId;
use crate::ports::StoreError;
use crate::ports::WebhookLog;

use super::keys;
use super::records::{n, number, s};
use super::{DynamoStore, Item};

#[async_trait]
impl WebhookLog for DynamoStore {
    async fn webhook_seen(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let Some(item) = self
            .get(keys::webhook(tenant, webhook_id), keys::WEBHOOK_SK)
            .await?
        else {
            return Ok(false);
        };
        // TTL deletes lag by up to days: an expired item is as good as gone.
        Ok(number(&item, keys::EXPIRES_AT)? > now.as_second())
    }

    async fn remember_webhook(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        expires_at: Timestamp,
        _now: Timestamp,
    ) -> Result<(), StoreError> {
        self.put_plain(Item::from([
            (keys::PK.into(), s(keys::webhook(tenant, webhook_id))),
            (keys::SK.into(), s(keys::WEBHOOK_SK)),
            (keys::EXPIRES_AT.into(), n(expires_at.as_second())),
        ]))
        .await
    }
}
