//! The links function: API Gateway (HTTP API, payload v2) requests for `/r/{token}` (rebook)
//! and `/u/{token}` (opt-out page and one-click unsubscribe), handed to the shared link pages
//! on the DynamoDB store. Wiring only.

use std::sync::Arc;

use shared::adapters::aws::{dynamo::DynamoStore, env, function_sdk_config, init_logging};
use shared::adapters::clock;
use shared::app::links::Links;
use shared::domain::link_token::LinkKeys;
use shared::http::links_router;
use shared::ports::Store;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let table = env::required("TABLE_NAME")?;
    let keys = LinkKeys::from_setting(&env::required("LINK_SIGNING_KEYS")?)
        .map_err(|e| format!("LINK_SIGNING_KEYS: {e}"))?;
    let sdk = function_sdk_config()?;
    let store: Arc<dyn Store> =
        Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table));
    let links = Arc::new(Links::new(store, clock::from_env()?, keys));
    lambda_http::run(links_router(links)).await
}
