//! The DynamoDB store: the [`Store`] port on the one table of the deployed system.
//!
//! Keys are built in [`keys`]; records are stored as one map attribute (`record`, written with
//! `serde_dynamo`) beside the attributes that conditions and the watch index use. Every change
//! that must not be lost to a concurrent one is a conditional write on what was read
//! (optimistic concurrency): a clash is read again and retried a few times with jittered
//! backoff, then reported as [`StoreError::Contention`]. The adapter enforces DynamoDB's own
//! limits (25 items per batch write, 100 per transaction, 400 KB per item) itself, because
//! local emulators do not.

pub mod keys;
pub mod schema;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, KeysAndAttributes, Put, TransactWriteItem, Update,
    WriteRequest,
};
use jiff::Timestamp;
use rand::Rng;

use crate::domain::booking::Booking;
use crate::domain::booking_change::{self, BookingOutcome, Planned};
use crate::domain::category_cadence::{CategoryCadence, Watch};
use crate::domain::client::ClientProfile;
use crate::domain::config::BusinessConfig;
use crate::domain::contact::{ContactHash, PhoneNumber};
use crate::domain::day::Day;
use crate::domain::enrollment::{Enrollment, EnrollmentId, Outreach, ScheduledStep, StepStatus};
use crate::domain::ids::{Category, ClientId, TenantId};
use crate::domain::link_token::LinkClaims;
use crate::domain::reputation::{MailCounts, MailEvent, Pause};
use crate::domain::stage::Stage;
use crate::domain::tenant::{ApiKeyHash, Tenant, WebhookSecret};
use crate::ports::{
    BoxError, Click, ClientRecord, ConsentChange, Erased, LedgerLine, Look, OutreachChange,
    OverdueCadence, ProfileOutcome, Store, StoreError, StoredCadence, SuppressionReason,
    WatchedCadence, Written,
};

pub use schema::create_table;

/// DynamoDB's limits, enforced here.
pub const MAX_BATCH_WRITE: usize = 25;
pub const MAX_BATCH_GET: usize = 100;
pub const MAX_TRANSACTION_ITEMS: usize = 100;
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// How many times a write that clashed with a concurrent one is read again and retried.
const ATTEMPTS: u32 = 8;

type Item = HashMap<String, AttributeValue>;

