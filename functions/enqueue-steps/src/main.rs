//! The step-queue function: each EventBridge schedule tick (every few minutes) claims the steps
//! whose send time has come and publishes them to the project's bus. Wiring only: the rules
//! are in `shared::app::enqueue`.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use shared::adapters::aws::eventbridge::EventBridgePublisher;
use shared::adapters::aws::{dynamo::DynamoStore, env, function_sdk_config, init_logging};
use shared::adapters::clock;
use shared::app::enqueue::Enqueuer;
use shared::lambda::tick_clock;
use shared::ports::{Clock, EventPublisher, Store};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let table = env::required("TABLE_NAME")?;
    let bus = env::required("EVENT_BUS_NAME")?;
    let sdk = function_sdk_config()?;
    let store: Arc<dyn Store> =
        Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table));
    let publisher: Arc<dyn EventPublisher> = Arc::new(EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        bus,
    ));
    let machine: Arc<dyn Clock> = clock::from_env()?;
    let (store, publisher, machine) = (&store, &publisher, &machine);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let clock = tick_clock(&event.payload, machine);
        let report = Enqueuer::new(Arc::clone(store), Arc::clone(publisher), clock)
            .run()
            .await?;
        tracing::info!(
            due = report.due,
            claimed = report.claimed,
            published = report.published,
            released = report.released,
            publish_calls = report.publish_calls,
            "step queue run"
        );
        Ok::<_, Error>(serde_json::to_value(report)?)
    }))
    .await
}
