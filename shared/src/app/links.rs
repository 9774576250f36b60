//! What happens when a client taps a link in a message: a rebook link is recorded as a click
//! and lands on the business's booking page, filled in for them; an opt-out link shows a page
//! with one button, and that button (or a mail client's one-click unsubscribe, RFC 8058) opts
//! the client out of that channel at once, records it in the consent ledger and ends their
//! sequence. A link that is damaged, expired or meant for the other page changes nothing.

use std::sync::Arc;

use url::Url;

use crate::app::stop;
use crate::domain::channel::Channel;
use crate::domain::enrollment::{Outcome, StopReason};
use crate::domain::feedback::ConsentEntry;
use crate::domain::link_token::{LinkClaims, LinkKeys, Purpose, TokenError};
use crate::domain::rebook_link::{self, Prefill};
use crate::domain::suppression::SuppressionReason;
use crate::domain::tenant::Tenant;
use crate::ports::{
    ClientStore, Clock, ConsentChange, ConsentStore, OutreachStore, Store, StoreError, TenantStore,
};

/// Where a rebook link goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landing {
    /// The business's booking page.
    BookingPage(Url),
    /// The business has no online booking page: the client is asked to get in touch.
    NoBookingPage { business: String },
}

/// What the opt-out page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptOut {
    pub business: String,
    pub channel: Channel,
    /// Already opted out (or not reachable there any more): nothing to confirm.
    pub done: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the business this link belongs to is no longer here")]
    UnknownBusiness,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Links<S: ?Sized = dyn Store> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    keys: LinkKeys,
}

impl<S> Links<S>
where
    S: TenantStore + ClientStore + OutreachStore + ConsentStore + ?Sized,
{
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>, keys: LinkKeys) -> Links<S> {
        Links { store, clock, keys }
    }

    async fn open(&self, token: &str, purpose: Purpose) -> Result<(LinkClaims, Tenant), LinkError> {
        let claims = self.keys.verify(token, purpose, self.clock.now())?;
        let tenant = self
            .store
            .tenant(&claims.tenant)
            .await?
            .ok_or(LinkError::UnknownBusiness)?;
        Ok((claims, tenant))
    }

    /// A rebook link followed: recorded, then where to send the client.
    pub async fn rebook(&self, token: &str) -> Result<Landing, LinkError> {
        let (claims, tenant) = self.open(token, Purpose::Rebook).await?;
        // The client gets to the booking page even if the click cannot be recorded.
        if let Err(error) = self.store.record_click(&claims, self.clock.now()).await {
            tracing::warn!(tenant = %tenant.id, %error, "a rebook click was not recorded");
        }
        let Some(template) = tenant.config.outreach.booking_url.as_deref() else {
            return Ok(Landing::NoBookingPage {
                business: tenant.name,
            });
        };
        let category = claims.enrollment.category();
        let record = self.store.client(&tenant.id, &claims.client).await?;
        let (service, campaign) = match &record {
            Some(record) => (
                record
                    .cadences
                    .iter()
                    .find(|c| Some(&c.cadence.category) == category.as_ref())
                    .and_then(|c| c.cadence.last_service.clone()),
                record
                    .outreach
                    .active
                    .as_ref()
                    .filter(|a| a.id == claims.enrollment)
                    .map(|a| a.sequence.clone()),
            ),
            None => (None, None),
        };
        let url = rebook_link::rebook_url(
            template,
            &Prefill {
                client_id: claims.client.as_str(),
                service: service.as_deref(),
                category: category.as_ref().map_or("", |c| c.as_str()),
                campaign: campaign.as_deref().unwrap_or("winback"),
                step: claims.step,
                medium: claims.channel.name(),
            },
        );
        Ok(match url {
            Ok(url) => Landing::BookingPage(url),
            // Settings are validated on save; an old bad one still gets the client somewhere.
            Err(_) => Landing::NoBookingPage {
                business: tenant.name,
            },
        })
    }

    /// The opt-out page, before the button is pressed.
    pub async fn opt_out_page(&self, token: &str) -> Result<OptOut, LinkError> {
        let (claims, tenant) = self.open(token, Purpose::OptOut).await?;
        let record = self.store.client(&tenant.id, &claims.client).await?;
        let contact = record
            .as_ref()
            .and_then(|r| r.profile.as_ref())
            .and_then(|p| p.contact_hash(claims.channel));
        let done = match &contact {
            Some(contact) => self.store.is_suppressed(&tenant.id, contact).await?,
            None => true,
        };
        Ok(OptOut {
            business: tenant.name,
            channel: claims.channel,
            done,
        })
    }

    /// Opts the client out of the link's channel (`wording` says how: the page's button or a
    /// mail client's one-click), and ends their sequence. Idempotent.
    pub async fn opt_out(&self, token: &str, wording: &str) -> Result<OptOut, LinkError> {
        let (claims, tenant) = self.open(token, Purpose::OptOut).await?;
        let now = self.clock.now();
        let record = self.store.client(&tenant.id, &claims.client).await?;
        let contact = record
            .as_ref()
            .and_then(|r| r.profile.as_ref())
            .and_then(|p| p.contact_hash(claims.channel));
        if let Some(contact) = contact {
            let change = ConsentChange {
                contact,
                client: Some(claims.client.clone()),
                entry: ConsentEntry {
                    channel: claims.channel,
                    granted: false,
                    at: now,
                    source: "unsubscribe link".into(),
                    wording: wording.into(),
                },
                reason: SuppressionReason::OptedOut,
            };
            if self.store.record_consent(&tenant.id, &change).await? {
                tracing::info!(tenant = %tenant.id, channel = claims.channel.name(), "opted out by link");
            }
        }
        let outcome = Outcome::Stopped {
            reason: StopReason::OptedOut,
        };
        stop::end_active(self.store.as_ref(), &tenant, &claims.client, outcome, now).await?;
        Ok(OptOut {
            business: tenant.name,
            channel: claims.channel,
            done: true,
        })
    }
}
