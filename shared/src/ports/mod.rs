//! The traits the use cases need from the outside world, one capability per file, shaped by
//! what the use cases do.
//!
//! The store is a set of capabilities ([`TenantStore`], [`WebhookLog`], [`ClientStore`],
//! [`WatchIndex`], [`OutreachStore`], [`StepQueue`], [`ConsentStore`], [`MailStats`]); a use
//! case is bound by the ones it uses, and [`Store`] is their sum, which every store meets by a
//! blanket impl. Every method documents whether it is idempotent; an error is worth retrying
//! when [`StoreError::is_retryable`] says so. Implementations: the DynamoDB store
//! (`adapters::aws::dynamo`) and the SQLite store (`adapters::local::sqlite`), one file per
//! capability each, held to the same contract by one test suite (`testing::store_contract`).
//!
//! Beside the store: the senders, the event bus and the clock.

mod clients;
mod clock;
mod consent;
mod events;
mod mail_counts;
mod outreach;
mod senders;
mod step_queue;
mod tenants;
mod watch_index;
mod webhooks;

pub use clients::{ClientRecord, ClientStore, Erased, ProfileOutcome, StoredCadence};
pub use clock::{Clock, FixedClock, SystemClock};
pub use consent::{ConsentChange, ConsentStore};
pub use events::{EventPublisher, MAX_EVENTS_PER_PUBLISH, PublishError, StepDue};
pub use mail_counts::MailStats;
pub use outreach::{DailyCount, OutreachChange, OutreachStore, Written};
pub use senders::{EmailSender, OutgoingEmail, OutgoingSms, SendError, SmsSender};
pub use step_queue::StepQueue;
pub use tenants::TenantStore;
pub use watch_index::{Look, OverdueCadence, WatchIndex, WatchedCadence};
pub use webhooks::WebhookLog;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Something with this identity already exists (creating a tenant twice, say).
    #[error("{0} already exists")]
    AlreadyExists(Subject),
    /// Concurrent writers kept changing the same items; the caller may try again.
    #[error("{0} was changed by another request at the same time; try again")]
    Contention(Subject),
    /// The write would exceed a limit of the store.
    #[error(transparent)]
    TooLarge(Limit),
    /// The store could not be reached or refused for a while (throttling, a network error).
    #[error("the data store is unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The store answered with something that cannot be read back: a bug or damaged data.
    #[error("stored data could not be read: {what}")]
    Corrupt {
        what: String,
        #[source]
        source: Option<BoxError>,
    },
}

/// What a [`StoreError`] is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Subject {
    #[error("tenant {0}")]
    Tenant(crate::domain::ids::TenantId),
    #[error("client {0}")]
    Client(crate::domain::ids::ClientId),
}

/// A limit of the store that a write would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Limit {
    #[error(
        "a record of {bytes} bytes is over the store's item limit of {max} bytes; send fewer or shorter values"
    )]
    Item { bytes: usize, max: usize },
    #[error("one change needs {items} items; the store allows {max} in a transaction")]
    Transaction { items: usize, max: usize },
    #[error("{categories} service categories in one import; at most {max}")]
    Categories { categories: usize, max: usize },
}

impl StoreError {
    /// Stored data that breaks a rule of the store (a record missing, a value out of place).
    pub fn corrupt(what: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            what: what.into(),
            source: None,
        }
    }

    /// Stored data the reader refused, with the reader's error.
    pub fn unreadable(source: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Corrupt {
            what: source.to_string(),
            source: Some(Box::new(source)),
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Contention(_) | StoreError::Unavailable(_))
    }
}

/// Every capability of a store: what a process that runs all the use cases holds
/// (`Arc<dyn Store>`). Implemented for anything that has them all.
pub trait Store:
    TenantStore
    + WebhookLog
    + ClientStore
    + WatchIndex
    + OutreachStore
    + StepQueue
    + ConsentStore
    + MailStats
{
}

impl<T> Store for T where
    T: TenantStore
        + WebhookLog
        + ClientStore
        + WatchIndex
        + OutreachStore
        + StepQueue
        + ConsentStore
        + MailStats
        + ?Sized
{
}
