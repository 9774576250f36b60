//! The step queue on SQLite: each step move as one conditional update.

use super::SqliteStore;
use super::rows::{read_all, read_one, read_step, step_time, write_step};
use crate::domain::enrollment::{EnrollmentId, ScheduledStep, StepStatus};
use crate::domain::ids::{ClientId, TenantId};
use crate::ports::StepQueue;
use crate::ports::StoreError;
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::params;

#[async_trait]
impl StepQueue for SqliteStore {
    async fn due_steps(
        &self,
        tenant: &TenantId,
        through: Timestamp,
        limit: usize,
    ) -> Result<Vec<ScheduledStep>, StoreError> {
        let tenant = tenant.to_string();
        self.transact(move |tx| {
            read_all(
                tx,
                "SELECT record FROM steps
                 WHERE tenant = ?1 AND scheduled = 1 AND send_at <= ?2
                 ORDER BY send_at, client, enrollment, step LIMIT ?3",
                params![tenant, step_time(through), limit as i64],
            )
        })
        .await
    }

    async fn claim_step(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let tenant = tenant.to_string();
        let step = step.clone();
        self.transact(move |tx| {
            let current: Option<ScheduledStep> = read_step(tx, &tenant, &step)?;
            match current {
                Some(current) if current.status == StepStatus::Scheduled => {
                    let queued = ScheduledStep {
                        status: StepStatus::Queued { at },
                        ..current
                    };
                    write_step(tx, &tenant, &queued)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .await
    }

    async fn release_step(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
    ) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        let step = step.clone();
        self.transact(move |tx| {
            if let Some(current) = read_step(tx, &tenant, &step)?
                && matches!(current.status, StepStatus::Queued { .. })
            {
                let scheduled = ScheduledStep {
                    status: StepStatus::Scheduled,
                    ..current
                };
                write_step(tx, &tenant, &scheduled)?;
            }
            Ok(())
        })
        .await
    }

    async fn step(
        &self,
        tenant: &TenantId,
        client: &ClientId,
        enrollment: &EnrollmentId,
        index: u16,
    ) -> Result<Option<ScheduledStep>, StoreError> {
        let (tenant, client, enrollment) = (
            tenant.to_string(),
            client.to_string(),
            enrollment.to_string(),
        );
        self.transact(move |tx| {
            read_one(
                tx,
                "SELECT record FROM steps
                 WHERE tenant = ?1 AND client = ?2 AND enrollment = ?3 AND step = ?4",
                params![tenant, client, enrollment, index],
            )
        })
        .await
    }

    async fn claim_for_sending(
        &self,
        tenant: &TenantId,
        step: &ScheduledStep,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let tenant = tenant.to_string();
        let step = step.clone();
        self.transact(move |tx| match read_step(tx, &tenant, &step)? {
            Some(current) if current.status.claimable(now) => {
                let sending = ScheduledStep {
                    status: StepStatus::Sending { lease_until },
                    ..current
                };
                write_step(tx, &tenant, &sending)?;
                Ok(true)
            }
            _ => Ok(false),
        })
        .await
    }
}
