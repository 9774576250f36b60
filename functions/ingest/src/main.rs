//! The ingest function: API Gateway (HTTP API, payload v2) requests for the `/v1` routes,
//! handed to the shared routes on the DynamoDB store. Wiring only: the AWS clients are built
//! once at cold start and shared by every request.

use std::sync::Arc;

use shared::adapters::aws::{dynamo::DynamoStore, env, function_sdk_config, init_logging};
use shared::adapters::clock;
use shared::domain::contact::Sender;
use shared::http::{Api, router};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let table = env::required("TABLE_NAME")?;
    let sdk = function_sdk_config()?;
    let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table));
    // The stack's verified sender: a business's own sender address must be at its domain.
    let sending_domain = env::optional("EMAIL_FROM")
        .map(|from| Sender::parse(&from).map(|sender| sender.address.domain().to_owned()))
        .transpose()?;
    let api = Api::sending_from(store, clock::from_env()?, sending_domain);
    lambda_http::run(router(api)).await
}
