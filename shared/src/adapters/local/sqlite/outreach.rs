//! Outreach and enrollments on SQLite: the conditional outreach write in one transaction.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use crate::domain::day::Day;
use crate::domain::enrollment::{Enrollment, EnrollmentId};
use crate::domain::ids::{ClientId, TenantId};
use crate::domain::retention;
use crate::ports::OutreachStore;
use crate::ports::{OutreachChange, StoreError, Written};

use super::rows::{
    day_number, read_all, read_one, read_outreach, to_json, unavailable, write_step,
};
use super::{SqliteStore, exec, query_row};

#[async_trait]
impl OutreachStore for SqliteStore {
    async fn write_outreach(
        &self,
        tenant: &TenantId,
        change: &OutreachChange,
    ) -> Result<Written, StoreError> {
        let tenant = tenant.to_string();
        let change = change.clone();
        self.transact(move |tx| {
            let client = change.client_id.as_str();
            let (_, version) = read_outreach(tx, &tenant, client)?;
            if version != change.expected_version {
                return Ok(Written::Changed);
            }
            if let Some(count) = change.count {
                let channel = count.channel.name();
                let day = day_number(count.day);
                let so_far: i64 = query_row(
                    tx,
                    "SELECT count FROM daily_counts
                         WHERE tenant = ?1 AND day = ?2 AND channel = ?3",
                    params![tenant, day, channel],
                    |row| row.get(0),
                )
                .optional()
                .map_err(unavailable)?
                .unwrap_or(0);
                if so_far >= i64::from(count.cap) {
                    return Ok(Written::CapReached);
                }
                exec(
                    tx,
                    "INSERT INTO daily_counts (tenant, day, channel, count) VALUES (?1, ?2, ?3, 1)
                     ON CONFLICT DO UPDATE SET count = count + 1",
                    params![tenant, day, channel],
                )
                .map_err(unavailable)?;
                // What DynamoDB lets expire, this store deletes as it counts.
                exec(
                    tx,
                    "DELETE FROM daily_counts WHERE tenant = ?1 AND day < ?2",
                    params![
                        tenant,
                        day_number(retention::oldest_kept(
                            count.day,
                            retention::DAILY_COUNTS_DAYS
                        ))
                    ],
                )
                .map_err(unavailable)?;
            }
            exec(
                tx,
                "INSERT INTO outreach (tenant, client, version, record) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO UPDATE SET version = excluded.version, record = excluded.record",
                params![
                    tenant,
                    client,
                    (version + 1) as i64,
                    to_json(&change.outreach)?
                ],
            )
            .map_err(unavailable)?;
            if let Some(enrollment) = &change.enrollment {
                exec(
                    tx,
                    "INSERT INTO enrollments (tenant, client, id, record) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT DO UPDATE SET record = excluded.record",
                    params![tenant, client, enrollment.id.as_str(), to_json(enrollment)?],
                )
                .map_err(unavailable)?;
            }
            if let Some((enrollment, step)) = &change.unschedule {
                exec(
                    tx,
                    "DELETE FROM steps
                     WHERE tenant = ?1 AND client = ?2 AND enrollment = ?3 AND step = ?4",
                    params![tenant, client, enrollment.as_str(), step],
                )
                .map_err(unavailable)?;
            }
            for step in change.schedule.iter().chain(&change.sent) {
                write_step(tx, &tenant, step)?;
            }
            Ok(Written::Done)
        })
        .await
    }

    async fn enrollment(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        id: &EnrollmentId,
    ) -> Result<Option<Enrollment>, StoreError> {
        let (tenant, client, id) = (tenant.to_string(), client.to_string(), id.to_string());
        self.transact(move |tx| {
            read_one(
                tx,
                "SELECT record FROM enrollments WHERE tenant = ?1 AND client = ?2 AND id = ?3",
                params![tenant, client, id],
            )
        })
        .await
    }

    async fn enrollments_started(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<Vec<Enrollment>, StoreError> {
        let tenant = tenant.to_string();
        self.transact(move |tx| {
            // The business's enrollments, read whole: a local business has few enough.
            let stored: Vec<Enrollment> = read_all(
                tx,
                "SELECT record FROM enrollments WHERE tenant = ?1 ORDER BY client, id",
                params![tenant],
            )?;
            Ok(stored
                .into_iter()
                .filter(|e| (from..=through).contains(&e.started))
                .collect())
        })
        .await
    }
}
