//! `winback tenant ...`: create a tenant and its credentials. Each command prints only what a
//! script needs to capture (the id, the key, the secret) on standard output.

use rand::Rng;
use shared::domain::config::BusinessConfig;
use shared::domain::ids::TenantId;
use shared::domain::tenant::{ApiKey, Tenant, WebhookSecret};
use shared::ports::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(
        "no tenant {0}; create one with `winback tenant create` (and the same --data or --dynamodb-table)"
    )]
    UnknownTenant(TenantId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new tenant id: `t_` and 12 random lower-case letters and digits.
pub fn new_tenant_id() -> TenantId {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..12)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    TenantId::parse(&format!("t_{tail}")).expect("a generated id is valid")
}

pub async fn create_tenant(
    store: &dyn Store,
    id: TenantId,
    name: String,
    config: BusinessConfig,
) -> Result<Tenant, AdminError> {
    let tenant = Tenant {
        id,
        name,
        config,
        created_at: jiff::Timestamp::now(),
        webhook_secrets: Vec::new(),
        paused: None,
    };
    store.create_tenant(&tenant).await?;
    Ok(tenant)
}

pub async fn create_key(store: &dyn Store, tenant: &TenantId) -> Result<ApiKey, AdminError> {
    if store.tenant(tenant).await?.is_none() {
        return Err(AdminError::UnknownTenant(tenant.clone()));
    }
    let key = ApiKey::from_random(rand::rng().random());
    store.add_api_key(tenant, &key.hash()).await?;
    Ok(key)
}

pub async fn create_webhook_secret(
    store: &dyn Store,
    tenant: &TenantId,
) -> Result<WebhookSecret, AdminError> {
    if store.tenant(tenant).await?.is_none() {
        return Err(AdminError::UnknownTenant(tenant.clone()));
    }
    let secret = WebhookSecret::from_random(rand::rng().random());
    store.add_webhook_secret(tenant, &secret).await?;
    Ok(secret)
}
