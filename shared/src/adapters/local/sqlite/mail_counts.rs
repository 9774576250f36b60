//! Email counts per tenant and day on SQLite.

use super::rows::{day_number, unavailable};
use super::{SqliteStore, exec, query_row};
use crate::domain::day::Day;
use crate::domain::ids::TenantId;
use crate::domain::reputation::{MailCounts, MailEvent};
use crate::ports::MailStats;
use crate::ports::StoreError;
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl MailStats for SqliteStore {
    async fn count_mail(
        &self,
        tenant: &TenantId,
        day: Day,
        event: MailEvent,
    ) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        let column = event.name();
        self.transact(move |tx| {
            exec(
                tx,
                &format!(
                    "INSERT INTO mail_counts (tenant, day, {column}) VALUES (?1, ?2, 1)
                     ON CONFLICT DO UPDATE SET {column} = {column} + 1"
                ),
                params![tenant, day_number(day)],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn mail_counts(
        &self,
        tenant: &TenantId,
        from: Day,
        through: Day,
    ) -> Result<MailCounts, StoreError> {
        let tenant = tenant.to_string();
        self.transact(move |tx| {
            query_row(
                tx,
                "SELECT coalesce(sum(sent), 0), coalesce(sum(bounced), 0), coalesce(sum(complained), 0)
                 FROM mail_counts WHERE tenant = ?1 AND day BETWEEN ?2 AND ?3",
                params![tenant, day_number(from), day_number(through)],
                |row| {
                    Ok(MailCounts {
                        sent: row.get::<_, i64>(0)? as u64,
                        bounced: row.get::<_, i64>(1)? as u64,
                        complained: row.get::<_, i64>(2)? as u64,
                    })
                },
            )
            .map_err(unavailable)
        })
        .await
    }
}
