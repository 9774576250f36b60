//! Tenants and credentials on SQLite.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use crate::domain::config::BusinessConfig;
use crate::domain::ids::TenantId;
use crate::domain::reputation::Pause;
use crate::domain::tenant::{ApiKeyHash, Tenant, WebhookSecret};
use crate::ports::TenantStore;
use crate::ports::{StoreError, Subject};

use super::rows::{parse_id, read_tenant, to_json, unavailable};
use super::{SqliteStore, exec, query_row};

impl SqliteStore {
    /// Changes a tenant's record in one transaction.
    pub(super) async fn update_tenant(
        &self,
        tenant: &TenantId,
        change: impl FnOnce(&mut Tenant) + Send + 'static,
    ) -> Result<(), StoreError> {
        let id = tenant.to_string();
        self.transact(move |tx| {
            let Some(mut tenant) = read_tenant(tx, &id)? else {
                return Err(StoreError::corrupt(format!("tenant {id} does not exist")));
            };
            change(&mut tenant);
            exec(
                tx,
                "UPDATE tenants SET record = ?2 WHERE id = ?1",
                params![id, to_json(&tenant)?],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl TenantStore for SqliteStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let id = tenant.id.to_string();
        let tenant_id = tenant.id.clone();
        let record = to_json(tenant)?;
        self.transact(move |tx| {
            let inserted = exec(
                tx,
                "INSERT INTO tenants (id, record) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![id, record],
            )
            .map_err(unavailable)?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists(Subject::Tenant(
                    tenant_id.clone(),
                )));
            }
            Ok(())
        })
        .await
    }

    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let id = id.to_string();
        self.transact(move |tx| read_tenant(tx, &id)).await
    }

    async fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        self.transact(|tx| {
            let mut statement = tx
                .prepare_cached("SELECT id FROM tenants ORDER BY id")
                .map_err(unavailable)?;
            let rows = statement
                .query_map([], |row| row.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|row| parse_id(&row.map_err(unavailable)?, TenantId::parse))
                .collect()
        })
        .await
    }

    async fn add_webhook_secret(
        &self,
        tenant: &TenantId,
        secret: &WebhookSecret,
    ) -> Result<(), StoreError> {
        let secret = secret.clone();
        self.update_tenant(tenant, move |tenant| {
            if !tenant.webhook_secrets.contains(&secret) {
                tenant.webhook_secrets.push(secret);
            }
        })
        .await
    }

    async fn add_api_key(&self, tenant: &TenantId, key: &ApiKeyHash) -> Result<(), StoreError> {
        let (tenant, key) = (tenant.to_string(), key.as_str().to_owned());
        self.transact(move |tx| {
            exec(
                tx,
                "INSERT INTO api_keys (hash, tenant) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![key, tenant],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn tenant_for_api_key(&self, key: &ApiKeyHash) -> Result<Option<TenantId>, StoreError> {
        let key = key.as_str().to_owned();
        self.transact(move |tx| {
            let tenant: Option<String> = query_row(
                tx,
                "SELECT tenant FROM api_keys WHERE hash = ?1",
                params![key],
                |row| row.get(0),
            )
            .optional()
            .map_err(unavailable)?;
            tenant
                .map(|t| TenantId::parse(&t).map_err(StoreError::unreadable))
                .transpose()
        })
        .await
    }

    async fn update_config(
        &self,
        tenant: &TenantId,
        config: &BusinessConfig,
    ) -> Result<(), StoreError> {
        let config = config.clone();
        self.update_tenant(tenant, move |tenant| tenant.config = config)
            .await
    }

    async fn set_pause(&self, tenant: &TenantId, pause: Option<Pause>) -> Result<(), StoreError> {
        self.update_tenant(tenant, move |tenant| tenant.paused = pause)
            .await
    }
}
