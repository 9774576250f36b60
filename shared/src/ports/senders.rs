//! The senders: email (SES; the outbox folder locally) and SMS (SNS; the outbox folder
//! locally), each given a message already rendered.

use async_trait::async_trait;

use crate::ports::BoxError;

/// An email ready to go: what the email sender needs, already rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The one-click unsubscribe address (RFC 8058), also in the List-Unsubscribe header.
    pub unsubscribe_url: String,
    /// A mailto unsubscribe address, if the business has one.
    pub unsubscribe_mailto: Option<String>,
    /// Opaque ids for the provider's events: tenant, sequence, step.
    pub tags: Vec<(String, String)>,
}

/// An SMS ready to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingSms {
    /// E.164.
    pub to: String,
    pub text: String,
    /// The sender id or origination number.
    pub sender: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The provider refused this message for good (a bad address, an opted-out number).
    #[error("the message was refused: {0}")]
    Refused(String),
    /// Throttled, a 5xx, a network error: worth retrying.
    #[error("the provider is unavailable: {0}")]
    Unavailable(#[source] BoxError),
}

/// Sends email (SES; the outbox folder locally).
#[async_trait]
pub trait EmailSender: Send + Sync {
    /// Sends one email; the provider's message id.
    async fn send_email(&self, email: &OutgoingEmail) -> Result<String, SendError>;
}

/// Sends SMS (SNS; the outbox folder locally).
#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<String, SendError>;
}
