//! What the two delivery functions (`send-email`, `send-sms`) share: their settings from the
//! environment, the step event out of its EventBridge envelope, and how a delivery's result
//! becomes the function's answer: a result worth another try is a retryable error (Lambda
//! retries the event, then dead-letters it); a step no retry can send is poison.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;

use crate::adapters::aws::env::{self, MissingSetting};
use crate::app::deliver::{Delivered, Deliverer, DeliverySettings};
use crate::domain::channel::Channel;
use crate::domain::link_token::{KeyError, LinkKeys};
use crate::lambda::HandlerError;
use crate::ports::StepDue;

/// Why a delivery function cannot start.
#[derive(thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Missing(#[from] MissingSetting),
    #[error("LINK_SIGNING_KEYS: {0}")]
    LinkKeys(#[source] KeyError),
}

/// The start-up failure is printed with `Debug` by `main`: make that the sentence.
impl std::fmt::Debug for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// A delivery function's settings: the table, the link keys, the sender address and the links'
/// base URL.
pub struct DeliveryEnvironment {
    pub table: String,
    pub keys: LinkKeys,
    pub settings: DeliverySettings,
}

impl DeliveryEnvironment {
    pub fn from_env() -> Result<DeliveryEnvironment, SettingsError> {
        let keys = LinkKeys::from_setting(&env::required("LINK_SIGNING_KEYS")?)
            .map_err(SettingsError::LinkKeys)?;
        Ok(DeliveryEnvironment {
            table: env::required("TABLE_NAME")?,
            keys,
            settings: DeliverySettings {
                links_base: env::required("LINKS_BASE_URL")?,
                email_from: env::required("EMAIL_FROM")?,
                unsubscribe_mailto: env::optional("UNSUBSCRIBE_MAILTO"),
            },
        })
    }
}

/// The step in a `winback.step.due` event as EventBridge delivers it. Anything else is poison.
pub fn step_event(payload: &Value) -> Result<StepDue, HandlerError> {
    let event: EventBridgeEvent<StepDue> =
        serde_json::from_value(payload.clone()).map_err(|e| {
            HandlerError::poison(format!(
                "not a winback.step.due event from the bus ({e}); this function takes due steps"
            ))
        })?;
    Ok(event.detail)
}

/// Delivers one event on `channel`: the function's answer, or why not and whether a retry can
/// help.
pub async fn handle(
    deliverer: &Deliverer,
    channel: Channel,
    payload: &Value,
) -> Result<Value, HandlerError> {
    let event = step_event(payload)?;
    if event.channel != channel {
        return Err(HandlerError::poison(format!(
            "a {} step was routed to the {} function; check the bus rules",
            event.channel.name(),
            channel.name()
        )));
    }
    let delivered = deliverer.deliver(&event).await.map_err(|error| {
        let retryable = error.is_retryable();
        HandlerError::classified(error, retryable)
    })?;
    tracing::info!(
        tenant = %event.tenant_id,
        enrollment = %event.enrollment_id,
        step = event.step,
        result = ?delivered,
        "step delivery"
    );
    if delivered == Delivered::Busy {
        // Another delivery holds the step: if it sends, the retry finds it sent; if it died,
        // its lease has run out by the retry, which sends.
        return Err(HandlerError::retryable(
            "another delivery holds this step; the retry will find out how it went",
        ));
    }
    serde_json::to_value(delivered).map_err(HandlerError::poison)
}
