//! Every key of the one table, built in one place.
//!
//! ```text
//! item                 pk                                   sk
//! tenant               TENANT#{tenant}                      TENANT
//! API key              APIKEY#{sha256 of the key}           APIKEY
//! webhook delivery     TENANT#{tenant}#WEBHOOK#{id}         WEBHOOK          (expires by TTL)
//! suppression          TENANT#{tenant}#SUPPRESSED#{hash}    SUPPRESSED
//! consent ledger line  TENANT#{tenant}#CONSENT#{hash}       LEDGER#{ns since 1970}#{channel}
//! rebook link click    TENANT#{tenant}#CLIENT#{client}      CLICK#{ns since 1970}#{enrollment}#{step}
//! client profile       TENANT#{tenant}#CLIENT#{client}      PROFILE
//! booking              TENANT#{tenant}#CLIENT#{client}      BOOKING#{booking}
//! cadence              TENANT#{tenant}#CLIENT#{client}      CADENCE#{category}
//! outreach             TENANT#{tenant}#CLIENT#{client}      OUTREACH
//! enrollment           TENANT#{tenant}#CLIENT#{client}      ENROLLMENT#{enrollment}
//! step                 TENANT#{tenant}#CLIENT#{client}      STEP#{enrollment}#{index}
//! tenant registry      TENANTS                              TENANT#{tenant}
//! detector checkpoint  TENANT#{tenant}                      DETECTOR
//! daily count          TENANT#{tenant}                      COUNT#{day}#{channel} (TTL)
//! email counts         TENANT#{tenant}                      MAIL#{day}            (TTL)
//! ```
//!
//! Three sparse indexes, each holding only the items with work in them; a fourth finds clients
//! by mobile number (for SMS replies), a fifth lists enrollments by the month they started (for
//! the outreach report):
//!
//! ```text
//! index     pk                                  sk                                  holds
//! watch     TENANT#{tenant}#WATCH#{day}#{shard} {category}#{client}                 cadences by next look
//! overdue   TENANT#{tenant}#OVERDUE#{shard}     {category}#{client}                 cadences last seen overdue
//! due       TENANT#{tenant}#DUE#{shard}         {send time}#{client}#{enr.}#{step}  scheduled steps
//! phone     TENANT#{tenant}#PHONE#{hash}        {client}                            profiles by number
//! enrolled  TENANT#{tenant}#ENROLLED#{month}    {start day}#{client}#{enrollment}   enrollments by start
//! ```
//!
//! A client's partition holds everything about them, so one Query reads (or erases) a whole
//! client. Cadences also carry the sparse watch index's key, `watch_pk` =
//! `TENANT#{tenant}#WATCH#{day}#{shard}`: one bucket per tenant, day and shard, holding only
//! the cadences to look at that day; a lost client's cadence has none. Shards spread one busy
//! day's writes over several index partitions. Tenant ids never contain `#` (they are made by
//! winback); client, booking and category ids come last in their key, so a `#` in them cannot
//! make two keys equal.

use sha2::{Digest, Sha256};

use jiff::Timestamp;

use crate::domain::channel::Channel;
use crate::domain::contact::ContactHash;
use crate::domain::day::Day;
use crate::domain::enrollment::{EnrollmentId, ScheduledStep};
use crate::domain::ids::{BookingId, Category, ClientId, TenantId};
use crate::domain::tenant::ApiKeyHash;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const WATCH_PK: &str = "watch_pk";
pub const WATCH_SK: &str = "watch_sk";
/// The TTL attribute: epoch seconds after which DynamoDB deletes the item.
pub const EXPIRES_AT: &str = "expires_at";
pub const WATCH_INDEX: &str = "watch";
pub const OVERDUE_PK: &str = "overdue_pk";
pub const OVERDUE_SK: &str = "overdue_sk";
pub const OVERDUE_INDEX: &str = "overdue";
pub const DUE_PK: &str = "due_pk";
pub const DUE_SK: &str = "due_sk";
pub const DUE_INDEX: &str = "due";
pub const PHONE_PK: &str = "phone_pk";
/// The client id, as an attribute of the items an index finds clients by.
pub const CLIENT_ID: &str = "client_id";
pub const PHONE_INDEX: &str = "phone";
pub const ENROLLED_PK: &str = "enrolled_pk";
pub const ENROLLED_SK: &str = "enrolled_sk";
pub const ENROLLED_INDEX: &str = "enrolled";
/// Shards per watch bucket.
pub const WATCH_SHARDS: u32 = 4;

pub const TENANT_SK: &str = "TENANT";
pub const APIKEY_SK: &str = "APIKEY";
pub const WEBHOOK_SK: &str = "WEBHOOK";
pub const SUPPRESSED_SK: &str = "SUPPRESSED";
pub const PROFILE_SK: &str = "PROFILE";
pub const BOOKING_PREFIX: &str = "BOOKING#";
pub const CADENCE_PREFIX: &str = "CADENCE#";
pub const OUTREACH_SK: &str = "OUTREACH";
pub const ENROLLMENT_PREFIX: &str = "ENROLLMENT#";
pub const STEP_PREFIX: &str = "STEP#";
pub const TENANTS_PK: &str = "TENANTS";
pub const DETECTOR_SK: &str = "DETECTOR";

pub fn tenant(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}")
}

pub fn api_key(hash: &ApiKeyHash) -> String {
    format!("APIKEY#{}", hash.as_str())
}

