//! Email counts per tenant and day on SQLite, kept as long as on DynamoDB
//! ([`retention::MAIL_COUNTS_DAYS`]).

use async_trait::async_trait;
use rusqlite::params;

use crate::domain::day::Day;
use crate::domain::ids::TenantId;
use crate::domain::reputation::{MailCounts, MailEvent};
use crate::domain::retention;
use crate::ports::MailStats;
use crate::ports::StoreError;

use super::rows::{day_number, unavailable};
use super::{SqliteStore, exec, query_row};

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
            // What DynamoDB lets expire, this store deletes as it counts.
            exec(
                tx,
                "DELETE FROM mail_counts WHERE tenant = ?1 AND day < ?2",
                params![
                    tenant,
                    day_number(retention::oldest_kept(day, retention::MAIL_COUNTS_DAYS))
                ],
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

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::from(text.parse::<jiff::civil::Date>().unwrap())
    }

    #[tokio::test]
    async fn mail_counts_older_than_their_retention_are_deleted_as_newer_ones_are_counted() {
        let store = SqliteStore::in_memory().unwrap();
        let tenant = TenantId::parse("t-retention").unwrap();
        let first = day("2026-03-01");
        let last_kept = retention::gone_from(first, retention::MAIL_COUNTS_DAYS).plus_days(-1);
        let sent_in_all = || async {
            let counts = store.mail_counts(&tenant, first, last_kept.plus_days(1));
            counts.await.unwrap().sent
        };
        store
            .count_mail(&tenant, first, MailEvent::Sent)
            .await
            .unwrap();
        store
            .count_mail(&tenant, last_kept, MailEvent::Sent)
            .await
            .unwrap();
        assert_eq!(sent_in_all().await, 2, "still kept the day before it goes");
        let gone_day = last_kept.plus_days(1);
        store
            .count_mail(&tenant, gone_day, MailEvent::Sent)
            .await
            .unwrap();
        assert_eq!(sent_in_all().await, 2, "the first day's count is gone");
    }
}
