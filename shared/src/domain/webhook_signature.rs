//! Standard Webhooks signatures: how a booking tool can prove a delivery came from it without
//! an API key.
//!
//! The sender signs `{webhook-id}.{webhook-timestamp}.{body}` with HMAC-SHA256 and sends
//! `webhook-signature: v1,<base64> [v1,<base64> ...]` (several while it rotates secrets). A
//! delivery is accepted when its timestamp is within five minutes of now, either way, and one
//! of its `v1` signatures matches one of the tenant's secrets. Signatures are compared in
//! constant time, after checking their length.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

use crate::domain::tenant::WebhookSecret;

/// How far a delivery's timestamp may be from now, in the past or the future.
pub const TOLERANCE: SignedDuration = SignedDuration::from_mins(5);

/// The longest `webhook-id` accepted (it becomes part of a key).
pub const MAX_ID_LEN: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("webhook-id is empty or longer than {MAX_ID_LEN} characters")]
    BadId,
    #[error("webhook-timestamp is not a whole number of seconds since 1970")]
    BadTimestamp,
    #[error(
        "webhook-timestamp is more than 5 minutes from now; check the sender's clock and send a fresh delivery"
    )]
    OutsideTolerance,
    #[error("webhook-signature has no v1 signature")]
    NoSignature,
    #[error("no webhook-signature matches this tenant's signing secrets")]
    Mismatch,
    #[error("this tenant has no webhook signing secret; create one or use an API key")]
    NoSecret,
}

/// Checks a delivery's signature headers against the tenant's secrets.
pub fn verify(
    secrets: &[WebhookSecret],
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: Timestamp,
) -> Result<(), SignatureError> {
    if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(char::is_control) {
        return Err(SignatureError::BadId);
    }
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    let sent = Timestamp::from_second(seconds).map_err(|_| SignatureError::BadTimestamp)?;
    if sent.duration_since(now).abs() > TOLERANCE {
        return Err(SignatureError::OutsideTolerance);
    }
    if secrets.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let candidates: Vec<Vec<u8>> = signatures
        .split_ascii_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .collect();
    if candidates.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    for secret in secrets {
        for candidate in &candidates {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.key())
                .expect("HMAC accepts keys of any length");
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.trim().as_bytes());
            mac.update(b".");
            mac.update(body);
            // `verify_slice` checks the length, then compares in constant time.
            if mac.verify_slice(candidate).is_ok() {
                return Ok(());
            }
        }
    }
    Err(SignatureError::Mismatch)
}

/// Signs a delivery the way a sender does: `v1,<base64>`. For tests and for tools that need
/// to produce signed requests (the README's examples).
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.key()).expect("HMAC accepts keys of any length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-23T12:00:00Z".parse().unwrap()
    }

    fn secret(byte: u8) -> WebhookSecret {
        WebhookSecret::from_random([byte; 32])
    }

    #[test]
    fn a_signature_from_the_standard_webhooks_reference_is_accepted() {
        // The example in the Standard Webhooks specification.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let header = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let at = Timestamp::from_second(1614265330).unwrap();
        assert_eq!(
            verify(
                &[secret],
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                "1614265330",
                header,
                body,
                at
            ),
            Ok(())
        );
    }

    #[test]
    fn any_of_several_signatures_and_secrets_may_match() {
        let ts = now().as_second();
        let good = sign(&secret(2), "msg_1", ts, b"{}");
        let header = format!("v1,AAAA {good}");
        let secrets = [secret(1), secret(2)];
        assert_eq!(
            verify(&secrets, "msg_1", &ts.to_string(), &header, b"{}", now()),
            Ok(())
        );
    }

    #[test]
    fn tampered_bodies_other_ids_and_wrong_secrets_are_refused() {
        let ts = now().as_second();
        let header = sign(&secret(1), "msg_1", ts, b"{\"a\":1}");
        let check = |secrets: &[WebhookSecret], id: &str, body: &[u8]| {
            verify(secrets, id, &ts.to_string(), &header, body, now())
        };
        assert_eq!(check(&[secret(1)], "msg_1", b"{\"a\":1}"), Ok(()));
        assert_eq!(
            check(&[secret(1)], "msg_1", b"{\"a\":2}"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&[secret(1)], "msg_2", b"{\"a\":1}"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&[secret(3)], "msg_1", b"{\"a\":1}"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&[], "msg_1", b"{\"a\":1}"),
            Err(SignatureError::NoSecret)
        );
    }

    #[test]
    fn a_truncated_signature_is_refused() {
        let ts = now().as_second();
        let full = sign(&secret(1), "msg_1", ts, b"{}");
        let short = &full[..full.len() - 8];
        assert_eq!(
            verify(&[secret(1)], "msg_1", &ts.to_string(), short, b"{}", now()),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn timestamps_more_than_five_minutes_away_either_way_are_refused() {
        let check = |offset: i64| {
            let ts = now().as_second() + offset;
            let header = sign(&secret(1), "msg_1", ts, b"{}");
            verify(
                &[secret(1)],
                "msg_1",
                &ts.to_string(),
                &header,
                b"{}",
                now(),
            )
        };
        assert_eq!(check(-300), Ok(()));
        assert_eq!(check(300), Ok(()));
        assert_eq!(check(-301), Err(SignatureError::OutsideTolerance));
        assert_eq!(check(301), Err(SignatureError::OutsideTolerance));
        assert_eq!(
            verify(&[secret(1)], "msg_1", "yesterday", "v1,AAAA", b"{}", now()),
            Err(SignatureError::BadTimestamp)
        );
    }
}
