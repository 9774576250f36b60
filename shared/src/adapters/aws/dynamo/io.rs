//! The DynamoDB calls every capability is built from: reads (one item, a batch, a partition, an
//! index, counted for the read benchmarks), transactional and batch writes within DynamoDB's
//! limits, and the mapping of SDK errors to [`StoreError`].

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    Delete, DeleteRequest, KeysAndAttributes, Put, TransactWriteItem, WriteRequest,
};
use rand::Rng;

use crate::ports::{BoxError, Limit, StoreError, Subject};

use super::condition::{Clash, Condition};
use super::keys;
use super::records::{check_size, s};
use super::{ATTEMPTS, DynamoStore, Item, MAX_BATCH_GET, MAX_BATCH_WRITE, MAX_TRANSACTION_ITEMS};

pub(super) fn sdk<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let boxed: BoxError = Box::new(error);
    StoreError::Unavailable(boxed)
}

/// DynamoDB kept leaving writes of a batch unprocessed (its capacity was exceeded) after every
/// retry: the store is unavailable for a while.
#[derive(Debug, thiserror::Error)]
#[error("DynamoDB left {left} writes unprocessed while {what}")]
pub(super) struct Unprocessed {
    what: &'static str,
    left: usize,
}

/// Waits before retry `attempt` (1, 2, ...): exponential with full jitter, capped at 1 s.
pub(super) async fn backoff(attempt: u32) {
    let cap_ms = (10u64 << attempt.min(7)).min(1000);
    let wait = rand::rng().random_range(0..=cap_ms);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

/// The re-read-on-clash protocol every conditional write of this store follows: `attempt`
/// reads what it writes on and writes on condition that it is unchanged; a clash (it changed)
/// is tried again after [`backoff`], up to [`ATTEMPTS`] times, then reported as
/// [`StoreError::Contention`] naming `what`.
pub(super) async fn retry_on_clash<T, Fut>(
    what: impl FnOnce() -> Subject,
    mut attempt: impl FnMut() -> Fut,
) -> Result<T, StoreError>
where
    Fut: Future<Output = Result<T, Clash>>,
{
    for n in 1..=ATTEMPTS {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Clash::Changed) => backoff(n).await,
            Err(Clash::Failed(error)) => return Err(error),
        }
    }
    Err(StoreError::Contention(what()))
}

impl DynamoStore {
    pub(super) async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
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
    pub(super) async fn get_many(&self, pk: &str, sks: &[String]) -> Result<Vec<Item>, StoreError> {
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
    pub(super) async fn query_partition(
        &self,
        pk: &str,
        prefix: &str,
    ) -> Result<Vec<Item>, StoreError> {
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
    pub(super) async fn query_index(
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
    pub(super) async fn transact_with_reasons(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<Vec<usize>>, StoreError> {
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::TooLarge(Limit::Transaction {
                items: items.len(),
                max: MAX_TRANSACTION_ITEMS,
            }));
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

    /// Writes all of `items` as one transaction: a failed condition or a conflict with a
    /// concurrent transaction is a [`Clash::Changed`].
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), Clash> {
        if items.is_empty() {
            return Ok(());
        }
        match self.transact_with_reasons(items).await? {
            None => Ok(()),
            Some(_) => Err(Clash::Changed),
        }
    }

    pub(super) fn put(
        &self,
        item: Item,
        condition: Condition,
    ) -> Result<TransactWriteItem, StoreError> {
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

    pub(super) fn delete(
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
    pub(super) async fn put_if(
        &self,
        item: Item,
        condition: Condition,
    ) -> Result<bool, StoreError> {
        match self.transact(vec![self.put(item, condition)?]).await {
            Ok(()) => Ok(true),
            Err(Clash::Changed) => Ok(false),
            Err(Clash::Failed(error)) => Err(error),
        }
    }

    /// Puts one item only if no item has its key yet: `false` if one had.
    pub(super) async fn put_new(&self, item: Item) -> Result<bool, StoreError> {
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

    pub(super) async fn put_plain(&self, item: Item) -> Result<(), StoreError> {
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
    pub(super) async fn delete_all(&self, items: &[Item]) -> Result<(), StoreError> {
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
    pub(super) async fn batch_write(
        &self,
        requests: Vec<WriteRequest>,
        what: &'static str,
    ) -> Result<(), StoreError> {
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
                        return Err(StoreError::Unavailable(Box::new(Unprocessed {
                            what,
                            left: batch.len(),
                        })));
                    }
                    backoff(attempt).await;
                }
            }
        }
        Ok(())
    }
}
