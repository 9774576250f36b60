//! The step queue on DynamoDB: the due index, and each step move as one conditional update.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::domain::enrollment::{EnrollmentId, ScheduledStep};
use crate::domain::ids::{ClientId, TenantId};
use crate::ports::StepQueue;
use crate::ports::StoreError;

use super::DynamoStore;
use super::condition::Condition;
use super::keys;
use super::records::{read_record, record, s, step_item};

#[async_trait]
impl StepQueue for DynamoStore {
    async fn due_steps(
        &self,
        tenant: &TenantId,
        through: Timestamp,
        limit: usize,
    ) -> Result<Vec<ScheduledStep>, StoreError> {
        // Every send time at or before `through` sorts below the next nanosecond's text.
        let bound = keys::send_time(
            through
                .checked_add(jiff::SignedDuration::from_nanos(1))
                .unwrap_or(through),
        );
        let mut due = Vec::new();
        for shard in 0..keys::WATCH_SHARDS {
            let bucket = keys::due_bucket(tenant, shard);
            for item in self
                .query_index(
                    keys::DUE_INDEX,
                    (keys::DUE_PK, keys::DUE_SK),
                    &bucket,
                    Some(&bound),
                    Some(limit),
                )
                .await?
            {
                due.push(read_record::<ScheduledStep>(&item)?);
            }
        }
        due.sort_by(|a, b| {
            (a.send_at, &a.client_id, &a.enrollment, a.index).cmp(&(
                b.send_at,
                &b.client_id,
                &b.enrollment,
                b.index,
            ))
        });
        due.truncate(limit);
        Ok(due)
    }

    async fn claim_step(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
        at: Timestamp,
    ) -> Result<Option<ScheduledStep>, StoreError> {
        // From the step as the due index gave it, on condition that its status is still that.
        let Some(status) = step.status.queued(at) else {
            return Ok(None);
        };
        let queued = ScheduledStep {
            status,
            ..step.clone()
        };
        let claimed = self
            .put_if(
                step_item(tenant, &queued)?,
                Condition::Equals("status", s(step.status.name())),
            )
            .await?;
        Ok(claimed.then_some(queued))
    }

    async fn release_step(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
    ) -> Result<(), StoreError> {
        let Some(status) = step.status.released() else {
            return Ok(());
        };
        let scheduled = ScheduledStep {
            status,
            ..step.clone()
        };
        // Not queued any more (taken for sending, or removed): nothing to put back.
        self.put_if(
            step_item(tenant, &scheduled)?,
            Condition::Equals("status", s(step.status.name())),
        )
        .await
        .map(|_| ())
    }

    async fn step(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        enrollment: &EnrollmentId,
        index: u16,
    ) -> Result<Option<ScheduledStep>, StoreError> {
        self.get(keys::client(tenant, client), &keys::step(enrollment, index))
            .await?
            .as_ref()
            .map(read_record)
            .transpose()
    }

    async fn claim_for_sending(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let Some(current) = self
            .step(tenant, &step.client_id, &step.enrollment, step.index)
            .await?
        else {
            return Ok(false);
        };
        let Some(status) = current.status.taken(now, lease_until) else {
            return Ok(false);
        };
        // On condition that the status read, lease and all, is still the stored one.
        let read = record(&current.status)?;
        let sending = ScheduledStep { status, ..current };
        self.put_if(
            step_item(tenant, &sending)?,
            Condition::Equals("lease", read),
        )
        .await
    }
}
