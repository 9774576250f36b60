//! The HTTP API in process, on the SQLite store, with a fixed clock: every route, every error
//! class, and tenant isolation.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use shared::adapters::local::SqliteStore;
use shared::domain::config::BusinessConfig;
use shared::domain::ids::TenantId;
use shared::domain::money::Currency;
use shared::domain::tenant::{ApiKey, Tenant, WebhookSecret};
use shared::domain::time_zone::TimeZoneName;
use shared::domain::webhook_signature::sign;
use shared::http::{Api, router};
use shared::ports::{FixedClock, Store};

const NOW: &str = "2026-11-23T12:00:00Z";

struct TestApp {
    router: axum::Router,
    store: Arc<dyn Store>,
}

struct Reply {
    status: StatusCode,
    content_type: String,
    body: Value,
}

impl TestApp {
    async fn new() -> TestApp {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
        let clock = Arc::new(FixedClock(NOW.parse().unwrap()));
        TestApp {
            router: router(Api::new(Arc::clone(&store), clock)),
            store,
        }
    }

    /// A tenant with an API key (returned) and a webhook secret.
    async fn tenant(&self, id: &str) -> (String, WebhookSecret) {
        let tenant = Tenant {
            id: TenantId::parse(id).unwrap(),
            name: format!("Salon {id}"),
            config: BusinessConfig {
                timezone: TimeZoneName::parse("Europe/London").unwrap(),
                currency: Currency::parse("GBP").unwrap(),
                ..BusinessConfig::default()
            },
            created_at: NOW.parse().unwrap(),
            webhook_secrets: Vec::new(),
            paused: None,
        };
        self.store.create_tenant(&tenant).await.unwrap();
        let key = ApiKey::from_random([id.len() as u8 + id.as_bytes()[id.len() - 1]; 32]);
        self.store
            .add_api_key(&tenant.id, &key.hash())
            .await
            .unwrap();
        let secret = WebhookSecret::from_random([id.as_bytes()[id.len() - 1]; 32]);
        self.store
            .add_webhook_secret(&tenant.id, &secret)
            .await
            .unwrap();
        (key.expose().to_owned(), secret)
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        Reply {
            status,
            content_type,
            body,
        }
    }

    async fn call(&self, method: &str, path: &str, key: &str, body: Option<Value>) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {key}"));
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        self.send(request.body(body).unwrap()).await
    }

    async fn put_client(&self, key: &str, id: &str, body: Value) -> Reply {
        self.call("PUT", &format!("/v1/clients/{id}"), key, Some(body))
            .await
    }

    async fn post_bookings(&self, key: &str, body: Value) -> Reply {
        self.call("POST", "/v1/bookings", key, Some(body)).await
    }

    async fn get_client(&self, key: &str, id: &str) -> Reply {
        self.call("GET", &format!("/v1/clients/{id}"), key, None)
            .await
    }

    async fn delete_client(&self, key: &str, id: &str) -> Reply {
        self.call("DELETE", &format!("/v1/clients/{id}"), key, None)
            .await
    }
}

fn booking(id: &str, client: &str, starts_at: &str) -> Value {
    json!({
        "id": id,
        "client_id": client,
        "status": "completed",
        "starts_at": starts_at,
        "updated_at": starts_at,
        "staff": "Maya",
        "services": [{"category": "hair", "name": "Cut", "price": "45.00"}]
    })
}

fn pointers(reply: &Reply) -> Vec<String> {
    reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_problem(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.body["status"], status.as_u16());
    assert!(reply.body["detail"].is_string() && reply.body["fix"].is_string());
    assert!(
        reply.body["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:winback:problem:")
    );
}

