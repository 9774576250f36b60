//! The watch and overdue indexes on SQLite (indexed columns of the cadence rows) and the
//! detector's checkpoint.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use crate::domain::category_cadence::Watch;
use crate::domain::day::Day;
use crate::domain::ids::{Category, ClientId, TenantId};
use crate::domain::stage::Stage;
use crate::ports::WatchIndex;
use crate::ports::{Look, OverdueCadence, StoreError, StoredCadence, WatchedCadence};

use super::rows::{
    day_number, from_json, overdue_stage, parse_id, parse_stage, to_json, unavailable,
};
use super::{SqliteStore, count, exec, query_row};

#[async_trait]
impl WatchIndex for SqliteStore {
    async fn watched_cadences(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<Vec<WatchedCadence>, StoreError> {
        let tenant = tenant.to_string();
        self.transact(move |tx| {
            let mut statement = tx
                .prepare_cached(
                    "SELECT client, category, watch_day, watch_stage FROM cadences
                     WHERE tenant = ?1 AND watch_day BETWEEN ?2 AND ?3
                     ORDER BY watch_day, client, category",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(
                    params![tenant, day_number(from), day_number(through)],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, String>(3)?,
                        ))
                    },
                )
                .map_err(unavailable)?;
            rows.map(|row| {
                let (client, category, day, stage) = row.map_err(unavailable)?;
                count(1);
                let corrupt = |what: String| StoreError::corrupt(what);
                Ok(WatchedCadence {
                    client_id: ClientId::parse(&client).map_err(|e| corrupt(e.to_string()))?,
                    category: Category::parse(&category).map_err(|e| corrupt(e.to_string()))?,
                    watch: Watch {
                        on: Day::EPOCH.plus_days(day as i32),
                        stage: Stage::from_name(&stage)
                            .ok_or_else(|| corrupt(format!("unknown stage {stage}")))?,
                    },
                })
            })
            .collect()
        })
        .await
    }

    async fn detector_checkpoint(&self, tenant: &TenantId) -> Result<Option<Day>, StoreError> {
        let tenant = tenant.to_string();
        self.transact(move |tx| {
            let day: Option<i64> = query_row(
                tx,
                "SELECT day FROM checkpoints WHERE tenant = ?1",
                params![tenant],
                |row| row.get(0),
            )
            .optional()
            .map_err(unavailable)?;
            Ok(day.map(|d| Day::EPOCH.plus_days(d as i32)))
        })
        .await
    }

    async fn set_detector_checkpoint(&self, tenant: &TenantId, day: Day) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        self.transact(move |tx| {
            exec(
                tx,
                "INSERT INTO checkpoints (tenant, day) VALUES (?1, ?2)
                 ON CONFLICT DO UPDATE SET day = max(day, excluded.day)",
                params![tenant, day_number(day)],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn record_look(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        category: &Category,
        seen: Option<Watch>,
        look: Look,
    ) -> Result<bool, StoreError> {
        let (tenant, client, category) = (
            tenant.to_string(),
            client.to_string(),
            category.as_str().to_owned(),
        );
        self.transact(move |tx| {
            let row: Option<(String, Option<i64>, Option<String>)> = query_row(
                tx,
                "SELECT record, watch_day, watch_stage FROM cadences
                     WHERE tenant = ?1 AND client = ?2 AND category = ?3",
                params![tenant, client, category],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(unavailable)?;
            let Some((record, day, stage)) = row else {
                return Ok(false);
            };
            count(1);
            let stored_watch = match (day, stage) {
                (Some(day), Some(stage)) => Some(Watch {
                    on: Day::EPOCH.plus_days(day as i32),
                    stage: parse_stage(&stage)?,
                }),
                _ => None,
            };
            if stored_watch != seen {
                return Ok(false);
            }
            let mut stored: StoredCadence = from_json(&record)?;
            stored.watch = look.next;
            exec(
                tx,
                "UPDATE cadences SET record = ?4, watch_day = ?5, watch_stage = ?6, stage = ?7
                 WHERE tenant = ?1 AND client = ?2 AND category = ?3",
                params![
                    tenant,
                    client,
                    category,
                    to_json(&stored)?,
                    look.next.map(|w| day_number(w.on)),
                    look.next.map(|w| w.stage.name()),
                    overdue_stage(look.stage),
                ],
            )
            .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn overdue(&self, tenant: &TenantId) -> Result<Vec<OverdueCadence>, StoreError> {
        let tenant = tenant.to_string();
        self.transact(move |tx| {
            let mut statement = tx
                .prepare_cached(
                    "SELECT client, category, stage FROM cadences
                     WHERE tenant = ?1 AND stage IS NOT NULL
                     ORDER BY category, client",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map(params![tenant], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })
                .map_err(unavailable)?;
            rows.map(|row| {
                let (client, category, stage) = row.map_err(unavailable)?;
                count(1);
                Ok(OverdueCadence {
                    client_id: parse_id(&client, ClientId::parse)?,
                    category: parse_id(&category, Category::parse)?,
                    stage: parse_stage(&stage)?,
                })
            })
            .collect()
        })
        .await
    }
}
