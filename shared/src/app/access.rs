//! Who a request acts for: the tenant an API key belongs to, the tenant a signed webhook
//! delivery names, and the memory of deliveries already processed, so a booking tool's retry
//! is answered and not applied twice. The HTTP layer checks the credential's form and the
//! signature; this use case reads and writes what it needs.

use std::sync::Arc;

use jiff::SignedDuration;

use crate::domain::ids::TenantId;
use crate::domain::tenant::{ApiKeyHash, Tenant};
use crate::ports::{Clock, StoreError, TenantStore, WebhookLog};

/// How long a processed `webhook-id` is remembered: longer than any sender's retry schedule.
pub const WEBHOOK_ID_MEMORY: SignedDuration = SignedDuration::from_hours(24 * 7);

pub struct Access<S: ?Sized = dyn crate::ports::Store> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
}

impl<S> Access<S>
where
    S: TenantStore + WebhookLog + ?Sized,
{
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>) -> Access<S> {
        Access { store, clock }
    }

    /// The tenant an API key belongs to: `Ok(None)` when the key is unknown, and
    /// [`AccessError::TenantGone`] when the key outlived its tenant.
    pub async fn tenant_for_key(&self, key: &ApiKeyHash) -> Result<Option<Tenant>, AccessError> {
        let Some(id) = self.store.tenant_for_api_key(key).await? else {
            return Ok(None);
        };
        match self.store.tenant(&id).await? {
            Some(tenant) => Ok(Some(tenant)),
            None => Err(AccessError::TenantGone(id)),
        }
    }

    /// A tenant by id (the one a signed delivery names), if it exists.
    pub async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.store.tenant(id).await
    }

    /// Whether a signed delivery with this `webhook-id` was already processed.
    pub async fn already_processed(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
    ) -> Result<bool, StoreError> {
        self.store
            .webhook_seen(tenant, webhook_id, self.clock.now())
            .await
    }

    /// Remembers a processed delivery for [`WEBHOOK_ID_MEMORY`]. Idempotent.
    pub async fn remember_processed(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let until = now.checked_add(WEBHOOK_ID_MEMORY).unwrap_or(now);
        self.store
            .remember_webhook(tenant, webhook_id, until, now)
            .await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("the tenant {0} of this credential no longer exists")]
    TenantGone(TenantId),
    #[error(transparent)]
    Store(#[from] StoreError),
}
