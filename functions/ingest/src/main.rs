//! The ingest function: API Gateway (HTTP API, payload v2) requests for `/v1/clients` and
//! `/v1/bookings`, handed to the shared routes on the DynamoDB store. Wiring only: the AWS
//! clients are built once at cold start and shared by every request.

mod config;

use std::sync::Arc;

use shared::adapters::aws::{dynamo::DynamoStore, sdk_config};
use shared::http::{Api, router};
use shared::ports::SystemClock;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .init();
    let config = config::Config::from_env()?;
    let sdk = sdk_config().await;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config.table,
    ));
    let api = Api::new(store, Arc::new(SystemClock));
    lambda_http::run(router(api)).await
}
