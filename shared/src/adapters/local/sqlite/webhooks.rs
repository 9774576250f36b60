//! Webhook deliveries already processed, on SQLite, until they expire.

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use crate::domain::ids::TenantId;
use crate::ports::StoreError;
use crate::ports::WebhookLog;

use super::rows::unavailable;
use super::{SqliteStore, exec, query_row};

#[async_trait]
impl WebhookLog for SqliteStore {
    async fn webhook_seen(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (tenant, id) = (tenant.to_string(), webhook_id.to_owned());
        let now = now.as_second();
        self.transact(move |tx| {
            let seen: Option<i64> = query_row(
                tx,
                "SELECT 1 FROM webhook_deliveries
                     WHERE tenant = ?1 AND id = ?2 AND expires_at > ?3",
                params![tenant, id, now],
                |row| row.get(0),
            )
            .optional()
            .map_err(unavailable)?;
            Ok(seen.is_some())
        })
        .await
    }

    async fn remember_webhook(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.to_string(), webhook_id.to_owned());
        let now = now.as_second();
        self.transact(move |tx| {
            exec(
                tx,
                "DELETE FROM webhook_deliveries WHERE expires_at <= ?1",
                params![now],
            )
            .map_err(unavailable)?;
            exec(
                tx,
                "INSERT INTO webhook_deliveries (tenant, id, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO UPDATE SET expires_at = excluded.expires_at",
                params![tenant, id, expires_at.as_second()],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }
}
