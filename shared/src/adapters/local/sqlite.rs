//! The SQLite store: the [`Store`] port on one file, for `winback serve` and for trying the
//! product on one machine.
//!
//! Records are JSON in a column beside the columns that are looked up (ids, the watch day).
//! Every change runs in one `IMMEDIATE` transaction, so concurrent requests for one client are
//! serialised by SQLite itself and a failed request leaves nothing half-written. The
//! connection lives behind a mutex and runs on tokio's blocking pool.

use std::cell::Cell;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::domain::booking::Booking;
use crate::domain::booking_change::{self, BookingOutcome, Planned};
use crate::domain::category_cadence::{CategoryCadence, Watch};
use crate::domain::client::ClientProfile;
use crate::domain::config::BusinessConfig;
use crate::domain::contact::{ContactHash, PhoneNumber};
use crate::domain::day::Day;
use crate::domain::enrollment::{Enrollment, EnrollmentId, Outreach, ScheduledStep, StepStatus};
use crate::domain::ids::{Category, ClientId, TenantId};
use crate::domain::link_token::LinkClaims;
use crate::domain::reputation::{MailCounts, MailEvent, Pause};
use crate::domain::stage::Stage;
use crate::domain::tenant::{ApiKeyHash, Tenant, WebhookSecret};
use crate::ports::{
    Click, ClientRecord, ConsentChange, Erased, LedgerLine, Look, OutreachChange, OverdueCadence,
    ProfileOutcome, Store, StoreError, StoredCadence, SuppressionReason, WatchedCadence, Written,
};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    hash TEXT PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(id)
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE IF NOT EXISTS clients (
    tenant TEXT NOT NULL,
    client TEXT NOT NULL,
    profile TEXT NOT NULL,
    PRIMARY KEY (tenant, client)
);
CREATE TABLE IF NOT EXISTS bookings (
    tenant TEXT NOT NULL,
    client TEXT NOT NULL,
    booking TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant, client, booking)
);
CREATE TABLE IF NOT EXISTS cadences (
    tenant TEXT NOT NULL,
    client TEXT NOT NULL,
    category TEXT NOT NULL,
    record TEXT NOT NULL,
    watch_day INTEGER,
    watch_stage TEXT,
    PRIMARY KEY (tenant, client, category)
);
CREATE INDEX IF NOT EXISTS cadences_by_watch_day
    ON cadences (tenant, watch_day) WHERE watch_day IS NOT NULL;
