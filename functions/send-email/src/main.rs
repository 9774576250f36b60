//! The email-delivery function: the target of the bus rule for due email steps. Each event is
//! one step: taken under a lease, checked against the client as they are now, rendered with
//! signed links, sent through SES (Raw MIME with one-click unsubscribe, the configuration set,
//! tags), recorded, and the next step scheduled. Wiring only: the rules are in
//! `shared::app::deliver`.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use shared::adapters::aws::ses::SesSender;
use shared::adapters::aws::{dynamo::DynamoStore, env, function_sdk_config, init_logging};
use shared::adapters::clock;
use shared::app::deliver::{Deliverer, Senders};
use shared::domain::channel::Channel;
use shared::lambda::DeadLetters;
use shared::lambda::delivery::{self, DeliveryEnvironment};
use shared::ports::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let environment = DeliveryEnvironment::from_env()?;
    let sdk = function_sdk_config()?;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        environment.table,
    ));
    let deliverer = Deliverer::new(
        store,
        Senders::email(Arc::new(SesSender::new(
            aws_sdk_sesv2::Client::new(&sdk),
            env::optional("SES_CONFIGURATION_SET"),
        ))),
        environment.keys,
        clock::from_env()?,
        environment.settings,
    );
    let dead_letters = DeadLetters::from_env(&sdk)?;
    let (deliverer, dead_letters) = (&deliverer, &dead_letters);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let result = delivery::handle(deliverer, Channel::Email, &event.payload).await;
        dead_letters
            .settle(&event.context, &event.payload, result)
            .await
    }))
    .await
}
