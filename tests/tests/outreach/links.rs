//! The links in a message: a rebook recorded and landed, an opt-out confirmed, a bad link refused.

use std::sync::Arc;

use shared::domain::contact::EmailAddress;
use shared::ports::FixedClock;

use crate::support::*;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use shared::app::links::Links;
use shared::domain::contact::ContactHash;
use shared::http::links_router;
use tower::ServiceExt;

async fn call(
    world: &World,
    now: &str,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, Option<String>, String) {
    let links = Arc::new(Links::new(
        Arc::clone(&world.store),
        Arc::new(FixedClock(at(now))),
        keys(),
    ));
    let response = links_router(links)
        .oneshot(
            Request::builder()
                .method(method)
                .uri(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.to_owned()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    // No other site can frame a link page (a click-jacked opt-out or rebook).
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(
        response.headers()[header::X_CONTENT_TYPE_OPTIONS],
        "nosniff"
    );
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, location, String::from_utf8(body.to_vec()).unwrap())
}

/// A sent first message, with a booking page set.
async fn sent() -> (World, tempfile::TempDir, String) {
    let (world, event, outbox) = queued_with(|config| {
        config.outreach.booking_url =
            Some("https://book.salon.example/new?client={client_id}&service={service}".into());
    })
    .await;
    deliverer(&world, &outbox, "2026-06-01T08:06:00Z")
        .deliver(&event)
        .await
        .unwrap();
    // Quoted-printable soft line breaks undone, as a mail client would.
    let email = emails(&outbox).remove(0).replace("=\r\n", "");
    (world, outbox, email)
}

#[tokio::test]
async fn a_rebook_link_is_recorded_and_lands_on_the_booking_page_filled_in() {
    let (world, _outbox, email) = sent().await;
    let token = token_in(&email, "r");
    let (status, location, _) = call(
        &world,
        "2026-06-02T19:00:00Z",
        "GET",
        &format!("/r/{token}"),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::FOUND);
    let location = location.unwrap();
    assert!(
        location.starts_with("https://book.salon.example/new?client=ana&service=Cut"),
        "{location}"
    );
    for utm in [
        "utm_source=winback",
        "utm_medium=email",
        "utm_content=step-1",
    ] {
        assert!(location.contains(utm), "{location} lacks {utm}");
    }
    let clicks = world
        .store
        .clicks(&world.tenant.id, &client("ana"))
        .await
        .unwrap();
    assert_eq!(clicks.len(), 1);
    assert_eq!(clicks[0].at, at("2026-06-02T19:00:00Z"));
}

#[tokio::test]
async fn an_opt_out_is_confirmed_by_one_post_and_stops_the_sequence_for_good() {
    let (world, outbox, email) = sent().await;
    let token = token_in(&email, "u");
    let path = format!("/u/{token}");
    let now = "2026-06-02T19:00:00Z";
    let contact = ContactHash::of_email(&EmailAddress::parse("ana@example.com").unwrap());

    // Opening the page (or a mail scanner fetching it) changes nothing.
    let (status, _, page) = call(&world, now, "GET", &path, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<form method=\"post\">") && page.contains("Salon"),
        "{page}"
    );
    assert!(
        !world
            .store
            .is_suppressed(&world.tenant.id, &contact)
            .await
            .unwrap()
    );
    assert!(world.outreach("ana").await.active.is_some());

    // The mail client's one-click POST (RFC 8058).
    let (status, _, page) = call(&world, now, "POST", &path, "List-Unsubscribe=One-Click").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("You are unsubscribed"), "{page}");
    assert!(
        world
            .store
            .is_suppressed(&world.tenant.id, &contact)
            .await
            .unwrap()
    );
    let outreach = world.outreach("ana").await;
    assert!(outreach.active.is_none() && outreach.pending_step.is_none());
    assert!(world.due("2026-12-31T00:00:00Z").await.is_empty());
    // Again (a second tap): the same page, one ledger line.
    let (status, _, _) = call(&world, now, "POST", &path, "").await;
    assert_eq!(status, StatusCode::OK);
    let ledger = world
        .store
        .consent_ledger(&world.tenant.id, &contact)
        .await
        .unwrap();
    assert_eq!(ledger.len(), 1);
    assert!(!ledger[0].entry.granted);
    assert_eq!(ledger[0].entry.source, "unsubscribe link");
    assert!(ledger[0].entry.wording.contains("one-click"));
    let (_, _, page) = call(&world, now, "GET", &path, "").await;
    assert!(page.contains("You are unsubscribed"), "{page}");
    assert_eq!(emails(&outbox).len(), 1);
}

#[tokio::test]
async fn a_damaged_expired_or_misused_link_gets_a_friendly_page_and_changes_nothing() {
    let (world, _outbox, email) = sent().await;
    let opt_out = token_in(&email, "u");
    let rebook = token_in(&email, "r");
    let now = "2026-06-02T19:00:00Z";
    let mut tampered = opt_out.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let truncated = &opt_out[..opt_out.len() / 2];
    // The key id damaged: no key has it, which says nothing about the link's age.
    let (key_id, rest) = opt_out.split_once('.').unwrap();
    let damaged_prefix = format!("{}x.{rest}", &key_id[..key_id.len() - 1]);
    for (path, method, status) in [
        (
            format!("/u/{damaged_prefix}"),
            "POST",
            StatusCode::BAD_REQUEST,
        ),
        (format!("/u/{tampered}"), "POST", StatusCode::BAD_REQUEST),
        (format!("/u/{truncated}"), "POST", StatusCode::BAD_REQUEST),
        (format!("/u/{rebook}"), "POST", StatusCode::BAD_REQUEST),
        (format!("/r/{opt_out}"), "GET", StatusCode::BAD_REQUEST),
        (format!("/r/{tampered}"), "GET", StatusCode::BAD_REQUEST),
    ] {
        let (got, location, page) = call(&world, now, method, &path, "").await;
        assert_eq!(got, status, "{method} {path}");
        assert_eq!(location, None);
        assert!(page.contains("This link does not work"), "{page}");
    }
    // 120 days on, the links have expired.
    let (got, _, page) = call(
        &world,
        "2026-10-01T00:00:00Z",
        "POST",
        &format!("/u/{opt_out}"),
        "",
    )
    .await;
    assert_eq!(got, StatusCode::GONE);
    assert!(page.contains("expired"), "{page}");
    let contact = ContactHash::of_email(&EmailAddress::parse("ana@example.com").unwrap());
    assert!(
        !world
            .store
            .is_suppressed(&world.tenant.id, &contact)
            .await
            .unwrap()
    );
    assert!(world.outreach("ana").await.active.is_some());
    assert!(
        world
            .store
            .clicks(&world.tenant.id, &client("ana"))
            .await
            .unwrap()
            .is_empty()
    );
}
