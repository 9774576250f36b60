//! The in-process bus of the local server: due steps are handed to whoever listens (delivery,
//! in the local server) through a channel, in place of EventBridge.

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::ports::{EventPublisher, MAX_EVENTS_PER_PUBLISH, PublishError, StepDue};

pub struct InProcessBus {
    sender: mpsc::UnboundedSender<StepDue>,
}

impl InProcessBus {
    /// A bus and the receiving end of its events.
    pub fn new() -> (InProcessBus, mpsc::UnboundedReceiver<StepDue>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (InProcessBus { sender }, receiver)
    }
}

#[async_trait]
impl EventPublisher for InProcessBus {
    async fn publish(&self, events: &[StepDue]) -> Result<Vec<usize>, PublishError> {
        if events.len() > MAX_EVENTS_PER_PUBLISH {
            return Err(PublishError::TooMany(events.len()));
        }
        for event in events {
            self.sender
                .send(event.clone())
                .map_err(|e| PublishError::Unavailable(Box::new(e)))?;
        }
        Ok(Vec::new())
    }
}
