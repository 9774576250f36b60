//! The `/v1` routes. Each handler authenticates, parses, calls one use case and encodes the
//! result; every error is a [`Problem`].

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::app::detect::ContactError;
use crate::app::settings::SettingsError;
use crate::domain::attribution;
use crate::domain::booking::Booking;
use crate::domain::booking_change::BookingOutcome;
use crate::domain::config::BusinessConfig;
use crate::domain::day::Day;
use crate::domain::enrollment::CodeStatus;
use crate::domain::ids::{Category, ClientId};
use crate::domain::money::Money;
use crate::domain::reputation::{self, Pause};
use crate::http::Api;
use crate::http::auth::{self, Caller, store_problem};
use crate::http::problem::{FieldError, Problem};
use crate::http::wire;
use crate::ports::ProfileOutcome;

/// The largest request body: a full batch of 100 bookings fits with room to spare.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Every route the router serves, as (method, path template): the API reference
/// (`docs/openapi.yaml`) is checked against this list, and this list against the router.
pub const ROUTES: [(&str, &str); 11] = [
    ("PUT", "/v1/clients/{id}"),
    ("GET", "/v1/clients/{id}"),
    ("DELETE", "/v1/clients/{id}"),
    ("POST", "/v1/bookings"),
    ("GET", "/v1/config"),
    ("PUT", "/v1/config"),
    ("GET", "/v1/overdue"),
    ("POST", "/v1/overdue/contact"),
    ("GET", "/v1/sending"),
    ("POST", "/v1/sending/resume"),
    ("GET", "/v1/reports/outreach"),
];

/// The API as one router, for API Gateway (through `lambda_http`) and for `winback serve`.
pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route(
            "/v1/clients/{id}",
            get(get_client).put(put_client).delete(delete_client),
        )
        .route("/v1/bookings", post(post_bookings))
        .route("/v1/config", get(get_config).put(put_config))
        .route("/v1/overdue", get(get_overdue))
        .route("/v1/overdue/contact", post(post_overdue_contact))
        .route("/v1/sending", get(get_sending))
        .route("/v1/sending/resume", post(post_sending_resume))
        .route("/v1/reports/outreach", get(get_outreach_report))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(log_request))
        .with_state(api)
}

/// One structured log line per request: route pattern, status and time; never the path's ids,
/// the body or a header's value.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        millis = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

async fn not_found() -> Problem {
    Problem::not_found(
        "there is no such route",
        "The routes are PUT, GET and DELETE /v1/clients/{id}, POST /v1/bookings, GET and PUT /v1/config, GET /v1/overdue, POST /v1/overdue/contact, GET /v1/sending, POST /v1/sending/resume and GET /v1/reports/outreach.",
    )
}

async fn method_not_allowed() -> Problem {
    Problem::method_not_allowed("this route does not take that method")
}

/// A parameter of the query string, decoded, if present.
/// A query parameter, if given; given more than once, it is refused (which one was meant?).
fn query_param(query: &Option<String>, name: &str) -> Result<Option<String>, Problem> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let mut values = pairs.into_iter().filter(|(n, _)| n == name).map(|(_, v)| v);
    let first = values.next();
    let more = values.count();
    if more > 0 {
        return Err(Problem::invalid(vec![FieldError {
            pointer: format!("?{name}"),
            detail: format!("?{name}= is given {} times", more + 1),
            fix: format!("Give ?{name}= once."),
        }]));
    }
    Ok(first)
}

/// `?tenant=` from the query string, if any.
fn tenant_param(query: &Option<String>) -> Result<Option<String>, Problem> {
    query_param(query, "tenant")
}

fn require_json(headers: &HeaderMap) -> Result<(), Problem> {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let essence = kind
        .map(|k| {
            k.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(Problem::unsupported_media_type(kind))
    }
}

async fn read_body(body: Body) -> Result<axum::body::Bytes, Problem> {
    to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| Problem::too_large(MAX_BODY_BYTES))
}

fn client_id(raw: &str) -> Result<ClientId, Problem> {
    ClientId::parse(raw).map_err(|e| {
        Problem::invalid(vec![FieldError {
            pointer: String::new(),
            detail: format!("the client id in the URL is not valid: {e}"),
            fix: "use the booking tool's client id, URL-encoded".into(),
        }])
    })
}

/// Remembers a processed signed delivery so a redelivery does nothing.
async fn remember(api: &Api, caller: &Caller) -> Result<(), Problem> {
    if let Some(id) = &caller.webhook_id {
        api.access
            .remember_processed(&caller.tenant.id, id)
            .await
            .map_err(store_problem)?;
    }
    Ok(())
}

fn already_processed() -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({"outcome": "already_processed"})),
    )
        .into_response()
}

