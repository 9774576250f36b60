//! Tenants and credentials: creation, API keys, the tenant list and settings.

use crate::domain::ids::TenantId;
use crate::domain::tenant::{ApiKey, ApiKeyHash, WebhookSecret};
use crate::ports::{Store, StoreError};

use super::{contract_cases, tenant};

async fn a_tenant_is_created_once_and_read_back(store: &dyn Store) {
    let created = tenant(store, "t-create").await;
    assert_eq!(
        store.tenant(&created.id).await.unwrap(),
        Some(created.clone())
    );
    assert!(matches!(
        store.create_tenant(&created).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let unknown = TenantId::parse("t-unknown").unwrap();
    assert_eq!(store.tenant(&unknown).await.unwrap(), None);
    let secret = WebhookSecret::from_random([3; 32]);
    store
        .add_webhook_secret(&created.id, &secret)
        .await
        .unwrap();
    store
        .add_webhook_secret(&created.id, &secret)
        .await
        .unwrap();
    let read = store.tenant(&created.id).await.unwrap().unwrap();
    assert_eq!(read.webhook_secrets, vec![secret]);
}

async fn an_api_key_resolves_to_its_own_tenant_only(store: &dyn Store) {
    let a = tenant(store, "t-key-a").await;
    let b = tenant(store, "t-key-b").await;
    let key_a = ApiKey::from_random([1; 32]);
    let key_b = ApiKey::from_random([2; 32]);
    store.add_api_key(&a.id, &key_a.hash()).await.unwrap();
    store.add_api_key(&a.id, &key_a.hash()).await.unwrap();
    store.add_api_key(&b.id, &key_b.hash()).await.unwrap();
    assert_eq!(
        store.tenant_for_api_key(&key_a.hash()).await.unwrap(),
        Some(a.id)
    );
    assert_eq!(
        store.tenant_for_api_key(&key_b.hash()).await.unwrap(),
        Some(b.id)
    );
    let unknown = ApiKeyHash::of("wbk_not-a-key");
    assert_eq!(store.tenant_for_api_key(&unknown).await.unwrap(), None);
}

async fn tenants_are_listed_and_their_settings_replaced(store: &dyn Store) {
    let a = tenant(store, "t-list-a").await;
    let b = tenant(store, "t-list-b").await;
    let listed = store.tenants().await.unwrap();
    assert!(listed.contains(&a.id) && listed.contains(&b.id));
    let mut config = a.config.clone();
    config.outreach.control_share = 0.2;
    store.update_config(&a.id, &config).await.unwrap();
    let stored = store.tenant(&a.id).await.unwrap().unwrap();
    assert_eq!(stored.config.outreach.control_share, 0.2);
    assert_eq!(stored.name, a.name);
    assert_eq!(store.tenant(&b.id).await.unwrap().unwrap().config, b.config);
}

contract_cases![
    a_tenant_is_created_once_and_read_back,
    an_api_key_resolves_to_its_own_tenant_only,
    tenants_are_listed_and_their_settings_replaced,
];
