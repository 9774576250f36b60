//! The embedded mode: everything winback needs from the outside world on one machine, with no
//! AWS account: the store on one SQLite file, an in-process bus, and a scheduler in place of
//! EventBridge's.

pub mod bus;
pub mod scheduler;
pub mod sqlite;

pub use bus::InProcessBus;
pub use sqlite::SqliteStore;
