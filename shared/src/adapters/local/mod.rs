//! The embedded mode: everything winback needs from the outside world on one machine, with no
//! AWS account: the store on one SQLite file, an in-process bus, a scheduler in place of
//! EventBridge's, and an outbox folder in place of SES and SNS.

pub mod bus;
pub mod delivery;
pub mod outbox;
pub mod scheduler;
pub mod sqlite;

pub use bus::InProcessBus;
pub use sqlite::SqliteStore;
