//! How many items "what became due today" reads, against how many are due: a store on
//! DynamoDB (moto) holding 10,000 clients with 20 bookings each, about 2% of them due on the
//! day asked for. Items are counted by the DynamoDB store's own instrumentation.
//!
//! The histories are written with the store's bulk loader (batch writes, no reads): moto
//! answers a Query by scanning its whole table, so loading client by client would take hours.
//!
//!     cargo bench -p system-tests --bench watch_reads

use shared::ports::{TenantStore, WatchIndex};
use std::sync::Arc;
use std::time::Instant;

use shared::adapters::aws::dynamo::DynamoStore;
use shared::domain::booking::{Booking, BookingStatus, ServiceLine};
use shared::domain::category_cadence::CategoryCadence;
use shared::domain::config::BusinessConfig;
use shared::domain::day::Day;
use shared::domain::ids::{BookingId, Category, ClientId, TenantId};
use shared::domain::stage::Stage;
use shared::domain::tenant::Tenant;

const CLIENTS: i32 = 10_000;
const BOOKINGS: i32 = 20;
/// Due days are spread evenly over this many days, so about 2% of clients fall on any one day.
const SPREAD_DAYS: i32 = 75;

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let (client, table) = shared::testing::moto::new_table().await;
    let store = Arc::new(DynamoStore::new(client, table));
    let tenant = Tenant {
        id: TenantId::parse("bench").unwrap(),
        name: "Bench Salon".into(),
        config: BusinessConfig::default(),
        created_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        webhook_secrets: Vec::new(),
        paused: None,
    };
    store.create_tenant(&tenant).await.unwrap();

    // The day asked about, and the day the histories were written (before anyone was due).
    let query_day = Day::from(jiff::civil::date(2026, 11, 23));
    let written_on = query_day.plus_days(-SPREAD_DAYS);
    let hair = Category::parse("hair").unwrap();
    let started = Instant::now();
    let mut histories = Vec::with_capacity(CLIENTS as usize);
    for c in 0..CLIENTS {
        // A personal interval of 20 to 59 days, and a last visit that makes the client due
        // on a day spread over SPREAD_DAYS around the query day.
        let interval = 20 + c % 40;
        let due_on = query_day.plus_days(c % SPREAD_DAYS - SPREAD_DAYS / 2);
        let last = due_on.plus_days(-interval);
        let id = ClientId::parse(&format!("client-{c:05}")).unwrap();
        let bookings: Vec<Booking> = (0..BOOKINGS)
            .map(|b| {
                let day = last.plus_days(-(BOOKINGS - 1 - b) * interval);
                Booking {
                    id: BookingId::parse(&format!("b{b}")).unwrap(),
                    client_id: id.clone(),
                    status: BookingStatus::Completed,
                    starts_at: format!("{day}T10:00:00Z").parse().unwrap(),
                    updated_at: format!("{day}T12:00:00Z").parse().unwrap(),
                    location_id: None,
                    staff: None,
                    offer_code: None,
                    services: vec![ServiceLine {
                        category: hair.clone(),
                        name: Some("Cut".into()),
                        price_minor: 4500,
                    }],
                }
            })
            .collect();
        histories.push((id, bookings));
    }
    // What the index should return: every cadence whose watch falls on the query day.
    let expected_due_on_query_day = histories
        .iter()
        .filter_map(|(_, bookings)| {
            CategoryCadence::from_bookings(&hair, bookings, &tenant.config.timezone)?
                .watch(written_on, &tenant.config)
        })
        .filter(|w| w.on == query_day)
        .count();
    let written = store
        .bulk_load(&tenant, &histories, written_on)
        .await
        .unwrap();
    eprintln!(
        "loaded {CLIENTS} clients x {BOOKINGS} bookings ({written} items) in {:.0} s",
        started.elapsed().as_secs_f64()
    );

    let before = store.items_read();
    let watched = store
        .watched_cadences(&tenant.id, query_day, query_day)
        .await
        .unwrap();
    let items_read = store.items_read() - before;
    let due = watched
        .iter()
        .filter(|w| w.watch.stage == Stage::Due)
        .count();
    assert_eq!(watched.len(), expected_due_on_query_day);
    println!("clients: {CLIENTS}, bookings each: {BOOKINGS}");
    println!(
        "watched on {query_day}: {} ({} becoming due, {:.1}% of clients)",
        watched.len(),
        due,
        100.0 * watched.len() as f64 / f64::from(CLIENTS)
    );
    println!("items read: {items_read}");
    println!(
        "items read / watched: {:.3}",
        items_read as f64 / watched.len().max(1) as f64
    );
}
