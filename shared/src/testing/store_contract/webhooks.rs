//! The memory of processed webhook deliveries.

use jiff::Timestamp;

use crate::ports::Store;

use super::{contract_cases, tenant};

async fn webhook_ids_are_remembered_per_tenant_until_they_expire(store: &dyn Store) {
    let a = tenant(store, "t-hook-a").await;
    let b = tenant(store, "t-hook-b").await;
    let now: Timestamp = "2030-03-04T10:00:00Z".parse().unwrap();
    assert!(!store.webhook_seen(&a.id, "msg_1", now).await.unwrap());
    let later = now
        .checked_add(jiff::SignedDuration::from_mins(10))
        .unwrap();
    store
        .remember_webhook(&a.id, "msg_1", later, now)
        .await
        .unwrap();
    store
        .remember_webhook(&a.id, "msg_1", later, now)
        .await
        .unwrap();
    assert!(store.webhook_seen(&a.id, "msg_1", now).await.unwrap());
    assert!(!store.webhook_seen(&b.id, "msg_1", now).await.unwrap());
    let past = now.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap();
    store
        .remember_webhook(&a.id, "msg_old", past, now)
        .await
        .unwrap();
    assert!(!store.webhook_seen(&a.id, "msg_old", now).await.unwrap());
}

contract_cases![webhook_ids_are_remembered_per_tenant_until_they_expire,];
