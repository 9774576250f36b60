//! A business's own settings and sending state: replacing its settings (already validated),
//! reading whether its messages go out with its email reputation, and resuming a paused
//! business.

use std::sync::Arc;

use crate::domain::config::BusinessConfig;
use crate::domain::contact::Sender;
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
    /// The domain this deployment sends email from, when it is bound to one (on AWS, the
    /// domain of the stack's verified sender): a business's own `email_from` must be at it.
    sending_domain: Option<String>,
}

/// Why settings were not replaced.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "outreach.senders.email_from is at {found}, but this deployment sends email from {allowed} only"
    )]
    ForeignSender { found: String, allowed: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<S> Settings<S>
where
    S: TenantStore + MailStats + ?Sized,
{
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>) -> Settings<S> {
        Settings {
            store,
            clock,
            sending_domain: None,
        }
    }

    /// Settings whose `email_from` must be at `domain` (or one of its subdomains).
    pub fn sending_from(mut self, domain: Option<String>) -> Settings<S> {
        self.sending_domain = domain;
        self
    }

    /// Replaces the business's settings with `config`, which the caller has validated, unless
    /// its own sender is at a domain this deployment does not send from. Idempotent.
    pub async fn replace(
        &self,
        tenant: &Tenant,
        config: &BusinessConfig,
    ) -> Result<(), SettingsError> {
        if let (Some(allowed), Some(from)) =
            (&self.sending_domain, &config.outreach.senders.email_from)
            && let Ok(sender) = Sender::parse(from)
            && !sender.is_at(allowed)
        {
            return Err(SettingsError::ForeignSender {
                found: sender.address.domain().to_owned(),
                allowed: allowed.clone(),
            });
        }
        Ok(self.store.update_config(&tenant.id, config).await?)
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
