//! Items as stored: the attribute maps of bookings, cadences (with their watch and overdue
//! attributes) and steps, the `record` map attribute every item carries, and the readers back.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::booking::Booking;
use crate::domain::category_cadence::{CategoryCadence, Watch};
use crate::domain::day::Day;
use crate::domain::enrollment::{ScheduledStep, StepStatus};
use crate::domain::ids::{Category, ClientId, TenantId};
use crate::domain::stage::Stage;
use crate::domain::tenant::Tenant;
use crate::ports::{Limit, StoreError, StoredCadence, WatchedCadence};

use super::keys;
use super::{Item, MAX_ITEM_BYTES};

pub(super) fn booking_item(pk: &str, booking: &Booking) -> Result<Item, StoreError> {
    let mut item = Item::from([
        (keys::PK.into(), s(pk)),
        (keys::SK.into(), s(keys::booking(&booking.id))),
        ("updated_at".into(), s(booking.updated_at.to_string())),
    ]);
    item.insert("record".into(), record(booking)?);
    Ok(item)
}

pub(super) fn cadence_item(
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
pub(super) fn set_stage(
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

pub(super) fn step_item(tenant: &TenantId, step: &ScheduledStep) -> Result<Item, StoreError> {
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

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn record<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(StoreError::unreadable)
}

pub(super) fn read_record<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let value = item
        .get("record")
        .ok_or_else(|| StoreError::corrupt("an item has no record"))?;
    serde_dynamo::from_attribute_value(value.clone()).map_err(StoreError::unreadable)
}

pub(super) fn string(item: &Item, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => Err(StoreError::corrupt(format!(
            "an item has no text attribute {name}"
        ))),
    }
}

/// The client an index item belongs to (its `client_id` attribute).
pub(super) fn client_id_of(item: &Item) -> Result<ClientId, StoreError> {
    ClientId::parse(&string(item, keys::CLIENT_ID)?).map_err(StoreError::unreadable)
}

pub(super) fn number(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| StoreError::corrupt(format!("{name} is not a whole number"))),
        _ => Err(StoreError::corrupt(format!(
            "an item has no number attribute {name}"
        ))),
    }
}

pub(super) fn take_item(items: &mut Vec<Item>, sk: &str) -> Option<Item> {
    let index = items
        .iter()
        .position(|item| matches!(item.get(keys::SK), Some(AttributeValue::S(v)) if v == sk))?;
    Some(items.swap_remove(index))
}

/// DynamoDB's item size: attribute names and values, as its documentation counts them.
pub(super) fn item_size(item: &Item) -> usize {
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

pub(super) fn check_size(item: &Item) -> Result<(), StoreError> {
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::TooLarge(Limit::Item {
            bytes: size,
            max: MAX_ITEM_BYTES,
        }));
    }
    Ok(())
}

/// Epoch seconds `days` after the start of `day` (UTC): when a record about that day may go.
pub(super) fn expires_after_days(day: Day, days: i32) -> i64 {
    i64::from(day.plus_days(days).days_since(Day::EPOCH)) * 86_400
}

pub(super) fn watched_cadence(item: &Item, day: Day) -> Result<WatchedCadence, StoreError> {
    let corrupt = |e: String| StoreError::corrupt(e);
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