pub fn webhook(tenant: &TenantId, webhook_id: &str) -> String {
    format!("TENANT#{tenant}#WEBHOOK#{webhook_id}")
}

pub const LEDGER_PREFIX: &str = "LEDGER#";
pub const CLICK_PREFIX: &str = "CLICK#";

pub fn consent_ledger(tenant: &TenantId, contact: &ContactHash) -> String {
    format!("TENANT#{tenant}#CONSENT#{}", contact.as_str())
}

/// A ledger line's sort key: in time order (nanoseconds, zero-padded), then by channel.
pub fn ledger_line(at: Timestamp, channel: Channel) -> String {
    format!(
        "{LEDGER_PREFIX}{:020}#{}",
        at.as_nanosecond(),
        channel.name()
    )
}

pub const MAIL_PREFIX: &str = "MAIL#";

/// A tenant's email counts of one day (in the tenant's partition, kept by TTL).
pub fn mail_counts(day: Day) -> String {
    format!("{MAIL_PREFIX}{day}")
}

pub fn click(at: Timestamp, enrollment: &EnrollmentId, step: u16) -> String {
    format!(
        "{CLICK_PREFIX}{:020}#{enrollment}#{step:05}",
        at.as_nanosecond()
    )
}

pub fn suppression(tenant: &TenantId, contact: &ContactHash) -> String {
    format!("TENANT#{tenant}#SUPPRESSED#{}", contact.as_str())
}

pub fn client(tenant: &TenantId, client: &ClientId) -> String {
    format!("TENANT#{tenant}#CLIENT#{client}")
}

/// The phone index's key of a profile with this number: its hash, never the number itself.
pub fn phone(tenant: &TenantId, contact: &ContactHash) -> String {
    format!("TENANT#{tenant}#PHONE#{}", contact.as_str())
}

pub fn booking(booking: &BookingId) -> String {
    format!("{BOOKING_PREFIX}{booking}")
}

pub fn cadence(category: &Category) -> String {
    format!("{CADENCE_PREFIX}{category}")
}

pub fn watch_bucket(tenant: &TenantId, day: Day, shard: u32) -> String {
    format!("TENANT#{tenant}#WATCH#{day}#{shard}")
}

pub fn tenant_entry(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}")
}

pub fn enrollment(id: &EnrollmentId) -> String {
    format!("{ENROLLMENT_PREFIX}{id}")
}

/// The enrolled index's partition of a tenant's enrollments that started in `day`'s month.
pub fn enrolled_month(tenant: &TenantId, day: Day) -> String {
    let date = day.date();
    format!(
        "TENANT#{tenant}#ENROLLED#{:04}-{:02}",
        date.year(),
        date.month()
    )
}

/// An enrollment's place in its month: by start day, then client and id.
pub fn enrolled_sort(started: Day, client: &ClientId, enrollment: &EnrollmentId) -> String {
    format!("{started}#{client}#{enrollment}")
}

pub fn step(enrollment: &EnrollmentId, index: u16) -> String {
    format!("{STEP_PREFIX}{enrollment}#{index:05}")
}

pub fn daily_count(day: Day, channel: Channel) -> String {
    format!("COUNT#{day}#{}", channel.name())
}

pub fn overdue_bucket(tenant: &TenantId, shard: u32) -> String {
    format!("TENANT#{tenant}#OVERDUE#{shard}")
}

pub fn due_bucket(tenant: &TenantId, shard: u32) -> String {
    format!("TENANT#{tenant}#DUE#{shard}")
}

/// A step's send time as fixed-width UTC text, so the due index sorts by time.
pub fn send_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

pub fn due_sort(step: &ScheduledStep) -> String {
    format!(
        "{}#{}#{}#{}",
        send_time(step.send_at),
        step.client_id,
        step.enrollment,
        step.index
    )
}

/// The shard of a client's steps in the due index.
pub fn client_shard(client: &ClientId) -> u32 {
    let digest = Sha256::digest(client.as_str().as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % WATCH_SHARDS
}

/// The shard of a client's cadence: stable across processes and releases.
pub fn shard(client: &ClientId, category: &Category) -> u32 {
    let digest = Sha256::new()
        .chain_update(client.as_str())
        .chain_update([0])
        .chain_update(category.as_str())
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % WATCH_SHARDS
}

/// The watch index's sort key: unique per cadence within a bucket.
pub fn watch_sort(client: &ClientId, category: &Category) -> String {
    format!("{category}#{client}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_s_items_share_one_partition() {
        let t = TenantId::parse("t1").unwrap();
        let c = ClientId::parse("c#1").unwrap();
        assert_eq!(client(&t, &c), "TENANT#t1#CLIENT#c#1");
        assert!(booking(&BookingId::parse("b1").unwrap()).starts_with(BOOKING_PREFIX));
        assert!(cadence(&Category::parse("Hair").unwrap()).starts_with(CADENCE_PREFIX));
    }

    #[test]
    fn shards_are_stable_and_spread() {
        let hair = Category::parse("hair").unwrap();
        let shards: std::collections::HashSet<u32> = (0..100)
            .map(|i| shard(&ClientId::parse(&format!("c{i}")).unwrap(), &hair))
            .collect();
        assert_eq!(shards.len(), WATCH_SHARDS as usize);
        let c = ClientId::parse("c1").unwrap();
        assert_eq!(shard(&c, &hair), shard(&c, &hair));
    }
}
