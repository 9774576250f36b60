//! Email counts per tenant and day on DynamoDB, kept 60 days (TTL).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::day::Day;
use crate::domain::ids::TenantId;
use crate::domain::reputation::{MailCounts, MailEvent};
use crate::domain::retention;
use crate::ports::MailStats;
use crate::ports::StoreError;

use super::DynamoStore;
use super::io::sdk;
use super::keys;
use super::records::{expires_after_days, n, s, string};

#[async_trait]
impl MailStats for DynamoStore {
    async fn count_mail(
        &self,
        tenant: &TenantId,
        day: Day,
        event: MailEvent,
    ) -> Result<(), StoreError> {
        let column = event.name();
        let expires = expires_after_days(day, retention::MAIL_COUNTS_DAYS);
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
}
