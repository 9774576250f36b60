//! The scheduled functions end to end against moto: bookings go in through the `ingest`
//! binary, the `detect-lapses` binary runs as of a later day (the schedule event's time), the
//! `enqueue-steps` binary publishes the due step to the project's bus, and the event is read
//! back from the SQS queue a channel rule targets. Also: two detectors at once on DynamoDB
//! still enroll each client once.

use shared::ports::{ClientStore, ConsentStore, TenantStore};
use std::sync::Arc;

use serde_json::{Value, json};

use shared::adapters::aws::dynamo::DynamoStore;
use shared::app::detect::Detector;
use shared::domain::config::BusinessConfig;
use shared::domain::ids::{ClientId, TenantId};
use shared::domain::tenant::{ApiKey, Tenant};
use shared::domain::time_zone::TimeZoneName;
use shared::ports::{FixedClock, Store};
use shared::testing::moto;
use system_tests::api_gateway::{page_reply, page_request, reply, request};
use system_tests::runtime_api::{Harness, Outcome, build_binary};

/// The day the tests' businesses call today: a fixed one, so no test depends on the date it
/// runs (the function binaries run on a clock started where each test says). Months after the
/// businesses were created (2026-01-01), as in life: the detector's first run reads the watch
/// index from then.
fn today() -> jiff::civil::Date {
    jiff::civil::date(2026, 6, 1)
}

/// `hour` o'clock in London on `date`, as an instant.
fn london(date: jiff::civil::Date, hour: i8) -> String {
    jiff::tz::TimeZone::get("Europe/London")
        .unwrap()
        .to_ambiguous_timestamp(date.at(hour, 0, 0, 0))
        .compatible()
        .unwrap()
        .to_string()
}

/// The day `days` after [`today`] (before it, if negative).
fn on(days: i64) -> jiff::civil::Date {
    today().checked_add(jiff::Span::new().days(days)).unwrap()
}

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
        paused: None,
    }
}

