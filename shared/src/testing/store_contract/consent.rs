//! Consent and suppression.

use jiff::Timestamp;

use crate::domain::contact::{ContactHash, PhoneNumber};
use crate::ports::Store;

use super::{client_id, contract_cases, tenant};

async fn an_opt_out_suppresses_once_and_only_start_lifts_it(store: &dyn Store) {
    use crate::domain::channel::Channel;
    use crate::domain::feedback::ConsentEntry;
    use crate::domain::suppression::SuppressionReason;
    use crate::ports::ConsentChange;

    let t = tenant(store, "t-consent").await;
    let phone = ContactHash::of_phone(&PhoneNumber::parse("+447700900123").unwrap());
    let at = |minute: i64| {
        "2026-11-30T10:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .checked_add(jiff::SignedDuration::from_mins(minute))
            .unwrap()
    };
    let change =
        |granted: bool, minute: i64, words: &str, reason: SuppressionReason| ConsentChange {
            contact: phone.clone(),
            client: Some(client_id("c1")),
            entry: ConsentEntry {
                channel: Channel::Sms,
                granted,
                at: at(minute),
                source: "sms keyword".into(),
                wording: words.into(),
            },
            reason,
        };
    let stop = change(false, 0, "STOP", SuppressionReason::OptedOut);
    assert!(store.record_consent(&t.id, &stop).await.unwrap());
    // The same STOP again (a redelivered message) writes nothing.
    assert!(!store.record_consent(&t.id, &stop).await.unwrap());
    assert_eq!(
        store.suppression(&t.id, &phone).await.unwrap(),
        Some(SuppressionReason::OptedOut)
    );
    let start = change(true, 5, "Start", SuppressionReason::OptedOut);
    assert!(store.record_consent(&t.id, &start).await.unwrap());
    assert!(!store.is_suppressed(&t.id, &phone).await.unwrap());
    assert!(!store.record_consent(&t.id, &start).await.unwrap());

    // A bounce is not lifted by START.
    let bounce = change(false, 10, "550 no such user", SuppressionReason::Bounced);
    assert!(store.record_consent(&t.id, &bounce).await.unwrap());
    let again = change(true, 15, "START", SuppressionReason::OptedOut);
    assert!(!store.record_consent(&t.id, &again).await.unwrap());
    assert_eq!(
        store.suppression(&t.id, &phone).await.unwrap(),
        Some(SuppressionReason::Bounced)
    );

    let ledger = store.consent_ledger(&t.id, &phone).await.unwrap();
    let lines: Vec<(bool, &str)> = ledger
        .iter()
        .map(|l| (l.entry.granted, l.entry.wording.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (false, "STOP"),
            (true, "Start"),
            (false, "550 no such user")
        ]
    );
    assert_eq!(ledger[0].client, Some(client_id("c1")));
    let other = tenant(store, "t-consent-other").await;
    assert!(
        store
            .consent_ledger(&other.id, &phone)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!store.is_suppressed(&other.id, &phone).await.unwrap());
}

contract_cases![an_opt_out_suppresses_once_and_only_start_lifts_it,];
