//! The memory of processed webhook deliveries.

use jiff::Timestamp;

use crate::ports::Store;

use super::{contract_cases, tenant};

async fn webhook_ids_are_remembered_per_tenant_until_they_expire(store: &dyn Store) {
    let a = tenant(store, "t-hook-a").await;
    let b = tenant(store, "t-hook-b").await;
    assert!(
        !store
            .webhook_seen(&a.id, "msg_1", Timestamp::now())
            .await
            .unwrap()
    );
    let later = Timestamp::now()
        .checked_add(jiff::SignedDuration::from_mins(10))
        .unwrap();
    store
        .remember_webhook(&a.id, "msg_1", later, Timestamp::now())
        .await
        .unwrap();
    store
        .remember_webhook(&a.id, "msg_1", later, Timestamp::now())
        .await
        .unwrap();
    assert!(
        store
            .webhook_seen(&a.id, "msg_1", Timestamp::now())
            .await
            .unwrap()
    );
    assert!(
        !store
            .webhook_seen(&b.id, "msg_1", Timestamp::now())
            .await
            .unwrap()
    );
    let past = Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_secs(1))
        .unwrap();
    store
        .remember_webhook(&a.id, "msg_old", past, Timestamp::now())
        .await
        .unwrap();
    assert!(
        !store
            .webhook_seen(&a.id, "msg_old", Timestamp::now())
            .await
            .unwrap()
    );
}

contract_cases![webhook_ids_are_remembered_per_tenant_until_they_expire,];