/// The start every write with a body shares: read the body and authenticate (a signature
/// covers the body). `None` for a signed delivery already processed: answer, do nothing.
async fn write(
    api: &Api,
    query: &Option<String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Option<(Caller, axum::body::Bytes)>, Problem> {
    let body = read_body(body).await?;
    let caller = auth::authenticate(api, headers, tenant_param(query)?.as_deref(), &body).await?;
    if caller.already_processed {
        return Ok(None);
    }
    Ok(Some((caller, body)))
}

/// A write whose body must be JSON.
async fn json_write(
    api: &Api,
    query: &Option<String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Option<(Caller, axum::body::Bytes)>, Problem> {
    let written = write(api, query, headers, body).await?;
    if written.is_some() {
        require_json(headers)?;
    }
    Ok(written)
}

async fn put_client(
    State(api): State<Arc<Api>>,
    Path(raw_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let Some((caller, body)) = json_write(&api, &query, &headers, body).await? else {
        return Ok(already_processed());
    };
    let id = client_id(&raw_id)?;
    let value = read_object(
        &body,
        "Send the client's profile as one JSON object: {\"name\": \"Ana Lopez\", \"email\": ...}.",
    )?;
    let profile = wire::client_profile(&id, &value).map_err(Problem::invalid)?;
    let outcome = api
        .ingest
        .upsert_client(&caller.tenant, &profile)
        .await
        .map_err(store_problem)?;
    remember(&api, &caller).await?;
    let status = match outcome {
        ProfileOutcome::Created => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    Ok((status, axum::Json(json!({"id": id, "outcome": outcome}))).into_response())
}

async fn post_bookings(
    State(api): State<Arc<Api>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let Some((caller, body)) = json_write(&api, &query, &headers, body).await? else {
        return Ok(already_processed());
    };
    let value = read_object(&body, "Send {\"bookings\": [...]}, one JSON object.")?;
    let tenant = &caller.tenant;
    let (bookings, batch) = wire::bookings(&value, tenant.config.currency, api.clock.now())
        .map_err(Problem::invalid)?;
    let outcomes = api
        .ingest
        .apply_bookings(tenant, &bookings)
        .await
        .map_err(store_problem)?;
    let codes = api
        .ingest
        .code_statuses(tenant, &bookings)
        .await
        .map_err(store_problem)?;
    remember(&api, &caller).await?;
    // Each booking's result, with what became of its offer code when it carried one.
    let result = |booking: &Booking, outcome: BookingOutcome, code: Option<CodeStatus>| {
        let mut result = json!({"id": booking.id, "outcome": outcome});
        if let (Some(sent), Some(status)) = (&booking.offer_code, code) {
            result["offer_code"] = json!({"code": sent, "status": status});
        }
        result
    };
    if !batch {
        let (booking, outcome) = (&bookings[0], outcomes[0]);
        return Ok(match outcome {
            BookingOutcome::Conflicting => Problem::conflict(
                format!(
                    "booking {} is stored with the same updated_at and different content",
                    booking.id
                ),
                "Send the changed booking with a later updated_at.",
            )
            .into_response(),
            BookingOutcome::Created => (
                StatusCode::CREATED,
                axum::Json(result(booking, outcome, codes[0])),
            )
                .into_response(),
            _ => axum::Json(result(booking, outcome, codes[0])).into_response(),
        });
    }
    let results: Vec<_> = bookings
        .iter()
        .zip(&outcomes)
        .zip(&codes)
        .map(|((booking, outcome), code)| match outcome {
            BookingOutcome::Conflicting => json!({
                "id": booking.id,
                "outcome": outcome,
                "detail": "stored with the same updated_at and different content; send the change with a later updated_at",
            }),
            _ => result(booking, *outcome, *code),
        })
        .collect();
    Ok(axum::Json(json!({ "results": results })).into_response())
}

async fn get_client(
    State(api): State<Arc<Api>>,
    Path(raw_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let caller = auth::authenticate(&api, &headers, tenant_param(&query)?.as_deref(), b"").await?;
    let id = client_id(&raw_id)?;
    let view = api
        .ingest
        .client(&caller.tenant, &id)
        .await
        .map_err(store_problem)?
        .ok_or_else(|| unknown_client(&id))?;
    Ok(axum::Json(view).into_response())
}

async fn delete_client(
    State(api): State<Arc<Api>>,
    Path(raw_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let caller = auth::authenticate(&api, &headers, tenant_param(&query)?.as_deref(), b"").await?;
    if caller.already_processed {
        return Ok(already_processed());
    }
    let id = client_id(&raw_id)?;
    let erased = api
        .ingest
        .erase(&caller.tenant, &id)
        .await
        .map_err(store_problem)?;
    remember(&api, &caller).await?;
    match erased {
        Some(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        None => Err(unknown_client(&id)),
    }
}

async fn get_config(
    State(api): State<Arc<Api>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let caller = auth::authenticate(&api, &headers, tenant_param(&query)?.as_deref(), b"").await?;
    Ok(axum::Json(&caller.tenant.config).into_response())
}

/// Replaces the business's settings with the document sent (fields left out take their
/// defaults), validated first: a bad field is named and nothing is stored.
async fn put_config(
    State(api): State<Arc<Api>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let Some((caller, body)) = json_write(&api, &query, &headers, body).await? else {
        return Ok(already_processed());
    };
    let config = parse_config(&body)?;
    api.settings
        .replace(&caller.tenant, &config)
        .await
        .map_err(|error| match error {
            SettingsError::Store(error) => store_problem(error),
            SettingsError::ForeignSender { ref allowed, .. } => Problem::invalid(vec![FieldError {
                pointer: "/outreach/senders/email_from".into(),
                detail: error.to_string(),
                fix: format!(
                    "Use an address at {allowed} (the domain verified for this deployment), or leave email_from out to send from the deployment's own address; nothing was stored."
                ),
            }]),
        })?;
    remember(&api, &caller).await?;
    Ok(axum::Json(&config).into_response())
}

fn parse_config(body: &[u8]) -> Result<BusinessConfig, Problem> {
    let value = read_object(
        body,
        "Send the settings as one JSON object (see the settings reference in the README); fields left out take their defaults.",
    )?;
    let config: BusinessConfig =
        serde_path_to_error::deserialize(value).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            let pointer = if path == "." {
                String::new()
            } else {
                format!("/{}", path.replace(['.', '['], "/").replace(']', ""))
            };
            Problem::invalid(vec![FieldError {
                pointer,
                detail: inner.to_string(),
                fix: "Correct the value (see the settings reference in the README), or leave the field out for its default.".into(),
            }])
        })?;
    config.validate().map_err(|error| {
        Problem::invalid(vec![FieldError {
            pointer: error.pointer(),
            detail: error.to_string(),
            fix: "Correct this setting and send the whole document again; nothing was stored."
                .into(),
        }])
    })?;
    Ok(config)
}

/// A JSON route's body, read the one way they all read it ([`wire::object`]); `fix` says what
/// the route takes when the body is JSON but not an object.
fn read_object(body: &[u8], fix: &str) -> Result<serde_json::Value, Problem> {
    wire::object(body).map_err(|error| match error {
        wire::BodyError::NotJson(error) => Problem::malformed(error),
        wire::BodyError::NotAnObject(_) => Problem::invalid(vec![FieldError {
            pointer: String::new(),
            detail: error.to_string(),
            fix: fix.into(),
        }]),
    })
}

async fn get_overdue(
    State(api): State<Arc<Api>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let caller = auth::authenticate(&api, &headers, tenant_param(&query)?.as_deref(), b"").await?;
    let category = query_param(&query, "category")?
        .map(|raw| category_param(&raw, ""))
        .transpose()?;
    let list = api
        .detector
        .overdue(&caller.tenant, category.as_ref())
        .await
        .map_err(store_problem)?;
    Ok(axum::Json(list).into_response())
}

/// What outreach achieved for the enrollments started in a period (`?from=` and `?to=`, local
/// days, both included; the last 90 days by default).
async fn get_outreach_report(
    State(api): State<Arc<Api>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let caller = auth::authenticate(&api, &headers, tenant_param(&query)?.as_deref(), b"").await?;
    let tenant = &caller.tenant;
    let day_param = |name: &str| -> Result<Option<Day>, Problem> {
        let Some(raw) = query_param(&query, name)? else {
            return Ok(None);
        };
        raw.trim()
            .parse::<jiff::civil::Date>()
            .map(|date| Some(Day::from(date)))
            .map_err(|_| {
                Problem::invalid(vec![FieldError {
                    pointer: format!("?{name}"),
                    detail: format!("{raw:?} is not a date"),
                    fix: "Give a date as YYYY-MM-DD, for example 2026-09-01.".into(),
                }])
            })
    };
    let (from, to) = (day_param("from")?, day_param("to")?);
    let (from, through) =
        attribution::report_period(from, to, api.ingest.today(tenant)).map_err(|e| {
            Problem::invalid(vec![FieldError {
                pointer: "?from".into(),
                detail: e.to_string(),
                fix:
                    "Ask for a period of at most three years, from an earlier date to a later one."
                        .into(),
            }])
        })?;
    let report = api
        .reports
        .outreach(&tenant.id, from, through)
        .await
        .map_err(store_problem)?;
    let mut body = serde_json::to_value(&report).expect("a report is plain data");
    body["from"] = json!(from);
    body["to"] = json!(through);
    body["currency"] = json!(tenant.config.currency.code());
    let revenue = Money {
        minor: report.revenue_minor,
        currency: tenant.config.currency,
    };
    body["revenue"] = json!(revenue.to_string());
    Ok(axum::Json(body).into_response())
}

/// Enrolls every eligible overdue client (of `category`, or of all) at once. Safe to repeat.
async fn post_overdue_contact(
    State(api): State<Arc<Api>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let Some((caller, body)) = write(&api, &query, &headers, body).await? else {
        return Ok(already_processed());
    };
    let category = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        require_json(&headers)?;
        let value = read_object(
            &body,
            "Send {\"category\": \"hair\"}, or no body to contact every overdue client.",
        )?;
        match value.get("category") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(raw)) => Some(category_param(raw, "/category")?),
            Some(_) => {
                return Err(Problem::invalid(vec![FieldError {
                    pointer: "/category".into(),
                    detail: "category must be a string".into(),
                    fix:
                        "Send {\"category\": \"hair\"}, or no body to contact every overdue client."
                            .into(),
                }]));
            }
        }
    };
    let report = api
        .detector
        .contact_overdue(&caller.tenant, category.as_ref())
        .await
        .map_err(|error| match error {
            ContactError::Paused(pause) => paused(&pause),
            ContactError::Store(error) => store_problem(error),
        })?;
    remember(&api, &caller).await?;
    Ok(axum::Json(report).into_response())
}

fn paused(pause: &Pause) -> Problem {
    Problem::conflict(
        format!("sending is paused since {}: {}", pause.since, pause.reason),
        "Fix the cause, then POST /v1/sending/resume.",
    )
}

/// Whether the business's messages go out, and its email bounce and complaint rates over the
/// last 30 days.
async fn get_sending(
    State(api): State<Arc<Api>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let caller = auth::authenticate(&api, &headers, tenant_param(&query)?.as_deref(), b"").await?;
    let sending = api
        .settings
        .sending(&caller.tenant)
        .await
        .map_err(store_problem)?;
    let counts = sending.counts;
    Ok(axum::Json(json!({
        "status": if sending.paused.is_some() { "paused" } else { "active" },
        "paused": sending.paused,
        "email_last_30_days": {
            "sent": counts.sent,
            "bounced": counts.bounced,
            "complained": counts.complained,
            "bounce_rate": counts.bounce_rate(),
            "complaint_rate": counts.complaint_rate(),
        },
        "limits": {
            "bounce_rate": reputation::MAX_BOUNCE_RATE,
            "complaint_rate": reputation::MAX_COMPLAINT_RATE,
            "min_sent": reputation::MIN_SENT,
        },
    }))
    .into_response())
}

/// Resumes a paused business's sending (nothing happens if it was not paused).
async fn post_sending_resume(
    State(api): State<Arc<Api>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let Some((caller, _)) = write(&api, &query, &headers, body).await? else {
        return Ok(already_processed());
    };
    let was = api
        .settings
        .resume(&caller.tenant)
        .await
        .map_err(store_problem)?;
    remember(&api, &caller).await?;
    Ok(axum::Json(json!({"status": "active", "was_paused": was})).into_response())
}

fn category_param(raw: &str, pointer: &str) -> Result<Category, Problem> {
    Category::parse(raw).map_err(|e| {
        Problem::invalid(vec![FieldError {
            pointer: pointer.to_owned(),
            detail: format!("the category is not valid: {e}"),
            fix: "Name a service category as your bookings do, for example hair.".into(),
        }])
    })
}

fn unknown_client(id: &ClientId) -> Problem {
    Problem::not_found(
        format!("no client {id} is stored"),
        "Check the id; send the client with PUT /v1/clients/{id} or a booking for them first. An erased client stays gone.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::local::SqliteStore;
    use crate::ports::FixedClock;
    use tower::ServiceExt;

    #[tokio::test]
    async fn every_listed_route_is_served_and_nothing_else_is() {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let app = router(Api::new(
            store,
            Arc::new(FixedClock("2030-03-04T10:00:00Z".parse().unwrap())),
        ));
        let status = |method: &str, path: &str| {
            let request = axum::http::Request::builder()
                .method(method)
                .uri(path.replace("{id}", "c-1"))
                .body(Body::empty())
                .unwrap();
            let app = app.clone();
            async move { app.oneshot(request).await.unwrap().status() }
        };
        for (method, path) in ROUTES {
            // Unauthenticated, so 401 where the route exists.
            assert_eq!(
                status(method, path).await,
                StatusCode::UNAUTHORIZED,
                "{method} {path}"
            );
        }
        assert_eq!(
            status("PATCH", "/v1/clients/{id}").await,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            status("GET", "/v1/bookings").await,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(status("GET", "/v1/other").await, StatusCode::NOT_FOUND);
    }
}
