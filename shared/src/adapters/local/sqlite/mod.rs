//! The SQLite store: the [`Store`] port on one file, for `winback serve` and for trying the
//! product on one machine.
//!
//! Records are JSON in a column beside the columns that are looked up (ids, the watch day).
//! Every change runs in one `IMMEDIATE` transaction, so concurrent requests for one client are
//! serialised by SQLite itself and a failed request leaves nothing half-written. The
//! connection lives behind a mutex and runs on tokio's blocking pool.

mod clients;
mod consent;
mod mail_counts;
mod outreach;
mod rows;
mod schema;
mod steps;
mod tenants;
mod watch_index;
mod webhooks;

use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rows::unavailable;
use rusqlite::{Connection, TransactionBehavior};
use schema::{MIGRATIONS, SCHEMA};

use crate::ports::StoreError;

/// The store on one SQLite file (or in memory, for tests).
#[derive(Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    rows_read: Arc<AtomicU64>,
}

thread_local! {
    /// Rows read by the transaction running on this thread.
    static ROWS: Cell<u64> = const { Cell::new(0) };
}

/// Counts `n` rows read (records returned by a lookup), for [`SqliteStore::rows_read`].
fn count(n: usize) {
    ROWS.with(|rows| rows.set(rows.get() + n as u64));
}

/// Runs a statement, prepared once per connection and cached.
fn exec(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

/// One row of a query, prepared once per connection and cached.
fn query_row<T>(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    tx.prepare_cached(sql)?.query_row(params, f)
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::with(Connection::open(path).map_err(unavailable)?)
    }

    /// A store that lives and dies with the process.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::with(Connection::open_in_memory().map_err(unavailable)?)
    }

    fn with(mut connection: Connection) -> Result<SqliteStore, StoreError> {
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(unavailable)?;
        connection.execute_batch(SCHEMA).map_err(unavailable)?;
        // Every statement the store runs stays prepared.
        connection.set_prepared_statement_cache_capacity(64);
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(unavailable)?;
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let tx = connection.transaction().map_err(unavailable)?;
            tx.execute_batch(migration).map_err(unavailable)?;
            schema::after_migration(&tx, i + 1).map_err(unavailable)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
        }
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
            rows_read: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Rows read so far (records returned by lookups): the instrumentation behind the
    /// "a detector run reads what is due, not what is stored" benchmark.
    pub fn rows_read(&self) -> u64 {
        self.rows_read.load(Ordering::Relaxed)
    }

    /// Runs `work` in one immediate transaction off the async workers; commits if it succeeds.
    async fn transact<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        let rows_read = Arc::clone(&self.rows_read);
        let run = move || {
            ROWS.with(|rows| rows.set(0));
            // A panic while holding the lock cannot leave a transaction open (it rolls back on
            // drop), so a poisoned lock is still a consistent connection.
            let mut connection = connection.lock().unwrap_or_else(|p| p.into_inner());
            let tx = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let value = work(&tx);
            rows_read.fetch_add(ROWS.with(Cell::get), Ordering::Relaxed);
            let value = value?;
            tx.commit().map_err(unavailable)?;
            Ok(value)
        };
        // On a multi-threaded runtime the work runs on this worker (its other tasks move to
        // another), saving a hand-over to the blocking pool per transaction.
        match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(run),
            _ => tokio::task::spawn_blocking(run)
                .await
                .map_err(|e| StoreError::Unavailable(Box::new(e)))?,
        }
    }
}
