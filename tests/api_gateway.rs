//! API Gateway (HTTP API, payload v2) events for the `ingest` and `links` binaries and their
//! responses.

use serde_json::{Value, json};

use crate::runtime_api::Outcome;

/// The request `sam local generate-event apigateway http-api-proxy` writes, made into `method
/// path` with these headers and body.
pub fn request(method: &str, path_and_query: &str, key: &str, body: Option<&Value>) -> Value {
    let fixture =
        std::fs::read_to_string(crate::repo().join("functions/ingest/events/http-api-proxy.json"))
            .unwrap();
    let mut event: Value = serde_json::from_str(&fixture).unwrap();
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!(query);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    let object = event.as_object_mut().unwrap();
    for unused in [
        "cookies",
        "queryStringParameters",
        "pathParameters",
        "stageVariables",
    ] {
        object.remove(unused);
    }
    event["headers"] = json!({"authorization": format!("Bearer {key}")});
    match body {
        Some(body) => {
            event["headers"]["content-type"] = json!("application/json");
            event["body"] = json!(body.to_string());
            event["isBase64Encoded"] = json!(false);
        }
        None => {
            event.as_object_mut().unwrap().remove("body");
            event["isBase64Encoded"] = json!(false);
        }
    }
    event
}

/// The status and JSON body of an API Gateway v2 response.
pub fn reply(outcome: Outcome) -> (u64, Value) {
    let Outcome::Response(response) = outcome else {
        panic!("the function failed: {outcome:?}")
    };
    let status = response["statusCode"].as_u64().unwrap();
    let body = response["body"].as_str().unwrap_or_default();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap()
    };
    (status, body)
}

/// A request for a link page, as a phone's browser (or a mail client's one-click unsubscribe)
/// makes it: no credentials, a form body when posting.
pub fn page_request(method: &str, path: &str, form: Option<&str>) -> Value {
    let mut event = request(method, path, "", None);
    event["headers"] = json!({"user-agent": "Mozilla/5.0 (iPhone)"});
    if let Some(form) = form {
        event["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
        event["body"] = json!(form);
    }
    event
}

/// The status, `Location` header and HTML body of a link page's response.
pub fn page_reply(outcome: Outcome) -> (u64, Option<String>, String) {
    let Outcome::Response(response) = outcome else {
        panic!("the function failed: {outcome:?}")
    };
    let status = response["statusCode"].as_u64().unwrap();
    let location = response["headers"]["location"].as_str().map(str::to_owned);
    let body = response["body"].as_str().unwrap_or_default().to_owned();
    (status, location, body)
}
