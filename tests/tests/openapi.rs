//! The API reference (`docs/openapi.yaml`) against the code: the same routes, every example
//! request accepted with a documented status, and every error a route gives documented.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use serde_json::Value;
use tower::ServiceExt;
use yaml_rust2::{Yaml, YamlLoader};

use shared::adapters::local::SqliteStore;
use shared::domain::config::BusinessConfig;
use shared::domain::ids::TenantId;
use shared::domain::tenant::{ApiKey, Tenant};
use shared::http::routes::ROUTES;
use shared::http::{Api, router};
use shared::ports::{FixedClock, Store};

fn reference() -> Yaml {
    let text = std::fs::read_to_string(system_tests::repo().join("docs/openapi.yaml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn operations(doc: &Yaml) -> Vec<(String, String, Yaml)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_hash().unwrap() {
        for (method, operation) in item.as_hash().unwrap() {
            let method = method.as_str().unwrap();
            if method == "parameters" {
                continue;
            }
            found.push((
                method.to_uppercase(),
                path.as_str().unwrap().to_owned(),
                operation.clone(),
            ));
        }
    }
    found
}

fn documented_statuses(operation: &Yaml) -> BTreeSet<u16> {
    operation["responses"]
        .as_hash()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().parse().unwrap())
        .collect()
}

/// YAML (as yaml-rust2 reads it) to JSON.
fn json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.as_str().unwrap().to_owned(), json(v)))
                .collect(),
        ),
        Yaml::Array(list) => Value::Array(list.iter().map(json).collect()),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Real(r) => Value::from(r.parse::<f64>().unwrap()),
        Yaml::Boolean(b) => Value::Bool(*b),
        _ => Value::Null,
    }
}

#[test]
fn the_reference_lists_exactly_the_routes_the_router_serves() {
    let documented: BTreeSet<(String, String)> = operations(&reference())
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, served);
}

#[tokio::test]
async fn the_reference_s_examples_are_accepted_and_every_error_is_documented() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let tenant = Tenant {
        id: TenantId::parse("docs").unwrap(),
        name: "Docs".into(),
        config: BusinessConfig::default(),
        created_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        webhook_secrets: Vec::new(),
        paused: None,
    };
    store.create_tenant(&tenant).await.unwrap();
    let key = ApiKey::from_random([8; 32]);
    store.add_api_key(&tenant.id, &key.hash()).await.unwrap();
    let app = router(Api::new(
        store,
        Arc::new(FixedClock("2030-03-04T10:00:00Z".parse().unwrap())),
    ));
    let send = |method: &str, path: &str, key: Option<&str>, kind: &str, body: String| {
        let mut request = Request::builder()
            .method(method)
            .uri(path.replace("{id}", "c-1"))
            .header(header::CONTENT_TYPE, kind);
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let request = request.body(Body::from(body)).unwrap();
        let app = app.clone();
        async move { app.oneshot(request).await.unwrap().status().as_u16() }
    };
    let doc = reference();
    let key = key.expose();
    for (method, path, operation) in operations(&doc) {
        let documented = documented_statuses(&operation);
        let examples = &operation["requestBody"]["content"]["application/json"]["examples"];
        for (name, example) in examples.as_hash().into_iter().flatten() {
            let body = json(&example["value"]).to_string();
            let status = send(&method, &path, Some(key), "application/json", body).await;
            assert!(
                (200..300).contains(&status) && documented.contains(&status),
                "{method} {path} example {name:?} got {status}"
            );
        }
        let mut errors = vec![
            send(&method, &path, None, "application/json", String::new()).await,
            send(
                &method,
                &path,
                Some("wbk_wrong"),
                "application/json",
                String::new(),
            )
            .await,
        ];
        // A query parameter given twice, and an id longer than any id can be.
        errors.push(
            send(
                &method,
                &format!("{path}?tenant=docs&tenant=docs"),
                Some(key),
                "application/json",
                "{}".into(),
            )
            .await,
        );
        if path.contains("{id}") {
            let long = path.replace("{id}", &"x".repeat(300));
            errors.push(send(&method, &long, Some(key), "application/json", "{}".into()).await);
        }
        if matches!(method.as_str(), "PUT" | "POST") {
            errors.push(send(&method, &path, Some(key), "text/plain", "{}".into()).await);
            errors.push(send(&method, &path, Some(key), "application/json", "{".into()).await);
            errors.push(send(&method, &path, Some(key), "application/json", "[]".into()).await);
            errors.push(
                send(
                    &method,
                    &path,
                    Some(key),
                    "application/json",
                    " ".repeat(2 << 20),
                )
                .await,
            );
        }
        for status in errors {
            assert!(
                documented.contains(&status),
                "{method} {path} answers {status}, which the reference does not list"
            );
        }
    }
}
