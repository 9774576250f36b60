//! The watch and overdue indexes on DynamoDB (sparse, day-bucketed, sharded GSIs) and the
//! detector's checkpoint.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use crate::domain::category_cadence::Watch;
use crate::domain::day::Day;
use crate::domain::ids::{Category, ClientId, TenantId};
use crate::domain::stage::Stage;
use crate::ports::WatchIndex;
use crate::ports::{Look, OverdueCadence, StoreError, StoredCadence, WatchedCadence};

use super::DynamoStore;
use super::condition::Condition;
use super::io::sdk;
use super::keys;
use super::records::{
    client_id_of, n, number, read_record, record, s, set_stage, string, watched_cadence,
};

#[async_trait]
impl WatchIndex for DynamoStore {
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
                        .map_err(StoreError::unreadable)?,
                    stage: Stage::from_name(&stage)
                        .ok_or_else(|| StoreError::corrupt(format!("unknown stage {stage}")))?,
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
                        .map_err(StoreError::unreadable)?,
                    stage: Stage::from_name(&stage)
                        .ok_or_else(|| StoreError::corrupt(format!("unknown stage {stage}")))?,
                });
            }
        }
        found.sort_by(|a, b| (&a.category, &a.client_id).cmp(&(&b.category, &b.client_id)));
        Ok(found)
    }
}
