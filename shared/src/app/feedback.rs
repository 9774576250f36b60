//! What comes back from clients and their mailboxes: a bounce or a spam complaint suppresses
//! the address for good and ends the client's sequence; an SMS reply of STOP (or END, CANCEL,
//! UNSUBSCRIBE, QUIT, REVOKE, OPT OUT, in any case) opts the number out, START or UNSTOP opts
//! it back in, HELP gets the business's name and how to stop. Every change of consent leaves a
//! ledger line (who, when, from where, in what words) that is never rewritten.

use std::sync::Arc;

use crate::app::stop;
use crate::domain::channel::Channel;
use crate::domain::contact::{ContactHash, EmailAddress, PhoneNumber};
use crate::domain::enrollment::{Outcome, StopReason};
use crate::domain::feedback::{self, ConsentEntry, Keyword};
use crate::domain::ids::{ClientId, TenantId};
use crate::domain::reputation::{self, MailEvent};
use crate::domain::suppression::SuppressionReason;
use crate::domain::tenant::Tenant;
use crate::ports::{
    ClientStore, Clock, ConsentChange, ConsentStore, MailStats, OutgoingSms, OutreachStore,
    SendError, SmsSender, Store, StoreError, TenantStore,
};

/// What a mailbox said about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailProblem {
    /// The address does not exist or refuses mail for good.
    PermanentBounce,
    /// A full mailbox, a server down: SES retried; nothing to do.
    TransientBounce,
    /// The recipient marked it as spam.
    Complaint,
}

/// A bounce or complaint about one recipient of a message winback sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFeedback {
    pub tenant: TenantId,
    /// The client, when the message's tags name them.
    pub client: Option<ClientId>,
    pub address: EmailAddress,
    pub problem: MailProblem,
    /// The provider's words: the bounce diagnostic or the complaint type.
    pub detail: String,
}

/// An SMS a client sent to the business's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundSms {
    pub from: PhoneNumber,
    /// The business number it was sent to.
    pub to: String,
    pub body: String,
}

/// What handling one piece of feedback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Handled {
    /// Suppressed now (`false`: it already was).
    Suppressed { changed: bool },
    /// Opted out by STOP (`false`: it already was).
    OptedOut { changed: bool },
    /// Opted back in by START (`false`: there was no opt-out to lift).
    OptedIn { changed: bool },
    /// HELP answered.
    Helped,
    /// Nothing to do: a transient bounce, a message that is not a keyword, a number no
    /// business here sends from.
    Ignored { reason: &'static str },
}

#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the reply could not be sent: {0}")]
    Reply(#[from] SendError),
}

impl FeedbackError {
    /// Worth trying again: the store or the SMS provider unavailable for a while.
    pub fn is_retryable(&self) -> bool {
        match self {
            FeedbackError::Store(e) => e.is_retryable(),
            FeedbackError::Reply(e) => matches!(e, SendError::Unavailable(_)),
        }
    }
}

pub struct Feedback<S: ?Sized = dyn Store> {
    store: Arc<S>,
    sms: Arc<dyn SmsSender>,
    clock: Arc<dyn Clock>,
}

