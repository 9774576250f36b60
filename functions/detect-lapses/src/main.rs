//! The detector function: each EventBridge schedule tick runs lapse detection for every tenant,
//! as of the tick's time. Wiring only: the rules are in `shared::app::detect`.
//!
//! A tenant that fails does not stop the others; the invocation then fails as a whole, so the
//! asynchronous retry (and after it the dead-letter queue) sees it. Runs are idempotent: the
//! retry redoes only what is left.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

use shared::adapters::aws::{dynamo::DynamoStore, env, function_sdk_config, init_logging};
use shared::adapters::clock;
use shared::app::detect::Detector;
use shared::lambda::tick_clock;
use shared::ports::{Clock, Store};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let table = env::required("TABLE_NAME")?;
    let sdk = function_sdk_config()?;
    let store: Arc<dyn Store> =
        Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table));
    let machine = clock::from_env()?;
    let (store, machine) = (&store, &machine);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        detect(Arc::clone(store), machine, event.payload).await
    }))
    .await
}

async fn detect(
    store: Arc<dyn Store>,
    machine: &Arc<dyn Clock>,
    event: Value,
) -> Result<Value, Error> {
    let detector = Detector::new(Arc::clone(&store), tick_clock(&event, machine));
    let mut reports = Vec::new();
    let mut failed = Vec::new();
    for (id, run) in detector.run_every_tenant().await? {
        match run {
            Ok(report) => {
                tracing::info!(
                    tenant = %id,
                    looked_at = report.looked_at,
                    enrolled = report.enrolled,
                    control = report.control,
                    deferred = report.deferred,
                    completed = report.completed,
                    skipped = ?report.skipped,
                    "detection run"
                );
                reports.push(report);
            }
            Err(error) => {
                tracing::error!(tenant = %id, %error, "detection run failed");
                failed.push(id.to_string());
            }
        }
    }
    if !failed.is_empty() {
        return Err(format!("detection failed for tenants {}", failed.join(", ")).into());
    }
    Ok(json!({ "runs": reports }))
}
