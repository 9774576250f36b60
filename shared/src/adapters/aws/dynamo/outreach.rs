//! Outreach and enrollments on DynamoDB: the conditional outreach write (record, enrollment,
//! step, daily count in one transaction) and the enrolled-by-month index.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use crate::domain::day::Day;
use crate::domain::enrollment::{Enrollment, EnrollmentId};
use crate::domain::ids::{ClientId, TenantId};
use crate::domain::retention;
use crate::ports::OutreachStore;
use crate::ports::{OutreachChange, StoreError, Written};

use super::condition::Condition;
use super::keys;
use super::records::{expires_after_days, n, read_record, record, s, step_item};
use super::{DynamoStore, Item};

#[async_trait]
impl OutreachStore for DynamoStore {
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
                    .expression_attribute_values(
                        ":e",
                        n(expires_after_days(count.day, retention::DAILY_COUNTS_DAYS)),
                    )
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
                .map_err(|e| StoreError::corrupt(format!("a month after {month}: {e}")))?;
        }
        Ok(found)
    }
}
