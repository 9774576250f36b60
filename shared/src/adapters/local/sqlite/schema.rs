//! The SQLite store's tables and indexes, and the migrations of files made by earlier releases
//! (by `PRAGMA user_version`).

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
pub(super) const MIGRATIONS: [&str; 1] = ["
ALTER TABLE cadences ADD COLUMN stage TEXT;
CREATE INDEX IF NOT EXISTS cadences_overdue ON cadences (tenant, stage)
    WHERE stage IN ('at-risk', 'lapsed', 'dormant');
"];
