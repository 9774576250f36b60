//! The DynamoDB store: the [`Store`] port on the one table of the deployed system.
//!
//! Keys are built in [`keys`]; records are stored as one map attribute (`record`, written with
//! `serde_dynamo`) beside the attributes that conditions and the watch index use. Every change
//! that must not be lost to a concurrent one is a conditional write on what was read
//! (optimistic concurrency): a clash is read again and retried a few times with jittered
//! backoff, then reported as [`StoreError::Contention`]. The adapter enforces DynamoDB's own
//! limits (25 items per batch write, 100 per transaction, 400 KB per item) itself, because
//! local emulators do not.

mod clients;
mod condition;
mod consent;
mod io;
pub mod keys;
mod mail_counts;
mod outreach;
mod records;
pub mod schema;
mod steps;
mod tenants;
mod watch_index;
mod webhooks;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

pub use schema::create_table;

/// DynamoDB's limits, enforced here.
pub const MAX_BATCH_WRITE: usize = 25;
pub const MAX_BATCH_GET: usize = 100;
pub const MAX_TRANSACTION_ITEMS: usize = 100;
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// How many times a write that clashed with a concurrent one is read again and retried.
const ATTEMPTS: u32 = 8;

type Item = HashMap<String, AttributeValue>;

pub struct DynamoStore {
    client: Client,
    table: String,
    items_read: AtomicU64,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
            items_read: AtomicU64::new(0),
        }
    }

    /// Items read so far by this store (returned by GetItem, BatchGetItem and Query): the
    /// instrumentation behind the "reads what is due, not what is stored" benchmark.
    pub fn items_read(&self) -> u64 {
        self.items_read.load(Ordering::Relaxed)
    }

    fn count_read(&self, items: usize) {
        self.items_read.fetch_add(items as u64, Ordering::Relaxed);
    }
}
