//! Ending a client's sequence from outside the sequence: an opt-out link, an SMS STOP, a bounce
//! or a complaint. The outreach may change between the read and the write (a booking, a
//! delivery); the write is conditional, so it is read again and tried again.

use jiff::Timestamp;

use crate::domain::day::Day;
use crate::domain::enrollment::Outcome;
use crate::domain::ids::ClientId;
use crate::domain::tenant::Tenant;
use crate::ports::{ClientStore, OutreachStore, StoreError, Subject, Written};

/// How often a clash is read again before giving up (a retryable error).
const ATTEMPTS: usize = 5;

/// Ends the client's active enrollment with `outcome` and removes its pending step. `false`
/// when nothing was active (or the client is unknown). Idempotent.
pub async fn end_active<S: ClientStore + OutreachStore + ?Sized>(
    store: &S,
    tenant: &Tenant,
    client: &ClientId,
    outcome: Outcome,
    now: Timestamp,
) -> Result<bool, StoreError> {
    for _ in 0..ATTEMPTS {
        let Some(record) = store.client(&tenant.id, client).await? else {
            return Ok(false);
        };
        let zone = record.zone(&tenant.config.timezone);
        let today = Day::from(zone.to_datetime(now).date());
        let Some(change) = record.ending(client, outcome, today) else {
            return Ok(false);
        };
        match store.write_outreach(&tenant.id, &change).await? {
            Written::Changed => continue,
            Written::Done | Written::CapReached => return Ok(true),
        }
    }
    Err(StoreError::Contention(Subject::Client(client.clone())))
}
