//! The in-process bus of the local server: due steps are handed to whoever listens (delivery,
//! in the local server) through a channel, in place of EventBridge.

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::ports::{BoxError, EventPublisher, MAX_EVENTS_PER_PUBLISH, StepDue};

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
    async fn publish(&self, events: &[StepDue]) -> Result<Vec<usize>, BoxError> {
        if events.len() > MAX_EVENTS_PER_PUBLISH {
            return Err(format!("{} events in one call", events.len()).into());
        }
        for event in events {
            self.sender
                .send(event.clone())
                .map_err(|_| "the local bus has no listener")?;
        }
        Ok(Vec::new())
    }
}