#[tokio::test]
async fn a_client_and_their_bookings_are_stored_and_shown_with_their_stage() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    let reply = app
        .put_client(
            &key,
            "c-1",
            json!({
                "name": "Ana Lopez",
                "email": "ana@example.com",
                "phone": "+447700900123",
                "consent": {"email": {"granted": true, "source": "booking form", "at": "2026-01-01T09:00:00Z"}}
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["outcome"], "created");
    let visits: Vec<Value> = ["2026-06-01", "2026-07-01", "2026-08-01", "2026-09-01"]
        .iter()
        .enumerate()
        .map(|(i, day)| booking(&format!("b{i}"), "c-1", &format!("{day}T10:00:00Z")))
        .collect();
    let reply = app.post_bookings(&key, json!({"bookings": visits})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "created")
    );
    let reply = app.get_client(&key, "c-1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["name"], "Ana Lopez");
    assert_eq!(reply.body["bookings"], 4);
    let hair = &reply.body["categories"][0];
    assert_eq!(hair["category"], "hair");
    assert_eq!(hair["visits"], 4);
    assert_eq!(hair["last_visit"], "2026-09-01");
    assert_eq!(hair["personal_interval"], true);
    // Monthly, last seen 83 days ago: well past the usual window.
    assert_eq!(hair["stage"], "lapsed");
    // A future booking anywhere makes the client active again.
    let future = json!({
        "id": "b-next", "client_id": "c-1", "status": "booked",
        "starts_at": "2026-12-01T10:00:00Z", "updated_at": NOW,
        "services": [{"category": "nails", "price": 20}]
    });
    assert_eq!(
        app.post_bookings(&key, future).await.status,
        StatusCode::CREATED
    );
    let reply = app.get_client(&key, "c-1").await;
    assert_eq!(reply.body["categories"][0]["stage"], "active");
    assert_eq!(reply.body["upcoming_booking"], "2026-12-01");
}

#[tokio::test]
async fn the_same_booking_twice_changes_nothing_and_an_older_version_is_ignored() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    let b = booking("b1", "c-1", "2026-11-01T10:00:00Z");
    assert_eq!(
        app.post_bookings(&key, b.clone()).await.status,
        StatusCode::CREATED
    );
    let again = app.post_bookings(&key, b.clone()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["outcome"], "duplicate");
    let mut older = b.clone();
    older["updated_at"] = json!("2026-10-01T10:00:00Z");
    older["status"] = json!("cancelled");
    assert_eq!(
        app.post_bookings(&key, older).await.body["outcome"],
        "stale"
    );
    let reply = app.get_client(&key, "c-1").await;
    assert_eq!(reply.body["categories"][0]["visits"], 1);
}

#[tokio::test]
async fn a_booking_with_an_offer_code_is_told_what_became_of_it() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    let mut b = booking("b1", "c-1", "2026-11-01T10:00:00Z");
    b["offer_code"] = json!("wb-aaaa-bbbb");
    let reply = app.post_bookings(&key, b).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    // Not a code this client was given: the booking stands, the tool hears the code is unknown.
    assert_eq!(
        reply.body["offer_code"],
        json!({"code": "WB-AAAA-BBBB", "status": "unknown"})
    );
    let plain = app
        .post_bookings(&key, booking("b2", "c-1", "2026-11-20T10:00:00Z"))
        .await;
    assert!(plain.body.get("offer_code").is_none(), "{}", plain.body);
    let mut batch = booking("b3", "c-2", "2026-11-02T10:00:00Z");
    batch["offer_code"] = json!("WB-CCCC-DDDD");
    let reply = app
        .post_bookings(
            &key,
            json!({"bookings": [batch, booking("b4", "c-3", "2026-11-02T10:00:00Z")]}),
        )
        .await;
    assert_eq!(reply.body["results"][0]["offer_code"]["status"], "unknown");
    assert!(reply.body["results"][1].get("offer_code").is_none());
}

#[tokio::test]
async fn the_same_version_with_other_content_is_a_conflict() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    let b = booking("b1", "c-1", "2026-11-01T10:00:00Z");
    app.post_bookings(&key, b.clone()).await;
    let mut changed = b;
    changed["status"] = json!("no_show");
    assert_problem(
        &app.post_bookings(&key, changed).await,
        StatusCode::CONFLICT,
    );
}

