//! The store contract, run against the SQLite store and against the DynamoDB store on a moto
//! server this test process starts (each test on its own table, so tests run in parallel).

use std::sync::Arc;

use shared::adapters::aws::dynamo::DynamoStore;
use shared::adapters::local::SqliteStore;
use shared::ports::Store;
use shared::testing::store_contract;

fn sqlite() -> Arc<dyn Store> {
    Arc::new(SqliteStore::in_memory().unwrap())
}

async fn dynamo() -> Arc<dyn Store> {
    let (client, table) = shared::testing::moto::new_table().await;
    Arc::new(DynamoStore::new(client, table))
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    shared::testing::store_contract::$case(&*super::sqlite()).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $case() {
                    shared::testing::store_contract::$case(&*super::dynamo().await).await;
                }
            )*
        }
    };
}

contract!(
    a_tenant_is_created_once_and_read_back,
    an_api_key_resolves_to_its_own_tenant_only,
    webhook_ids_are_remembered_per_tenant_until_they_expire,
    a_profile_is_upserted_and_an_older_version_never_overwrites_it,
    completed_bookings_build_the_cadence_and_its_watch_day,
    the_same_booking_twice_or_an_older_version_changes_nothing,
    a_messy_history_leaves_the_cadence_of_a_clean_one,
    cancelling_the_only_visit_removes_the_cadence_and_its_watch,
    erasure_removes_every_item_and_suppresses_the_contacts,
    clients_are_found_by_their_mobile_number_as_it_is_now,
    watched_cadences_are_found_by_day_and_tenant,
    a_tenant_never_sees_another_tenant_s_client,
    importing_a_history_equals_applying_it_booking_by_booking,
    tenants_are_listed_and_their_settings_replaced,
    the_detector_checkpoint_never_moves_back,
    a_look_moves_the_watch_and_the_overdue_index_unless_the_cadence_changed,
    a_client_has_one_active_enrollment_and_ending_it_unschedules_its_step,
    enrollments_are_listed_by_the_day_they_started_as_they_stand,
    the_daily_cap_refuses_enrollments_once_reached,
    due_steps_are_found_by_time_and_claimed_once,
    a_queued_step_is_taken_for_sending_once_until_its_lease_runs_out,
    an_opt_out_suppresses_once_and_only_start_lifts_it,
    clicks_are_kept_with_the_client_and_erased_with_them,
    email_counts_add_up_by_day_and_a_pause_is_kept_until_lifted,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_bookings_for_one_client_are_all_counted() {
    store_contract::concurrent_bookings_for_one_client_are_all_counted(sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_concurrent_bookings_for_one_client_are_all_counted() {
    store_contract::concurrent_bookings_for_one_client_are_all_counted(dynamo().await).await;
}

/// The DynamoDB store's bulk loader (no reads, batch writes) leaves what importing the same
/// histories client by client leaves.
#[tokio::test]
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
