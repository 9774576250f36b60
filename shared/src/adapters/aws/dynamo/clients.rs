//! Clients and bookings on DynamoDB: profiles, the two-phase booking application with its
//! cadence writes, history import and bulk load, the one-query client read, the phone index,
//! clicks, and erasure.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, WriteRequest};
use jiff::Timestamp;

use crate::domain::booking::Booking;
use crate::domain::booking_change::{self, BookingOutcome, Planned};
use crate::domain::category_cadence::CategoryCadence;
use crate::domain::click::Click;
use crate::domain::client::ClientProfile;
use crate::domain::contact::{ContactHash, PhoneNumber};
use crate::domain::day::Day;
use crate::domain::enrollment::Outreach;
use crate::domain::ids::{Category, ClientId, TenantId};
use crate::domain::link_token::LinkClaims;
use crate::domain::suppression::SuppressionReason;
use crate::domain::tenant::Tenant;
use crate::ports::ClientStore;
use crate::ports::{
    ClientRecord, Erased, Limit, ProfileOutcome, StoreError, StoredCadence, Subject,
};

use super::condition::{Clash, Condition};
use super::io::retry_on_clash;
use super::keys;
use super::records::{
    booking_item, cadence_item, check_size, client_id_of, n, number, read_record, record, s,
    string, take_item,
};
use super::{DynamoStore, Item, MAX_TRANSACTION_ITEMS};

