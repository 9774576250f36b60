//! The compiled `ingest` binary, driven through the Lambda runtime API harness with API
//! Gateway (HTTP API, payload v2) requests, against DynamoDB on moto: what it answers and what
//! it leaves in the table.

use shared::ports::TenantStore;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use shared::adapters::aws::dynamo::DynamoStore;
use shared::domain::config::BusinessConfig;
use shared::domain::ids::TenantId;
use shared::domain::tenant::{ApiKey, Tenant};
use shared::domain::time_zone::TimeZoneName;
use shared::testing::moto;
use system_tests::api_gateway::{reply, request};
use system_tests::runtime_api::{Harness, build_binary};

/// The items of client c-1's partition, as the table holds them.
async fn client_items(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<HashMap<String, AttributeValue>> {
    client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S("TENANT#salon-e2e#CLIENT#c-1".into()),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingest_binary_stores_clients_and_bookings_in_dynamodb() {
    let binary = build_binary("ingest");
    let account = moto::Account::fresh();
    let (client, table) = account.new_table().await;
    // The function's own access key: what it calls is held to its IAM policy below.
    let function = account.another_key();
    let store = DynamoStore::new(client.clone(), table.clone());
    let tenant = Tenant {
        id: TenantId::parse("salon-e2e").unwrap(),
        name: "Salon".into(),
        config: BusinessConfig {
            timezone: TimeZoneName::parse("Europe/London").unwrap(),
            ..BusinessConfig::default()
        },
        created_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        webhook_secrets: Vec::new(),
        paused: None,
    };
    store.create_tenant(&tenant).await.unwrap();
    let key = ApiKey::from_random([42; 32]);
    store.add_api_key(&tenant.id, &key.hash()).await.unwrap();
    let key = key.expose();

    let harness = Harness::start(
        &binary,
        &[&[("TABLE_NAME", table.as_str())], function.env().as_slice()].concat(),
    )
    .await;
    harness.wait_until_polling().await;

    let profile =
        json!({"name": "Ana Lopez", "email": "ana@example.com", "phone": "+447700900123"});
    let (status, body) = reply(
        harness
            .invoke(request("PUT", "/v1/clients/c-1", key, Some(&profile)))
            .await,
    );
    assert_eq!(
        (status, &body["outcome"]),
        (201, &json!("created")),
        "{body}"
    );

    let bookings = json!({"bookings": [
        {"id": "b1", "client_id": "c-1", "status": "completed", "starts_at": "2026-08-03T10:00:00+01:00",
         "updated_at": "2026-08-03T12:00:00Z", "services": [{"category": "hair", "name": "Cut", "price": "45.00"}]},
        {"id": "b2", "client_id": "c-1", "status": "completed", "starts_at": "2026-09-07T10:00:00+01:00",
         "updated_at": "2026-09-07T12:00:00Z", "services": [{"category": "hair", "name": "Cut", "price": 45},
                                                              {"category": "colour", "price": "80"}]}
    ]});
    let (status, body) = reply(
        harness
            .invoke(request("POST", "/v1/bookings", key, Some(&bookings)))
            .await,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][1]["outcome"], "created");
    // The same batch again is a no-op.
    let (_, body) = reply(
        harness
            .invoke(request("POST", "/v1/bookings", key, Some(&bookings)))
            .await,
    );
    assert_eq!(body["results"][0]["outcome"], "duplicate");

    // What the table holds: the profile, two bookings, two cadences with their watch keys.
    let items = client_items(&client, &table).await;
    let sks: Vec<&str> = items
        .iter()
        .map(|i| i["sk"].as_s().unwrap().as_str())
        .collect();
    assert_eq!(
        sks,
        [
            "BOOKING#b1",
            "BOOKING#b2",
            "CADENCE#colour",
            "CADENCE#hair",
            "PROFILE"
        ]
    );
    let hair: &HashMap<String, AttributeValue> = &items[3];
    assert!(
        hair["watch_pk"]
            .as_s()
            .unwrap()
            .starts_with("TENANT#salon-e2e#WATCH#")
    );
    let record = hair["record"].as_m().unwrap()["cadence"].as_m().unwrap();
    assert_eq!(record["visits"].as_n().unwrap(), "2");

    let (status, body) = reply(
        harness
            .invoke(request("GET", "/v1/clients/c-1", key, None))
            .await,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["categories"][1]["category"], "hair");
    assert_eq!(body["categories"][1]["visits"], 2);

    // Errors come back as problem+json through API Gateway too.
    let bad = json!({"id": "b3", "client_id": "c-1", "status": "teleported",
                     "starts_at": "2026-09-07T10:00:00Z", "updated_at": "2026-09-07T12:00:00Z",
                     "services": [{"category": "hair", "price": "-1"}]});
    let (status, body) = reply(
        harness
            .invoke(request("POST", "/v1/bookings", key, Some(&bad)))
            .await,
    );
    assert_eq!(status, 422);
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    let (status, _) = reply(
        harness
            .invoke(request("GET", "/v1/clients/c-1", "wbk_nope", None))
            .await,
    );
    assert_eq!(status, 401);

    let (status, _) = reply(
        harness
            .invoke(request("DELETE", "/v1/clients/c-1", key, None))
            .await,
    );
    assert_eq!(status, 204);
    assert!(client_items(&client, &table).await.is_empty());
    assert!(harness.init_error().is_none());

    // The logs are JSON, one object a line, with the route and status of each request and no
    // personal data: no name, email, phone or client id from any request.
    let request_lines = |logs: &[String]| -> Vec<Value> {
        logs.iter()
            .map(|line| serde_json::from_str::<Value>(line).expect("every log line is JSON"))
            .filter(|entry| entry["fields"]["message"] == "request")
            .collect()
    };
    // The log lines arrive through a pipe: give the last one a moment.
    let mut logs = harness.logs();
    for _ in 0..100 {
        if request_lines(&logs).len() == 7 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        logs = harness.logs();
    }
    let requests = request_lines(&logs);
    assert_eq!(requests.len(), 7, "one line per request: {logs:#?}");
    assert!(
        requests
            .iter()
            .any(|r| r["fields"]["route"] == "/v1/clients/{id}")
    );
    for secret in ["Ana", "ana@example.com", "+447700900123", "c-1", "b1", key] {
        assert!(
            logs.iter().all(|line| !line.contains(secret)),
            "{secret:?} appears in the logs: {logs:#?}"
        );
    }
    system_tests::iam::assert_allowed("ingest", &function.dynamodb_calls());
}
