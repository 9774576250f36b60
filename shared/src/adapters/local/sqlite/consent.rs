//! Consent and suppression on SQLite: suppressions by contact hash and the ledger.

use async_trait::async_trait;
use rusqlite::params;

use crate::domain::contact::ContactHash;
use crate::domain::feedback::LedgerLine;
use crate::domain::ids::TenantId;
use crate::domain::suppression::{self, SuppressionReason, Transition};
use crate::ports::ConsentStore;
use crate::ports::{ConsentChange, StoreError};

use super::rows::{read_all, read_suppression, to_json, unavailable};
use super::{SqliteStore, exec};

#[async_trait]
impl ConsentStore for SqliteStore {
    async fn record_consent(
        &self,
        tenant: &TenantId,
        change: &ConsentChange,
    ) -> Result<bool, StoreError> {
        let (tenant, change) = (tenant.to_string(), change.clone());
        self.transact(move |tx| {
            let hash = change.contact.as_str();
            let current = read_suppression(tx, &tenant, hash)?;
            let entry = &change.entry;
            match suppression::after_consent(current, entry.granted, change.reason) {
                Transition::Suppress(reason) => {
                    exec(
                        tx,
                        "INSERT INTO suppressions (tenant, hash, reason, at) VALUES (?1, ?2, ?3, ?4)",
                        params![tenant, hash, reason.name(), entry.at.to_string()],
                    )
                    .map_err(unavailable)?;
                }
                Transition::Lift => {
                    exec(
                        tx,
                        "DELETE FROM suppressions WHERE tenant = ?1 AND hash = ?2",
                        params![tenant, hash],
                    )
                    .map_err(unavailable)?;
                }
                Transition::Unchanged => return Ok(false),
            }
            let line = LedgerLine {
                client: change.client.clone(),
                entry: entry.clone(),
                reason: change.reason,
            };
            exec(
                tx,
                "INSERT INTO consent_ledger (tenant, hash, record) VALUES (?1, ?2, ?3)",
                params![tenant, hash, to_json(&line)?],
            )
            .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn suppression(
        &self,
        tenant: &TenantId,
        contact: &ContactHash,
    ) -> Result<Option<SuppressionReason>, StoreError> {
        let (tenant, hash) = (tenant.to_string(), contact.as_str().to_owned());
        self.transact(move |tx| read_suppression(tx, &tenant, &hash))
            .await
    }

    async fn consent_ledger(
        &self,
        tenant: &TenantId,
        contact: &ContactHash,
    ) -> Result<Vec<LedgerLine>, StoreError> {
        let (tenant, hash) = (tenant.to_string(), contact.as_str().to_owned());
        self.transact(move |tx| {
            read_all(
                tx,
                "SELECT record FROM consent_ledger WHERE tenant = ?1 AND hash = ?2 ORDER BY line",
                params![tenant, hash],
            )
        })
        .await
    }
}
