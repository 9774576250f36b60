//! The embedded mode: everything winback needs from the outside world on one machine, with no
//! AWS account. For now, the store: one SQLite file.

pub mod sqlite;

pub use sqlite::SqliteStore;
