//! Tenants and credentials on DynamoDB: the tenant item (settings, pause, webhook secrets,
//! under a revision), API-key items by hash, and the tenant list.

use async_trait::async_trait;

use crate::domain::config::BusinessConfig;
use crate::domain::ids::TenantId;
use crate::domain::reputation::Pause;
use crate::domain::tenant::{ApiKeyHash, Tenant, WebhookSecret};
use crate::ports::TenantStore;
use crate::ports::{StoreError, Subject};

use super::condition::Condition;
use super::io::retry_on_clash;
use super::keys;
use super::records::{n, number, read_record, record, s, string};
use super::{DynamoStore, Item};

impl DynamoStore {
    /// Changes a tenant's record with `change` (which says whether it changed anything), on
    /// condition that its revision is still the one read; re-read and retried on a clash.
    pub(super) async fn update_tenant(
        &self,
        tenant: &TenantId,
        change: impl Fn(&mut Tenant) -> bool,
    ) -> Result<(), StoreError> {
        retry_on_clash(
            || Subject::Tenant(tenant.clone()),
            || async {
                let item = self
                    .get(keys::tenant(tenant), keys::TENANT_SK)
                    .await?
                    .ok_or_else(|| {
                        StoreError::corrupt(format!("tenant {tenant} does not exist"))
                    })?;
                let mut record_value: Tenant = read_record(&item)?;
                if !change(&mut record_value) {
                    return Ok(());
                }
                let revision = number(&item, "revision")?;
                let mut new = item.clone();
                new.insert("record".into(), record(&record_value)?);
                new.insert("revision".into(), n(revision + 1));
                self.transact(vec![
                    self.put(new, Condition::Equals("revision", n(revision)))?,
                ])
                .await
            },
        )
        .await
    }
}

#[async_trait]
impl TenantStore for DynamoStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let mut item = Item::from([
            (keys::PK.into(), s(keys::tenant(&tenant.id))),
            (keys::SK.into(), s(keys::TENANT_SK)),
            ("revision".into(), n(1)),
        ]);
        item.insert("record".into(), record(tenant)?);
        if self.put_new(item).await? {
            self.put_plain(Item::from([
                (keys::PK.into(), s(keys::TENANTS_PK)),
                (keys::SK.into(), s(keys::tenant_entry(&tenant.id))),
                ("tenant_id".into(), s(tenant.id.as_str())),
            ]))
            .await
        } else {
            Err(StoreError::AlreadyExists(Subject::Tenant(
                tenant.id.clone(),
            )))
        }
    }

    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get(keys::tenant(id), keys::TENANT_SK)
            .await?
            .as_ref()
            .map(read_record)
            .transpose()
    }

    async fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        self.query_partition(keys::TENANTS_PK, "")
            .await?
            .iter()
            .map(|item| {
                TenantId::parse(&string(item, "tenant_id")?).map_err(StoreError::unreadable)
            })
            .collect()
    }

    async fn add_webhook_secret(
        &self,
        tenant: &TenantId,
        secret: &WebhookSecret,
    ) -> Result<(), StoreError> {
        self.update_tenant(tenant, |record| {
            let new = !record.webhook_secrets.contains(secret);
            if new {
                record.webhook_secrets.push(secret.clone());
            }
            new
        })
        .await
    }

    async fn add_api_key(&self, tenant: &TenantId, key: &ApiKeyHash) -> Result<(), StoreError> {
        self.put_plain(Item::from([
            (keys::PK.into(), s(keys::api_key(key))),
            (keys::SK.into(), s(keys::APIKEY_SK)),
            ("tenant_id".into(), s(tenant.as_str())),
        ]))
        .await
    }

    async fn tenant_for_api_key(&self, key: &ApiKeyHash) -> Result<Option<TenantId>, StoreError> {
        let Some(item) = self.get(keys::api_key(key), keys::APIKEY_SK).await? else {
            return Ok(None);
        };
        let tenant = string(&item, "tenant_id")?;
        TenantId::parse(&tenant)
            .map(Some)
            .map_err(StoreError::unreadable)
    }

    async fn update_config(
        &self,
        tenant: &TenantId,
        config: &BusinessConfig,
    ) -> Result<(), StoreError> {
        self.update_tenant(tenant, |record| {
            record.config = config.clone();
            true
        })
        .await
    }

    async fn set_pause(&self, tenant: &TenantId, pause: Option<Pause>) -> Result<(), StoreError> {
        self.update_tenant(tenant, |record| {
            record.paused = pause.clone();
            true
        })
        .await
    }
}