CREATE TABLE IF NOT EXISTS suppressions (
    tenant TEXT NOT NULL,
    hash TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (tenant, hash)
);
CREATE TABLE IF NOT EXISTS outreach (
    tenant TEXT NOT NULL,
    client TEXT NOT NULL,
    version INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant, client)
);
CREATE TABLE IF NOT EXISTS enrollments (
    tenant TEXT NOT NULL,
    client TEXT NOT NULL,
    id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant, client, id)
);
CREATE TABLE IF NOT EXISTS steps (
    tenant TEXT NOT NULL,
    client TEXT NOT NULL,
    enrollment TEXT NOT NULL,
    step INTEGER NOT NULL,
    send_at TEXT NOT NULL,
    scheduled INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant, client, enrollment, step)
);
CREATE INDEX IF NOT EXISTS steps_due ON steps (tenant, send_at) WHERE scheduled = 1;
CREATE TABLE IF NOT EXISTS daily_counts (
    tenant TEXT NOT NULL,
    day INTEGER NOT NULL,
    channel TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (tenant, day, channel)
);
CREATE TABLE IF NOT EXISTS consent_ledger (
    line INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    hash TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS consent_ledger_by_contact ON consent_ledger (tenant, hash, line);
CREATE TABLE IF NOT EXISTS clicks (
    tenant TEXT NOT NULL,
    client TEXT NOT NULL,
    at TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS clicks_by_client ON clicks (tenant, client, at);
CREATE TABLE IF NOT EXISTS mail_counts (
    tenant TEXT NOT NULL,
    day INTEGER NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0,
    bounced INTEGER NOT NULL DEFAULT 0,
    complained INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, day)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    tenant TEXT PRIMARY KEY,
    day INTEGER NOT NULL
);
";

/// Changes to tables made by earlier releases, by `PRAGMA user_version`.
const MIGRATIONS: [&str; 1] = ["
ALTER TABLE cadences ADD COLUMN stage TEXT;
CREATE INDEX IF NOT EXISTS cadences_overdue ON cadences (tenant, stage)
    WHERE stage IN ('at-risk', 'lapsed', 'dormant');
"];

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

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::with(Connection::open(path).map_err(unavailable)?)
    }

    /// A store that lives and dies with the process.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::with(Connection::open_in_memory().map_err(unavailable)?)
    }

    fn with(connection: Connection) -> Result<SqliteStore, StoreError> {
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
            connection
                .execute_batch(&format!(
                    "BEGIN; {migration} PRAGMA user_version = {}; COMMIT;",
                    i + 1
                ))
                .map_err(unavailable)?;
        }
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
            rows_read: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Changes a tenant's record in one transaction.
    async fn update_tenant(
        &self,
        tenant: &TenantId,
        change: impl FnOnce(&mut Tenant) + Send + 'static,
    ) -> Result<(), StoreError> {
        let id = tenant.to_string();
        self.transact(move |tx| {
            let Some(mut tenant) = read_tenant(tx, &id)? else {
                return Err(StoreError::Corrupt(format!("tenant {id} does not exist")));
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

fn unavailable(error: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn day_number(day: Day) -> i64 {
    i64::from(day.days_since(Day::EPOCH))
}

/// One record (a JSON column) by its key; `None` when there is no row.
fn read_one<T: serde::de::DeserializeOwned>(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<T>, StoreError> {
    let text = query_row(tx, sql, params, |row| row.get::<_, String>(0))
        .optional()
        .map_err(unavailable)?;
    count(usize::from(text.is_some()));
    text.map(|text| from_json(&text)).transpose()
}

fn read_tenant(tx: &rusqlite::Transaction<'_>, id: &str) -> Result<Option<Tenant>, StoreError> {
    read_one(tx, "SELECT record FROM tenants WHERE id = ?1", params![id])
}

fn read_profile(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    client: &str,
) -> Result<Option<ClientProfile>, StoreError> {
    read_one(
        tx,
        "SELECT profile FROM clients WHERE tenant = ?1 AND client = ?2",
        params![tenant, client],
    )
}

fn read_booking(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    client: &str,
    booking: &str,
) -> Result<Option<Booking>, StoreError> {
    read_one(
        tx,
        "SELECT record FROM bookings WHERE tenant = ?1 AND client = ?2 AND booking = ?3",
        params![tenant, client, booking],
    )
}

fn read_bookings(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    client: &str,
) -> Result<Vec<Booking>, StoreError> {
    read_all(
        tx,
        "SELECT record FROM bookings WHERE tenant = ?1 AND client = ?2
         ORDER BY starts_at, booking",
        params![tenant, client],
    )
}

/// Every record (a JSON column) a query returns.
fn read_all<T: serde::de::DeserializeOwned>(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut statement = tx.prepare_cached(sql).map_err(unavailable)?;
    let rows = statement
        .query_map(params, |row| row.get::<_, String>(0))
        .map_err(unavailable)?;
    rows.map(|row| {
        count(1);
        from_json(&row.map_err(unavailable)?)
    })
    .collect()
}

fn read_cadence(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    client: &str,
    category: &Category,
) -> Result<Option<CategoryCadence>, StoreError> {
    let stored: Option<StoredCadence> = read_one(
        tx,
        "SELECT record FROM cadences WHERE tenant = ?1 AND client = ?2 AND category = ?3",
        params![tenant, client, category.as_str()],
    )?;
    Ok(stored.map(|stored| stored.cadence))
}

fn read_outreach(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    client: &str,
) -> Result<(Outreach, u64), StoreError> {
    let row: Option<(i64, String)> = query_row(
        tx,
        "SELECT version, record FROM outreach WHERE tenant = ?1 AND client = ?2",
        params![tenant, client],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()
    .map_err(unavailable)?;
    count(usize::from(row.is_some()));
    match row {
        None => Ok((Outreach::default(), 0)),
        Some((version, record)) => Ok((from_json(&record)?, version as u64)),
    }
}

fn parse_stage(name: &str) -> Result<Stage, StoreError> {
    Stage::from_name(name).ok_or_else(|| StoreError::Corrupt(format!("unknown stage {name}")))
}

fn parse_id<T>(
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, crate::domain::ids::IdError>,
) -> Result<T, StoreError> {
    parse(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn write_booking(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    booking: &Booking,
) -> Result<(), StoreError> {
    exec(
        tx,
        "INSERT INTO bookings (tenant, client, booking, starts_at, record)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT DO UPDATE SET starts_at = excluded.starts_at, record = excluded.record",
        params![
            tenant,
            booking.client_id.as_str(),
            booking.id.as_str(),
            booking.starts_at.to_string(),
            to_json(booking)?
        ],
    )
    .map_err(unavailable)?;
    Ok(())
}

/// Writes a category's new cadence and its watch day, or removes it.
fn write_cadence(
    tx: &rusqlite::Transaction<'_>,
    tenant: &Tenant,
    client: &str,
    category: &Category,
    cadence: Option<CategoryCadence>,
    today: Day,
) -> Result<(), StoreError> {
    let tenant_id = tenant.id.as_str();
    match cadence {
        None => {
            exec(
                tx,
                "DELETE FROM cadences WHERE tenant = ?1 AND client = ?2 AND category = ?3",
                params![tenant_id, client, category.as_str()],
            )
            .map_err(unavailable)?;
        }
        Some(cadence) => {
            let watch = cadence.watch(today, &tenant.config);
            let stage = cadence.stage(today, false, &tenant.config);
            let stored = StoredCadence { cadence, watch };
            exec(
                tx,
                "INSERT INTO cadences
                     (tenant, client, category, record, watch_day, watch_stage, stage)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT DO UPDATE SET record = excluded.record,
                     watch_day = excluded.watch_day, watch_stage = excluded.watch_stage,
                     stage = excluded.stage",
                params![
                    tenant_id,
                    client,
                    category.as_str(),
                    to_json(&stored)?,
                    watch.map(|w| day_number(w.on)),
                    watch.map(|w| w.stage.name()),
                    stage.name(),
                ],
            )
            .map_err(unavailable)?;
        }
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let id = tenant.id.to_string();
        let record = to_json(tenant)?;
        self.transact(move |tx| {
            let inserted = exec(
                tx,
                "INSERT INTO tenants (id, record) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![id, record],
            )
            .map_err(unavailable)?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists(format!("tenant {id}")));
            }
            Ok(())
        })
        .await
    }

    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let id = id.to_string();
        self.transact(move |tx| read_tenant(tx, &id)).await
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
                .map(|t| TenantId::parse(&t).map_err(|e| StoreError::Corrupt(e.to_string())))
                .transpose()
        })
        .await
    }

    async fn webhook_seen(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (tenant, id) = (tenant.to_string(), webhook_id.to_owned());
        let now = now.as_second();
        self.transact(move |tx| {
            let seen: Option<i64> = query_row(
                tx,
                "SELECT 1 FROM webhook_deliveries
                     WHERE tenant = ?1 AND id = ?2 AND expires_at > ?3",
                params![tenant, id, now],
                |row| row.get(0),
            )
            .optional()
            .map_err(unavailable)?;
            Ok(seen.is_some())
        })
        .await
    }

    async fn remember_webhook(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let (tenant, id) = (tenant.to_string(), webhook_id.to_owned());
        let now = now.as_second();
        self.transact(move |tx| {
            exec(
                tx,
                "DELETE FROM webhook_deliveries WHERE expires_at <= ?1",
                params![now],
            )
            .map_err(unavailable)?;
            exec(
                tx,
                "INSERT INTO webhook_deliveries (tenant, id, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO UPDATE SET expires_at = excluded.expires_at",
                params![tenant, id, expires_at.as_second()],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn upsert_client(
        &self,
        tenant: &TenantId,
        profile: &ClientProfile,
    ) -> Result<ProfileOutcome, StoreError> {
        let tenant = tenant.to_string();
        let profile = profile.clone();
        self.transact(move |tx| {
            let client = profile.id.to_string();
            let outcome = match read_profile(tx, &tenant, &client)? {
                None => ProfileOutcome::Created,
                Some(stored) => {
                    if !profile.supersedes(&stored) {
                        return Ok(ProfileOutcome::Stale);
                    }
                    ProfileOutcome::Updated
                }
            };
            exec(
                tx,
                "INSERT INTO clients (tenant, client, profile) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO UPDATE SET profile = excluded.profile",
                params![tenant, client, to_json(&profile)?],
            )
            .map_err(unavailable)?;
            Ok(outcome)
        })
        .await
    }

    async fn apply_booking(
        &self,
        tenant: &Tenant,
        booking: &Booking,
        today: Day,
    ) -> Result<BookingOutcome, StoreError> {
        let tenant = tenant.clone();
        let booking = booking.clone();
        self.transact(move |tx| {
            let tenant_id = tenant.id.as_str();
            let client = booking.client_id.as_str();
            let timezone = &tenant.config.timezone;
            let stored = read_booking(tx, tenant_id, client, booking.id.as_str())?;
            let categories = booking_change::touched_categories(stored.as_ref(), &booking);
            let mut current = Vec::with_capacity(categories.len());
            for category in &categories {
                current.push((
                    category.clone(),
                    read_cadence(tx, tenant_id, client, category)?,
                ));
            }
            let cadence_of = |category: &Category| {
                current
                    .iter()
                    .find(|(c, _)| c == category)
                    .and_then(|(_, cadence)| cadence.clone())
            };
            let mut planned =
                booking_change::plan(stored.as_ref(), &booking, cadence_of, None, timezone);
            if planned == Planned::NeedsHistory {
                let history = read_bookings(tx, tenant_id, client)?;
                planned = booking_change::plan(
                    stored.as_ref(),
                    &booking,
                    cadence_of,
                    Some(&history),
                    timezone,
                );
            }
            let Planned::Ready(changes) = planned else {
                unreachable!("plan is complete once it has the history")
            };
            if changes.write_booking {
                write_booking(tx, tenant_id, &booking)?;
            }
            for (category, cadence) in changes.cadences {
                write_cadence(tx, &tenant, client, &category, cadence, today)?;
            }
            Ok(changes.outcome)
        })
        .await
    }

    async fn import_history(
        &self,
        tenant: &Tenant,
        client: &ClientId,
        bookings: &[Booking],
        today: Day,
    ) -> Result<Vec<BookingOutcome>, StoreError> {
        let tenant = tenant.clone();
        let client = client.clone();
        let bookings: Vec<Booking> = bookings
            .iter()
            .filter(|b| b.client_id == client)
            .cloned()
            .collect();
        self.transact(move |tx| {
            let (tenant_id, client_id) = (tenant.id.as_str(), client.as_str());
            let stored = read_bookings(tx, tenant_id, client_id)?;
            let merged = booking_change::merge(&stored, &bookings, &tenant.config.timezone);
            for booking in &merged.bookings {
                write_booking(tx, tenant_id, booking)?;
            }
            for (category, cadence) in merged.cadences {
                write_cadence(tx, &tenant, client_id, &category, cadence, today)?;
            }
            Ok(merged.outcomes)
        })
        .await
    }

    async fn client(
        &self,
        tenant: &TenantId,
        id: &ClientId,
    ) -> Result<Option<ClientRecord>, StoreError> {
        let (tenant, client) = (tenant.to_string(), id.to_string());
        self.transact(move |tx| {
            let profile = read_profile(tx, &tenant, &client)?;
            let bookings = read_bookings(tx, &tenant, &client)?;
            let cadences: Vec<StoredCadence> = read_all(
                tx,
                "SELECT record FROM cadences WHERE tenant = ?1 AND client = ?2 ORDER BY category",
                params![tenant, client],
            )?;
            let (outreach, outreach_version) = read_outreach(tx, &tenant, &client)?;
            if profile.is_none() && bookings.is_empty() {
                return Ok(None);
            }
            Ok(Some(ClientRecord {
                profile,
                bookings,
                cadences,
                outreach,
                outreach_version,
            }))
        })
        .await
    }

    async fn clients_with_phone(
        &self,
        tenant: &TenantId,
        phone: &PhoneNumber,
    ) -> Result<Vec<ClientId>, StoreError> {
        let (tenant, phone) = (tenant.to_string(), phone.as_str().to_owned());
        self.transact(move |tx| {
            // A scan of the business's profiles: replies are rare and a local business small.
            let mut statement = tx
                .prepare_cached(
                    "SELECT client FROM clients
                     WHERE tenant = ?1 AND json_extract(profile, '$.phone') = ?2
                     ORDER BY client",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant, phone], |row| row.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|row| {
                count(1);
                ClientId::parse(&row.map_err(unavailable)?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
        })
        .await
    }

    async fn erase_client(
        &self,
        tenant: &TenantId,
        id: &ClientId,
    ) -> Result<Option<Erased>, StoreError> {
        let (tenant, client) = (tenant.to_string(), id.to_string());
        let now = Timestamp::now().to_string();
        self.transact(move |tx| {
            let profile = read_profile(tx, &tenant, &client)?;
            let mut items = 0;
            for table in [
                "clients",
                "bookings",
                "cadences",
                "outreach",
                "enrollments",
                "steps",
                "clicks",
            ] {
                items += exec(
                    tx,
                    &format!("DELETE FROM {table} WHERE tenant = ?1 AND client = ?2"),
                    params![tenant, client],
                )
                .map_err(unavailable)?;
            }
            if items == 0 {
                return Ok(None);
            }
            for hash in profile.iter().flat_map(ClientProfile::contact_hashes) {
                exec(
                    tx,
                    "INSERT INTO suppressions (tenant, hash, reason, at)
                     VALUES (?1, ?2, 'erased', ?3) ON CONFLICT DO NOTHING",
                    params![tenant, hash.as_str(), now],
                )
                .map_err(unavailable)?;
            }
            Ok(Some(Erased { items }))
        })
        .await
    }

    async fn suppression(
        &self,
        tenant: &TenantId,
        contact: &ContactHash,
    ) -> Result<Option<SuppressionReason>, StoreError> {
        let (tenant, hash) = (tenant.to_string(), contact.as_str().to_owned());
        self.transact(move |tx| read_suppression(tx, &tenant, &hash))
            .await
    }

    async fn record_consent(
        &self,
        tenant: &TenantId,
        change: &ConsentChange,
    ) -> Result<bool, StoreError> {
        let (tenant, change) = (tenant.to_string(), change.clone());
        self.transact(move |tx| {
            let hash = change.contact.as_str();
            let current = read_suppression(tx, &tenant, hash)?;
            let entry = &change.entry;
            match (entry.granted, current) {
                (false, None) => {
                    exec(
                        tx,
                        "INSERT INTO suppressions (tenant, hash, reason, at) VALUES (?1, ?2, ?3, ?4)",
                        params![tenant, hash, change.reason.name(), entry.at.to_string()],
                    )
                    .map_err(unavailable)?;
                }
                (true, Some(SuppressionReason::OptedOut)) => {
                    exec(
                        tx,
                        "DELETE FROM suppressions WHERE tenant = ?1 AND hash = ?2",
                        params![tenant, hash],
                    )
                    .map_err(unavailable)?;
                }
                _ => return Ok(false),
            }
            let line = LedgerLine {
                client: change.client.clone(),
                entry: entry.clone(),
                reason: change.reason,
            };
            exec(
                tx,
                "INSERT INTO consent_ledger (tenant, hash, record) VALUES (?1, ?2, ?3)",
                params![tenant, hash, to_json(&line)?],
            )
            .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn consent_ledger(
        &self,
        tenant: &TenantId,
        contact: &ContactHash,
    ) -> Result<Vec<LedgerLine>, StoreError> {
        let (tenant, hash) = (tenant.to_string(), contact.as_str().to_owned());
        self.transact(move |tx| {
            read_all(
                tx,
                "SELECT record FROM consent_ledger WHERE tenant = ?1 AND hash = ?2 ORDER BY line",
                params![tenant, hash],
            )
        })
        .await
    }

    async fn count_mail(
        &self,
        tenant: &TenantId,
        day: Day,
        event: MailEvent,
    ) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        let column = event.name();
        self.transact(move |tx| {
            exec(
                tx,
                &format!(
                    "INSERT INTO mail_counts (tenant, day, {column}) VALUES (?1, ?2, 1)
                     ON CONFLICT DO UPDATE SET {column} = {column} + 1"
                ),
                params![tenant, day_number(day)],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn mail_counts(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<MailCounts, StoreError> {
        let tenant = tenant.to_string();
        self.transact(move |tx| {
            query_row(
                tx,
                "SELECT coalesce(sum(sent), 0), coalesce(sum(bounced), 0), coalesce(sum(complained), 0)
                 FROM mail_counts WHERE tenant = ?1 AND day BETWEEN ?2 AND ?3",
                params![tenant, day_number(from), day_number(through)],
                |row| {
                    Ok(MailCounts {
                        sent: row.get::<_, i64>(0)? as u64,
                        bounced: row.get::<_, i64>(1)? as u64,
                        complained: row.get::<_, i64>(2)? as u64,
                    })
                },
            )
            .map_err(unavailable)
        })
        .await
    }

    async fn set_pause(&self, tenant: &TenantId, pause: Option<Pause>) -> Result<(), StoreError> {
        self.update_tenant(tenant, move |tenant| tenant.paused = pause)
            .await
    }

    async fn record_click(&self, claims: &LinkClaims, at: Timestamp) -> Result<(), StoreError> {
        let click = Click {
            enrollment: claims.enrollment.clone(),
            step: claims.step,
            channel: claims.channel,
            at,
        };
        let (tenant, client) = (claims.tenant.to_string(), claims.client.to_string());
        self.transact(move |tx| {
            exec(
                tx,
                "INSERT INTO clicks (tenant, client, at, record) VALUES (?1, ?2, ?3, ?4)",
                params![tenant, client, step_time(at), to_json(&click)?],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn clicks(&self, tenant: &TenantId, client: &ClientId) -> Result<Vec<Click>, StoreError> {
        let (tenant, client) = (tenant.to_string(), client.to_string());
        self.transact(move |tx| {
            read_all(
                tx,
                "SELECT record FROM clicks WHERE tenant = ?1 AND client = ?2 ORDER BY at, rowid",
                params![tenant, client],
            )
        })
        .await
    }

    async fn watched_cadences(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<Vec<WatchedCadence>, StoreError> {
        let tenant = tenant.to_string();
        self.transact(move |tx| {
            let mut statement = tx
                .prepare_cached(
                    "SELECT client, category, watch_day, watch_stage FROM cadences
                     WHERE tenant = ?1 AND watch_day BETWEEN ?2 AND ?3
                     ORDER BY watch_day, client, category",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(
                    params![tenant, day_number(from), day_number(through)],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, String>(3)?,
                        ))
                    },
                )
                .map_err(unavailable)?;
            rows.map(|row| {
                let (client, category, day, stage) = row.map_err(unavailable)?;
                count(1);
                let corrupt = |what: String| StoreError::Corrupt(what);
                Ok(WatchedCadence {
                    client_id: ClientId::parse(&client).map_err(|e| corrupt(e.to_string()))?,
                    category: Category::parse(&category).map_err(|e| corrupt(e.to_string()))?,
                    watch: Watch {
                        on: Day::EPOCH.plus_days(day as i32),
                        stage: Stage::from_name(&stage)
                            .ok_or_else(|| corrupt(format!("unknown stage {stage}")))?,
                    },
                })
            })
            .collect()
        })
        .await
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

    async fn update_config(
        &self,
        tenant: &TenantId,
        config: &BusinessConfig,
    ) -> Result<(), StoreError> {
        let config = config.clone();
        self.update_tenant(tenant, move |tenant| tenant.config = config)
            .await
    }

    async fn detector_checkpoint(&self, tenant: &TenantId) -> Result<Option<Day>, StoreError> {
        let tenant = tenant.to_string();
        self.transact(move |tx| {
            let day: Option<i64> = query_row(
                tx,
                "SELECT day FROM checkpoints WHERE tenant = ?1",
                params![tenant],
                |row| row.get(0),
            )
            .optional()
            .map_err(unavailable)?;
            Ok(day.map(|d| Day::EPOCH.plus_days(d as i32)))
        })
        .await
    }

    async fn set_detector_checkpoint(&self, tenant: &TenantId, day: Day) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        self.transact(move |tx| {
            exec(
                tx,
                "INSERT INTO checkpoints (tenant, day) VALUES (?1, ?2)
                 ON CONFLICT DO UPDATE SET day = max(day, excluded.day)",
                params![tenant, day_number(day)],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn record_look(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        category: &Category,
        seen: Option<Watch>,
        look: Look,
    ) -> Result<bool, StoreError> {
        let (tenant, client, category) = (
            tenant.to_string(),
            client.to_string(),
            category.as_str().to_owned(),
        );
        self.transact(move |tx| {
            let row: Option<(String, Option<i64>, Option<String>)> = query_row(
                tx,
                "SELECT record, watch_day, watch_stage FROM cadences
                     WHERE tenant = ?1 AND client = ?2 AND category = ?3",
                params![tenant, client, category],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(unavailable)?;
            let Some((record, day, stage)) = row else {
                return Ok(false);
            };
            count(1);
            let stored_watch = match (day, stage) {
                (Some(day), Some(stage)) => Some(Watch {
                    on: Day::EPOCH.plus_days(day as i32),
                    stage: parse_stage(&stage)?,
                }),
                _ => None,
            };
            if stored_watch != seen {
                return Ok(false);
            }
            let mut stored: StoredCadence = from_json(&record)?;
            stored.watch = look.next;
            exec(
                tx,
                "UPDATE cadences SET record = ?4, watch_day = ?5, watch_stage = ?6, stage = ?7
                 WHERE tenant = ?1 AND client = ?2 AND category = ?3",
                params![
                    tenant,
                    client,
                    category,
                    to_json(&stored)?,
                    look.next.map(|w| day_number(w.on)),
                    look.next.map(|w| w.stage.name()),
                    look.stage.name(),
                ],
            )
            .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn overdue(&self, tenant: &TenantId) -> Result<Vec<OverdueCadence>, StoreError> {
        let tenant = tenant.to_string();
        self.transact(move |tx| {
            let mut statement = tx
                .prepare_cached(
                    "SELECT client, category, stage FROM cadences
                     WHERE tenant = ?1 AND stage IN ('at-risk', 'lapsed', 'dormant')
                     ORDER BY category, client",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })
                .map_err(unavailable)?;
            rows.map(|row| {
                let (client, category, stage) = row.map_err(unavailable)?;
                count(1);
                Ok(OverdueCadence {
                    client_id: parse_id(&client, ClientId::parse)?,
                    category: parse_id(&category, Category::parse)?,
                    stage: parse_stage(&stage)?,
                })
            })
            .collect()
        })
        .await
    }

    async fn write_outreach(
        &self,
        tenant: &TenantId,
        change: &OutreachChange,
    ) -> Result<Written, StoreError> {
        let tenant = tenant.to_string();
        let change = change.clone();
        self.transact(move |tx| {
            let client = change.client_id.as_str();
            let (_, version) = read_outreach(tx, &tenant, client)?;
            if version != change.expected_version {
                return Ok(Written::Changed);
            }
            if let Some(count) = change.count {
                let channel = count.channel.name();
                let day = day_number(count.day);
                let so_far: i64 = query_row(
                    tx,
                    "SELECT count FROM daily_counts
                         WHERE tenant = ?1 AND day = ?2 AND channel = ?3",
                    params![tenant, day, channel],
                    |row| row.get(0),
                )
                .optional()
                .map_err(unavailable)?
                .unwrap_or(0);
                if so_far >= i64::from(count.cap) {
                    return Ok(Written::CapReached);
                }
                exec(
                    tx,
                    "INSERT INTO daily_counts (tenant, day, channel, count) VALUES (?1, ?2, ?3, 1)
                     ON CONFLICT DO UPDATE SET count = count + 1",
                    params![tenant, day, channel],
                )
                .map_err(unavailable)?;
            }
            exec(
                tx,
                "INSERT INTO outreach (tenant, client, version, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO UPDATE SET version = excluded.version, record = excluded.record",
                params![
                    tenant,
                    client,
                    (version + 1) as i64,
                    to_json(&change.outreach)?
                ],
            )
            .map_err(unavailable)?;
            if let Some(enrollment) = &change.enrollment {
                exec(
                    tx,
                    "INSERT INTO enrollments (tenant, client, id, record) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT DO UPDATE SET record = excluded.record",
                    params![tenant, client, enrollment.id.as_str(), to_json(enrollment)?],
                )
                .map_err(unavailable)?;
            }
            if let Some((enrollment, step)) = &change.unschedule {
                exec(
                    tx,
                    "DELETE FROM steps
                     WHERE tenant = ?1 AND client = ?2 AND enrollment = ?3 AND step = ?4",
                    params![tenant, client, enrollment.as_str(), step],
                )
                .map_err(unavailable)?;
            }
            for step in change.schedule.iter().chain(&change.sent) {
                write_step(tx, &tenant, step)?;
            }
            Ok(Written::Done)
        })
        .await
    }

    async fn enrollments_started(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<Vec<Enrollment>, StoreError> {
        let tenant = tenant.to_string();
        self.transact(move |tx| {
            // The business's enrollments, read whole: a local business has few enough.
            let stored: Vec<Enrollment> = read_all(
                tx,
                "SELECT record FROM enrollments WHERE tenant = ?1 ORDER BY client, id",
                params![tenant],
            )?;
            Ok(stored
                .into_iter()
                .filter(|e| (from..=through).contains(&e.started))
                .collect())
        })
        .await
    }

    async fn enrollment(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        id: &EnrollmentId,
    ) -> Result<Option<Enrollment>, StoreError> {
        let (tenant, client, id) = (tenant.to_string(), client.to_string(), id.to_string());
        self.transact(move |tx| {
            read_one(
                tx,
                "SELECT record FROM enrollments WHERE tenant = ?1 AND client = ?2 AND id = ?3",
                params![tenant, client, id],
            )
        })
        .await
    }

    async fn due_steps(
        &self,
        tenant: &TenantId,
        through: Timestamp,
        limit: usize,
    ) -> Result<Vec<ScheduledStep>, StoreError> {
        let tenant = tenant.to_string();
        self.transact(move |tx| {
            read_all(
                tx,
                "SELECT record FROM steps
                 WHERE tenant = ?1 AND scheduled = 1 AND send_at <= ?2
                 ORDER BY send_at, client, enrollment, step LIMIT ?3",
                params![tenant, step_time(through), limit as i64],
            )
        })
        .await
    }

    async fn claim_step(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let tenant = tenant.to_string();
        let step = step.clone();
        self.transact(move |tx| {
            let current: Option<ScheduledStep> = read_step(tx, &tenant, &step)?;
            match current {
                Some(current) if current.status == StepStatus::Scheduled => {
                    let queued = ScheduledStep {
                        status: StepStatus::Queued { at },
                        ..current
                    };
                    write_step(tx, &tenant, &queued)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .await
    }

    async fn step(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        enrollment: &EnrollmentId,
        index: u16,
    ) -> Result<Option<ScheduledStep>, StoreError> {
        let (tenant, client, enrollment) = (
            tenant.to_string(),
            client.to_string(),
            enrollment.to_string(),
        );
        self.transact(move |tx| {
            read_one(
                tx,
                "SELECT record FROM steps
                 WHERE tenant = ?1 AND client = ?2 AND enrollment = ?3 AND step = ?4",
                params![tenant, client, enrollment, index],
            )
        })
        .await
    }

    async fn claim_for_sending(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let tenant = tenant.to_string();
        let step = step.clone();
        self.transact(move |tx| match read_step(tx, &tenant, &step)? {
            Some(current) if current.status.claimable(now) => {
                let sending = ScheduledStep {
                    status: StepStatus::Sending { lease_until },
                    ..current
                };
                write_step(tx, &tenant, &sending)?;
                Ok(true)
            }
            _ => Ok(false),
        })
        .await
    }

    async fn release_step(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
    ) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        let step = step.clone();
        self.transact(move |tx| {
            if let Some(current) = read_step(tx, &tenant, &step)?
                && matches!(current.status, StepStatus::Queued { .. })
            {
                let scheduled = ScheduledStep {
                    status: StepStatus::Scheduled,
                    ..current
                };
                write_step(tx, &tenant, &scheduled)?;
            }
            Ok(())
        })
        .await
    }
}

fn read_suppression(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    hash: &str,
) -> Result<Option<SuppressionReason>, StoreError> {
    let reason: Option<String> = query_row(
        tx,
        "SELECT reason FROM suppressions WHERE tenant = ?1 AND hash = ?2",
        params![tenant, hash],
        |row| row.get(0),
    )
    .optional()
    .map_err(unavailable)?;
    count(usize::from(reason.is_some()));
    Ok(reason.map(|reason| {
        serde_json::from_value(serde_json::Value::String(reason))
            .unwrap_or(SuppressionReason::Erased)
    }))
}

/// Step times as fixed-width UTC text, so they sort and compare as text.
fn step_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

fn read_step(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    step: &ScheduledStep,
) -> Result<Option<ScheduledStep>, StoreError> {
    read_one(
        tx,
        "SELECT record FROM steps
         WHERE tenant = ?1 AND client = ?2 AND enrollment = ?3 AND step = ?4",
        params![
            tenant,
            step.client_id.as_str(),
            step.enrollment.as_str(),
            step.index
        ],
    )
}

fn write_step(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    step: &ScheduledStep,
) -> Result<(), StoreError> {
    exec(
        tx,
        "INSERT INTO steps (tenant, client, enrollment, step, send_at, scheduled, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT DO UPDATE SET send_at = excluded.send_at,
             scheduled = excluded.scheduled, record = excluded.record",
        params![
            tenant,
            step.client_id.as_str(),
            step.enrollment.as_str(),
            step.index,
            step_time(step.send_at),
            step.status == StepStatus::Scheduled,
            to_json(step)?
        ],
    )
    .map_err(unavailable)?;
    Ok(())
}