impl DynamoStore {
    /// One attempt at applying a booking: reads, plans, writes conditionally on what was read.
    pub(super) async fn try_apply_booking(
        &self,
        tenant: &Tenant,
        booking: &Booking,
        today: Day,
    ) -> Result<BookingOutcome, Clash> {
        let pk = keys::client(&tenant.id, &booking.client_id);
        let booking_sk = keys::booking(&booking.id);
        let timezone = &tenant.config.timezone;
        let mut sks: Vec<String> = vec![booking_sk.clone()];
        sks.extend(booking.categories().map(keys::cadence));
        let mut found = self.get_many(&pk, &sks).await?;
        let stored_item = take_item(&mut found, &booking_sk);
        let stored: Option<Booking> = stored_item.as_ref().map(read_record).transpose()?;
        // Categories the stored version touched but the new one does not.
        let missing: Vec<String> = booking_change::touched_categories(stored.as_ref(), booking)
            .iter()
            .map(keys::cadence)
            .filter(|sk| !sks.contains(sk))
            .collect();
        if !missing.is_empty() {
            found.extend(self.get_many(&pk, &missing).await?);
        }
        let mut cadences: HashMap<String, (CategoryCadence, i64)> = HashMap::new();
        for item in found {
            let sk = string(&item, keys::SK)?;
            let stored: StoredCadence = read_record(&item)?;
            cadences.insert(sk, (stored.cadence, number(&item, "version")?));
        }
        let cadence_of = |category: &Category| {
            cadences
                .get(&keys::cadence(category))
                .map(|(cadence, _)| cadence.clone())
        };
        let changes = match booking_change::plan(stored.as_ref(), booking, cadence_of, timezone) {
            Planned::Ready(changes) => changes,
            Planned::NeedsHistory(refold) => {
                let history = self
                    .query_partition(&pk, keys::BOOKING_PREFIX)
                    .await?
                    .iter()
                    .map(read_record)
                    .collect::<Result<Vec<Booking>, StoreError>>()?;
                refold.with_history(&history)
            }
        };
        let mut writes = Vec::new();
        if changes.write_booking {
            writes.push(self.booking_write(&pk, booking, stored.as_ref())?);
        }
        for (category, cadence) in changes.cadences {
            let read = cadences
                .get(&keys::cadence(&category))
                .map(|(_, version)| *version);
            let client = &booking.client_id;
            writes.extend(self.cadence_write(tenant, client, &category, cadence, read, today)?);
        }
        self.transact(writes).await?;
        Ok(changes.outcome)
    }
    /// One attempt at importing a client's bookings: one Query for the partition, then the
    /// writes in transactions of at most 100 items, cadences in the last one.
    pub(super) async fn try_import(
        &self,
        tenant: &Tenant,
        client: &ClientId,
        incoming: &[Booking],
        today: Day,
    ) -> Result<Vec<BookingOutcome>, Clash> {
        let pk = keys::client(&tenant.id, client);
        let items = self.query_partition(&pk, "").await?;
        let mut stored = Vec::new();
        let mut versions: HashMap<String, i64> = HashMap::new();
        for item in &items {
            let sk = string(item, keys::SK)?;
            if sk.starts_with(keys::BOOKING_PREFIX) {
                stored.push(read_record::<Booking>(item)?);
            } else if sk.starts_with(keys::CADENCE_PREFIX) {
                versions.insert(sk, number(item, "version")?);
            }
        }
        let merged = booking_change::merge(client, &stored, incoming, &tenant.config.timezone);
        let mut writes = Vec::new();
        for booking in &merged.bookings {
            let old = stored.iter().find(|b| b.id == booking.id);
            writes.push(self.booking_write(&pk, booking, old)?);
        }
        let mut cadence_writes = Vec::new();
        for (category, cadence) in merged.cadences {
            let read = versions.get(&keys::cadence(&category)).copied();
            cadence_writes
                .extend(self.cadence_write(tenant, client, &category, cadence, read, today)?);
        }
        if cadence_writes.len() > MAX_TRANSACTION_ITEMS {
            return Err(Clash::Failed(StoreError::TooLarge(Limit::Categories {
                categories: cadence_writes.len(),
                max: MAX_TRANSACTION_ITEMS,
            })));
        }
        // Bookings first, in full transactions; the cadences go with the last bookings, so
        // the cadences never run ahead of the bookings they are folded from.
        let room = MAX_TRANSACTION_ITEMS - cadence_writes.len();
        let last_bookings = writes.len() - writes.len().min(room);
        let mut head = writes;
        let mut last = head.split_off(last_bookings);
        last.extend(cadence_writes);
        let mut chunks: Vec<Vec<TransactWriteItem>> = Vec::new();
        while !head.is_empty() {
            let rest = head.split_off(head.len().min(MAX_TRANSACTION_ITEMS));
            chunks.push(std::mem::replace(&mut head, rest));
        }
        chunks.push(last);
        for chunk in chunks {
            self.transact(chunk).await?;
        }
        Ok(merged.outcomes)
    }
    /// Loads the histories of clients that have nothing stored yet, without reading anything:
    /// the first migration of a business's whole history into its table. Bookings and the
    /// folded cadences are written with BatchWriteItem, 25 items a request, retrying what
    /// DynamoDB leaves unprocessed; no condition is checked, so a client that may already have
    /// items must go through [`Store::import_history`] instead. Returns the items written.
    pub async fn bulk_load(
        &self,
        tenant: &Tenant,
        histories: &[(ClientId, Vec<Booking>)],
        today: Day,
    ) -> Result<usize, StoreError> {
        let mut items = Vec::new();
        for (client, bookings) in histories {
            let pk = keys::client(&tenant.id, client);
            let merged = booking_change::merge(client, &[], bookings, &tenant.config.timezone);
            for booking in &merged.bookings {
                items.push(booking_item(&pk, booking)?);
            }
            for (_, cadence) in merged.cadences {
                if let Some(cadence) = cadence {
                    items.push(cadence_item(tenant, client, &pk, cadence, 1, today)?);
                }
            }
        }
        for item in &items {
            check_size(item)?;
        }
        let written = items.len();
        let requests = items
            .into_iter()
            .map(|item| {
                aws_sdk_dynamodb::types::PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
                    .map_err(|e| StoreError::Unavailable(Box::new(e)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(requests, "loading histories").await?;
        Ok(written)
    }

    /// Writes a booking, on condition that the version read (`stored`) is still the stored one.
    pub(super) fn booking_write(
        &self,
        pk: &str,
        booking: &Booking,
        stored: Option<&Booking>,
    ) -> Result<TransactWriteItem, StoreError> {
        let condition = match stored {
            None => Condition::Absent,
            Some(old) => Condition::Equals("updated_at", s(old.updated_at.to_string())),
        };
        self.put(booking_item(pk, booking)?, condition)
    }

    /// Writes a category's new cadence (or removes it), on condition that its version is still
    /// the one read (`read`, `None` when there was none); nothing when both are absent.
    pub(super) fn cadence_write(
        &self,
        tenant: &Tenant,
        client: &ClientId,
        category: &Category,
        cadence: Option<CategoryCadence>,
        read: Option<i64>,
        today: Day,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let pk = keys::client(&tenant.id, client);
        let condition = match read {
            None => Condition::Absent,
            Some(version) => Condition::Equals("version", n(version)),
        };
        match (cadence, read) {
            (None, None) => Ok(None),
            (None, Some(_)) => self
                .delete(pk, keys::cadence(category), condition)
                .map(Some),
            (Some(cadence), _) => {
                let version = read.unwrap_or(0) + 1;
                let item = cadence_item(tenant, client, &pk, cadence, version, today)?;
                self.put(item, condition).map(Some)
            }
        }
    }
}

#[async_trait]
impl ClientStore for DynamoStore {
    async fn upsert_client(
        &self,
        tenant: &TenantId,
        profile: &ClientProfile,
    ) -> Result<ProfileOutcome, StoreError> {
        let pk = keys::client(tenant, &profile.id);
        retry_on_clash(
            || Subject::Client(profile.id.clone()),
            || async {
                let stored = self.get(pk.clone(), keys::PROFILE_SK).await?;
                let (outcome, condition, revision) = match &stored {
                    None => (ProfileOutcome::Created, Condition::Absent, 1),
                    Some(item) => {
                        let old: ClientProfile = read_record(item)?;
                        if !profile.supersedes(&old) {
                            return Ok(ProfileOutcome::Stale);
                        }
                        let revision = number(item, "revision")?;
                        (
                            ProfileOutcome::Updated,
                            Condition::Equals("revision", n(revision)),
                            revision + 1,
                        )
                    }
                };
                let mut item = Item::from([
                    (keys::PK.into(), s(&pk)),
                    (keys::SK.into(), s(keys::PROFILE_SK)),
                    ("revision".into(), n(revision)),
                ]);
                item.insert("record".into(), record(profile)?);
                if let Some(phone) = &profile.phone {
                    // Finds the client from an SMS reply; a changed or removed number moves or
                    // drops it with the profile.
                    let contact = ContactHash::of_phone(phone);
                    item.insert(keys::PHONE_PK.into(), s(keys::phone(tenant, &contact)));
                    item.insert(keys::CLIENT_ID.into(), s(profile.id.as_str()));
                }
                self.transact(vec![self.put(item, condition)?]).await?;
                Ok::<_, Clash>(outcome)
            },
        )
        .await
    }

    async fn apply_booking(
        &self,
        tenant: &Tenant,
        booking: &Booking,
        today: Day,
    ) -> Result<BookingOutcome, StoreError> {
        retry_on_clash(
            || Subject::Client(booking.client_id.clone()),
            || self.try_apply_booking(tenant, booking, today),
        )
        .await
    }

    async fn import_history(
        &self,
        tenant: &Tenant,
        client: &ClientId,
        bookings: &[Booking],
        today: Day,
    ) -> Result<Vec<BookingOutcome>, StoreError> {
        retry_on_clash(
            || Subject::Client(client.clone()),
            || self.try_import(tenant, client, bookings, today),
        )
        .await
    }

    async fn client(
        &self,
        tenant: &TenantId,
        id: &ClientId,
    ) -> Result<Option<ClientRecord>, StoreError> {
        let items = self.query_partition(&keys::client(tenant, id), "").await?;
        if items.is_empty() {
            return Ok(None);
        }
        let mut profile = None;
        let mut bookings = Vec::new();
        let mut cadences = Vec::new();
        let mut outreach = Outreach::default();
        let mut outreach_version = 0;
        for item in &items {
            let sk = string(item, keys::SK)?;
            if sk == keys::PROFILE_SK {
                profile = Some(read_record(item)?);
            } else if sk.starts_with(keys::BOOKING_PREFIX) {
                bookings.push(read_record::<Booking>(item)?);
            } else if sk.starts_with(keys::CADENCE_PREFIX) {
                cadences.push(read_record::<StoredCadence>(item)?);
            } else if sk == keys::OUTREACH_SK {
                outreach = read_record(item)?;
                outreach_version = number(item, "version")? as u64;
            }
        }
        if profile.is_none() && bookings.is_empty() {
            return Ok(None);
        }
        bookings.sort_by(|a, b| (a.starts_at, &a.id).cmp(&(b.starts_at, &b.id)));
        cadences.sort_by(|a, b| a.cadence.category.cmp(&b.cadence.category));
        Ok(Some(ClientRecord {
            profile,
            bookings,
            cadences,
            outreach,
            outreach_version,
        }))
    }

    async fn clients_with_phone(
        &self,
        tenant: &TenantId,
        phone: &PhoneNumber,
    ) -> Result<Vec<ClientId>, StoreError> {
        let pk = keys::phone(tenant, &ContactHash::of_phone(phone));
        let items = self
            .query_index(
                keys::PHONE_INDEX,
                (keys::PHONE_PK, keys::CLIENT_ID),
                &pk,
                None,
                None,
            )
            .await?;
        items.iter().map(client_id_of).collect()
    }

    async fn erase_client(
        &self,
        tenant: &TenantId,
        id: &ClientId,
        at: Timestamp,
    ) -> Result<Option<Erased>, StoreError> {
        let items = self.query_partition(&keys::client(tenant, id), "").await?;
        if items.is_empty() {
            return Ok(None);
        }
        // Suppress first: if erasing stops half-way, the person is still never messaged.
        let profile = items
            .iter()
            .find(|item| matches!(item.get(keys::SK), Some(AttributeValue::S(v)) if v == keys::PROFILE_SK))
            .map(read_record::<ClientProfile>)
            .transpose()?;
        for hash in profile.iter().flat_map(ClientProfile::contact_hashes) {
            self.put_plain(Item::from([
                (keys::PK.into(), s(keys::suppression(tenant, &hash))),
                (keys::SK.into(), s(keys::SUPPRESSED_SK)),
                ("reason".into(), s(SuppressionReason::Erased.name())),
                ("at".into(), s(at.to_string())),
            ]))
            .await?;
        }
        self.delete_all(&items).await?;
        Ok(Some(Erased { items: items.len() }))
    }

    async fn record_click(&self, claims: &LinkClaims, at: Timestamp) -> Result<(), StoreError> {
        let click = Click {
            enrollment: claims.enrollment.clone(),
            step: claims.step,
            channel: claims.channel,
            at,
        };
        let mut item = Item::from([
            (
                keys::PK.into(),
                s(keys::client(&claims.tenant, &claims.client)),
            ),
            (
                keys::SK.into(),
                s(keys::click(at, &claims.enrollment, claims.step)),
            ),
        ]);
        item.insert("record".into(), record(&click)?);
        self.put_plain(item).await
    }

    async fn clicks(&self, tenant: &TenantId, client: &ClientId) -> Result<Vec<Click>, StoreError> {
        self.query_partition(&keys::client(tenant, client), keys::CLICK_PREFIX)
            .await?
            .iter()
            .map(read_record)
            .collect()
    }
}
