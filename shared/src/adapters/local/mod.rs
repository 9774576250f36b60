//! The embedded mode: everything winback needs from the outside world on one machine, with no
//! AWS account: the store on one SQLite file and an in-process bus.

pub mod bus;
pub mod sqlite;

pub use bus::InProcessBus;
pub use sqlite::SqliteStore;
