//! Delivering a step: the work behind `send-email` and `send-sms` (and the local server's
//! outbox). A step event may arrive twice, late, or at the same time as another copy of itself;
//! a booking or an opt-out may land a second before. So delivery takes the step under a lease
//! (one conditional write), reads the client's partition again, lets [`delivery::decide`]
//! re-check that the enrollment is still on, the client still consents, is not suppressed and
//! was not messaged today, renders the message with signed links, sends it, and records it as
//! sent together with the next step ([`delivery::record_sent`]), in one transaction.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::domain::channel::Channel;
use crate::domain::day::Day;
use crate::domain::delivery::{
    self, AfterFailure, Decision, Delivering, SendFailure, Sending, Waiting,
};
use crate::domain::enrollment::{Enrollment, Outcome, ScheduledStep, StepStatus};
use crate::domain::link_token::{LinkClaims, LinkKeys, Purpose};
use crate::domain::reputation::MailEvent;
use crate::domain::template::{self, Values};
use crate::domain::tenant::Tenant;
use crate::ports::{
    ClientRecord, ClientStore, Clock, ConsentStore, EmailSender, MailStats, OutgoingEmail,
    OutgoingSms, OutreachChange, OutreachStore, SendError, SmsSender, StepDue, StepQueue, Store,
    StoreError, Subject, TenantStore, Written,
};

/// How long a delivery holds a step before another may take over: longer than a delivery
/// function may run (30 s), shorter than Lambda's first retry of an event (about a minute).
const LEASE: SignedDuration = SignedDuration::from_secs(50);
/// How long the links in a message work.
const LINK_DAYS: i64 = 120;

/// What the deployment sends from and links to.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Where `/r/{token}` and `/u/{token}` are served: the API's base URL.
    pub links_base: String,
    /// The verified sender address, unless the business set its own.
    pub email_from: String,
    pub unsubscribe_mailto: Option<String>,
}

/// What became of a step event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum Delivered {
    Sent {
        message_id: String,
    },
    /// A copy of this event already sent it.
    AlreadySent,
    /// Another delivery holds the step.
    Busy,
    /// Moved to the next window day: the client was already messaged today.
    Deferred {
        until: Timestamp,
    },
    /// The business's sending is paused: the step waits (tried again a day later).
    Paused {
        until: Timestamp,
    },
    /// Nothing to send any more (the enrollment ended, the client was erased, ...).
    Skipped {
        reason: &'static str,
    },
    /// The enrollment ended here: the client can no longer be reached, or booked.
    Stopped {
        reason: &'static str,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Send(SendError),
    #[error("the message could not be rendered: {0}")]
    Template(#[from] template::TemplateError),
    /// A step of a channel this delivery has no sender for: the bus routed it wrongly, and
    /// no retry will change that.
    #[error("this function has no {} sender; {} steps go to another function (check the bus rules)", .0.name(), .0.name())]
    NoSender(Channel),
}

impl DeliverError {
    /// Worth trying again (the event is redelivered or retried, then dead-lettered).
    pub fn is_retryable(&self) -> bool {
        match self {
            DeliverError::Store(e) => e.is_retryable(),
            DeliverError::Send(SendError::Unavailable(_)) => true,
            _ => false,
        }
    }
}

/// The senders a delivery has: each delivery function has the one of its channel, the local
/// server has both.
#[derive(Clone, Default)]
pub struct Senders {
    pub email: Option<Arc<dyn EmailSender>>,
    pub sms: Option<Arc<dyn SmsSender>>,
}

impl Senders {
    pub fn email(sender: Arc<dyn EmailSender>) -> Senders {
        Senders {
            email: Some(sender),
            sms: None,
        }
    }

    pub fn sms(sender: Arc<dyn SmsSender>) -> Senders {
        Senders {
            email: None,
            sms: Some(sender),
        }
    }

    pub fn both(email: Arc<dyn EmailSender>, sms: Arc<dyn SmsSender>) -> Senders {
        Senders {
            email: Some(email),
            sms: Some(sms),
        }
    }

    fn has(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email.is_some(),
            Channel::Sms => self.sms.is_some(),
        }
    }
}

pub struct Deliverer<S: ?Sized = dyn Store> {
    store: Arc<S>,
    senders: Senders,
    keys: LinkKeys,
    clock: Arc<dyn Clock>,
    settings: DeliverySettings,
}

