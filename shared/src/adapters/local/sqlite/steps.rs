//! The step queue on SQLite: each step move as one conditional update.

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::params;

use crate::domain::enrollment::{EnrollmentId, ScheduledStep};
use crate::domain::ids::{ClientId, TenantId};
use crate::ports::StepQueue;
use crate::ports::StoreError;

use super::SqliteStore;
use super::rows::{read_all, read_one, read_step, step_time, write_step};

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
    ) -> Result<Option<ScheduledStep>, StoreError> {
        let tenant = tenant.to_string();
        let step = step.clone();
        self.transact(move |tx| {
            let Some(current) = read_step(tx, &tenant, &step)? else {
                return Ok(None);
            };
            let Some(status) = current.status.queued(at) else {
                return Ok(None);
            };
            let queued = ScheduledStep { status, ..current };
            write_step(tx, &tenant, &queued)?;
            Ok(Some(queued))
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
                && let Some(status) = current.status.released()
            {
                write_step(tx, &tenant, &ScheduledStep { status, ..current })?;
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
        self.transact(move |tx| {
            let Some(current) = read_step(tx, &tenant, &step)? else {
                return Ok(false);
            };
            let Some(status) = current.status.taken(now, lease_until) else {
                return Ok(false);
            };
            write_step(tx, &tenant, &ScheduledStep { status, ..current })?;
            Ok(true)
        })
        .await
    }
}
