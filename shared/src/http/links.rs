//! The pages behind the links in a message, for a client on a phone: `GET /r/{token}` (rebook:
//! a 302 to the business's booking page), `GET /u/{token}` (a page that confirms the opt-out
//! with one button) and `POST /u/{token}` (the button, and the RFC 8058 one-click target mail
//! clients post `List-Unsubscribe=One-Click` to). Every answer is a small HTML page in the
//! business's name; a bad link gets a friendly 4xx page and changes nothing.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use html_escape::encode_text;

use crate::app::links::{Landing, LinkError, Links, OptOut};
use crate::domain::channel::Channel;
use crate::domain::link_token::TokenError;

/// Every link route, as (method, path template): the template is checked against this list.
pub const LINK_ROUTES: [(&str, &str); 3] = [
    ("GET", "/r/{token}"),
    ("GET", "/u/{token}"),
    ("POST", "/u/{token}"),
];

/// What RFC 8058 one-click unsubscribe posts.
const ONE_CLICK: &str = "List-Unsubscribe=One-Click";

pub fn links_router(links: Arc<Links>) -> Router {
    Router::new()
        .route("/r/{token}", get(rebook))
        .route("/u/{token}", get(opt_out_page).post(opt_out))
        .with_state(links)
}

async fn rebook(State(links): State<Arc<Links>>, Path(token): Path<String>) -> Response {
    match links.rebook(&token).await {
        Ok(Landing::BookingPage(url)) => {
            let mut response = StatusCode::FOUND.into_response();
            if let Ok(location) = HeaderValue::from_str(url.as_str()) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            private(response)
        }
        Ok(Landing::NoBookingPage { business }) => page(
            StatusCode::OK,
            &business,
            &format!("Book your next visit with {business}"),
            &format!(
                "<p>{} does not take bookings online yet. Call or message them and they will find you a time.</p>",
                encode_text(&business)
            ),
        ),
        Err(error) => refused(&error),
    }
}

async fn opt_out_page(State(links): State<Arc<Links>>, Path(token): Path<String>) -> Response {
    match links.opt_out_page(&token).await {
        Ok(opt_out) if opt_out.done => done_page(&opt_out),
        Ok(OptOut {
            business, channel, ..
        }) => page(
            StatusCode::OK,
            &business,
            &format!("Stop {} from {business}?", messages(channel)),
            &format!(
                "<p>Press the button and {} will stop sending you {} about booking your next visit.</p>\
                 <form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>",
                encode_text(&business),
                messages(channel)
            ),
        ),
        Err(error) => refused(&error),
    }
}

async fn opt_out(
    State(links): State<Arc<Links>>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let wording = if String::from_utf8_lossy(&body).contains(ONE_CLICK) {
        "one-click unsubscribe from the mail client"
    } else {
        "unsubscribe button on the opt-out page"
    };
    match links.opt_out(&token, wording).await {
        Ok(opt_out) => done_page(&opt_out),
        Err(error) => refused(&error),
    }
}

fn done_page(opt_out: &OptOut) -> Response {
    let business = &opt_out.business;
    page(
        StatusCode::OK,
        business,
        "You are unsubscribed",
        &format!(
            "<p>{} will not send you any more {}. You can still book with them whenever you like.</p>",
            encode_text(business),
            messages(opt_out.channel)
        ),
    )
}

fn messages(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "emails",
        Channel::Sms => "text messages",
    }
}

/// The page for a link that does not work: what happened and what to do, nothing changed.
fn refused(error: &LinkError) -> Response {
    let (status, text) = match error {
        // A key id no key of this deployment has is as likely a damaged link as a retired
        // key: only the link's own expiry says for sure that it is gone.
        LinkError::Token(TokenError::Expired) => (
            StatusCode::GONE,
            "This link has expired. Links in older messages stop working after a while; use the link in the latest message, or contact the business directly.",
        ),
        LinkError::Token(_) => (
            StatusCode::BAD_REQUEST,
            "This link is incomplete or was changed. Try tapping it again in the message, or copy the whole address.",
        ),
        LinkError::UnknownBusiness => (
            StatusCode::NOT_FOUND,
            "The business this link belongs to is no longer using this service. Nothing was changed.",
        ),
        LinkError::Store(store) => {
            tracing::error!(error = %store, "a link could not be served");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Something went wrong on our side and nothing was changed. Please try again in a minute.",
            )
        }
    };
    page(
        status,
        "",
        "This link does not work",
        &format!("<p>{}</p>", encode_text(text)),
    )
}

/// A small page that reads well on a phone.
fn page(status: StatusCode, business: &str, title: &str, body: &str) -> Response {
    let heading = if business.is_empty() {
        String::new()
    } else {
        format!("<p class=\"from\">{}</p>", encode_text(business))
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title><style>\
         body{{font-family:system-ui,-apple-system,sans-serif;max-width:30rem;margin:2.5rem auto;\
         padding:0 1.25rem;line-height:1.5;color:#1d1d1f}}.from{{color:#6e6e73;margin:0}}\
         h1{{font-size:1.5rem;margin:.25rem 0 1rem}}button{{font:inherit;font-size:1.1rem;\
         width:100%;padding:.9rem;border:0;border-radius:.6rem;background:#1d1d1f;color:#fff}}\
         </style></head><body>{heading}<h1>{title}</h1>{body}</body></html>",
        title = encode_text(title),
    );
    private(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
    )
}

/// Links carry a token: never cached, never passed on as a referrer. Their pages load nothing
/// from anywhere, post only to themselves, and no other site can frame them (a framed opt-out
/// or rebook button could be clicked for the client).
fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