impl<S> Deliverer<S>
where
    S: TenantStore + ClientStore + OutreachStore + StepQueue + ConsentStore + MailStats + ?Sized,
{
    pub fn new(
        store: Arc<S>,
        senders: Senders,
        keys: LinkKeys,
        clock: Arc<dyn Clock>,
        settings: DeliverySettings,
    ) -> Deliverer<S> {
        Deliverer {
            store,
            senders,
            keys,
            clock,
            settings,
        }
    }

    pub async fn deliver(&self, event: &StepDue) -> Result<Delivered, DeliverError> {
        if !self.senders.has(event.channel) {
            return Err(DeliverError::NoSender(event.channel));
        }
        let store = &self.store;
        let Some(tenant) = store.tenant(&event.tenant_id).await? else {
            return Ok(Delivered::Skipped {
                reason: "unknown_tenant",
            });
        };
        let Some(step) = store
            .step(
                &tenant.id,
                &event.client_id,
                &event.enrollment_id,
                event.step,
            )
            .await?
        else {
            return Ok(Delivered::Skipped {
                reason: "step_removed",
            });
        };
        if matches!(step.status, StepStatus::Sent { .. }) {
            return Ok(Delivered::AlreadySent);
        }
        let now = self.clock.now();
        let lease_until = now.checked_add(LEASE).unwrap_or(now);
        if !store
            .claim_for_sending(&tenant.id, &step, now, lease_until)
            .await?
        {
            return Ok(Delivered::Busy);
        }
        let Some(record) = store.client(&tenant.id, &event.client_id).await? else {
            return Ok(Delivered::Skipped {
                reason: "client_erased",
            });
        };
        let delivering = Delivering {
            tenant: &tenant,
            record: &record,
            step: &step,
            suppressed: self.suppressed(&tenant, &record, step.channel).await?,
            now,
        };
        let sending = match delivery::decide(&delivering, &self.keys) {
            Decision::Send(sending) => sending,
            Decision::Skip(reason) => return Ok(Delivered::Skipped { reason }),
            Decision::Stop { outcome, reason } => {
                self.end(&tenant, &record, &step, outcome, now).await?;
                return Ok(Delivered::Stopped { reason });
            }
            Decision::Wait { until, why } => {
                self.wait(&tenant, &record, &step, until).await?;
                return Ok(match why {
                    Waiting::Paused => Delivered::Paused { until },
                    Waiting::MessagedToday => Delivered::Deferred { until },
                });
            }
        };
        let message_id = match self.send(&tenant, &record, &step, &sending, now).await? {
            Ok(id) => id,
            Err(error) => {
                let failure = match &error {
                    SendError::Refused(_) => SendFailure::Refused,
                    SendError::Unavailable(_) => SendFailure::Unavailable,
                };
                return match delivery::after_failure(&step, failure, now) {
                    AfterFailure::Stop { outcome, reason } => {
                        // The provider's text may hold the address or number: not logged.
                        tracing::warn!(
                            tenant = %tenant.id,
                            client = %step.client_id,
                            channel = ?step.channel,
                            "the provider refused a message; the enrollment ends"
                        );
                        self.end(&tenant, &record, &step, outcome, now).await?;
                        Ok(Delivered::Stopped { reason })
                    }
                    AfterFailure::Requeue(again) => {
                        store
                            .write_outreach(&tenant.id, &record.requeuing(again))
                            .await?;
                        Err(DeliverError::Send(error))
                    }
                };
            }
        };
        if step.channel == Channel::Email {
            let day = tenant.config.timezone.day_of(now);
            if let Err(error) = store.count_mail(&tenant.id, day, MailEvent::Sent).await {
                tracing::warn!(tenant = %tenant.id, %error, "an email send was not counted");
            }
        }

        // Sent: record it with the next step, in one write; read again on a clash (a booking
        // or an opt-out landed while sending), since the send happened whatever it was.
        let config = &tenant.config.outreach;
        let mut record = record;
        for _ in 0..5 {
            let sent = delivery::record_sent(&record, config, &step, &sending, &message_id, now);
            let change = OutreachChange {
                client_id: step.client_id.clone(),
                expected_version: record.outreach_version,
                outreach: sent.outreach,
                enrollment: sent.enrollment,
                schedule: sent.next,
                unschedule: None,
                sent: Some(sent.sent),
                count: None,
            };
            match store.write_outreach(&tenant.id, &change).await? {
                Written::Done | Written::CapReached => return Ok(Delivered::Sent { message_id }),
                Written::Changed => match store.client(&tenant.id, &step.client_id).await? {
                    Some(again) => record = again,
                    None => return Ok(Delivered::Sent { message_id }),
                },
            }
        }
        Err(StoreError::Contention(Subject::Client(step.client_id.clone())).into())
    }

    /// Renders the step's message with its signed links and hands it to the channel's sender:
    /// the provider's message id, or its error.
    async fn send(
        &self,
        tenant: &Tenant,
        record: &ClientRecord,
        step: &ScheduledStep,
        sending: &Sending,
        now: Timestamp,
    ) -> Result<Result<String, SendError>, DeliverError> {
        let active = record
            .outreach
            .active
            .as_ref()
            .ok_or_else(|| StoreError::corrupt("a step to send with no active enrollment"))?;
        let link = |purpose| {
            let claims = LinkClaims {
                purpose,
                tenant: tenant.id.clone(),
                client: step.client_id.clone(),
                enrollment: step.enrollment.clone(),
                step: step.index,
                channel: step.channel,
                expires_at: now
                    .checked_add(SignedDuration::from_hours(24 * LINK_DAYS))
                    .unwrap_or(now),
            };
            let path = match purpose {
                Purpose::Rebook => "r",
                Purpose::OptOut => "u",
            };
            format!(
                "{}/{path}/{}",
                self.settings.links_base.trim_end_matches('/'),
                self.keys.sign(&claims)
            )
        };
        let values = message_values(
            tenant,
            record,
            &active.category,
            sending.today,
            sending.offer.as_ref().map(|o| o.text.clone()),
            link(Purpose::Rebook),
            link(Purpose::OptOut),
        );
        let config = &tenant.config.outreach;
        let template = config.template(&sending.template, step.channel);
        let message = match step.channel {
            Channel::Email => template.render(&values)?,
            Channel::Sms => template.render_sms(&values)?,
        };
        let to = record
            .profile
            .as_ref()
            .and_then(|p| p.contact(step.channel))
            .unwrap_or_default()
            .to_owned();
        Ok(match step.channel {
            Channel::Email => {
                let email = self.senders.email.as_ref();
                email
                    .ok_or(DeliverError::NoSender(Channel::Email))?
                    .send_email(&OutgoingEmail {
                        from: config
                            .senders
                            .email_from
                            .clone()
                            .unwrap_or_else(|| self.settings.email_from.clone()),
                        to,
                        subject: message.subject.unwrap_or_default(),
                        text: message.text,
                        html: message.html,
                        unsubscribe_url: values.opt_out_link.clone(),
                        unsubscribe_mailto: self.settings.unsubscribe_mailto.clone(),
                        tags: email_tags(tenant, active, step),
                    })
                    .await
            }
            Channel::Sms => {
                let sms = self.senders.sms.as_ref();
                sms.ok_or(DeliverError::NoSender(Channel::Sms))?
                    .send_sms(&OutgoingSms {
                        to,
                        text: message.text,
                        sender: config.senders.sms_sender.clone().unwrap_or_default(),
                    })
                    .await
            }
        })
    }

    /// Puts the step back in the queue, due at `until`.
    async fn wait(
        &self,
        tenant: &Tenant,
        record: &ClientRecord,
        step: &ScheduledStep,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        let again = ScheduledStep {
            send_at: until,
            status: StepStatus::Scheduled,
            ..step.clone()
        };
        self.store
            .write_outreach(&tenant.id, &record.requeuing(again))
            .await?;
        Ok(())
    }

    /// Whether the contact the step goes to is suppressed.
    async fn suppressed(
        &self,
        tenant: &Tenant,
        record: &ClientRecord,
        channel: Channel,
    ) -> Result<bool, StoreError> {
        match record
            .profile
            .as_ref()
            .and_then(|p| p.contact_hash(channel))
        {
            Some(hash) => self.store.is_suppressed(&tenant.id, &hash).await,
            None => Ok(false),
        }
    }

    /// Ends the enrollment the step belongs to. A `Changed` from the store means a booking or
    /// another change ended it first: nothing left to do.
    async fn end(
        &self,
        tenant: &Tenant,
        record: &ClientRecord,
        step: &ScheduledStep,
        outcome: Outcome,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let today = record.local_day(&tenant.config.timezone, now);
        if let Some(change) = record.ending(&step.client_id, outcome, today) {
            self.store.write_outreach(&tenant.id, &change).await?;
        }
        Ok(())
    }
}