#[tokio::test]
async fn every_bad_value_is_reported_by_pointer_and_nothing_of_the_batch_is_applied() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    let good = booking("good", "c-1", "2026-11-01T10:00:00Z");
    let mut bad_status = booking("b2", "c-1", "2026-11-02T10:00:00Z");
    bad_status["status"] = json!("teleported");
    let mut negative = booking("b3", "c-1", "2026-11-03T10:00:00Z");
    negative["services"][0]["price"] = json!("-5.00");
    let mut old = booking("b4", "c-1", "1999-01-01T10:00:00Z");
    old["updated_at"] = json!("2026-01-01T10:00:00Z");
    let reply = app
        .post_bookings(&key, json!({"bookings": [good, bad_status, negative, old]}))
        .await;
    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        pointers(&reply),
        [
            "/bookings/1/status",
            "/bookings/2/services/0/price",
            "/bookings/3/starts_at"
        ]
    );
    assert_problem(&app.get_client(&key, "c-1").await, StatusCode::NOT_FOUND);

    let reply = app
        .put_client(
            &key,
            "c-1",
            json!({"email": "not-an-email", "phone": "07700 900123"}),
        )
        .await;
    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&reply), ["/email", "/phone"]);
    assert!(
        reply.body["errors"][1]["fix"]
            .as_str()
            .unwrap()
            .contains("E.164")
    );
}

#[tokio::test]
async fn batches_over_a_hundred_are_refused() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    let many: Vec<Value> = (0..101)
        .map(|i| booking(&format!("b{i}"), "c-1", "2026-11-01T10:00:00Z"))
        .collect();
    let reply = app.post_bookings(&key, json!({"bookings": many})).await;
    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&reply), ["/bookings"]);
}

