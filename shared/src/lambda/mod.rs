//! The event-driven functions as Lambda handlers (the `lambda` feature): their events decoded
//! with `aws_lambda_events` (the EventBridge envelope of a due step or a schedule tick, the SNS
//! envelope of feedback), and what becomes of a failure.
//!
//! A handler fails with a [`HandlerError`] that says whether another try can help. A retryable
//! one fails the invocation: Lambda retries the event and, after its last retry, puts it in the
//! dead-letter queue. A poison event (one no retry will change: a malformed event, a step routed
//! to the wrong function, a template that does not render) is not retried: [`DeadLetters`]
//! puts it in the dead-letter queue at once, with the diagnostic, in the shape Lambda's own
//! on-failure records have, and the invocation succeeds.

pub mod delivery;
pub mod feedback;

use std::sync::Arc;

use lambda_runtime::{Context, Diagnostic};
use serde_json::{Value, json};

use crate::adapters::aws::env::{self, MissingSetting};
use crate::ports::{BoxError, Clock, FixedClock};

/// Why a handler could not finish with an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth another try (a store or provider unavailable, a step another delivery holds).
    #[error(transparent)]
    Retryable(BoxError),
    /// No retry will change it: dead-lettered at once.
    #[error(transparent)]
    Poison(BoxError),
}

impl HandlerError {
    pub fn retryable(error: impl Into<BoxError>) -> HandlerError {
        HandlerError::Retryable(error.into())
    }

    pub fn poison(error: impl Into<BoxError>) -> HandlerError {
        HandlerError::Poison(error.into())
    }

    /// A use case's error, retryable or poison as the use case says.
    pub fn classified(error: impl Into<BoxError>, retryable: bool) -> HandlerError {
        if retryable {
            HandlerError::retryable(error)
        } else {
            HandlerError::poison(error)
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, HandlerError::Retryable(_))
    }

    /// The `errorType` the function reports: `Retryable` or `Poison`.
    pub fn kind(&self) -> &'static str {
        match self {
            HandlerError::Retryable(_) => "Retryable",
            HandlerError::Poison(_) => "Poison",
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Diagnostic {
        Diagnostic {
            error_type: error.kind().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// The dead-letter queue a function puts poison events in.
pub struct DeadLetters {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl DeadLetters {
    /// The queue named by `DEAD_LETTER_QUEUE_URL`.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<DeadLetters, MissingSetting> {
        Ok(DeadLetters {
            sqs: aws_sdk_sqs::Client::new(sdk),
            queue_url: env::required("DEAD_LETTER_QUEUE_URL")?,
        })
    }

    /// What the invocation answers: the handler's result, except that a poison event is put in
    /// the dead-letter queue and answered with what was wrong (so Lambda does not retry it). If
    /// the queue cannot be reached, the invocation fails and is retried like any other.
    pub async fn settle(
        &self,
        context: &Context,
        payload: &Value,
        result: Result<Value, HandlerError>,
    ) -> Result<Value, HandlerError> {
        let error = match result {
            Err(error @ HandlerError::Poison(_)) => error,
            other => return other,
        };
        let record = dead_letter(context, payload, &error);
        self.sqs
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(record.to_string())
            .send()
            .await
            .map_err(HandlerError::retryable)?;
        tracing::error!(%error, "a poison event was put in the dead-letter queue");
        Ok(json!({ "dead_lettered": error.to_string() }))
    }
}

/// A poison event as the dead-letter queue keeps it: the shape of Lambda's on-failure records,
/// so the queue holds one kind of record whoever put it there.
pub fn dead_letter(context: &Context, payload: &Value, error: &HandlerError) -> Value {
    json!({
        "version": "1.0",
        "requestContext": {
            "requestId": context.request_id,
            "functionArn": context.invoked_function_arn,
            "condition": "PoisonEvent",
            "approximateInvokeCount": 1,
        },
        "requestPayload": payload,
        "responseContext": { "functionError": "Handled" },
        "responsePayload": { "errorType": error.kind(), "errorMessage": error.to_string() },
    })
}

/// The clock of a scheduled run: the `time` of the EventBridge schedule event that started it
/// (so a late or retried tick still runs as of its own time), or the process's clock
/// (`otherwise`) for an event without one (a run started by hand).
pub fn tick_clock(event: &Value, otherwise: &Arc<dyn Clock>) -> Arc<dyn Clock> {
    let tick: Option<aws_lambda_events::eventbridge::EventBridgeEvent> =
        serde_json::from_value(event.clone()).ok();
    let time = tick
        .and_then(|tick| tick.time)
        .and_then(|time| jiff::Timestamp::from_millisecond(time.timestamp_millis()).ok());
    match time {
        Some(time) => Arc::new(FixedClock(time)),
        None => Arc::clone(otherwise),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_runs_as_of_its_own_time_and_a_hand_started_run_as_of_the_process_clock() {
        let machine: Arc<dyn Clock> = Arc::new(FixedClock("2030-03-04T08:00:00Z".parse().unwrap()));
        let tick = json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-06-01T05:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/winback-detect"],
            "detail": {}
        });
        assert_eq!(
            tick_clock(&tick, &machine).now(),
            "2026-06-01T05:00:00Z".parse::<jiff::Timestamp>().unwrap()
        );
        assert_eq!(tick_clock(&json!({}), &machine).now(), machine.now());
    }

    #[test]
    fn a_poison_event_is_dead_lettered_with_its_diagnostic_in_lambda_s_record_shape() {
        let error = HandlerError::poison("the event's detail is not a due step");
        let record = dead_letter(&Context::default(), &json!({"detail": 1}), &error);
        assert_eq!(record["requestPayload"], json!({"detail": 1}));
        assert_eq!(record["responsePayload"]["errorType"], "Poison");
        assert_eq!(
            record["responsePayload"]["errorMessage"],
            "the event's detail is not a due step"
        );
        let diagnostic = Diagnostic::from(HandlerError::retryable("busy"));
        assert_eq!(diagnostic.error_type, "Retryable");
        assert_eq!(diagnostic.error_message, "busy");
    }
}
