//! The ingest function's cold start (process start until it asks the runtime API for its first
//! event) and a warm request (GET /v1/clients/{id} through API Gateway v2 payloads), for the
//! release build of the binary, against DynamoDB on moto, through the harness the end-to-end
//! tests use. Medians of repeated runs.
//!
//!     cargo bench -p system-tests --bench ingest_latency

use shared::ports::TenantStore;
use std::time::{Duration, Instant};

use serde_json::json;
use shared::adapters::aws::dynamo::DynamoStore;
use shared::domain::config::BusinessConfig;
use shared::domain::ids::TenantId;
use shared::domain::tenant::{ApiKey, Tenant};
use shared::testing::moto;
use system_tests::runtime_api::{Harness, Outcome, build_release_binary};

const COLD_STARTS: usize = 31;
const WARM_REQUESTS: usize = 301;

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let binary = build_release_binary("ingest");
    let account = moto::Account::fresh();
    let (client, table) = account.new_table().await;
    let store = DynamoStore::new(client, table.clone());
    let tenant = Tenant {
        id: TenantId::parse("bench").unwrap(),
        name: "Bench".into(),
        config: BusinessConfig::default(),
        created_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        webhook_secrets: Vec::new(),
        paused: None,
    };
    store.create_tenant(&tenant).await.unwrap();
    let key = ApiKey::from_random([5; 32]);
    store.add_api_key(&tenant.id, &key.hash()).await.unwrap();
    let env = [&[("TABLE_NAME", table.as_str())], account.env().as_slice()].concat();

    let mut cold = Vec::new();
    for _ in 0..COLD_STARTS {
        let harness = Harness::start(&binary, &env).await;
        cold.push(harness.wait_until_polling().await);
    }

    let harness = Harness::start(&binary, &env).await;
    harness.wait_until_polling().await;
    let fixture = std::fs::read_to_string(
        system_tests::repo().join("functions/ingest/events/http-api-proxy.json"),
    )
    .unwrap();
    let mut event: serde_json::Value = serde_json::from_str(&fixture).unwrap();
    for unused in ["cookies", "queryStringParameters", "pathParameters", "body"] {
        event.as_object_mut().unwrap().remove(unused);
    }
    event["rawPath"] = json!("/v1/clients/c-1");
    event["rawQueryString"] = json!("");
    event["isBase64Encoded"] = json!(false);
    event["requestContext"]["http"]["method"] = json!("GET");
    event["requestContext"]["http"]["path"] = json!("/v1/clients/c-1");
    event["headers"] = json!({"authorization": format!("Bearer {}", key.expose())});
    let mut warm = Vec::new();
    for _ in 0..WARM_REQUESTS {
        let started = Instant::now();
        let Outcome::Response(response) = harness.invoke(event.clone()).await else {
            panic!("the function failed")
        };
        warm.push(started.elapsed());
        assert_eq!(response["statusCode"], 404);
    }
    let size = std::fs::metadata(&binary).unwrap().len();
    println!("binary: {} ({:.1} MB)", binary.display(), size as f64 / 1e6);
    println!(
        "cold start, median of {COLD_STARTS}: {:.1} ms",
        median(cold).as_secs_f64() * 1e3
    );
    println!(
        "warm GET /v1/clients/{{id}} (API key lookup, tenant, client query on moto), median of {WARM_REQUESTS}: {:.2} ms",
        median(warm).as_secs_f64() * 1e3
    );
}