/// What a message about `category` says to this client: their first name, the business, their
/// last service and who did it, how long ago, the offer and the links. (Delivery and
/// `winback preview` fill a template from the same values.)
pub fn message_values(
    tenant: &Tenant,
    record: &ClientRecord,
    category: &crate::domain::ids::Category,
    today: Day,
    offer: Option<String>,
    rebook_link: String,
    opt_out_link: String,
) -> Values {
    let cadence = record
        .cadences
        .iter()
        .find(|c| &c.cadence.category == category)
        .map(|c| &c.cadence);
    Values {
        first_name: record
            .profile
            .as_ref()
            .and_then(|p| p.first_name())
            .map(str::to_owned),
        business_name: tenant.name.clone(),
        last_service: cadence.and_then(|c| c.last_service.clone()),
        staff: cadence.and_then(|c| c.last_staff.clone()),
        days_since_last_visit: cadence.map(|c| today.days_since(c.last_visit)),
        offer,
        rebook_link,
        opt_out_link,
    }
}

/// The tags an email carries: the business, the sequence, the step, and the client when their
/// id is a valid tag as it is (a bounce or complaint can then end their sequence at once).
fn email_tags(tenant: &Tenant, active: &Enrollment, step: &ScheduledStep) -> Vec<(String, String)> {
    let mut tags = vec![
        ("tenant".into(), tenant.id.to_string()),
        ("sequence".into(), tag(&active.sequence)),
        ("step".into(), step.index.to_string()),
    ];
    let client = step.client_id.as_str();
    if tag(client) == client && client.len() <= 256 {
        tags.push(("client".into(), client.to_owned()));
    }
    tags
}

/// A tag value as providers take it: letters, digits, `_`, `-`, `.`.
fn tag(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
