//! Tenants and their credentials: the business record (name, settings, pause, webhook
//! secrets) and the API keys that bind a request to one business.
//!
//! Reads are safe to repeat; an error is worth retrying when [`StoreError::is_retryable`] says so.

use async_trait::async_trait;

use crate::domain::config::BusinessConfig;
use crate::domain::ids::TenantId;
use crate::domain::reputation::Pause;
use crate::domain::tenant::{ApiKeyHash, Tenant, WebhookSecret};
use crate::ports::StoreError;

/// The businesses a deployment serves, and how a request proves which one it is.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Creates a tenant. Not idempotent: a second call with the same id is `AlreadyExists`.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;

    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;

    /// Every tenant, for the scheduled functions. Reads one item per tenant.
    async fn tenants(&self) -> Result<Vec<TenantId>, StoreError>;

    /// Adds a webhook signing secret to a tenant (kept beside the others while rotating).
    async fn add_webhook_secret(
        &self,
        tenant: &TenantId,
        secret: &WebhookSecret,
    ) -> Result<(), StoreError>;

    /// Registers an API key's hash for a tenant. Idempotent.
    async fn add_api_key(&self, tenant: &TenantId, key: &ApiKeyHash) -> Result<(), StoreError>;

    /// The tenant an API key belongs to, if any.
    async fn tenant_for_api_key(&self, key: &ApiKeyHash) -> Result<Option<TenantId>, StoreError>;

    /// Replaces a tenant's settings with `config` (already validated). Idempotent.
    async fn update_config(
        &self,
        tenant: &TenantId,
        config: &BusinessConfig,
    ) -> Result<(), StoreError>;

    /// Pauses a tenant's sending with its reason, or resumes it (`None`). Idempotent.
    async fn set_pause(&self, tenant: &TenantId, pause: Option<Pause>) -> Result<(), StoreError>;
}
