//! What the two delivery functions (`send-email`, `send-sms`) share: their settings from the
//! environment, the step event out of its EventBridge envelope, and how a delivery's result
//! becomes the function's answer. A result worth another try is an error, so Lambda retries
//! the event and, after its last retry, puts it in the dead-letter queue with the reason.

use serde_json::Value;

use crate::adapters::aws::env;
use crate::app::deliver::{Delivered, Deliverer, DeliverySettings};
use crate::domain::channel::Channel;
use crate::domain::link_token::LinkKeys;
use crate::ports::{BoxError, StepDue};

/// A delivery function's settings: the table, the link keys, the sender address and the links'
/// base URL.
pub struct DeliveryEnvironment {
    pub table: String,
    pub keys: LinkKeys,
    pub settings: DeliverySettings,
}

impl DeliveryEnvironment {
    pub fn from_env() -> Result<DeliveryEnvironment, BoxError> {
        let keys = LinkKeys::from_setting(&env::required("LINK_SIGNING_KEYS")?)
            .map_err(|e| format!("LINK_SIGNING_KEYS: {e}"))?;
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

/// The step in a `winback.step.due` event as EventBridge delivers it.
pub fn step_event(payload: &Value) -> Result<StepDue, BoxError> {
    let detail = payload.get("detail").ok_or(
        "the event has no detail; this function takes winback.step.due events from the bus",
    )?;
    Ok(serde_json::from_value(detail.clone())
        .map_err(|e| format!("the event's detail is not a due step: {e}"))?)
}

/// Delivers one event on `channel`: the function's answer, or the error Lambda retries.
pub async fn handle(
    deliverer: &Deliverer,
    channel: Channel,
    payload: &Value,
) -> Result<Value, BoxError> {
    let event = step_event(payload)?;
    if event.channel != channel {
        return Err(format!(
            "a {} step was routed to the {} function; check the bus rules",
            event.channel.name(),
            channel.name()
        )
        .into());
    }
    let delivered = deliverer.deliver(&event).await?;
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
        return Err("another delivery holds this step; the retry will find out how it went".into());
    }
    Ok(serde_json::to_value(delivered)?)
}
