//! Rows as stored: the JSON record columns and the looked-up columns beside them, read and
//! written inside a transaction.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use crate::domain::booking::Booking;
use crate::domain::category_cadence::CategoryCadence;
use crate::domain::client::ClientProfile;
use crate::domain::day::Day;
use crate::domain::enrollment::{Outreach, ScheduledStep, StepStatus};
use crate::domain::ids::Category;
use crate::domain::stage::Stage;
use crate::domain::suppression::SuppressionReason;
use crate::domain::tenant::Tenant;
use crate::ports::{StoreError, StoredCadence};

use super::{count, exec, query_row};

pub(super) fn unavailable(error: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::unreadable)
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(StoreError::unreadable)
}

pub(super) fn day_number(day: Day) -> i64 {
    i64::from(day.days_since(Day::EPOCH))
}

/// One record (a JSON column) by its key; `None` when there is no row.
pub(super) fn read_one<T: serde::de::DeserializeOwned>(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<T>, StoreError> {
    let text = query_row(tx, sql, params, |row| row.get::<_, String>(0))
        .optional()
        .map_err(unavailable)?;
    count(usize::from(text.is_some()));
    text.map(|text| from_json(&text)).transpose()
}

pub(super) fn read_tenant(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
) -> Result<Option<Tenant>, StoreError> {
    read_one(tx, "SELECT record FROM tenants WHERE id = ?1", params![id])
}

pub(super) fn read_profile(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    client: &str,
) -> Result<Option<ClientProfile>, StoreError> {
    read_one(
        tx,
        "SELECT profile FROM clients WHERE tenant = ?1 AND client = ?2",
        params![tenant, client],
    )
}

pub(super) fn read_booking(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    client: &str,
    booking: &str,
) -> Result<Option<Booking>, StoreError> {
    read_one(
        tx,
        "SELECT record FROM bookings WHERE tenant = ?1 AND client = ?2 AND booking = ?3",
        params![tenant, client, booking],
    )
}

pub(super) fn read_bookings(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    client: &str,
) -> Result<Vec<Booking>, StoreError> {
    read_all(
        tx,
        "SELECT record FROM bookings WHERE tenant = ?1 AND client = ?2
         ORDER BY starts_at, booking",
        params![tenant, client],
    )
}

/// Every record (a JSON column) a query returns.
pub(super) fn read_all<T: serde::de::DeserializeOwned>(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut statement = tx.prepare_cached(sql).map_err(unavailable)?;
    let rows = statement
        .query_map(params, |row| row.get::<_, String>(0))
        .map_err(unavailable)?;
    rows.map(|row| {
        count(1);
        from_json(&row.map_err(unavailable)?)
    })
    .collect()
}

pub(super) fn read_cadence(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    client: &str,
    category: &Category,
) -> Result<Option<CategoryCadence>, StoreError> {
    let stored: Option<StoredCadence> = read_one(
        tx,
        "SELECT record FROM cadences WHERE tenant = ?1 AND client = ?2 AND category = ?3",
        params![tenant, client, category.as_str()],
    )?;
    Ok(stored.map(|stored| stored.cadence))
}

pub(super) fn read_outreach(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    client: &str,
) -> Result<(Outreach, u64), StoreError> {
    let row: Option<(i64, String)> = query_row(
        tx,
        "SELECT version, record FROM outreach WHERE tenant = ?1 AND client = ?2",
        params![tenant, client],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()
    .map_err(unavailable)?;
    count(usize::from(row.is_some()));
    match row {
        None => Ok((Outreach::default(), 0)),
        Some((version, record)) => Ok((from_json(&record)?, version as u64)),
    }
}

/// The `stage` column: the stage when it is overdue ([`Stage::is_overdue`]), which puts the
/// cadence in the overdue index; otherwise none.
pub(super) fn overdue_stage(stage: Stage) -> Option<&'static str> {
    stage.is_overdue().then(|| stage.name())
}

pub(super) fn parse_stage(name: &str) -> Result<Stage, StoreError> {
    Stage::from_name(name).ok_or_else(|| StoreError::corrupt(format!("unknown stage {name}")))
}

pub(super) fn parse_id<T>(
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, crate::domain::ids::IdError>,
) -> Result<T, StoreError> {
    parse(value).map_err(StoreError::unreadable)
}

pub(super) fn write_booking(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    booking: &Booking,
) -> Result<(), StoreError> {
    exec(
        tx,
        "INSERT INTO bookings (tenant, client, booking, starts_at, record)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT DO UPDATE SET starts_at = excluded.starts_at, record = excluded.record",
        params![
            tenant,
            booking.client_id.as_str(),
            booking.id.as_str(),
            booking.starts_at.to_string(),
            to_json(booking)?
        ],
    )
    .map_err(unavailable)?;
    Ok(())
}

/// Writes a category's new cadence and its watch day, or removes it.
pub(super) fn write_cadence(
    tx: &rusqlite::Transaction<'_>,
    tenant: &Tenant,
    client: &str,
    category: &Category,
    cadence: Option<CategoryCadence>,
    today: Day,
) -> Result<(), StoreError> {
    let tenant_id = tenant.id.as_str();
    match cadence {
        None => {
            exec(
                tx,
                "DELETE FROM cadences WHERE tenant = ?1 AND client = ?2 AND category = ?3",
                params![tenant_id, client, category.as_str()],
            )
            .map_err(unavailable)?;
        }
        Some(cadence) => {
            let watch = cadence.watch(today, &tenant.config);
            let stage = cadence.stage(today, false, &tenant.config);
            let stored = StoredCadence { cadence, watch };
            exec(
                tx,
                "INSERT INTO cadences
                     (tenant, client, category, record, watch_day, watch_stage, stage)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT DO UPDATE SET record = excluded.record,
                     watch_day = excluded.watch_day, watch_stage = excluded.watch_stage,
                     stage = excluded.stage",
                params![
                    tenant_id,
                    client,
                    category.as_str(),
                    to_json(&stored)?,
                    watch.map(|w| day_number(w.on)),
                    watch.map(|w| w.stage.name()),
                    overdue_stage(stage),
                ],
            )
            .map_err(unavailable)?;
        }
    }
    Ok(())
}

pub(super) fn read_suppression(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    hash: &str,
) -> Result<Option<SuppressionReason>, StoreError> {
    let reason: Option<String> = query_row(
        tx,
        "SELECT reason FROM suppressions WHERE tenant = ?1 AND hash = ?2",
        params![tenant, hash],
        |row| row.get(0),
    )
    .optional()
    .map_err(unavailable)?;
    count(usize::from(reason.is_some()));
    Ok(reason.as_deref().map(SuppressionReason::from_stored))
}

/// Step times as fixed-width UTC text, so they sort and compare as text.
pub(super) fn step_time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

pub(super) fn read_step(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    step: &ScheduledStep,
) -> Result<Option<ScheduledStep>, StoreError> {
    read_one(
        tx,
        "SELECT record FROM steps
         WHERE tenant = ?1 AND client = ?2 AND enrollment = ?3 AND step = ?4",
        params![
            tenant,
            step.client_id.as_str(),
            step.enrollment.as_str(),
            step.index
        ],
    )
}

pub(super) fn write_step(
    tx: &rusqlite::Transaction<'_>,
    tenant: &str,
    step: &ScheduledStep,
) -> Result<(), StoreError> {
    exec(
        tx,
        "INSERT INTO steps (tenant, client, enrollment, step, send_at, scheduled, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT DO UPDATE SET send_at = excluded.send_at,
             scheduled = excluded.scheduled, record = excluded.record",
        params![
            tenant,
            step.client_id.as_str(),
            step.enrollment.as_str(),
            step.index,
            step_time(step.send_at),
            step.status == StepStatus::Scheduled,
            to_json(step)?
        ],
    )
    .map_err(unavailable)?;
    Ok(())
}
