//! Consent and suppression: every opt-in and opt-out in the ledger, and the hashed contacts that
//! must never be messaged.
//!
//! Reads are safe to repeat; an error is worth retrying when [`StoreError::is_retryable`] says so.

use async_trait::async_trait;

use crate::domain::contact::ContactHash;
use crate::domain::feedback::{ConsentEntry, LedgerLine};
use crate::domain::ids::{ClientId, TenantId};
use crate::domain::suppression::SuppressionReason;
use crate::ports::StoreError;

/// A change of a contact's consent, as the client (or their mailbox) gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentChange {
    pub contact: ContactHash,
    /// The ledger line: who (the client, when known), when, where from, in what words.
    pub client: Option<ClientId>,
    pub entry: ConsentEntry,
    /// Withdrawn consent: why the contact is suppressed from now on.
    pub reason: SuppressionReason,
}

/// The consent ledger and the suppression list.
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Records a consent change and the ledger line for it, together. Withdrawn: the contact
    /// is suppressed for `reason`, unless it already was (then nothing is written: `false`).
    /// Granted: an opt-out is lifted; a contact suppressed for any other reason (erased,
    /// bounced, complained) stays suppressed, and nothing is written (`false`), as when it was
    /// not suppressed at all. Ledger lines are only ever added. Idempotent by that rule.
    async fn record_consent(
        &self,
        tenant: &TenantId,
        change: &ConsentChange,
    ) -> Result<bool, StoreError>;

    /// Why a contact is suppressed, if it is.
    async fn suppression(
        &self,
        tenant: &TenantId,
        contact: &ContactHash,
    ) -> Result<Option<SuppressionReason>, StoreError>;

    /// Whether a contact detail must never be messaged (its client was erased, opted out,
    /// bounced or complained).
    async fn is_suppressed(
        &self,
        tenant: &TenantId,
        contact: &ContactHash,
    ) -> Result<bool, StoreError> {
        Ok(self.suppression(tenant, contact).await?.is_some())
    }

    /// A contact's consent ledger, oldest first.
    async fn consent_ledger(
        &self,
        tenant: &TenantId,
        contact: &ContactHash,
    ) -> Result<Vec<LedgerLine>, StoreError>;
}