/// Every DynamoDB call the functions started in `account` made is one the template's IAM
/// policies allow them, as AWS would authorise it.
fn assert_calls_allowed(account: &moto::Account) {
    let started: Vec<(String, moto::Account)> = STARTED
        .lock()
        .unwrap()
        .iter()
        .filter(|(id, _, _)| *id == account.id)
        .map(|(_, binary, key)| (binary.clone(), key.clone()))
        .collect();
    assert!(!started.is_empty());
    for (binary, key) in started {
        system_tests::iam::assert_allowed(&binary, &key.dynamodb_calls());
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

/// The project's bus with each channel's rule sending its steps to a queue (moto's EventBridge
/// delivers to SQS, never to a Lambda), as the template wires the rules: (bus, email queue URL,
/// SMS queue URL).
async fn bus_with_queues(account: &moto::Account, table: &str) -> (String, String, String) {
    let sdk = account.sdk_config().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let bus = format!("winback-{table}");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let mut queues = Vec::new();
    for channel in ["email", "sms"] {
        let queue = sqs
            .create_queue()
            .queue_name(format!("{channel}-{table}"))
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
        let rule = format!("{channel}-{table}");
        events
            .put_rule()
            .name(&rule)
            .event_bus_name(&bus)
            .event_pattern(
                json!({"source": ["winback"], "detail-type": ["winback.step.due"],
                       "detail": {"channel": [channel]}})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        events
            .put_targets()
            .rule(&rule)
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id(format!("{channel}-delivery"))
                    .arn(&queue_arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        queues.push(queue);
    }
    let sms = queues.pop().unwrap();
    let email = queues.pop().unwrap();
    (bus, email, sms)
}

/// A dead-letter queue for the functions started in one test: its URL.
async fn dead_letter_queue(account: &moto::Account, table: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(&account.sdk_config().await);
    sqs.create_queue()
        .queue_name(format!("dead-letters-{table}"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

/// The events waiting in a queue, taken off it.
async fn take_events(account: &moto::Account, queue: &str) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(&account.sdk_config().await);
    let mut events = Vec::new();
    loop {
        let messages = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return events;
        }
        for message in messages {
            events.push(serde_json::from_str(message.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// A client put through the `ingest` binary, with a completed hair visit on each of `days`.
async fn regular_client(
    ingest: &Harness,
    key: &str,
    id: &str,
    profile: &Value,
    days: &[jiff::civil::Date],
) {
    let (status, body) = reply(
        ingest
            .invoke(request(
                "PUT",
                &format!("/v1/clients/{id}"),
                key,
                Some(profile),
            ))
            .await,
    );
    assert_eq!(status, 201, "{body}");
    let visits: Vec<Value> = days
        .iter()
        .enumerate()
        .map(|(i, day)| {
            json!({"id": format!("{id}-{i}"), "client_id": id, "status": "completed",
                   "starts_at": format!("{day}T10:00:00Z"), "updated_at": format!("{day}T12:00:00Z"),
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
}

/// The function binaries each test started: (account, binary, the binary's own access key).
static STARTED: std::sync::Mutex<Vec<(String, String, moto::Account)>> =
    std::sync::Mutex::new(Vec::new());

/// A function binary working in `account` with an access key of its own, its clock started
/// at `at`.
async fn start(account: &moto::Account, at: &str, binary: &str, env: &[(&str, &str)]) -> Harness {
    let path = build_binary(binary);
    let own = account.another_key();
    STARTED
        .lock()
        .unwrap()
        .push((account.id.clone(), binary.to_owned(), own.clone()));
    let mut all = own.env();
    all.push(("RUST_LOG", "info"));
    all.push((shared::adapters::clock::CLOCK_START, at));
    all.extend_from_slice(env);
    let harness = Harness::start(&path, &all).await;
    harness.wait_until_polling().await;
    harness
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapse_found_by_the_detector_reaches_the_bus_as_an_email_step() {
    let account = moto::Account::fresh();
    let (dynamo, table) = account.new_table().await;
    let store = DynamoStore::new(dynamo.clone(), table.clone());
    let salon = tenant("salon-flow");
    store.create_tenant(&salon).await.unwrap();
    let key = ApiKey::from_random([7; 32]);
    store.add_api_key(&salon.id, &key.hash()).await.unwrap();
    let key = key.expose();

    // The bus, and a rule per channel sending its steps to a queue.
    let (bus, queue, _) = bus_with_queues(&account, &table).await;
    let template = std::fs::read_to_string(system_tests::repo().join("template.yaml")).unwrap();
    assert!(
        template.contains("            - email"),
        "the template routes email steps"
    );

    // A four-weekly client with email consent, last seen ten days ago; the detector then runs as
    // of forty days on.
    let later = on(40);
    let first_send: jiff::Timestamp = london(later, 9).parse().unwrap();
    let at = |t: jiff::Timestamp, minutes: i64| {
        t.checked_add(jiff::Span::new().minutes(minutes))
            .unwrap()
            .to_string()
    };
    let noon = london(today(), 12);
    let ingest = start(&account, &noon, "ingest", &[("TABLE_NAME", &table)]).await;
    let profile = json!({"name": "Ana Lopez", "email": "ana@example.com",
        "consent": {"email": {"granted": true, "source": "booking form", "at": "2026-01-01T00:00:00Z"}}});
    regular_client(&ingest, key, "c-1", &profile, &[on(-66), on(-38), on(-10)]).await;

    // Today she is not overdue: the detector leaves her be.
    let detector = start(&account, &noon, "detect-lapses", &[("TABLE_NAME", &table)]).await;
    let now = response(detector.invoke(tick("detect-lapses", &noon)).await);
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
        &account,
        &noon,
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

    let messages = take_events(&account, &queue).await;
    assert_eq!(messages.len(), 1);
    let event = &messages[0];
    let body = event.to_string();
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
    assert_calls_allowed(&account);
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

const LINK_KEYS: &str = "k1:end-to-end-link-signing-secret-0123456789";
const LINKS_BASE: &str = "https://links.salon.example";

/// A raw email as a mail client reads it: folded headers unfolded, quoted-printable undone.
fn readable(raw: &str) -> String {
    raw.replace("\r\n ", " ")
        .replace("=\r\n", "")
        .replace("=3D", "=")
}

/// The token of the first `LINKS_BASE/{path}/...` link in a message.
fn link_token(message: &str, path: &str) -> String {
    message
        .split(&format!("{LINKS_BASE}/{path}/"))
        .nth(1)
        .unwrap_or_else(|| panic!("no /{path}/ link in {message}"))
        .split(['>', ' ', '\r', '\n', '"', '<'])
        .next()
        .unwrap()
        .to_owned()
}

/// The emails sent from `account` to `address`, readable.
fn emails_to(account: &moto::Account, address: &str) -> Vec<String> {
    account
        .emails()
        .iter()
        .filter(|s| s.contains(&format!("To: {address}")))
        .map(|s| readable(s))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lapsed_client_gets_one_email_taps_rebook_and_books_and_an_opt_out_stops_everything() {
    use shared::domain::sequence::{ChannelPreference, Sequence, Step};

    let account = moto::Account::fresh();
    let (dynamo, table) = account.new_table().await;
    let store = DynamoStore::new(dynamo.clone(), table.clone());
    let mut salon = tenant("salon-e2e");
    salon.name = "Maple Street Hair".into();
    let outreach = &mut salon.config.outreach;
    outreach.booking_url =
        Some("https://book.salon.example/new?client={client_id}&service={service}".into());
    outreach.senders.sms_sender = Some("+15005550006".into());
    let step = |day, template: &str| Step {
        day,
        channel: ChannelPreference::EmailThenSms,
        template: template.into(),
        offer: None,
    };
    outreach.sequences = vec![Sequence::named(
        "flow",
        vec![
            step(0, "soft_check_in"),
            step(7, "value_add"),
            step(14, "last_chance"),
        ],
    )];
    salon.config.validate().unwrap();
    store.create_tenant(&salon).await.unwrap();
    let key = ApiKey::from_random([9; 32]);
    store.add_api_key(&salon.id, &key.hash()).await.unwrap();
    let key = key.expose();
    let sdk = account.sdk_config().await;
    aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity("hello@salon.example")
        .send()
        .await
        .unwrap();
    let (bus, email_queue, sms_queue) = bus_with_queues(&account, &table).await;

    // Three four-weekly clients, last seen ten days ago: Ana (email and SMS), Bo (email only),
    // Cy (SMS only).
    let ingest = start(
        &account,
        &london(on(0), 12),
        "ingest",
        &[("TABLE_NAME", &table)],
    )
    .await;
    let consent = json!({"granted": true, "source": "booking form", "at": "2026-01-01T00:00:00Z"});
    for (id, profile) in [
        (
            "c-ana",
            json!({"name": "Ana Lopez", "email": "ana@example.com", "phone": "+447700900101",
            "consent": {"email": consent, "sms": consent}}),
        ),
        (
            "c-bo",
            json!({"name": "Bo Berg", "email": "bo@example.com", "consent": {"email": consent}}),
        ),
        (
            "c-cy",
            json!({"name": "Cy Diaz", "phone": "+447700900303", "consent": {"sms": consent}}),
        ),
    ] {
        regular_client(&ingest, key, id, &profile, &[on(-66), on(-38), on(-10)]).await;
    }

    // Forty days on they have lapsed: enrolled, and their first steps published at 13:00.
    let dawn = london(on(40), 5);
    let detector = start(&account, &dawn, "detect-lapses", &[("TABLE_NAME", &table)]).await;
    let detected = response(detector.invoke(tick("detect-lapses", &dawn)).await);
    assert_eq!(detected["runs"][0]["enrolled"], 3, "{detected}");
    let one_pm = london(on(40), 13);
    let queue_fn = start(
        &account,
        &one_pm,
        "enqueue-steps",
        &[("TABLE_NAME", &table), ("EVENT_BUS_NAME", &bus)],
    )
    .await;
    let queued = response(queue_fn.invoke(tick("enqueue-steps", &one_pm)).await);
    assert_eq!(queued["published"], 3, "{queued}");
    let email_events = take_events(&account, &email_queue).await;
    let sms_events = take_events(&account, &sms_queue).await;
    assert_eq!((email_events.len(), sms_events.len()), (2, 1));
    let event_of = |client: &str| {
        email_events
            .iter()
            .find(|e| e["detail"]["client_id"] == client)
            .unwrap()
            .clone()
    };

    // Email delivery: Ana's event delivered three times at once (three instances) sends once.
    let dead_letters = dead_letter_queue(&account, &table).await;
    let delivery_env = [
        ("TABLE_NAME", table.as_str()),
        ("DEAD_LETTER_QUEUE_URL", dead_letters.as_str()),
        ("LINK_SIGNING_KEYS", LINK_KEYS),
        ("LINKS_BASE_URL", LINKS_BASE),
        ("EMAIL_FROM", "Maple Street Hair <hello@salon.example>"),
        ("UNSUBSCRIBE_MAILTO", "unsubscribe@salon.example"),
    ];
    let senders = futures::future::join_all(
        (0..3).map(|_| start(&account, &one_pm, "send-email", &delivery_env)),
    )
    .await;
    let ana_event = event_of("c-ana");
    let results =
        futures::future::join_all(senders.iter().map(|h| h.invoke(ana_event.clone()))).await;
    let sent = results
        .iter()
        .filter(|r| matches!(r, Outcome::Response(v) if v["result"] == "sent"))
        .count();
    assert_eq!(sent, 1, "{results:?}");
    let bo = response(senders[0].invoke(event_of("c-bo")).await);
    assert_eq!(bo["result"], "sent", "{bo}");

    let ana_mail = emails_to(&account, "ana@example.com");
    assert_eq!(ana_mail.len(), 1, "one email to Ana: {ana_mail:?}");
    let mail = &ana_mail[0];
    assert!(
        mail.contains("From: \"Maple Street Hair\" <hello@salon.example>"),
        "{mail}"
    );
    assert!(
        mail.contains(&format!("List-Unsubscribe: <{LINKS_BASE}/u/k1.")),
        "{mail}"
    );
    assert!(mail.contains("<mailto:unsubscribe@salon.example"), "{mail}");
    assert!(mail.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    assert!(
        mail.contains("text/plain") && mail.contains("text/html"),
        "{mail}"
    );
    assert!(mail.contains("Hi Ana"), "{mail}");

    // She taps "book": the click lands on the booking page, filled in.
    let links = start(
        &account,
        &london(on(40), 18),
        "links",
        &[("TABLE_NAME", &table), ("LINK_SIGNING_KEYS", LINK_KEYS)],
    )
    .await;
    let rebook = link_token(mail, "r");
    let (status, location, _) = page_reply(
        links
            .invoke(page_request("GET", &format!("/r/{rebook}"), None))
            .await,
    );
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert!(
        location.starts_with("https://book.salon.example/new?client=c-ana&service=Cut"),
        "{location}"
    );
    assert!(location.contains("utm_medium=email"), "{location}");
    let ana = ClientId::parse("c-ana").unwrap();
    assert_eq!(store.clicks(&salon.id, &ana).await.unwrap().len(), 1);

    // ... and books a week ahead, the next morning: her sequence ends, and the return is
    // credited to the email.
    let next_morning = london(on(41), 9);
    let ingest = start(&account, &next_morning, "ingest", &[("TABLE_NAME", &table)]).await;
    let booked = json!({"bookings": [{"id": "ana-back", "client_id": "c-ana", "status": "booked",
        "starts_at": format!("{}T10:00:00Z", on(47)),
        "updated_at": next_morning,
        "services": [{"category": "hair", "name": "Cut", "price": "52.00"}]}]});
    let (status, body) = reply(
        ingest
            .invoke(request("POST", "/v1/bookings", key, Some(&booked)))
            .await,
    );
    assert_eq!(status, 200, "{body}");
    let record = store.client(&salon.id, &ana).await.unwrap().unwrap();
    assert!(record.outreach.active.is_none());
    let back = record.outreach.previous.unwrap().reactivation.unwrap();
    assert_eq!(back.credited_step, Some(0));
    assert_eq!(back.revenue_minor, 5200);

    // Bo opts out from his email's link: the page, then the mail client's one-click POST.
    let bo_mail = emails_to(&account, "bo@example.com");
    assert_eq!(bo_mail.len(), 1);
    let opt_out = format!("/u/{}", link_token(&bo_mail[0], "u"));
    let (status, _, page) = page_reply(links.invoke(page_request("GET", &opt_out, None)).await);
    assert_eq!(status, 200);
    assert!(
        page.contains("Maple Street Hair") && page.contains("<form"),
        "{page}"
    );
    let (status, _, page) = page_reply(
        links
            .invoke(page_request(
                "POST",
                &opt_out,
                Some("List-Unsubscribe=One-Click"),
            ))
            .await,
    );
    assert_eq!(status, 200);
    assert!(page.contains("You are unsubscribed"), "{page}");
    let bo_contact = shared::domain::contact::ContactHash::of_email(
        &shared::domain::contact::EmailAddress::parse("bo@example.com").unwrap(),
    );
    assert!(store.is_suppressed(&salon.id, &bo_contact).await.unwrap());

    // Cy's first step goes out by SMS.
    let sms_fn = start(&account, &one_pm, "send-sms", &delivery_env).await;
    let cy = response(sms_fn.invoke(sms_events[0].clone()).await);
    assert_eq!(cy["result"], "sent", "{cy}");
    let texts = account.texts();
    assert_eq!(texts.len(), 1, "one SMS: {texts:?}");
    let (to, text) = &texts[0];
    assert_eq!(to, "+447700900303", "sent to Cy's number");
    assert!(text.contains("Hi Cy"), "{text}");
    assert!(text.contains("Reply STOP to opt out"), "{text}");
    assert!(text.contains(&format!("{LINKS_BASE}/r/k1.")), "{text}");

    // A week on only Cy is still in a sequence: nothing more for Ana or Bo, even if Bo's old
    // event comes round again.
    let week = response(
        queue_fn
            .invoke(tick("enqueue-steps", &london(on(48), 13)))
            .await,
    );
    assert_eq!(week["published"], 1, "{week}");
    assert!(take_events(&account, &email_queue).await.is_empty());
    let next = take_events(&account, &sms_queue).await;
    assert_eq!(next[0]["detail"]["client_id"], "c-cy");
    let again = response(senders[1].invoke(event_of("c-bo")).await);
    assert_eq!(again["result"], "already_sent", "{again}");
    assert_eq!(emails_to(&account, "bo@example.com").len(), 1);
    assert_eq!(emails_to(&account, "ana@example.com").len(), 1);

    // Cy replies STOP: the number is suppressed and Cy's sequence ends at once; the step
    // already on its way sends nothing.
    let feedback = start(
        &account,
        &london(on(48), 14),
        "feedback",
        &[
            ("TABLE_NAME", &table),
            ("DEAD_LETTER_QUEUE_URL", &dead_letters),
        ],
    )
    .await;
    let mut stop = fixture("feedback", "inbound-sms.json");
    let mut message: Value =
        serde_json::from_str(stop["Records"][0]["Sns"]["Message"].as_str().unwrap()).unwrap();
    message["originationNumber"] = json!("+447700900303");
    stop["Records"][0]["Sns"]["Message"] = json!(message.to_string());
    let handled = response(feedback.invoke(stop).await);
    assert_eq!(
        handled["handled"],
        json!([{"opted_out": {"changed": true}}])
    );
    let cy = ClientId::parse("c-cy").unwrap();
    let record = store.client(&salon.id, &cy).await.unwrap().unwrap();
    assert!(record.outreach.active.is_none(), "{:?}", record.outreach);
    let late = response(sms_fn.invoke(next[0].clone()).await);
    assert_ne!(late["result"], "sent", "{late}");
    assert_eq!(account.texts().len(), 1, "no second SMS to Cy");

    // The business's report, from the enrollments on DynamoDB: three enrolled, Ana back with
    // her booking's value, Bo and Cy opted out, two emails and one SMS sent.
    let period = format!("/v1/reports/outreach?from={}&to={}", on(0), on(60));
    let (status, report) = reply(ingest.invoke(request("GET", &period, key, None)).await);
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (&report["enrolled"], &report["control"], &report["active"]),
        (&json!(3), &json!(0), &json!(0)),
        "{report}"
    );
    assert_eq!(
        (&report["emails_sent"], &report["sms_sent"]),
        (&json!(2), &json!(1)),
        "{report}"
    );
    assert_eq!(
        (
            &report["reactivated"],
            &report["revenue_minor"],
            &report["opted_out"]
        ),
        (&json!(1), &json!(5200), &json!(2)),
        "{report}"
    );
    assert_eq!(report["by_step"], json!({"0": 1}), "{report}");
    for harness in senders.iter().chain([&links, &sms_fn, &ingest, &feedback]) {
        assert!(harness.init_error().is_none());
    }
    assert_calls_allowed(&account);
}

/// A fixture of a function's `events/` folder.
fn fixture(function: &str, name: &str) -> Value {
    let path = system_tests::repo().join(format!("functions/{function}/events/{name}"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounces_and_sms_keywords_reach_the_feedback_function_through_sns() {
    use shared::domain::contact::{ContactHash, EmailAddress, PhoneNumber};
    use shared::domain::suppression::SuppressionReason;

    let account = moto::Account::fresh();
    let (dynamo, table) = account.new_table().await;
    let store = DynamoStore::new(dynamo, table.clone());
    // The fixtures' tenant and number.
    let mut salon = tenant("salon");
    salon.config.outreach.senders.sms_sender = Some("+15005550006".into());
    store.create_tenant(&salon).await.unwrap();
    let dead_letters = dead_letter_queue(&account, &table).await;
    let feedback = start(
        &account,
        &london(today(), 12),
        "feedback",
        &[
            ("TABLE_NAME", &table),
            ("DEAD_LETTER_QUEUE_URL", &dead_letters),
        ],
    )
    .await;

    // SES's bounce, as the configuration set's event destination publishes it.
    let bounce = fixture("feedback", "ses-bounce.json");
    let handled = response(feedback.invoke(bounce.clone()).await);
    assert_eq!(
        handled["handled"],
        json!([{"suppressed": {"changed": true}}])
    );
    let again = response(feedback.invoke(bounce).await);
    assert_eq!(
        again["handled"],
        json!([{"suppressed": {"changed": false}}])
    );
    let ana = ContactHash::of_email(&EmailAddress::parse("ana@example.com").unwrap());
    assert_eq!(
        store.suppression(&salon.id, &ana).await.unwrap(),
        Some(SuppressionReason::Bounced)
    );

    // STOP, then HELP, from the same phone.
    let stop = fixture("feedback", "inbound-sms.json");
    let handled = response(feedback.invoke(stop.clone()).await);
    assert_eq!(
        handled["handled"],
        json!([{"opted_out": {"changed": true}}])
    );
    let phone = ContactHash::of_phone(&PhoneNumber::parse("+447700900123").unwrap());
    let ledger = store.consent_ledger(&salon.id, &phone).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].entry.wording, "STOP");
    let mut help = stop;
    let message: Value =
        serde_json::from_str(help["Records"][0]["Sns"]["Message"].as_str().unwrap()).unwrap();
    let mut message = message;
    message["messageBody"] = json!("help");
    help["Records"][0]["Sns"]["Message"] = json!(message.to_string());
    let handled = response(feedback.invoke(help).await);
    assert_eq!(handled["handled"], json!(["helped"]));
    let texts = account.texts();
    assert_eq!(texts.len(), 1, "{texts:?}");
    let (to, text) = &texts[0];
    assert_eq!(to, "+447700900123", "the reply goes to who asked");
    assert!(
        text.starts_with("Salon: occasional booking reminders") && text.contains("STOP"),
        "{text}"
    );
    assert_calls_allowed(&account);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_goes_to_the_dead_letter_queue_at_once_and_a_good_one_still_goes_through() {
    let account = moto::Account::fresh();
    let (_, table) = account.new_table().await;
    let dead_letters = dead_letter_queue(&account, &table).await;
    let delivery_env = [
        ("TABLE_NAME", table.as_str()),
        ("DEAD_LETTER_QUEUE_URL", dead_letters.as_str()),
        ("LINK_SIGNING_KEYS", LINK_KEYS),
        ("LINKS_BASE_URL", LINKS_BASE),
        ("EMAIL_FROM", "Salon <hello@salon.example>"),
    ];
    let noon = london(today(), 12);
    let email_fn = start(&account, &noon, "send-email", &delivery_env).await;

    // An SMS step routed to the email function, and an event that is not a step at all: no
    // retry can send either, so the invocation succeeds (Lambda does not retry it) and the
    // event is in the dead-letter queue with why, as Lambda's own failure records have it.
    let mut sms_step = fixture("send-email", "step-due.json");
    sms_step["detail"]["channel"] = json!("sms");
    let answered = response(email_fn.invoke(sms_step.clone()).await);
    assert!(
        answered["dead_lettered"]
            .as_str()
            .is_some_and(|why| why.contains("routed to the email function")),
        "{answered}"
    );
    let not_a_step =
        json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let answered = response(email_fn.invoke(not_a_step.clone()).await);
    assert!(answered["dead_lettered"].is_string(), "{answered}");
    let records = take_events(&account, &dead_letters).await;
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0]["requestPayload"], sms_step);
    assert_eq!(records[0]["responsePayload"]["errorType"], "Poison");
    assert_eq!(records[1]["requestPayload"], not_a_step);

    // The same function then takes a well-formed step (of a business it does not know) as usual.
    let unknown = response(
        email_fn
            .invoke(fixture("send-email", "step-due.json"))
            .await,
    );
    assert_eq!(unknown["result"], "skipped", "{unknown}");
    assert!(take_events(&account, &dead_letters).await.is_empty());

    // The feedback function refuses what is not an SNS delivery the same way.
    let feedback = start(
        &account,
        &noon,
        "feedback",
        &[
            ("TABLE_NAME", &table),
            ("DEAD_LETTER_QUEUE_URL", &dead_letters),
        ],
    )
    .await;
    let answered = response(feedback.invoke(json!({"Records": "none"})).await);
    assert!(answered["dead_lettered"].is_string(), "{answered}");
    assert_eq!(take_events(&account, &dead_letters).await.len(), 1);
    assert_calls_allowed(&account);
}
