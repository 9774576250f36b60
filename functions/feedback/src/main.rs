//! The feedback function: subscribed to the SES events topic (bounces and complaints from the
//! configuration set) and to the inbound SMS topic. Each notice goes to the feedback use case
//! (`shared::app::feedback`); wiring only.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use shared::adapters::aws::sns::SnsSender;
use shared::adapters::aws::{dynamo::DynamoStore, env, function_sdk_config, init_logging};
use shared::adapters::clock;
use shared::app::feedback::Feedback;
use shared::lambda::DeadLetters;
use shared::ports::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let table = env::required("TABLE_NAME")?;
    let sdk = function_sdk_config()?;
    let store: Arc<dyn Store> =
        Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table));
    let feedback = Feedback::new(
        store,
        Arc::new(SnsSender::new(aws_sdk_sns::Client::new(&sdk))),
        clock::from_env()?,
    );
    let dead_letters = DeadLetters::from_env(&sdk)?;
    let (feedback, dead_letters) = (&feedback, &dead_letters);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let result = shared::lambda::feedback::handle(feedback, &event.payload).await;
        dead_letters
            .settle(&event.context, &event.payload, result)
            .await
    }))
    .await
}
