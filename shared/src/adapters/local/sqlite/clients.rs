//! Clients and bookings on SQLite: profiles, booking application with its cadence writes,
//! history import, the client read, the phone lookup, clicks, and erasure.

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::params;

use crate::domain::booking::Booking;
use crate::domain::booking_change::{self, BookingOutcome};
use crate::domain::click::Click;
use crate::domain::client::ClientProfile;
use crate::domain::contact::PhoneNumber;
use crate::domain::day::Day;
use crate::domain::ids::{Category, ClientId, TenantId};
use crate::domain::link_token::LinkClaims;
use crate::domain::tenant::Tenant;
use crate::ports::ClientStore;
use crate::ports::{ClientRecord, Erased, ProfileOutcome, StoreError, StoredCadence};

use super::rows::{
    read_all, read_booking, read_bookings, read_cadence, read_outreach, read_profile, step_time,
    to_json, unavailable, write_booking, write_cadence,
};
use super::{SqliteStore, count, exec};

#[async_trait]
impl ClientStore for SqliteStore {
    async fn upsert_client(
        &self,
        tenant: &TenantId,
        profile: &ClientProfile,
    ) -> Result<ProfileOutcome, StoreError> {
        let tenant = tenant.to_string();
        let profile = profile.clone();
        self.transact(move |tx| {
            let client = profile.id.to_string();
            let outcome = match read_profile(tx, &tenant, &client)? {
                None => ProfileOutcome::Created,
                Some(stored) => {
                    if !profile.supersedes(&stored) {
                        return Ok(ProfileOutcome::Stale);
                    }
                    ProfileOutcome::Updated
                }
            };
            exec(
                tx,
                "INSERT INTO clients (tenant, client, profile) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO UPDATE SET profile = excluded.profile",
                params![tenant, client, to_json(&profile)?],
            )
            .map_err(unavailable)?;
            Ok(outcome)
        })
        .await
    }

    async fn apply_booking(
        &self,
        tenant: &Tenant,
        booking: &Booking,
        today: Day,
    ) -> Result<BookingOutcome, StoreError> {
        let tenant = tenant.clone();
        let booking = booking.clone();
        self.transact(move |tx| {
            let tenant_id = tenant.id.as_str();
            let client = booking.client_id.as_str();
            let timezone = &tenant.config.timezone;
            let stored = read_booking(tx, tenant_id, client, booking.id.as_str())?;
            let categories = booking_change::touched_categories(stored.as_ref(), &booking);
            let mut current = Vec::with_capacity(categories.len());
            for category in &categories {
                current.push((
                    category.clone(),
                    read_cadence(tx, tenant_id, client, category)?,
                ));
            }
            let cadence_of = |category: &Category| {
                current
                    .iter()
                    .find(|(c, _)| c == category)
                    .and_then(|(_, cadence)| cadence.clone())
            };
            let changes = booking_change::plan(stored.as_ref(), &booking, cadence_of, timezone)
                .complete(|| read_bookings(tx, tenant_id, client))?;
            if changes.write_booking {
                write_booking(tx, tenant_id, &booking)?;
            }
            for (category, cadence) in changes.cadences {
                write_cadence(tx, &tenant, client, &category, cadence, today)?;
            }
            Ok(changes.outcome)
        })
        .await
    }

    async fn import_history(
        &self,
        tenant: &Tenant,
        client: &ClientId,
        bookings: &[Booking],
        today: Day,
    ) -> Result<Vec<BookingOutcome>, StoreError> {
        let tenant = tenant.clone();
        let client = client.clone();
        let bookings = bookings.to_vec();
        self.transact(move |tx| {
            let (tenant_id, client_id) = (tenant.id.as_str(), client.as_str());
            let stored = read_bookings(tx, tenant_id, client_id)?;
            let merged =
                booking_change::merge(&client, &stored, &bookings, &tenant.config.timezone);
            for booking in &merged.bookings {
                write_booking(tx, tenant_id, booking)?;
            }
            for (category, cadence) in merged.cadences {
                write_cadence(tx, &tenant, client_id, &category, cadence, today)?;
            }
            Ok(merged.outcomes)
        })
        .await
    }

