//! Clients and their bookings: profiles, the booking history with the per-category cadences it
//! keeps current, the rebook-link clicks, and erasure. One client's partition is one read.
//!
//! Reads are safe to repeat; an error is worth retrying when [`StoreError::is_retryable`] says so.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::domain::booking::Booking;
use crate::domain::booking_change::BookingOutcome;
use crate::domain::click::Click;
use crate::domain::client::ClientProfile;
pub use crate::domain::client_record::{ClientRecord, StoredCadence};
use crate::domain::contact::PhoneNumber;
use crate::domain::day::Day;
use crate::domain::ids::{ClientId, TenantId};
use crate::domain::link_token::LinkClaims;
use crate::domain::tenant::Tenant;
use crate::ports::StoreError;

/// What upserting a profile did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileOutcome {
    Created,
    Updated,
    /// The stored profile is newer (by `updated_at`): nothing changed.
    Stale,
}

/// What erasing a client removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    pub items: usize,
}

/// A business's clients, their bookings and what those bookings make of their cadences.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Creates or replaces a client's profile, unless the stored one is newer. Idempotent.
    async fn upsert_client(
        &self,
        tenant: &TenantId,
        profile: &ClientProfile,
    ) -> Result<ProfileOutcome, StoreError>;

    /// Applies one version of a booking and keeps the client's cadences and their watch days
    /// as a clean, in-order history would have left them. Idempotent: the same version again,
    /// or an older one, changes nothing. Costs a constant number of items unless the booking
    /// changes an earlier visit, when the client's own bookings are read again. Concurrent
    /// calls for one client are safe; `Contention` after repeated clashes is retryable.
    async fn apply_booking(
        &self,
        tenant: &Tenant,
        booking: &Booking,
        today: Day,
    ) -> Result<BookingOutcome, StoreError>;

    /// Applies many bookings of one client at once (an initial import of their history): the
    /// same result and outcomes as applying them one by one, in a constant number of round
    /// trips per client. Bookings of other clients are ignored. If it fails half-way, calling
    /// it again with the same bookings completes it.
    async fn import_history(
        &self,
        tenant: &Tenant,
        client: &ClientId,
        bookings: &[Booking],
        today: Day,
    ) -> Result<Vec<BookingOutcome>, StoreError>;

    /// Everything about a client in one read; `None` if nothing is stored for them.
    async fn client(
        &self,
        tenant: &TenantId,
        id: &ClientId,
    ) -> Result<Option<ClientRecord>, StoreError>;

    /// The clients whose profile carries this mobile number (more than one when a family
    /// shares it), so an SMS reply can be tied to the people it came from.
    async fn clients_with_phone(
        &self,
        tenant: &TenantId,
        phone: &PhoneNumber,
    ) -> Result<Vec<ClientId>, StoreError>;

    /// Removes every item of a client and leaves hashed suppression records of their contact
    /// details, dated `at`. Idempotent: `None` when nothing was stored.
    async fn erase_client(
        &self,
        tenant: &TenantId,
        id: &ClientId,
        at: Timestamp,
    ) -> Result<Option<Erased>, StoreError>;

    /// Records that a client followed a rebook link (kept in the client's own records, so it
    /// goes when they are erased). Each click is kept.
    async fn record_click(&self, claims: &LinkClaims, at: Timestamp) -> Result<(), StoreError>;

    /// The clicks on a client's links, oldest first: (enrollment, step, channel, when).
    async fn clicks(&self, tenant: &TenantId, client: &ClientId) -> Result<Vec<Click>, StoreError>;
}
