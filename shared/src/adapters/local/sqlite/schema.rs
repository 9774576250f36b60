//! The SQLite store's tables and indexes, and the migrations of files made by earlier releases
//! (by `PRAGMA user_version`).

use crate::domain::stage::Stage;

pub(super) const SCHEMA: &str = "
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
/// Each runs in one transaction with its [`after_migration`] step.
pub(super) const MIGRATIONS: [&str; 2] = [
    "
ALTER TABLE cadences ADD COLUMN stage TEXT;
CREATE INDEX IF NOT EXISTS cadences_overdue ON cadences (tenant, stage)
    WHERE stage IN ('at-risk', 'lapsed', 'dormant');
",
    // The overdue index: `stage` holds a cadence's stage only while it is overdue (which stages
    // are is the domain's rule, `Stage::is_overdue`), so the index needs no list of stages.
    "
DROP INDEX IF EXISTS cadences_overdue;
CREATE INDEX IF NOT EXISTS cadences_overdue_stage ON cadences (tenant)
    WHERE stage IS NOT NULL;
",
];

/// The data changes that follow migration `version` (1-based), written here where they
/// apply a rule of the domain.
pub(super) fn after_migration(
    tx: &rusqlite::Transaction<'_>,
    version: usize,
) -> rusqlite::Result<()> {
    if version == 2 {
        for stage in Stage::ALL.into_iter().filter(|s| !s.is_overdue()) {
            tx.execute(
                "UPDATE cadences SET stage = NULL WHERE stage = ?1",
                [stage.name()],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::adapters::local::SqliteStore;
    use crate::domain::ids::TenantId;
    use crate::ports::WatchIndex;

    #[tokio::test]
    async fn a_file_of_the_first_release_keeps_only_its_overdue_cadences_in_the_overdue_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(SCHEMA).unwrap();
        old.execute_batch(MIGRATIONS[0]).unwrap();
        old.pragma_update(None, "user_version", 1).unwrap();
        for (client, stage) in [("c1", "due"), ("c2", "lapsed"), ("c3", "lost")] {
            old.execute(
                "INSERT INTO cadences (tenant, client, category, record, stage)
                 VALUES ('t1', ?1, 'hair', '{}', ?2)",
                [client, stage],
            )
            .unwrap();
        }
        drop(old);
        let store = SqliteStore::open(&path).unwrap();
        let overdue = store
            .overdue(&TenantId::parse("t1").unwrap())
            .await
            .unwrap();
        let clients: Vec<_> = overdue.iter().map(|c| c.client_id.as_str()).collect();
        assert_eq!(clients, ["c2"]);
    }
}
