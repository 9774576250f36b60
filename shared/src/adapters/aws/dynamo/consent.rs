//! Consent and suppression on DynamoDB: suppression items by contact hash and the ledger lines
//! beside them.

use async_trait::async_trait;

use crate::domain::contact::ContactHash;
use crate::domain::feedback::LedgerLine;
use crate::domain::ids::TenantId;
use crate::domain::suppression::SuppressionReason;
use crate::ports::ConsentStore;
use crate::ports::{ConsentChange, StoreError};

use super::condition::{Clash, Condition};
use super::keys;
use super::records::{read_record, record, s, string};
use super::{DynamoStore, Item};

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
        // The transition (suppression::after_consent) as conditions on what is stored: consent
        // lifts only the suppression consent can lift; a withdrawal suppresses only a contact
        // not yet suppressed. A failed condition is the transition's `Unchanged`.
        let suppression_pk = keys::suppression(tenant, &change.contact);
        let state = if entry.granted {
            self.delete(
                suppression_pk,
                keys::SUPPRESSED_SK.into(),
                Condition::Equals("reason", s(SuppressionReason::LIFTED_BY_CONSENT.name())),
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
        Ok(Some(SuppressionReason::from_stored(&string(
            &item, "reason",
        )?)))
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
