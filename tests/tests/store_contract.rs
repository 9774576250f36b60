//! The store contract, run against the SQLite store and against the DynamoDB store on a moto
//! server this test process starts (each test on its own table, so tests run in parallel).
//!
//! Every case the contract registers (`shared::testing::store_contract::cases`) becomes one
//! test per store, named `sqlite::<case>` and `dynamodb::<case>`, so a case cannot be written
//! and left unrun. Filters and `--list` work as with the standard test harness.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use libtest_mimic::{Arguments, Failed, Trial};
use shared::adapters::aws::dynamo::DynamoStore;
use shared::adapters::local::SqliteStore;
use shared::ports::{ClientStore, Store};
use shared::testing::store_contract::{self, Case};

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Dynamo,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Dynamo => "dynamodb",
        }
    }

    async fn store(self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite => Arc::new(SqliteStore::in_memory().unwrap()),
            Backend::Dynamo => {
                let (client, table) = shared::testing::moto::new_table().await;
                Arc::new(DynamoStore::new(client, table))
            }
        }
    }
}

/// Runs `test` on a runtime of its own, with worker threads for the cases that spawn tasks;
/// a panic is the test's failure, with its message.
fn on_runtime<F: std::future::Future<Output = ()>>(test: F) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime
        .block_on(AssertUnwindSafe(test).catch_unwind())
        .map_err(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the case panicked".into());
            Failed::from(message)
        })
}

fn trial(case: &'static Case, backend: Backend) -> Trial {
    Trial::test(format!("{}::{}", backend.name(), case.name), move || {
        on_runtime(async move { (case.run)(backend.store().await).await })
    })
}

fn main() {
    let args = Arguments::from_args();
    let mut trials: Vec<Trial> = store_contract::cases()
        .flat_map(|case| [trial(case, Backend::Sqlite), trial(case, Backend::Dynamo)])
        .collect();
    trials.push(Trial::test(
        "dynamodb_bulk_load_equals_importing_client_by_client",
        || on_runtime(dynamodb_bulk_load_equals_importing_client_by_client()),
    ));
    libtest_mimic::run(&args, trials).exit();
}

/// The DynamoDB store's bulk loader (no reads, batch writes) leaves what importing the same
/// histories client by client leaves.
async fn dynamodb_bulk_load_equals_importing_client_by_client() {
    use shared::domain::ids::ClientId;
    let (client, table) = shared::testing::moto::new_table().await;
    let store = DynamoStore::new(client, table);
    let tenant = store_contract::tenant(&store, "t-bulk").await;
    let today = store_contract::day("2026-06-01");
    let history = |client: &str| {
        (0..6)
            .map(|i| {
                let on = format!("2026-0{}-0{}", 1 + i % 5, 1 + i);
                store_contract::booking(&format!("b{i}"), client, &on)
                    .also("colour", 5000)
                    .build()
            })
            .collect::<Vec<_>>()
    };
    let histories: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|c| {
            (
                ClientId::parse(&format!("bulk-{c}")).unwrap(),
                history(&format!("bulk-{c}")),
            )
        })
        .collect();
    let written = store.bulk_load(&tenant, &histories, today).await.unwrap();
    assert_eq!(written, 3 * (6 + 2));
    for (id, bookings) in &histories {
        let twin = ClientId::parse(&format!("twin-{id}")).unwrap();
        let twin_bookings: Vec<_> = bookings
            .iter()
            .map(|b| {
                let mut b = b.clone();
                b.client_id = twin.clone();
                b
            })
            .collect();
        store
            .import_history(&tenant, &twin, &twin_bookings, today)
            .await
            .unwrap();
        let loaded = store.client(&tenant.id, id).await.unwrap().unwrap();
        let imported = store.client(&tenant.id, &twin).await.unwrap().unwrap();
        assert_eq!(loaded.cadences, imported.cadences);
        assert_eq!(loaded.bookings.len(), imported.bookings.len());
    }
}