#[tokio::test]
async fn malformed_json_wrong_content_type_and_oversized_bodies_get_their_own_errors() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    let raw = |content_type: &str, body: Vec<u8>| {
        Request::builder()
            .method("POST")
            .uri("/v1/bookings")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let reply = app
        .send(raw("application/json", b"{\"id\": ".to_vec()))
        .await;
    assert_problem(&reply, StatusCode::BAD_REQUEST);
    assert!(reply.body["detail"].as_str().unwrap().contains("line 1"));
    let reply = app.send(raw("text/csv", b"id,client".to_vec())).await;
    assert_problem(&reply, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let reply = app
        .send(raw("application/json", vec![b' '; 2 * 1024 * 1024]))
        .await;
    assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn requests_without_a_valid_key_are_refused() {
    let app = TestApp::new().await;
    app.tenant("salon-a").await;
    let reply = app.get_client("wbk_wrong", "c-1").await;
    assert_problem(&reply, StatusCode::UNAUTHORIZED);
    let anonymous = Request::builder()
        .uri("/v1/clients/c-1")
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(anonymous).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
}

#[tokio::test]
async fn a_tenant_can_never_read_or_touch_another_tenant_s_client() {
    let app = TestApp::new().await;
    let (key_a, _) = app.tenant("salon-a").await;
    let (key_b, _) = app.tenant("salon-b").await;
    app.put_client(&key_a, "c-1", json!({"name": "Ana"})).await;
    app.post_bookings(&key_a, booking("b1", "c-1", "2026-11-01T10:00:00Z"))
        .await;
    assert_problem(&app.get_client(&key_b, "c-1").await, StatusCode::NOT_FOUND);
    assert_problem(
        &app.delete_client(&key_b, "c-1").await,
        StatusCode::NOT_FOUND,
    );
    // Naming the other tenant with one's own key is forbidden.
    let reply = app
        .call("GET", "/v1/clients/c-1?tenant=salon-a", &key_b, None)
        .await;
    assert_problem(&reply, StatusCode::FORBIDDEN);
    // B's writes under the same client id stay B's.
    app.put_client(&key_b, "c-1", json!({"name": "Someone else"}))
        .await;
    assert_eq!(app.get_client(&key_a, "c-1").await.body["name"], "Ana");
    assert_eq!(app.get_client(&key_b, "c-1").await.body["bookings"], 0);
}

#[tokio::test]
async fn erasure_removes_the_client_and_a_second_erasure_finds_nothing() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    app.put_client(&key, "c-1", json!({"email": "ana@example.com"}))
        .await;
    app.post_bookings(&key, booking("b1", "c-1", "2026-11-01T10:00:00Z"))
        .await;
    let reply = app.delete_client(&key, "c-1").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_problem(&app.get_client(&key, "c-1").await, StatusCode::NOT_FOUND);
    assert_problem(&app.delete_client(&key, "c-1").await, StatusCode::NOT_FOUND);
    let hash = shared::domain::contact::ContactHash::of_email(
        &shared::domain::contact::EmailAddress::parse("ana@example.com").unwrap(),
    );
    let tenant = TenantId::parse("salon-a").unwrap();
    assert!(app.store.is_suppressed(&tenant, &hash).await.unwrap());
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems_too() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    assert_problem(
        &app.call("GET", "/v1/nothing", &key, None).await,
        StatusCode::NOT_FOUND,
    );
    assert_problem(
        &app.call("PATCH", "/v1/clients/c-1", &key, None).await,
        StatusCode::METHOD_NOT_ALLOWED,
    );
}

fn signed(secret: &WebhookSecret, id: &str, at: i64, body: &Value, tenant: &str) -> Request<Body> {
    let bytes = body.to_string().into_bytes();
    Request::builder()
        .method("POST")
        .uri(format!("/v1/bookings?tenant={tenant}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", at.to_string())
        .header("webhook-signature", sign(secret, id, at, &bytes))
        .body(Body::from(bytes))
        .unwrap()
}

#[tokio::test]
async fn signed_webhook_deliveries_are_accepted_once_and_forgeries_refused() {
    let app = TestApp::new().await;
    let (key, secret) = app.tenant("salon-a").await;
    let (_, other_secret) = app.tenant("salon-b").await;
    let now = NOW.parse::<jiff::Timestamp>().unwrap().as_second();
    let body = booking("b1", "c-1", "2026-11-01T10:00:00Z");

    let reply = app
        .send(signed(&secret, "msg_1", now, &body, "salon-a"))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let again = app
        .send(signed(&secret, "msg_1", now, &body, "salon-a"))
        .await;
    assert_eq!(again.body["outcome"], "already_processed");

    // Signed with another tenant's secret, or for another tenant, or stale, or tampered.
    let forged = app
        .send(signed(&other_secret, "msg_2", now, &body, "salon-a"))
        .await;
    assert_problem(&forged, StatusCode::UNAUTHORIZED);
    let elsewhere = app
        .send(signed(&secret, "msg_3", now, &body, "salon-b"))
        .await;
    assert_problem(&elsewhere, StatusCode::UNAUTHORIZED);
    let stale = app
        .send(signed(&secret, "msg_4", now - 301, &body, "salon-a"))
        .await;
    assert_problem(&stale, StatusCode::UNAUTHORIZED);
    let mut tampered = signed(&secret, "msg_5", now, &body, "salon-a");
    *tampered.body_mut() = Body::from(booking("b1", "c-2", "2026-11-01T10:00:00Z").to_string());
    assert_problem(&app.send(tampered).await, StatusCode::UNAUTHORIZED);
    let unnamed = {
        let mut request = signed(&secret, "msg_6", now, &body, "salon-a");
        *request.uri_mut() = "/v1/bookings".parse().unwrap();
        request
    };
    assert_problem(&app.send(unnamed).await, StatusCode::UNAUTHORIZED);

    assert_eq!(app.get_client(&key, "c-1").await.body["bookings"], 1);
    assert_problem(&app.get_client(&key, "c-2").await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn settings_are_read_and_replaced_and_a_bad_field_is_named_with_nothing_stored() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    let current = app.call("GET", "/v1/config", &key, None).await;
    assert_eq!(current.status, StatusCode::OK);
    assert_eq!(current.body["outreach"]["trigger_stage"], "lapsed");
    assert_eq!(current.body["outreach"]["control_share"], 0.1);

    let mut steps_backwards = current.body.clone();
    steps_backwards["outreach"]["sequences"][0]["steps"][2]["day"] = json!(5);
    let reply = app
        .call("PUT", "/v1/config", &key, Some(steps_backwards))
        .await;
    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&reply), ["/outreach/sequences/0/steps/2/day"]);
    let detail = reply.body["errors"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("day is 5") && detail.contains("(day 7)"),
        "{detail}"
    );

    let reply = app
        .call(
            "PUT",
            "/v1/config",
            &key,
            Some(json!({"outreach": {"windows": {"sms": {"start": "07:00", "end": "20:00"}}}})),
        )
        .await;
    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&reply), ["/outreach/windows/sms"]);

    let reply = app
        .call(
            "PUT",
            "/v1/config",
            &key,
            Some(json!({"outreach": {"sequences": [{"name": "x", "steps": [{"day": 0, "channel": "sms", "template": "soft_check_in"}]}]}})),
        )
        .await;
    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&reply), ["/outreach/sequences/0/steps/0/channel"]);
    assert!(
        reply.body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("no sender")
    );

    let reply = app
        .call(
            "PUT",
            "/v1/config",
            &key,
            Some(json!({"outreach": {"mood": "cheerful"}})),
        )
        .await;
    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&reply), ["/outreach"]);
    assert!(
        reply.body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("mood")
    );

    let unchanged = app.call("GET", "/v1/config", &key, None).await;
    assert_eq!(unchanged.body, current.body, "nothing was stored");

    let reply = app
        .call(
            "PUT",
            "/v1/config",
            &key,
            Some(json!({"timezone": "Europe/London", "outreach": {"mode": "manual", "trigger_stage": "at-risk"}})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let stored = app.call("GET", "/v1/config", &key, None).await;
    assert_eq!(stored.body["outreach"]["mode"], "manual");
    assert_eq!(stored.body["outreach"]["trigger_stage"], "at-risk");
}

#[tokio::test]
async fn a_paused_business_says_why_enrolls_nobody_and_resumes_on_request() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    let status = app.call("GET", "/v1/sending", &key, None).await;
    assert_eq!(status.status, StatusCode::OK);
    assert_eq!(status.body["status"], "active");
    assert_eq!(status.body["email_last_30_days"]["sent"], 0);

    let id = TenantId::parse("salon-a").unwrap();
    let pause = shared::domain::reputation::Pause {
        reason: "7 of 120 emails in the last 30 days bounced".into(),
        since: "2026-11-30T12:00:00Z".parse().unwrap(),
    };
    app.store.set_pause(&id, Some(pause)).await.unwrap();
    let status = app.call("GET", "/v1/sending", &key, None).await;
    assert_eq!(status.body["status"], "paused");
    assert!(
        status.body["paused"]["reason"]
            .as_str()
            .unwrap()
            .contains("bounced")
    );
    let contact = app.call("POST", "/v1/overdue/contact", &key, None).await;
    assert_problem(&contact, StatusCode::CONFLICT);
    assert!(
        contact.body["detail"]
            .as_str()
            .unwrap()
            .contains("sending is paused"),
        "{}",
        contact.body
    );

    let resumed = app.call("POST", "/v1/sending/resume", &key, None).await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.body);
    assert_eq!(resumed.body["was_paused"], true);
    let status = app.call("GET", "/v1/sending", &key, None).await;
    assert_eq!(status.body["status"], "active");
    let contact = app.call("POST", "/v1/overdue/contact", &key, None).await;
    assert_eq!(contact.status, StatusCode::OK, "{}", contact.body);
}