impl<S> Feedback<S>
where
    S: TenantStore + ClientStore + OutreachStore + ConsentStore + MailStats + ?Sized,
{
    pub fn new(store: Arc<S>, sms: Arc<dyn SmsSender>, clock: Arc<dyn Clock>) -> Feedback<S> {
        Feedback { store, sms, clock }
    }

    /// A bounce or complaint: the address is suppressed and the client's sequence ends.
    pub async fn mail(&self, feedback: &MailFeedback) -> Result<Handled, FeedbackError> {
        let reason = match feedback.problem {
            MailProblem::TransientBounce => {
                return Ok(Handled::Ignored {
                    reason: "transient_bounce",
                });
            }
            MailProblem::PermanentBounce => SuppressionReason::Bounced,
            MailProblem::Complaint => SuppressionReason::Complained,
        };
        let Some(tenant) = self.store.tenant(&feedback.tenant).await? else {
            return Ok(Handled::Ignored {
                reason: "unknown_tenant",
            });
        };
        let now = self.clock.now();
        let change = ConsentChange {
            contact: ContactHash::of_email(&feedback.address),
            client: feedback.client.clone(),
            entry: ConsentEntry {
                channel: Channel::Email,
                granted: false,
                at: now,
                source: match reason {
                    SuppressionReason::Bounced => "bounce".into(),
                    _ => "spam complaint".into(),
                },
                wording: feedback.detail.clone(),
            },
            reason,
        };
        let changed = self.store.record_consent(&tenant.id, &change).await?;
        if changed {
            self.watch_reputation(&tenant, reason, now).await?;
        }
        if let Some(client) = &feedback.client {
            let outcome = Outcome::Stopped {
                reason: StopReason::Suppressed,
            };
            stop::end_active(self.store.as_ref(), &tenant, client, outcome, now).await?;
        }
        tracing::info!(tenant = %tenant.id, reason = reason.name(), changed, "address suppressed");
        Ok(Handled::Suppressed { changed })
    }

    /// An SMS reply: a keyword is acted on and recorded; anything else is left for the
    /// business to read in its own tools.
    pub async fn sms(&self, inbound: &InboundSms) -> Result<Handled, FeedbackError> {
        let Some(keyword) = feedback::keyword(&inbound.body) else {
            return Ok(Handled::Ignored {
                reason: "not_a_keyword",
            });
        };
        let Some(tenant) = self.tenant_sending_from(&inbound.to).await? else {
            tracing::warn!(to = %inbound.to, "an SMS reply to a number no business here sends from");
            return Ok(Handled::Ignored {
                reason: "unknown_number",
            });
        };
        let now = self.clock.now();
        let record = |granted: bool| ConsentChange {
            contact: ContactHash::of_phone(&inbound.from),
            client: None,
            entry: ConsentEntry {
                channel: Channel::Sms,
                granted,
                at: now,
                source: "sms keyword".into(),
                wording: inbound.body.trim().chars().take(160).collect(),
            },
            reason: SuppressionReason::OptedOut,
        };
        match keyword {
            Keyword::Stop => {
                // The number is suppressed now, and the sequences of everyone who has it end
                // now too, as an opt-out link would end them.
                let changed = self
                    .store
                    .record_consent(&tenant.id, &record(false))
                    .await?;
                let outcome = Outcome::Stopped {
                    reason: StopReason::OptedOut,
                };
                for client in self
                    .store
                    .clients_with_phone(&tenant.id, &inbound.from)
                    .await?
                {
                    stop::end_active(self.store.as_ref(), &tenant, &client, outcome, now).await?;
                }
                Ok(Handled::OptedOut { changed })
            }
            Keyword::Start => {
                let changed = self.store.record_consent(&tenant.id, &record(true)).await?;
                if changed {
                    self.reply(
                        &tenant,
                        inbound,
                        format!(
                            "{}: you will get booking reminders again. Reply STOP to opt out.",
                            tenant.name
                        ),
                    )
                    .await?;
                }
                Ok(Handled::OptedIn { changed })
            }
            Keyword::Help => {
                self.reply(&tenant, inbound, feedback::help_reply(&tenant.name))
                    .await?;
                Ok(Handled::Helped)
            }
        }
    }

    /// Counts a bounce or complaint and pauses the business's sending if its rates over the
    /// last weeks crossed the line.
    async fn watch_reputation(
        &self,
        tenant: &Tenant,
        reason: SuppressionReason,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        let event = match reason {
            SuppressionReason::Complained => MailEvent::Complained,
            _ => MailEvent::Bounced,
        };
        let today = tenant.config.timezone.day_of(now);
        self.store.count_mail(&tenant.id, today, event).await?;
        if tenant.paused.is_some() {
            return Ok(());
        }
        let counts = self
            .store
            .mail_counts(&tenant.id, reputation::window(today).0, today)
            .await?;
        if let Some(pause) = reputation::pause_for(&counts, now) {
            tracing::warn!(tenant = %tenant.id, reason = %pause.reason, "sending paused");
            self.store.set_pause(&tenant.id, Some(pause)).await?;
        }
        Ok(())
    }

    async fn reply(
        &self,
        tenant: &Tenant,
        inbound: &InboundSms,
        text: String,
    ) -> Result<(), FeedbackError> {
        let sender = tenant
            .config
            .outreach
            .senders
            .sms_sender
            .clone()
            .unwrap_or_else(|| inbound.to.clone());
        self.sms
            .send_sms(&OutgoingSms {
                to: inbound.from.as_str().to_owned(),
                text,
                sender,
            })
            .await?;
        Ok(())
    }

    /// The business an SMS was sent to: the one whose sender is that number, or the only one.
    async fn tenant_sending_from(&self, number: &str) -> Result<Option<Tenant>, StoreError> {
        let ids = self.store.tenants().await?;
        let mut tenants = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(tenant) = self.store.tenant(id).await? {
                tenants.push(tenant);
            }
        }
        let sending = tenants
            .iter()
            .position(|t| t.config.outreach.senders.sms_sender.as_deref() == Some(number));
        Ok(match (sending, tenants.len()) {
            (Some(i), _) => Some(tenants.swap_remove(i)),
            (None, 1) => tenants.pop(),
            (None, _) => None,
        })
    }
}