pub struct DynamoStore {
    client: Client,
    table: String,
    items_read: AtomicU64,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
            items_read: AtomicU64::new(0),
        }
    }

    /// Items read so far by this store (returned by GetItem, BatchGetItem and Query): the
    /// instrumentation behind the "reads what is due, not what is stored" benchmark.
    pub fn items_read(&self) -> u64 {
        self.items_read.load(Ordering::Relaxed)
    }

    fn count_read(&self, items: usize) {
        self.items_read.fetch_add(items as u64, Ordering::Relaxed);
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        self.count_read(usize::from(output.item.is_some()));
        Ok(output.item)
    }

    /// Gets several items of one partition in one round trip (at most [`MAX_BATCH_GET`]).
    async fn get_many(&self, pk: &str, sks: &[String]) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for chunk in sks.chunks(MAX_BATCH_GET) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(
                        chunk
                            .iter()
                            .map(|sk| {
                                Item::from([(keys::PK.into(), s(pk)), (keys::SK.into(), s(sk))])
                            })
                            .collect(),
                    ))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Unavailable(Box::new(e)))?,
            );
            let mut attempt = 0;
            while let Some(request) = pending.take() {
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(sdk)?;
                let items = output
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default();
                self.count_read(items.len());
                found.extend(items);
                pending = output
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys.is_empty());
                if pending.is_some() {
                    attempt += 1;
                    backoff(attempt).await;
                }
            }
        }
        Ok(found)
    }

    /// Every item of a partition whose sort key starts with `prefix` (all of them for "").
    async fn query_partition(&self, pk: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(":pk", s(pk))
                .set_exclusive_start_key(start.take());
            query = if prefix.is_empty() {
                query.key_condition_expression("#pk = :pk")
            } else {
                query
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", keys::SK)
                    .expression_attribute_values(":prefix", s(prefix))
            };
            let output = query.send().await.map_err(sdk)?;
            let page = output.items.unwrap_or_default();
            self.count_read(page.len());
            items.extend(page);
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// Every item of an index partition (with a sort key below `below`, if given), at most
    /// `limit` if given, in sort-key order.
    async fn query_index(
        &self,
        index: &str,
        (pk_name, sk_name): (&str, &str),
        pk: &str,
        below: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .expression_attribute_names("#pk", pk_name)
                .expression_attribute_values(":pk", s(pk))
                .set_exclusive_start_key(start.take());
            query = match below {
                None => query.key_condition_expression("#pk = :pk"),
                Some(bound) => query
                    .key_condition_expression("#pk = :pk AND #sk < :below")
                    .expression_attribute_names("#sk", sk_name)
                    .expression_attribute_values(":below", s(bound)),
            };
            if let Some(limit) = limit {
                let wanted = limit.saturating_sub(items.len()).clamp(1, 1000);
                query = query.limit(wanted as i32);
            }
            let output = query.send().await.map_err(sdk)?;
            let page = output.items.unwrap_or_default();
            self.count_read(page.len());
            items.extend(page);
            if limit.is_some_and(|limit| items.len() >= limit) {
                return Ok(items);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// Writes all of `items` as one transaction; `Some(indexes)` of the items whose condition
    /// failed when it was cancelled for that.
    async fn transact_with_reasons(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<Vec<usize>>, StoreError> {
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::TooLarge(format!(
                "one change needs {} items; DynamoDB allows {MAX_TRANSACTION_ITEMS} in a transaction",
                items.len()
            )));
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    let reasons = cancelled.cancellation_reasons();
                    let failed: Vec<usize> = reasons
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                        .map(|(i, _)| i)
                        .collect();
                    let conflicted = reasons
                        .iter()
                        .any(|r| r.code() == Some("TransactionConflict"));
                    if failed.is_empty() && !conflicted {
                        Err(sdk(error))
                    } else {
                        // A conflict with a concurrent transaction reads as "changed": the
                        // caller reads again.
                        Ok(Some(if failed.is_empty() { vec![0] } else { failed }))
                    }
                }
                _ => Err(sdk(error)),
            },
        }
    }

    /// Writes all of `items` as one transaction.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), Clash> {
        if items.is_empty() {
            return Ok(());
        }
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(Clash::Failed(StoreError::TooLarge(format!(
                "one change needs {} items; DynamoDB allows {MAX_TRANSACTION_ITEMS} in a transaction",
                items.len()
            ))));
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled))
                    if cancelled.cancellation_reasons().iter().any(|r| {
                        matches!(
                            r.code(),
                            Some("ConditionalCheckFailed" | "TransactionConflict")
                        )
                    }) =>
                {
                    Err(Clash::Changed)
                }
                _ => Err(Clash::Failed(sdk(error))),
            },
        }
    }

    fn put(&self, item: Item, condition: Condition) -> Result<TransactWriteItem, StoreError> {
        check_size(&item)?;
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        put = condition.apply_put(put);
        Ok(TransactWriteItem::builder()
            .put(
                put.build()
                    .map_err(|e| StoreError::Unavailable(Box::new(e)))?,
            )
            .build())
    }

    fn delete(
        &self,
        pk: String,
        sk: String,
        condition: Condition,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk));
        delete = condition.apply_delete(delete);
        Ok(TransactWriteItem::builder()
            .delete(
                delete
                    .build()
                    .map_err(|e| StoreError::Unavailable(Box::new(e)))?,
            )
            .build())
    }

    /// Puts one item on `condition`: `false` if the condition did not hold (nothing written).
    async fn put_if(&self, item: Item, condition: Condition) -> Result<bool, StoreError> {
        match self.transact(vec![self.put(item, condition)?]).await {
            Ok(()) => Ok(true),
            Err(Clash::Changed) => Ok(false),
            Err(Clash::Failed(error)) => Err(error),
        }
    }

    /// Puts one item only if no item has its key yet: `false` if one had.
    async fn put_new(&self, item: Item) -> Result<bool, StoreError> {
        check_size(&item)?;
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(error) => Err(sdk(error)),
        }
    }

    async fn put_plain(&self, item: Item) -> Result<(), StoreError> {
        check_size(&item)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// Deletes items in batches of [`MAX_BATCH_WRITE`], retrying what DynamoDB leaves unprocessed.
    async fn delete_all(&self, items: &[Item]) -> Result<(), StoreError> {
        let requests = items
            .iter()
            .map(|item| {
                let key = Item::from([
                    (keys::PK.into(), item[keys::PK].clone()),
                    (keys::SK.into(), item[keys::SK].clone()),
                ]);
                DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
                    .map_err(|e| StoreError::Unavailable(Box::new(e)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(requests, "erasing a client").await
    }

    /// Sends write requests in batches of [`MAX_BATCH_WRITE`], retrying with backoff what
    /// DynamoDB leaves unprocessed; `what` names the work in the error if it never finishes.
    async fn batch_write(&self, requests: Vec<WriteRequest>, what: &str) -> Result<(), StoreError> {
        let mut requests = requests.into_iter().peekable();
        while requests.peek().is_some() {
            let mut batch: Vec<WriteRequest> = requests.by_ref().take(MAX_BATCH_WRITE).collect();
            let mut attempt = 0;
            while !batch.is_empty() {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, batch)
                    .send()
                    .await
                    .map_err(sdk)?;
                batch = output
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if !batch.is_empty() {
                    attempt += 1;
                    if attempt > ATTEMPTS {
                        return Err(StoreError::Contention(what.into()));
                    }
                    backoff(attempt).await;
                }
            }
        }
        Ok(())
    }

    /// One attempt at applying a booking: reads, plans, writes conditionally on what was read.
    async fn try_apply_booking(
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
        let mut planned =
            booking_change::plan(stored.as_ref(), booking, cadence_of, None, timezone);
        if planned == Planned::NeedsHistory {
            let history = self
                .query_partition(&pk, keys::BOOKING_PREFIX)
                .await?
                .iter()
                .map(read_record)
                .collect::<Result<Vec<Booking>, StoreError>>()?;
            planned = booking_change::plan(
                stored.as_ref(),
                booking,
                cadence_of,
                Some(&history),
                timezone,
            );
        }
        let Planned::Ready(changes) = planned else {
            unreachable!("plan is complete once it has the history")
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
}

impl DynamoStore {
    /// One attempt at importing a client's bookings: one Query for the partition, then the
    /// writes in transactions of at most 100 items, cadences in the last one.
    async fn try_import(
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
        let incoming: Vec<Booking> = incoming
            .iter()
            .filter(|b| &b.client_id == client)
            .cloned()
            .collect();
        let merged = booking_change::merge(&stored, &incoming, &tenant.config.timezone);
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
            return Err(Clash::Failed(StoreError::TooLarge(format!(
                "{} categories in one import; at most {MAX_TRANSACTION_ITEMS}",
                cadence_writes.len()
            ))));
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
}

impl DynamoStore {
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
            let bookings: Vec<Booking> = bookings
                .iter()
                .filter(|b| &b.client_id == client)
                .cloned()
                .collect();
            let merged = booking_change::merge(&[], &bookings, &tenant.config.timezone);
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
}

impl DynamoStore {
    /// Changes a tenant's record with `change` (which says whether it changed anything), on
    /// condition that its revision is still the one read; re-read and retried on a clash.
    async fn update_tenant(
        &self,
        tenant: &TenantId,
        change: impl Fn(&mut Tenant) -> bool,
    ) -> Result<(), StoreError> {
        for attempt in 1..=ATTEMPTS {
            let item = self
                .get(keys::tenant(tenant), keys::TENANT_SK)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("tenant {tenant} does not exist")))?;
            let mut record_value: Tenant = read_record(&item)?;
            if !change(&mut record_value) {
                return Ok(());
            }
            let revision = number(&item, "revision")?;
            let mut new = item.clone();
            new.insert("record".into(), record(&record_value)?);
            new.insert("revision".into(), n(revision + 1));
            match self
                .transact(vec![
                    self.put(new, Condition::Equals("revision", n(revision)))?,
                ])
                .await
            {
                Ok(()) => return Ok(()),
                Err(Clash::Changed) => backoff(attempt).await,
                Err(Clash::Failed(error)) => return Err(error),
            }
        }
        Err(StoreError::Contention(format!("tenant {tenant}")))
    }

    /// Writes a booking, on condition that the version read (`stored`) is still the stored one.
    fn booking_write(
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
    fn cadence_write(
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

fn booking_item(pk: &str, booking: &Booking) -> Result<Item, StoreError> {
    let mut item = Item::from([
        (keys::PK.into(), s(pk)),
        (keys::SK.into(), s(keys::booking(&booking.id))),
        ("updated_at".into(), s(booking.updated_at.to_string())),
    ]);
    item.insert("record".into(), record(booking)?);
    Ok(item)
}

/// Why a conditional write did not happen.
enum Clash {
    /// What was read changed before the write: read again and retry.
    Changed,
    Failed(StoreError),
}

impl From<StoreError> for Clash {
    fn from(error: StoreError) -> Clash {
        Clash::Failed(error)
    }
}

/// The condition a transactional write is made under.
enum Condition {
    /// Whatever is stored.
    None,
    /// No item with this key exists.
    Absent,
    /// The item exists and this attribute still has the value that was read.
    Equals(&'static str, AttributeValue),
}

impl Condition {
    fn apply_put(
        self,
        put: aws_sdk_dynamodb::types::builders::PutBuilder,
    ) -> aws_sdk_dynamodb::types::builders::PutBuilder {
        match self {
            Condition::None => put,
            Condition::Absent => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK),
            Condition::Equals(name, value) => put
                .condition_expression("#a = :a")
                .expression_attribute_names("#a", name)
                .expression_attribute_values(":a", value),
        }
    }

    fn apply_delete(
        self,
        delete: aws_sdk_dynamodb::types::builders::DeleteBuilder,
    ) -> aws_sdk_dynamodb::types::builders::DeleteBuilder {
        match self {
            Condition::None => delete,
            Condition::Absent => delete
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK),
            Condition::Equals(name, value) => delete
                .condition_expression("#a = :a")
                .expression_attribute_names("#a", name)
                .expression_attribute_values(":a", value),
        }
    }
}

fn cadence_item(
    tenant: &Tenant,
    client: &ClientId,
    pk: &str,
    cadence: CategoryCadence,
    version: i64,
    today: Day,
) -> Result<Item, StoreError> {
    let tenant_id = &tenant.id;
    let category = cadence.category.clone();
    let watch = cadence.watch(today, &tenant.config);
    let mut item = Item::from([
        (keys::PK.into(), s(pk)),
        (keys::SK.into(), s(keys::cadence(&category))),
        ("version".into(), n(version)),
        (keys::CLIENT_ID.into(), s(client.as_str())),
        ("category".into(), s(category.as_str())),
    ]);
    if let Some(watch) = watch {
        let shard = keys::shard(client, &category);
        item.insert(
            keys::WATCH_PK.into(),
            s(keys::watch_bucket(tenant_id, watch.on, shard)),
        );
        item.insert(
            keys::WATCH_SK.into(),
            s(keys::watch_sort(client, &category)),
        );
        item.insert("watch_on".into(), s(watch.on.to_string()));
        item.insert("watch_stage".into(), s(watch.stage.name()));
    }
    let stage = cadence.stage(today, false, &tenant.config);
    set_stage(&mut item, tenant_id, client, &category, stage);
    item.insert("record".into(), record(&StoredCadence { cadence, watch })?);
    Ok(item)
}

/// A cadence's stage, and its place in the overdue index when the stage is overdue.
fn set_stage(
    item: &mut Item,
    tenant: &TenantId,
    client: &ClientId,
    category: &Category,
    stage: Stage,
) {
    item.insert("stage".into(), s(stage.name()));
    if stage.is_overdue() {
        item.insert(
            keys::OVERDUE_PK.into(),
            s(keys::overdue_bucket(tenant, keys::shard(client, category))),
        );
        item.insert(
            keys::OVERDUE_SK.into(),
            s(keys::watch_sort(client, category)),
        );
    } else {
        item.remove(keys::OVERDUE_PK);
        item.remove(keys::OVERDUE_SK);
    }
}

fn step_item(tenant: &TenantId, step: &ScheduledStep) -> Result<Item, StoreError> {
    let mut item = Item::from([
        (keys::PK.into(), s(keys::client(tenant, &step.client_id))),
        (keys::SK.into(), s(keys::step(&step.enrollment, step.index))),
    ]);
    match step.status {
        StepStatus::Scheduled => {
            item.insert("status".into(), s("scheduled"));
            item.insert(
                keys::DUE_PK.into(),
                s(keys::due_bucket(
                    tenant,
                    keys::client_shard(&step.client_id),
                )),
            );
            item.insert(keys::DUE_SK.into(), s(keys::due_sort(step)));
        }
        ref other => {
            item.insert("status".into(), s(other.name()));
        }
    }
    // The status as a whole (with its lease): what taking a step for sending is conditional on.
    item.insert("lease".into(), record(&step.status)?);
    item.insert("record".into(), record(step)?);
    Ok(item)
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn sdk<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let boxed: BoxError = Box::new(error);
    StoreError::Unavailable(boxed)
}

fn record<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn read_record<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let value = item
        .get("record")
        .ok_or_else(|| StoreError::Corrupt("an item has no record".into()))?;
    serde_dynamo::from_attribute_value(value.clone())
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn string(item: &Item, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => Err(StoreError::Corrupt(format!(
            "an item has no text attribute {name}"
        ))),
    }
}

/// The client an index item belongs to (its `client_id` attribute).
fn client_id_of(item: &Item) -> Result<ClientId, StoreError> {
    ClientId::parse(&string(item, keys::CLIENT_ID)?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn number(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("{name} is not a whole number"))),
        _ => Err(StoreError::Corrupt(format!(
            "an item has no number attribute {name}"
        ))),
    }
}

fn take_item(items: &mut Vec<Item>, sk: &str) -> Option<Item> {
    let index = items
        .iter()
        .position(|item| matches!(item.get(keys::SK), Some(AttributeValue::S(v)) if v == sk))?;
    Some(items.swap_remove(index))
}

/// DynamoDB's item size: attribute names and values, as its documentation counts them.
fn item_size(item: &Item) -> usize {
    fn value_size(value: &AttributeValue) -> usize {
        match value {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.len().div_ceil(2) + 1,
            AttributeValue::B(b) => b.as_ref().len(),
            AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
            AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
            AttributeValue::M(map) => {
                3 + map
                    .iter()
                    .map(|(k, v)| 1 + k.len() + value_size(v))
                    .sum::<usize>()
            }
            AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
            AttributeValue::Ns(set) => set.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
            AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
            _ => 0,
        }
    }
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn check_size(item: &Item) -> Result<(), StoreError> {
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::TooLarge(format!(
            "a record of {size} bytes is over DynamoDB's item limit of {MAX_ITEM_BYTES} bytes; send fewer or shorter values"
        )));
    }
    Ok(())
}

/// Epoch seconds `days` after the start of `day` (UTC): when a record about that day may go.
fn expires_after_days(day: Day, days: i32) -> i64 {
    i64::from(day.plus_days(days).days_since(Day::EPOCH)) * 86_400
}

/// Waits before retry `attempt` (1, 2, ...): exponential with full jitter, capped at 1 s.
async fn backoff(attempt: u32) {
    let cap_ms = (10u64 << attempt.min(7)).min(1000);
    let wait = rand::rng().random_range(0..=cap_ms);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

#[async_trait]
impl Store for DynamoStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let mut item = Item::from([
            (keys::PK.into(), s(keys::tenant(&tenant.id))),
            (keys::SK.into(), s(keys::TENANT_SK)),
            ("revision".into(), n(1)),
        ]);
        item.insert("record".into(), record(tenant)?);
        if self.put_new(item).await? {
            self.put_plain(Item::from([
                (keys::PK.into(), s(keys::TENANTS_PK)),
                (keys::SK.into(), s(keys::tenant_entry(&tenant.id))),
                ("tenant_id".into(), s(tenant.id.as_str())),
            ]))
            .await
        } else {
            Err(StoreError::AlreadyExists(format!("tenant {}", tenant.id)))
        }
    }

    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.get(keys::tenant(id), keys::TENANT_SK)
            .await?
            .as_ref()
            .map(read_record)
            .transpose()
    }

    async fn add_webhook_secret(
        &self,
        tenant: &TenantId,
        secret: &WebhookSecret,
    ) -> Result<(), StoreError> {
        self.update_tenant(tenant, |record| {
            let new = !record.webhook_secrets.contains(secret);
            if new {
                record.webhook_secrets.push(secret.clone());
            }
            new
        })
        .await
    }

    async fn add_api_key(&self, tenant: &TenantId, key: &ApiKeyHash) -> Result<(), StoreError> {
        self.put_plain(Item::from([
            (keys::PK.into(), s(keys::api_key(key))),
            (keys::SK.into(), s(keys::APIKEY_SK)),
            ("tenant_id".into(), s(tenant.as_str())),
        ]))
        .await
    }

    async fn tenant_for_api_key(&self, key: &ApiKeyHash) -> Result<Option<TenantId>, StoreError> {
        let Some(item) = self.get(keys::api_key(key), keys::APIKEY_SK).await? else {
            return Ok(None);
        };
        let tenant = string(&item, "tenant_id")?;
        TenantId::parse(&tenant)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    async fn webhook_seen(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let Some(item) = self
            .get(keys::webhook(tenant, webhook_id), keys::WEBHOOK_SK)
            .await?
        else {
            return Ok(false);
        };
        // TTL deletes lag by up to days: an expired item is as good as gone.
        Ok(number(&item, keys::EXPIRES_AT)? > now.as_second())
    }

    async fn remember_webhook(
        &self,
        tenant: &TenantId,
        webhook_id: &str,
        expires_at: Timestamp,
        _now: Timestamp,
    ) -> Result<(), StoreError> {
        self.put_plain(Item::from([
            (keys::PK.into(), s(keys::webhook(tenant, webhook_id))),
            (keys::SK.into(), s(keys::WEBHOOK_SK)),
            (keys::EXPIRES_AT.into(), n(expires_at.as_second())),
        ]))
        .await
    }

    async fn upsert_client(
        &self,
        tenant: &TenantId,
        profile: &ClientProfile,
    ) -> Result<ProfileOutcome, StoreError> {
        let pk = keys::client(tenant, &profile.id);
        for attempt in 1..=ATTEMPTS {
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
            match self.transact(vec![self.put(item, condition)?]).await {
                Ok(()) => return Ok(outcome),
                Err(Clash::Changed) => backoff(attempt).await,
                Err(Clash::Failed(error)) => return Err(error),
            }
        }
        Err(StoreError::Contention(format!("client {}", profile.id)))
    }

    async fn apply_booking(
        &self,
        tenant: &Tenant,
        booking: &Booking,
        today: Day,
    ) -> Result<BookingOutcome, StoreError> {
        for attempt in 1..=ATTEMPTS {
            match self.try_apply_booking(tenant, booking, today).await {
                Ok(outcome) => return Ok(outcome),
                Err(Clash::Changed) => backoff(attempt).await,
                Err(Clash::Failed(error)) => return Err(error),
            }
        }
        Err(StoreError::Contention(format!(
            "client {}",
            booking.client_id
        )))
    }

    async fn import_history(
        &self,
        tenant: &Tenant,
        client: &ClientId,
        bookings: &[Booking],
        today: Day,
    ) -> Result<Vec<BookingOutcome>, StoreError> {
        for attempt in 1..=ATTEMPTS {
            match self.try_import(tenant, client, bookings, today).await {
                Ok(outcomes) => return Ok(outcomes),
                Err(Clash::Changed) => backoff(attempt).await,
                Err(Clash::Failed(error)) => return Err(error),
            }
        }
        Err(StoreError::Contention(format!("client {client}")))
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
                ("at".into(), s(Timestamp::now().to_string())),
            ]))
            .await?;
        }
        self.delete_all(&items).await?;
        Ok(Some(Erased { items: items.len() }))
    }

    async fn suppression(
        &self,
        tenant: &TenantId,
        contact: &ContactHash,
    ) -> Result<Option<SuppressionReason>, StoreError> {
        let Some(item) = self
            .get(keys::suppression(tenant, contact), keys::SUPPRESSED_SK)
            .await?
        else {
            return Ok(None);
        };
        let reason = string(&item, "reason")?;
        Ok(Some(
            serde_json::from_value(serde_json::Value::String(reason))
                .unwrap_or(SuppressionReason::Erased),
        ))
    }

    async fn record_consent(
        &self,
        tenant: &TenantId,
        change: &ConsentChange,
    ) -> Result<bool, StoreError> {
        let entry = &change.entry;
        let line = LedgerLine {
            client: change.client.clone(),
            entry: entry.clone(),
            reason: change.reason,
        };
        let mut ledger = Item::from([
            (
                keys::PK.into(),
                s(keys::consent_ledger(tenant, &change.contact)),
            ),
            (
                keys::SK.into(),
                s(keys::ledger_line(entry.at, entry.channel)),
            ),
        ]);
        ledger.insert("record".into(), record(&line)?);
        let suppression_pk = keys::suppression(tenant, &change.contact);
        let state = if entry.granted {
            self.delete(
                suppression_pk,
                keys::SUPPRESSED_SK.into(),
                Condition::Equals("reason", s(SuppressionReason::OptedOut.name())),
            )?
        } else {
            self.put(
                Item::from([
                    (keys::PK.into(), s(suppression_pk)),
                    (keys::SK.into(), s(keys::SUPPRESSED_SK)),
                    ("reason".into(), s(change.reason.name())),
                    ("at".into(), s(entry.at.to_string())),
                ]),
                Condition::Absent,
            )?
        };
        match self
            .transact(vec![state, self.put(ledger, Condition::Absent)?])
            .await
        {
            Ok(()) => Ok(true),
            Err(Clash::Changed) => Ok(false),
            Err(Clash::Failed(error)) => Err(error),
        }
    }

    async fn consent_ledger(
        &self,
        tenant: &TenantId,
        contact: &ContactHash,
    ) -> Result<Vec<LedgerLine>, StoreError> {
        self.query_partition(&keys::consent_ledger(tenant, contact), keys::LEDGER_PREFIX)
            .await?
            .iter()
            .map(read_record)
            .collect()
    }

    async fn count_mail(
        &self,
        tenant: &TenantId,
        day: Day,
        event: MailEvent,
    ) -> Result<(), StoreError> {
        let column = event.name();
        let expires = jiff::tz::TimeZone::UTC
            .to_ambiguous_timestamp(
                day.plus_days(60)
                    .date()
                    .to_datetime(jiff::civil::Time::midnight()),
            )
            .compatible()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .as_second();
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::tenant(tenant)))
            .key(keys::SK, s(keys::mail_counts(day)))
            .update_expression("ADD #c :one SET #e = :e")
            .expression_attribute_names("#c", column)
            .expression_attribute_names("#e", keys::EXPIRES_AT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":e", n(expires))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn mail_counts(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<MailCounts, StoreError> {
        let items = self
            .query_partition(&keys::tenant(tenant), keys::MAIL_PREFIX)
            .await?;
        let (first, last) = (keys::mail_counts(from), keys::mail_counts(through));
        let mut counts = MailCounts::default();
        for item in &items {
            let sk = string(item, keys::SK)?;
            if sk < first || sk > last {
                continue;
            }
            let get = |name: &str| match item.get(name) {
                Some(AttributeValue::N(v)) => v.parse::<u64>().unwrap_or(0),
                _ => 0,
            };
            counts.sent += get("sent");
            counts.bounced += get("bounced");
            counts.complained += get("complained");
        }
        Ok(counts)
    }

    async fn set_pause(&self, tenant: &TenantId, pause: Option<Pause>) -> Result<(), StoreError> {
        self.update_tenant(tenant, |record| {
            record.paused = pause.clone();
            true
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

    async fn watched_cadences(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<Vec<WatchedCadence>, StoreError> {
        let mut watched = Vec::new();
        let mut day = from;
        while day <= through {
            for shard in 0..keys::WATCH_SHARDS {
                let bucket = keys::watch_bucket(tenant, day, shard);
                let mut start = None;
                loop {
                    let output = self
                        .client
                        .query()
                        .table_name(&self.table)
                        .index_name(keys::WATCH_INDEX)
                        .key_condition_expression("#pk = :pk")
                        .expression_attribute_names("#pk", keys::WATCH_PK)
                        .expression_attribute_values(":pk", s(&bucket))
                        .set_exclusive_start_key(start.take())
                        .send()
                        .await
                        .map_err(sdk)?;
                    let items = output.items.unwrap_or_default();
                    self.count_read(items.len());
                    for item in &items {
                        watched.push(watched_cadence(item, day)?);
                    }
                    match output.last_evaluated_key {
                        Some(key) if !key.is_empty() => start = Some(key),
                        _ => break,
                    }
                }
            }
            day = day.plus_days(1);
        }
        watched.sort_by(|a, b| {
            (a.watch.on, &a.client_id, &a.category).cmp(&(b.watch.on, &b.client_id, &b.category))
        });
        Ok(watched)
    }

    async fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        self.query_partition(keys::TENANTS_PK, "")
            .await?
            .iter()
            .map(|item| {
                TenantId::parse(&string(item, "tenant_id")?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    async fn update_config(
        &self,
        tenant: &TenantId,
        config: &BusinessConfig,
    ) -> Result<(), StoreError> {
        self.update_tenant(tenant, |record| {
            record.config = config.clone();
            true
        })
        .await
    }

    async fn detector_checkpoint(&self, tenant: &TenantId) -> Result<Option<Day>, StoreError> {
        let Some(item) = self.get(keys::tenant(tenant), keys::DETECTOR_SK).await? else {
            return Ok(None);
        };
        Ok(Some(Day::EPOCH.plus_days(number(&item, "day")? as i32)))
    }

    async fn set_detector_checkpoint(&self, tenant: &TenantId, day: Day) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::tenant(tenant)))
            .key(keys::SK, s(keys::DETECTOR_SK))
            .update_expression("SET #d = :d")
            .condition_expression("attribute_not_exists(#d) OR #d < :d")
            .expression_attribute_names("#d", "day")
            .expression_attribute_values(":d", n(i64::from(day.days_since(Day::EPOCH))))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // A later run already got further: the checkpoint never moves back.
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(error) => Err(sdk(error)),
        }
    }

    async fn record_look(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        category: &Category,
        seen: Option<Watch>,
        look: Look,
    ) -> Result<bool, StoreError> {
        let pk = keys::client(tenant, client);
        let Some(mut item) = self.get(pk, &keys::cadence(category)).await? else {
            return Ok(false);
        };
        let stored_watch = match (item.get("watch_on"), item.get("watch_stage")) {
            (Some(_), Some(_)) => {
                let stage = string(&item, "watch_stage")?;
                Some(Watch {
                    on: string(&item, "watch_on")?
                        .parse::<jiff::civil::Date>()
                        .map(Day::from_date)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    stage: Stage::from_name(&stage)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown stage {stage}")))?,
                })
            }
            _ => None,
        };
        if stored_watch != seen {
            return Ok(false);
        }
        let version = number(&item, "version")?;
        let mut stored: StoredCadence = read_record(&item)?;
        stored.watch = look.next;
        for name in [keys::WATCH_PK, keys::WATCH_SK, "watch_on", "watch_stage"] {
            item.remove(name);
        }
        if let Some(watch) = look.next {
            let shard = keys::shard(client, category);
            item.insert(
                keys::WATCH_PK.into(),
                s(keys::watch_bucket(tenant, watch.on, shard)),
            );
            item.insert(keys::WATCH_SK.into(), s(keys::watch_sort(client, category)));
            item.insert("watch_on".into(), s(watch.on.to_string()));
            item.insert("watch_stage".into(), s(watch.stage.name()));
        }
        set_stage(&mut item, tenant, client, category, look.stage);
        item.insert("version".into(), n(version + 1));
        item.insert("record".into(), record(&stored)?);
        self.put_if(item, Condition::Equals("version", n(version)))
            .await
    }

    async fn overdue(&self, tenant: &TenantId) -> Result<Vec<OverdueCadence>, StoreError> {
        let mut found = Vec::new();
        for shard in 0..keys::WATCH_SHARDS {
            let bucket = keys::overdue_bucket(tenant, shard);
            for item in self
                .query_index(
                    keys::OVERDUE_INDEX,
                    (keys::OVERDUE_PK, keys::OVERDUE_SK),
                    &bucket,
                    None,
                    None,
                )
                .await?
            {
                let stage = string(&item, "stage")?;
                found.push(OverdueCadence {
                    client_id: client_id_of(&item)?,
                    category: Category::parse(&string(&item, "category")?)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    stage: Stage::from_name(&stage)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown stage {stage}")))?,
                });
            }
        }
        found.sort_by(|a, b| (&a.category, &a.client_id).cmp(&(&b.category, &b.client_id)));
        Ok(found)
    }

    async fn write_outreach(
        &self,
        tenant: &TenantId,
        change: &OutreachChange,
    ) -> Result<Written, StoreError> {
        let pk = keys::client(tenant, &change.client_id);
        let mut outreach = Item::from([
            (keys::PK.into(), s(&pk)),
            (keys::SK.into(), s(keys::OUTREACH_SK)),
            ("version".into(), n(change.expected_version as i64 + 1)),
        ]);
        outreach.insert("record".into(), record(&change.outreach)?);
        let condition = match change.expected_version {
            0 => Condition::Absent,
            v => Condition::Equals("version", n(v as i64)),
        };
        let mut items = vec![self.put(outreach, condition)?];
        let count_at = match change.count {
            None => None,
            Some(count) => {
                let update = Update::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::tenant(tenant)))
                    .key(keys::SK, s(keys::daily_count(count.day, count.channel)))
                    .update_expression("ADD #n :one SET #e = :e")
                    .condition_expression("attribute_not_exists(#n) OR #n < :cap")
                    .expression_attribute_names("#n", "n")
                    .expression_attribute_names("#e", keys::EXPIRES_AT)
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":cap", n(i64::from(count.cap)))
                    .expression_attribute_values(":e", n(expires_after_days(count.day, 7)))
                    .build()
                    .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
                items.push(TransactWriteItem::builder().update(update).build());
                Some(items.len() - 1)
            }
        };
        if let Some(enrollment) = &change.enrollment {
            let mut item = Item::from([
                (keys::PK.into(), s(&pk)),
                (keys::SK.into(), s(keys::enrollment(&enrollment.id))),
            ]);
            item.insert("record".into(), record(enrollment)?);
            item.insert(
                keys::ENROLLED_PK.into(),
                s(keys::enrolled_month(tenant, enrollment.started)),
            );
            item.insert(
                keys::ENROLLED_SK.into(),
                s(keys::enrolled_sort(
                    enrollment.started,
                    &enrollment.client_id,
                    &enrollment.id,
                )),
            );
            items.push(self.put(item, Condition::None)?);
        }
        if let Some((enrollment, index)) = &change.unschedule {
            items.push(self.delete(pk.clone(), keys::step(enrollment, *index), Condition::None)?);
        }
        for step in change.schedule.iter().chain(&change.sent) {
            items.push(self.put(step_item(tenant, step)?, Condition::None)?);
        }
        match self.transact_with_reasons(items).await? {
            None => Ok(Written::Done),
            Some(failed)
                if count_at.is_some_and(|i| failed.contains(&i)) && !failed.contains(&0) =>
            {
                Ok(Written::CapReached)
            }
            Some(_) => Ok(Written::Changed),
        }
    }

    async fn enrollments_started(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<Vec<Enrollment>, StoreError> {
        let mut found = Vec::new();
        let mut month = from.date().first_of_month();
        while month <= through.date() {
            let bucket = keys::enrolled_month(tenant, Day::from(month));
            for item in self
                .query_index(
                    keys::ENROLLED_INDEX,
                    (keys::ENROLLED_PK, keys::ENROLLED_SK),
                    &bucket,
                    None,
                    None,
                )
                .await?
            {
                let enrollment: Enrollment = read_record(&item)?;
                if (from..=through).contains(&enrollment.started) {
                    found.push(enrollment);
                }
            }
            month = month
                .checked_add(jiff::Span::new().months(1))
                .map_err(|e| StoreError::Corrupt(format!("a month after {month}: {e}")))?;
        }
        Ok(found)
    }

    async fn enrollment(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        id: &EnrollmentId,
    ) -> Result<Option<Enrollment>, StoreError> {
        self.get(keys::client(tenant, client), &keys::enrollment(id))
            .await?
            .as_ref()
            .map(read_record)
            .transpose()
    }

    async fn due_steps(
        &self,
        tenant: &TenantId,
        through: Timestamp,
        limit: usize,
    ) -> Result<Vec<ScheduledStep>, StoreError> {
        // Every send time at or before `through` sorts below the next nanosecond's text.
        let bound = keys::send_time(
            through
                .checked_add(jiff::SignedDuration::from_nanos(1))
                .unwrap_or(through),
        );
        let mut due = Vec::new();
        for shard in 0..keys::WATCH_SHARDS {
            let bucket = keys::due_bucket(tenant, shard);
            for item in self
                .query_index(
                    keys::DUE_INDEX,
                    (keys::DUE_PK, keys::DUE_SK),
                    &bucket,
                    Some(&bound),
                    Some(limit),
                )
                .await?
            {
                due.push(read_record::<ScheduledStep>(&item)?);
            }
        }
        due.sort_by(|a, b| {
            (a.send_at, &a.client_id, &a.enrollment, a.index).cmp(&(
                b.send_at,
                &b.client_id,
                &b.enrollment,
                b.index,
            ))
        });
        due.truncate(limit);
        Ok(due)
    }

    async fn claim_step(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let queued = ScheduledStep {
            status: StepStatus::Queued { at },
            ..step.clone()
        };
        self.put_if(
            step_item(tenant, &queued)?,
            Condition::Equals("status", s("scheduled")),
        )
        .await
    }

    async fn step(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        enrollment: &EnrollmentId,
        index: u16,
    ) -> Result<Option<ScheduledStep>, StoreError> {
        self.get(keys::client(tenant, client), &keys::step(enrollment, index))
            .await?
            .as_ref()
            .map(read_record)
            .transpose()
    }

    async fn claim_for_sending(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let Some(current) = self
            .step(tenant, &step.client_id, &step.enrollment, step.index)
            .await?
        else {
            return Ok(false);
        };
        if !current.status.claimable(now) {
            return Ok(false);
        }
        // On condition that the status read, lease and all, is still the stored one.
        let read = record(&current.status)?;
        let sending = ScheduledStep {
            status: StepStatus::Sending { lease_until },
            ..current
        };
        self.put_if(
            step_item(tenant, &sending)?,
            Condition::Equals("lease", read),
        )
        .await
    }

    async fn release_step(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
    ) -> Result<(), StoreError> {
        let scheduled = ScheduledStep {
            status: StepStatus::Scheduled,
            ..step.clone()
        };
        // Not queued any more: nothing to put back.
        self.put_if(
            step_item(tenant, &scheduled)?,
            Condition::Equals("status", s("queued")),
        )
        .await
        .map(|_| ())
    }
}

fn watched_cadence(item: &Item, day: Day) -> Result<WatchedCadence, StoreError> {
    let corrupt = |e: String| StoreError::Corrupt(e);
    let stage = string(item, "watch_stage")?;
    Ok(WatchedCadence {
        client_id: client_id_of(item)?,
        category: Category::parse(&string(item, "category")?)
            .map_err(|e| corrupt(e.to_string()))?,
        watch: Watch {
            on: day,
            stage: Stage::from_name(&stage)
                .ok_or_else(|| corrupt(format!("unknown stage {stage}")))?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_sizes_count_names_and_values() {
        let item = Item::from([("pk".to_string(), s("abc")), ("n".to_string(), n(12345))]);
        assert_eq!(item_size(&item), 2 + 3 + 1 + 4);
        let huge = Item::from([("record".to_string(), s("x".repeat(MAX_ITEM_BYTES)))]);
        assert!(matches!(check_size(&huge), Err(StoreError::TooLarge(_))));
    }
}