#[tokio::test]
async fn a_business_s_own_templates_and_booking_page_are_checked_when_saved() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    let put = |body: Value| app.call("PUT", "/v1/config", &key, Some(body));
    let refused = [
        (
            json!({"outreach": {"senders": {"sms_sender": "+15550100999"},
                "templates": {"soft_check_in": {"sms": {"text": "Hi {{first_name}}, book again: {{rebook_link}}"}}}}}),
            "/outreach/templates/soft_check_in/sms",
            "opt-out wording",
        ),
        (
            json!({"outreach": {"templates": {"soft_check_in": {"email": {"subject": "Hi", "text": "Hi {{first_nme}} {{opt_out_link}}"}}}}}),
            "/outreach/templates/soft_check_in/email",
            "first_nme",
        ),
        (
            json!({"outreach": {"templates": {"value_add": {"email": {"subject": "Hi", "text": "Book: {{rebook_link}}"}}}}}),
            "/outreach/templates/value_add/email",
            "unsubscribe",
        ),
        (
            json!({"outreach": {"templates": {"spring_promo": {"email": {"subject": "Hi", "text": "{{opt_out_link}}"}}}}}),
            "/outreach/templates/spring_promo",
            "not a template any step uses",
        ),
        (
            json!({"outreach": {"booking_url": "http://book.salon.example/{client_id}"}}),
            "/outreach/booking_url",
            "https",
        ),
    ];
    for (body, pointer, words) in refused {
        let reply = put(body).await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(pointers(&reply), [pointer]);
        let detail = reply.body["errors"][0]["detail"].as_str().unwrap();
        assert!(detail.contains(words), "{detail}");
    }
    let own = json!({"outreach": {
        "booking_url": "https://book.salon.example/new?client={client_id}",
        "templates": {"soft_check_in": {"email": {
            "subject": "We miss you, {{first_name|friend}}",
            "text": "It has been {{time_since_last_visit}}. Book: {{rebook_link}} Unsubscribe: {{opt_out_link}}"}}}}});
    let reply = put(own).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let stored = app.call("GET", "/v1/config", &key, None).await;
    assert_eq!(
        stored.body["outreach"]["templates"]["soft_check_in"]["email"]["subject"],
        "We miss you, {{first_name|friend}}"
    );
}

