//! The EventBridge publisher: due steps as `winback.step.due` events on the project's bus,
//! at most ten entries per PutEvents call (EventBridge's limit, enforced here because local
//! emulators do not), reporting which entries were refused so the caller retries only those.

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::ports::{EventPublisher, MAX_EVENTS_PER_PUBLISH, PublishError, StepDue};

pub struct EventBridgePublisher {
    client: Client,
    bus: String,
}

impl EventBridgePublisher {
    pub fn new(client: Client, bus: impl Into<String>) -> EventBridgePublisher {
        EventBridgePublisher {
            client,
            bus: bus.into(),
        }
    }
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: &[StepDue]) -> Result<Vec<usize>, PublishError> {
        if events.len() > MAX_EVENTS_PER_PUBLISH {
            return Err(PublishError::TooMany(events.len()));
        }
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let entries = events
            .iter()
            .map(|event| {
                Ok(PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(StepDue::SOURCE)
                    .detail_type(StepDue::DETAIL_TYPE)
                    .detail(serde_json::to_string(event)?)
                    .build())
            })
            .collect::<Result<Vec<_>, serde_json::Error>>()
            .map_err(|e| PublishError::Encode(Box::new(e)))?;
        let output = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| PublishError::Unavailable(Box::new(e)))?;
        if output.failed_entry_count() == 0 {
            return Ok(Vec::new());
        }
        // Entries come back in request order; a refused one carries an error code.
        Ok(output
            .entries()
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.error_code().is_some())
            .map(|(i, _)| i)
            .collect())
    }
}
