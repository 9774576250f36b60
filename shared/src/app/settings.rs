//! A business's own settings and sending state: replacing its settings (already validated),
//! reading whether its messages go out with its email reputation, and resuming a paused
//! business.

use std::sync::Arc;

use crate::domain::config::BusinessConfig;
use crate::domain::reputation::{self, MailCounts, Pause};
use crate::domain::tenant::Tenant;
use crate::ports::{Clock, MailStats, StoreError, TenantStore};

/// Whether a business's messages go out, and why not.
#[derive(Debug, Clone, PartialEq)]
pub struct Sending {
    pub paused: Option<Pause>,
    /// Email counts over the reputation window that ends today.
    pub counts: MailCounts,
}

pub struct Settings<S: ?Sized = dyn crate::ports::Store> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
}

impl<S> Settings<S>
where
    S: TenantStore + MailStats + ?Sized,
{
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>) -> Settings<S> {
        Settings { store, clock }
    }

    /// Replaces the business's settings with `config`, which the caller has validated.
    /// Idempotent.
    pub async fn replace(
        &self,
        tenant: &Tenant,
        config: &BusinessConfig,
    ) -> Result<(), StoreError> {
        self.store.update_config(&tenant.id, config).await
    }

    /// The business's sending state, with its email counts over the reputation window.
    pub async fn sending(&self, tenant: &Tenant) -> Result<Sending, StoreError> {
        let today = tenant.config.timezone.day_of(self.clock.now());
        let (from, through) = reputation::window(today);
        let counts = self.store.mail_counts(&tenant.id, from, through).await?;
        Ok(Sending {
            paused: tenant.paused.clone(),
            counts,
        })
    }

    /// Resumes a paused business's sending; whether it was paused. Idempotent.
    pub async fn resume(&self, tenant: &Tenant) -> Result<bool, StoreError> {
        let was = tenant.paused.is_some();
        self.store.set_pause(&tenant.id, None).await?;
        if was {
            tracing::info!(tenant = %tenant.id, "sending resumed");
        }
        Ok(was)
    }
}
