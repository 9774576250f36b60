//! The feedback function: subscribed to the SES events topic (bounces and complaints from the
//! configuration set) and to the inbound SMS topic. Each notice goes to the feedback use case
//! (`shared::app::feedback`); wiring only.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

use shared::adapters::aws::feedback::{Notice, notices};
use shared::adapters::aws::sns::SnsSender;
use shared::adapters::aws::{dynamo::DynamoStore, env, init_logging, sdk_config};
use shared::app::feedback::Feedback;
use shared::ports::SystemClock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let table = env::required("TABLE_NAME")?;
    let sdk = sdk_config().await;
    let feedback = Feedback::new(
        Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)),
        Arc::new(SnsSender::new(aws_sdk_sns::Client::new(&sdk))),
        Arc::new(SystemClock),
    );
    let feedback = &feedback;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let mut handled = Vec::new();
        for notice in notices(&event.payload)? {
            let result = match &notice {
                Notice::Mail(mail) => feedback.mail(mail).await?,
                Notice::Sms(sms) => feedback.sms(sms).await?,
                Notice::Other(what) => {
                    tracing::info!(notice = %what, "nothing to do");
                    continue;
                }
            };
            handled.push(result);
        }
        Ok::<_, Error>(json!({ "handled": handled }))
    }))
    .await
}
