//! The scheduled functions end to end against moto: bookings go in through the `ingest`
//! binary, the `detect-lapses` binary runs as of a later day (the schedule event's time), the
//! `enqueue-steps` binary publishes the due step to the project's bus, and the event is read
//! back from the SQS queue a channel rule targets. Also: two detectors at once on DynamoDB
//! still enroll each client once.

use std::sync::Arc;

use serde_json::{Value, json};

use shared::adapters::aws::dynamo::DynamoStore;
use shared::app::detect::Detector;
use shared::domain::config::{BusinessConfig, TimeZoneName};
use shared::domain::ids::{ClientId, TenantId};
use shared::domain::tenant::{ApiKey, Tenant};
use shared::ports::{FixedClock, Store};
use shared::testing::moto;
use system_tests::api_gateway::{reply, request};
use system_tests::runtime_api::{Harness, Outcome, build_binary};

const AWS_ENV: [(&str, &str); 4] = [
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("RUST_LOG", "info"),
];

fn tenant(id: &str) -> Tenant {
    let mut config = BusinessConfig {
        timezone: TimeZoneName::parse("Europe/London").unwrap(),
        ..BusinessConfig::default()
    };
    config.outreach.control_share = 0.0;
    Tenant {
        id: TenantId::parse(id).unwrap(),
        name: "Salon".into(),
        config,
        created_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        webhook_secrets: Vec::new(),
    }
}

/// The schedule event `sam local generate-event cloudwatch scheduled-event` writes, at `time`.
fn tick(function: &str, time: &str) -> Value {
    let fixture = std::fs::read_to_string(
        system_tests::repo().join(format!("functions/{function}/events/scheduled.json")),
    )
    .unwrap();
    let mut event: Value = serde_json::from_str(&fixture).unwrap();
    event["time"] = json!(time);
    event
}

fn response(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Response(value) => value,
        Outcome::Error(error) => panic!("the function failed: {error}"),
    }
}