/// Two four-weekly hair clients, last seen on 27 July, in a business that contacts overdue
/// clients by hand.
async fn two_overdue_clients(app: &TestApp, key: &str) {
    let reply = app
        .call(
            "PUT",
            "/v1/config",
            key,
            Some(json!({"timezone": "Europe/London", "outreach": {"mode": "manual"}})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    for client in ["c-1", "c-2"] {
        let reply = app
            .put_client(
                key,
                client,
                json!({"name": "Ana Lopez", "email": format!("{client}@example.com"),
                       "consent": {"email": {"granted": true, "source": "booking form", "at": "2026-01-01T00:00:00Z"}}}),
            )
            .await;
        assert!(reply.status.is_success(), "{}", reply.body);
        let visits: Vec<Value> = ["2026-05-04", "2026-06-01", "2026-06-29", "2026-07-27"]
            .iter()
            .enumerate()
            .map(|(i, on)| booking(&format!("{client}-{i}"), client, &format!("{on}T10:00:00Z")))
            .collect();
        let reply = app.post_bookings(key, json!({"bookings": visits})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
}

#[tokio::test]
async fn the_overdue_screen_lists_clients_and_one_action_contacts_them_all_once() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    two_overdue_clients(&app, &key).await;
    let overdue = app.call("GET", "/v1/overdue", &key, None).await;
    assert_eq!(overdue.status, StatusCode::OK, "{}", overdue.body);
    let categories = overdue.body["categories"].as_array().unwrap();
    assert_eq!(categories.len(), 1, "{}", overdue.body);
    assert_eq!(categories[0]["category"], "hair");
    assert_eq!(categories[0]["clients"].as_array().unwrap().len(), 2);
    let filtered = app
        .call("GET", "/v1/overdue?category=nails", &key, None)
        .await;
    assert_eq!(filtered.body["categories"], json!([]));

    let contacted = app
        .call(
            "POST",
            "/v1/overdue/contact",
            &key,
            Some(json!({"category": "hair"})),
        )
        .await;
    assert_eq!(contacted.status, StatusCode::OK, "{}", contacted.body);
    assert_eq!(contacted.body["enrolled"], 2, "{}", contacted.body);
    let again = app.call("POST", "/v1/overdue/contact", &key, None).await;
    assert_eq!(again.body["enrolled"], 0, "{}", again.body);
    assert_eq!(again.body["skipped"]["already_in_sequence"], 2);
    let bad = app
        .call(
            "POST",
            "/v1/overdue/contact",
            &key,
            Some(json!({"category": 7})),
        )
        .await;
    assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&bad), ["/category"]);
}

#[tokio::test]
async fn the_outreach_report_covers_the_enrollments_started_in_a_period() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    two_overdue_clients(&app, &key).await;
    let contacted = app.call("POST", "/v1/overdue/contact", &key, None).await;
    assert_eq!(contacted.status, StatusCode::OK, "{}", contacted.body);

    // The last 90 days by default.
    let report = app.call("GET", "/v1/reports/outreach", &key, None).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let today = jiff::civil::date(2026, 11, 23);
    assert_eq!(report.body["to"], today.to_string());
    assert_eq!(
        report.body["from"],
        today
            .checked_sub(jiff::Span::new().days(89))
            .unwrap()
            .to_string()
    );
    // The settings saved name no currency: the default.
    let body = &report.body;
    assert_eq!(
        body["enrolled"].as_u64().unwrap() + body["control"].as_u64().unwrap(),
        2,
        "{body}"
    );
    assert_eq!(body["active"], body["enrolled"], "{body}");
    assert_eq!(
        (&body["emails_sent"], &body["reactivated"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(
        (&body["currency"], &body["revenue"]),
        (&json!("USD"), &json!("0.00 USD"))
    );

    // A period before anyone was enrolled holds nobody.
    let before = app
        .call(
            "GET",
            "/v1/reports/outreach?from=2025-01-01&to=2025-12-31",
            &key,
            None,
        )
        .await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    assert_eq!(
        (&before.body["enrolled"], &before.body["control"]),
        (&json!(0), &json!(0))
    );

    for bad in [
        "?from=2026-13-01",
        "?to=yesterday",
        "?from=2026-09-01&to=2026-08-01",
        "?from=2020-01-01&to=2026-01-01",
    ] {
        let reply = app
            .call("GET", &format!("/v1/reports/outreach{bad}"), &key, None)
            .await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[tokio::test]
async fn every_json_route_reads_one_whole_object_and_nothing_after_it() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    let config = json!({"timezone": "Europe/London", "currency": "GBP",
                        "outreach": {"control_share": 0.2}});
    assert_eq!(
        app.call("PUT", "/v1/config", &key, Some(config))
            .await
            .status,
        StatusCode::OK
    );
    let before = app.call("GET", "/v1/config", &key, None).await.body;
    let raw = |method: &str, path: &str, body: &str| {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let booking = booking("b1", "c-1", "2026-10-01T10:00:00Z");
    let routes = [
        ("PUT", "/v1/config", json!({"currency": "EUR"})),
        ("PUT", "/v1/clients/c-1", json!({"name": "Ana"})),
        ("POST", "/v1/bookings", json!({"bookings": [booking]})),
        ("POST", "/v1/overdue/contact", json!({"category": "hair"})),
    ];
    for (method, path, good) in &routes {
        for bad in [
            format!("{good} trailing"),
            format!("{good}{good}"),
            format!("{good} []"),
        ] {
            let reply = app.send(raw(method, path, &bad)).await;
            assert_problem(&reply, StatusCode::BAD_REQUEST);
            assert!(
                reply.body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("after the JSON document"),
                "{method} {path} {bad}: {}",
                reply.body
            );
        }
        let truncated = app.send(raw(method, path, r#"{"id":"#)).await;
        assert_problem(&truncated, StatusCode::BAD_REQUEST);
        for not_an_object in ["[]", "null", "\"text\"", "42"] {
            let reply = app.send(raw(method, path, not_an_object)).await;
            assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(pointers(&reply), [""], "{method} {path} {not_an_object}");
        }
    }
    // Nothing of any of them was stored.
    assert_eq!(app.call("GET", "/v1/config", &key, None).await.body, before);
    assert_eq!(
        app.get_client(&key, "c-1").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_opt_out_shows_as_withdrawn_consent_with_when_and_how() {
    use shared::domain::channel::Channel;
    use shared::domain::contact::{ContactHash, EmailAddress};
    use shared::domain::feedback::ConsentEntry;
    use shared::domain::ids::ClientId;
    use shared::domain::suppression::SuppressionReason;
    use shared::ports::ConsentChange;

    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    let profile = json!({"name": "Ana", "email": "ana@example.com",
        "consent": {"email": {"granted": true, "source": "booking form", "at": "2026-01-01T00:00:00Z"}}});
    assert_eq!(
        app.put_client(&key, "c-1", profile.clone()).await.status,
        StatusCode::CREATED
    );
    let shown = app.get_client(&key, "c-1").await.body;
    assert_eq!(shown["consent"]["email"]["granted"], true, "{shown}");

    // Ana taps the unsubscribe link.
    let tenant = TenantId::parse("salon-a").unwrap();
    app.store
        .record_consent(
            &tenant,
            &ConsentChange {
                contact: ContactHash::of_email(&EmailAddress::parse("ana@example.com").unwrap()),
                client: Some(ClientId::parse("c-1").unwrap()),
                entry: ConsentEntry {
                    channel: Channel::Email,
                    granted: false,
                    at: "2026-11-20T08:15:00Z".parse().unwrap(),
                    source: "unsubscribe link".into(),
                    wording: "one-click unsubscribe".into(),
                },
                reason: SuppressionReason::OptedOut,
            },
        )
        .await
        .unwrap();
    let shown = app.get_client(&key, "c-1").await.body;
    assert_eq!(
        shown["consent"]["email"],
        json!({"granted": false, "source": "unsubscribe link", "at": "2026-11-20T08:15:00Z"}),
        "{shown}"
    );
    // The booking tool sends the profile again, still saying granted: the opt-out stands.
    let mut again = profile;
    again["consent"]["email"]["at"] = json!("2026-11-22T00:00:00Z");
    assert_eq!(
        app.put_client(&key, "c-1", again).await.status,
        StatusCode::OK
    );
    let shown = app.get_client(&key, "c-1").await.body;
    assert_eq!(shown["consent"]["email"]["granted"], false, "{shown}");
}

#[tokio::test]
async fn a_parameter_given_twice_is_refused_and_a_too_large_body_is_told_without_bookings_talk() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    let reply = app
        .call(
            "GET",
            "/v1/clients/c-1?tenant=salon-a&tenant=salon-b",
            &key,
            None,
        )
        .await;
    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&reply), ["?tenant"]);
    let reply = app
        .call(
            "GET",
            "/v1/overdue?category=hair&category=nails",
            &key,
            None,
        )
        .await;
    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&reply), ["?category"]);

    let reply = app
        .send(
            Request::builder()
                .method("PUT")
                .uri("/v1/config")
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(vec![b' '; 2 * 1024 * 1024]))
                .unwrap(),
        )
        .await;
    assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        !reply.body["fix"].as_str().unwrap().contains("booking"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_sender_address_no_email_could_be_sent_from_is_refused_when_saved() {
    let app = TestApp::new().await;
    let (key, _) = app.tenant("salon-a").await;
    let before = app.call("GET", "/v1/config", &key, None).await.body;
    for from in [
        "Evil\r\nBcc: victim@example.com <a@b.example>",
        "not an address",
    ] {
        let reply = app
            .call(
                "PUT",
                "/v1/config",
                &key,
                Some(json!({"timezone": "Europe/London", "currency": "GBP",
                            "outreach": {"senders": {"email_from": from}}})),
            )
            .await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            pointers(&reply),
            ["/outreach/senders/email_from"],
            "{}",
            reply.body
        );
    }
    assert_eq!(app.call("GET", "/v1/config", &key, None).await.body, before);
    let reply = app
        .call(
            "PUT",
            "/v1/config",
            &key,
            Some(json!({"outreach": {"senders": {"email_from": "Maple Street <hello@salon.example>"}}})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn a_deployment_bound_to_a_domain_refuses_a_business_sender_elsewhere() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let clock = Arc::new(FixedClock(NOW.parse().unwrap()));
    let app = TestApp {
        router: router(Api::sending_from(
            Arc::clone(&store),
            clock,
            Some("salon.example".into()),
        )),
        store,
    };
    let (key, _) = app.tenant("salon-a").await;
    let config = |from: &str| json!({"outreach": {"senders": {"email_from": from}}});
    let reply = app
        .call(
            "PUT",
            "/v1/config",
            &key,
            Some(config("Evil <ceo@bank.example>")),
        )
        .await;
    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&reply), ["/outreach/senders/email_from"]);
    assert!(
        reply.body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("salon.example"),
        "{}",
        reply.body
    );
    for own in ["Maple <hello@salon.example>", "news@mail.salon.example"] {
        let reply = app.call("PUT", "/v1/config", &key, Some(config(own))).await;
        assert_eq!(reply.status, StatusCode::OK, "{own}: {}", reply.body);
    }
}
