//! Consent and suppression on DynamoDB: suppression items by contact hash and the ledger lines
//! beside them.

use super::condition::{Clash, Condition};
use super::keys;
use super::records::{read_record, record, s, string};
use super::{DynamoStore, Item};
use crate::domain::contact::ContactHash;
use crate::domain::feedback::LedgerLine;
use crate::domain::ids::TenantId;
use crate::domain::suppression::SuppressionReason;
use crate::ports::ConsentStore;
use crate::ports::{ConsentChange, StoreError};
use async_trait::async_trait;

#[async_trait]
impl ConsentStore for DynamoStore {
    async fn record_consent(
        &self,
        tenant: &TenantId,
        change: &ConsentChange,
    ) -> Result<bool, StoreError> {
        let entry = &change.entry;
        let line = LedgerLine {
            client: change.client.clone(),
            entry: entry.clone(),
            reason: change.reason,
        };
        let mut ledger = Item::from([
            (
                keys::PK.into(),
                s(keys::consent_ledger(tenant, &change.contact)),
            ),
            (
                keys::SK.into(),
                s(keys::ledger_line(entry.at, entry.channel)),
            ),
        ]);
        ledger.insert("record".into(), record(&line)?);
        let suppression_pk = keys::suppression(tenant, &change.contact);
        let state = if entry.granted {
            self.delete(
                suppression_pk,
                keys::SUPPRESSED_SK.into(),
                Condition::Equals("reason", s(SuppressionReason::OptedOut.name())),
            )?
        } else {
            self.put(
                Item::from([
                    (keys::PK.into(), s(suppression_pk)),
                    (keys::SK.into(), s(keys::SUPPRESSED_SK)),
                    ("reason".into(), s(change.reason.name())),
                    ("at".into(), s(entry.at.to_string())),
                ]),
                Condition::Absent,
            )?
        };
        match self
            .transact(vec![state, self.put(ledger, Condition::Absent)?])
            .await
        {
            Ok(()) => Ok(true),
            Err(Clash::Changed) => Ok(false),
            Err(Clash::Failed(error)) => Err(error),
        }
    }

    async fn suppression(
        &self,
        tenant: &TenantId,
        contact: &ContactHash,
    ) -> Result<Option<SuppressionReason>, StoreError> {
        let Some(item) = self
            .get(keys::suppression(tenant, contact), keys::SUPPRESSED_SK)
            .await?
        else {
            return Ok(None);
        };
        let reason = string(&item, "reason")?;
        Ok(Some(
            serde_json::from_value(serde_json::Value::String(reason))
                .unwrap_or(SuppressionReason::Erased),
        ))
    }

    async fn consent_ledger(
        &self,
        tenant: &TenantId,
        contact: &ContactHash,
    ) -> Result<Vec<LedgerLine>, StoreError> {
        self.query_partition(&keys::consent_ledger(tenant, contact), keys::LEDGER_PREFIX)
            .await?
            .iter()
            .map(read_record)
            .collect()
    }
}