async fn start(binary: &str, env: &[(&str, &str)]) -> Harness {
    let path = build_binary(binary);
    let mut all: Vec<(&str, &str)> = AWS_ENV.to_vec();
    all.push(("AWS_ENDPOINT_URL", moto::endpoint()));
    all.extend_from_slice(env);
    let harness = Harness::start(&path, &all).await;
    harness.wait_until_polling().await;
    harness
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapse_found_by_the_detector_reaches_the_bus_as_an_email_step() {
    let (dynamo, table) = moto::new_table().await;
    let store = DynamoStore::new(dynamo.clone(), table.clone());
    let salon = tenant("salon-flow");
    store.create_tenant(&salon).await.unwrap();
    let key = ApiKey::from_random([7; 32]);
    store.add_api_key(&salon.id, &key.hash()).await.unwrap();
    let key = key.expose();

    // The bus, and a rule sending its email steps to a queue, as the template wires them.
    let sdk = moto::sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let bus = format!("winback-{table}");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let queue = sqs
        .create_queue()
        .queue_name(format!("email-{table}"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let template = std::fs::read_to_string(system_tests::repo().join("template.yaml")).unwrap();
    assert!(
        template.contains("            - email"),
        "the template routes email steps"
    );
    events
        .put_rule()
        .name(format!("email-{table}"))
        .event_bus_name(&bus)
        .event_pattern(
            json!({"source": ["winback"], "detail-type": ["winback.step.due"],
                   "detail": {"channel": ["email"]}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(format!("email-{table}"))
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("email-delivery")
                .arn(&queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // A four-weekly client with email consent, last seen ten days ago (the ingest binary runs on
    // the machine's clock); the detector then runs as of forty days from now.
    let london = jiff::tz::TimeZone::get("Europe/London").unwrap();
    let today = london.to_datetime(jiff::Timestamp::now()).date();
    let on = |days: i64| today.checked_add(jiff::Span::new().days(days)).unwrap();
    let later = on(40);
    let first_send = london
        .to_ambiguous_timestamp(later.at(9, 0, 0, 0))
        .compatible()
        .unwrap();
    let at = |t: jiff::Timestamp, minutes: i64| {
        t.checked_add(jiff::Span::new().minutes(minutes))
            .unwrap()
            .to_string()
    };
    let ingest = start("ingest", &[("TABLE_NAME", &table)]).await;
    let profile = json!({"name": "Ana Lopez", "email": "ana@example.com",
        "consent": {"email": {"granted": true, "source": "booking form", "at": "2026-01-01T00:00:00Z"}}});
    let (status, body) = reply(
        ingest
            .invoke(request("PUT", "/v1/clients/c-1", key, Some(&profile)))
            .await,
    );
    assert_eq!(status, 201, "{body}");
    let visits: Vec<Value> = [on(-66), on(-38), on(-10)]
        .iter()
        .enumerate()
        .map(|(i, on)| {
            json!({"id": format!("b{i}"), "client_id": "c-1", "status": "completed",
                   "starts_at": format!("{on}T10:00:00Z"), "updated_at": format!("{on}T12:00:00Z"),
                   "services": [{"category": "hair", "name": "Cut", "price": "45.00"}]})
        })
        .collect();
    let (status, body) = reply(
        ingest
            .invoke(request(
                "POST",
                "/v1/bookings",
                key,
                Some(&json!({"bookings": visits})),
            ))
            .await,
    );
    assert_eq!(status, 200, "{body}");

    // Today she is not overdue: the detector leaves her be.
    let detector = start("detect-lapses", &[("TABLE_NAME", &table)]).await;
    let now = response(
        detector
            .invoke(tick("detect-lapses", &jiff::Timestamp::now().to_string()))
            .await,
    );
    assert_eq!(now["runs"][0]["enrolled"], 0, "{now}");
    // Forty days on, before the morning window opens, she has lapsed.
    let dawn = jiff::tz::TimeZone::UTC
        .to_ambiguous_timestamp(later.at(5, 0, 0, 0))
        .compatible()
        .unwrap();
    let result = response(
        detector
            .invoke(tick("detect-lapses", &dawn.to_string()))
            .await,
    );
    let run = &result["runs"][0];
    assert_eq!(run["enrolled"], 1, "{result}");
    // A second tick the same day finds nothing new.
    let again = response(detector.invoke(tick("detect-lapses", &at(dawn, 60))).await);
    assert_eq!(again["runs"][0]["enrolled"], 0, "{again}");

    // The step queue, once the first message's time (09:00 in London) has come.
    let queue_fn = start(
        "enqueue-steps",
        &[("TABLE_NAME", &table), ("EVENT_BUS_NAME", &bus)],
    )
    .await;
    let early = response(
        queue_fn
            .invoke(tick("enqueue-steps", &at(first_send, -5)))
            .await,
    );
    assert_eq!(early["published"], 0, "not before its time: {early}");
    let report = response(
        queue_fn
            .invoke(tick("enqueue-steps", &at(first_send, 5)))
            .await,
    );
    assert_eq!(report["published"], 1, "{report}");
    assert_eq!(report["publish_calls"], 1);
    let twice = response(
        queue_fn
            .invoke(tick("enqueue-steps", &at(first_send, 10)))
            .await,
    );
    assert_eq!(twice["claimed"], 0, "a step is queued once: {twice}");

    let messages = sqs
        .receive_message()
        .queue_url(&queue)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(messages.len(), 1);
    let body = messages[0].body().unwrap();
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["detail-type"], "winback.step.due");
    assert_eq!(event["source"], "winback");
    let detail = &event["detail"];
    assert_eq!(detail["tenant_id"], "salon-flow");
    assert_eq!(detail["client_id"], "c-1");
    assert_eq!(detail["channel"], "email");
    assert_eq!(detail["step"], 0);
    assert_eq!(detail["send_at"], first_send.to_string());
    for personal in ["Ana", "ana@example.com"] {
        assert!(!body.contains(personal), "{personal} in the event: {body}");
    }
    for harness in [&ingest, &detector, &queue_fn] {
        assert!(harness.init_error().is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_detectors_at_once_on_dynamodb_enroll_each_client_once() {
    let (dynamo, table) = moto::new_table().await;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(dynamo, table));
    let salon = tenant("salon-race");
    store.create_tenant(&salon).await.unwrap();
    let mut profiles = Vec::new();
    for i in 0..8 {
        let id = ClientId::parse(&format!("c{i}")).unwrap();
        let mut profile = shared::domain::client::ClientProfile::new(id.clone());
        profile.email = Some(
            shared::domain::contact::EmailAddress::parse(&format!("c{i}@example.com")).unwrap(),
        );
        profile.consent.email = Some(shared::domain::client::Consent {
            granted: true,
            source: "import".into(),
            at: "2026-01-01T00:00:00Z".parse().unwrap(),
        });
        store.upsert_client(&salon.id, &profile).await.unwrap();
        let visits: Vec<_> = ["2026-06-08", "2026-07-06", "2026-08-03"]
            .iter()
            .enumerate()
            .map(|(n, on)| {
                shared::testing::store_contract::booking(&format!("b{i}-{n}"), &format!("c{i}"), on)
                    .build()
            })
            .collect();
        store
            .import_history(
                &salon,
                &id,
                &visits,
                shared::testing::store_contract::day("2026-08-03"),
            )
            .await
            .unwrap();
        profiles.push(id);
    }
    let clock = Arc::new(FixedClock("2026-10-05T06:00:00Z".parse().unwrap()));
    let a = Detector::new(Arc::clone(&store), clock.clone());
    let b = Detector::new(Arc::clone(&store), clock);
    let (ra, rb) = tokio::join!(a.run(&salon), b.run(&salon));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.enrolled + rb.enrolled, 8, "{ra:?} {rb:?}");
    for id in &profiles {
        let record = store.client(&salon.id, id).await.unwrap().unwrap();
        assert!(record.outreach.active.is_some());
        assert_eq!(record.outreach_version, 1, "written once");
    }
    let due = store
        .due_steps(&salon.id, "2026-12-01T00:00:00Z".parse().unwrap(), 100)
        .await
        .unwrap();
    assert_eq!(due.len(), 8, "one first step per client");
}