    async fn client(
        &self,
        tenant: &TenantId,
        id: &ClientId,
    ) -> Result<Option<ClientRecord>, StoreError> {
        let (tenant, client) = (tenant.to_string(), id.to_string());
        self.transact(move |tx| {
            let profile = read_profile(tx, &tenant, &client)?;
            let bookings = read_bookings(tx, &tenant, &client)?;
            let cadences: Vec<StoredCadence> = read_all(
                tx,
                "SELECT record FROM cadences WHERE tenant = ?1 AND client = ?2 ORDER BY category",
                params![tenant, client],
            )?;
            let (outreach, outreach_version) = read_outreach(tx, &tenant, &client)?;
            if profile.is_none() && bookings.is_empty() {
                return Ok(None);
            }
            Ok(Some(ClientRecord {
                profile,
                bookings,
                cadences,
                outreach,
                outreach_version,
            }))
        })
        .await
    }

    async fn clients_with_phone(
        &self,
        tenant: &TenantId,
        phone: &PhoneNumber,
    ) -> Result<Vec<ClientId>, StoreError> {
        let (tenant, phone) = (tenant.to_string(), phone.as_str().to_owned());
        self.transact(move |tx| {
            // A scan of the business's profiles: replies are rare and a local business small.
            let mut statement = tx
                .prepare_cached(
                    "SELECT client FROM clients
                     WHERE tenant = ?1 AND json_extract(profile, '$.phone') = ?2
                     ORDER BY client",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant, phone], |row| row.get::<_, String>(0))
                .map_err(unavailable)?;
            rows.map(|row| {
                count(1);
                ClientId::parse(&row.map_err(unavailable)?).map_err(StoreError::unreadable)
            })
            .collect()
        })
        .await
    }

    async fn erase_client(
        &self,
        tenant: &TenantId,
        id: &ClientId,
        at: Timestamp,
    ) -> Result<Option<Erased>, StoreError> {
        let (tenant, client) = (tenant.to_string(), id.to_string());
        let now = at.to_string();
        self.transact(move |tx| {
            let profile = read_profile(tx, &tenant, &client)?;
            let mut items = 0;
            for table in [
                "clients",
                "bookings",
                "cadences",
                "outreach",
                "enrollments",
                "steps",
                "clicks",
            ] {
                items += exec(
                    tx,
                    &format!("DELETE FROM {table} WHERE tenant = ?1 AND client = ?2"),
                    params![tenant, client],
                )
                .map_err(unavailable)?;
            }
            if items == 0 {
                return Ok(None);
            }
            for hash in profile.iter().flat_map(ClientProfile::contact_hashes) {
                exec(
                    tx,
                    "INSERT INTO suppressions (tenant, hash, reason, at)
                     VALUES (?1, ?2, 'erased', ?3) ON CONFLICT DO NOTHING",
                    params![tenant, hash.as_str(), now],
                )
                .map_err(unavailable)?;
            }
            Ok(Some(Erased { items }))
        })
        .await
    }

    async fn record_click(&self, claims: &LinkClaims, at: Timestamp) -> Result<(), StoreError> {
        let click = Click {
            enrollment: claims.enrollment.clone(),
            step: claims.step,
            channel: claims.channel,
            at,
        };
        let (tenant, client) = (claims.tenant.to_string(), claims.client.to_string());
        self.transact(move |tx| {
            exec(
                tx,
                "INSERT INTO clicks (tenant, client, at, record) VALUES (?1, ?2, ?3, ?4)",
                params![tenant, client, step_time(at), to_json(&click)?],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn clicks(&self, tenant: &TenantId, client: &ClientId) -> Result<Vec<Click>, StoreError> {
        let (tenant, client) = (tenant.to_string(), client.to_string());
        self.transact(move |tx| {
            read_all(
                tx,
                "SELECT record FROM clicks WHERE tenant = ?1 AND client = ?2 ORDER BY at, rowid",
                params![tenant, client],
            )
        })
        .await
    }
}
