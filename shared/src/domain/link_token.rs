//! The tokens in a message's links: rebook (`/r/{token}`) and opt-out (`/u/{token}`).
//!
//! A token says what it is for, for whom (tenant, client, enrollment, step, channel) and until
//! when, and is signed with HMAC-SHA256 under a key named by a short key id, so keys rotate:
//! new tokens use the current key, tokens already sent keep working under the previous ones
//! until they expire. Tokens are compact (they go in SMS), carry no personal data beyond opaque
//! ids, and anything tampered, truncated, expired, signed with an unknown key or used for the
//! other purpose is refused before anything is read or changed.
//!
//! ```text
//! token   = key-id "." base64url(payload || mac[..16])
//! payload = version(1) purpose(1) channel(1) step(2) expires(8, Unix seconds)
//!           then tenant, client, enrollment: each length(1) bytes
//! ```

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

use crate::domain::channel::Channel;
use crate::domain::enrollment::EnrollmentId;
use crate::domain::ids::{ClientId, TenantId};

const VERSION: u8 = 1;
/// Bytes of the MAC kept: 128 bits, far beyond guessing.
const MAC_BYTES: usize = 16;
/// A token longer than this is not one of ours (ids are bounded, so real tokens are shorter).
const MAX_TOKEN_LEN: usize = 1024;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Rebook,
    OptOut,
}

impl Purpose {
    fn byte(self) -> u8 {
        match self {
            Purpose::Rebook => 1,
            Purpose::OptOut => 2,
        }
    }

    fn from_byte(byte: u8) -> Option<Purpose> {
        match byte {
            1 => Some(Purpose::Rebook),
            2 => Some(Purpose::OptOut),
            _ => None,
        }
    }
}

fn channel_byte(channel: Channel) -> u8 {
    match channel {
        Channel::Email => 1,
        Channel::Sms => 2,
    }
}

fn channel_from(byte: u8) -> Option<Channel> {
    match byte {
        1 => Some(Channel::Email),
        2 => Some(Channel::Sms),
        _ => None,
    }
}

/// What a token carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaims {
    pub purpose: Purpose,
    pub tenant: TenantId,
    pub client: ClientId,
    pub enrollment: EnrollmentId,
    pub step: u16,
    pub channel: Channel,
    pub expires_at: Timestamp,
}

/// A signing key and its id.
#[derive(Clone)]
pub struct LinkKey {
    id: String,
    secret: Vec<u8>,
}

impl fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinkKey({:?}, <redacted>)", self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a link key id is 1 to 16 letters, digits, '-' or '_'; {0:?} is not (example: k2026a)")]
    BadId(String),
    #[error("the link key {0:?} is shorter than 32 bytes; generate 32 random bytes or more")]
    TooShort(String),
    #[error("no link signing key is configured; set at least one")]
    None,
}

impl LinkKey {
    pub fn new(id: &str, secret: Vec<u8>) -> Result<LinkKey, KeyError> {
        let valid = !id.is_empty()
            && id.len() <= 16
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(KeyError::BadId(id.to_owned()));
        }
        if secret.len() < 32 {
            return Err(KeyError::TooShort(id.to_owned()));
        }
        Ok(LinkKey {
            id: id.to_owned(),
            secret,
        })
    }

    fn mac(&self, bytes: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key");
        mac.update(self.id.as_bytes());
        mac.update(b".");
        mac.update(bytes);
        mac
    }
}

/// The keys a deployment signs and checks with: the first signs, all check.
#[derive(Debug, Clone)]
pub struct LinkKeys(Vec<LinkKey>);

impl LinkKeys {
    pub fn new(keys: Vec<LinkKey>) -> Result<LinkKeys, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::None);
        }
        Ok(LinkKeys(keys))
    }

    /// The keys as a deployment's setting gives them: `id:secret` pairs separated by commas,
    /// the signing key first (`k2:new-secret,k1:old-secret` while rotating).
    pub fn from_setting(setting: &str) -> Result<LinkKeys, KeyError> {
        let keys = setting
            .split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
            .map(|pair| match pair.split_once(':') {
                Some((id, secret)) => LinkKey::new(id.trim(), secret.trim().as_bytes().to_vec()),
                None => Err(KeyError::BadId(pair.chars().take(16).collect())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        LinkKeys::new(keys)
    }

    /// The single-use offer code of a client's enrollment: the same every time it is asked for
    /// (a retried delivery sends the same code), unguessable without the signing key, and easy
    /// to read out at a front desk: `WB-` and eight letters and digits in two groups, without
    /// the look-alikes I, L, O and U.
    pub fn offer_code(&self, tenant: &str, client: &str, enrollment: &str, offer: &str) -> String {
        const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let key = &self.0[0];
        let mut mac = key.mac(b"offer-code");
        for part in [tenant, client, enrollment, offer] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        let digest = mac.finalize().into_bytes();
        let bits = digest[..5]
            .iter()
            .fold(0_u64, |acc, byte| (acc << 8) | u64::from(*byte));
        let symbols: String = (0..8)
            .map(|i| char::from(ALPHABET[((bits >> (35 - 5 * i)) & 31) as usize]))
            .collect();
        format!("WB-{}-{}", &symbols[..4], &symbols[4..])
    }

    /// A signed token for `claims`.
    pub fn sign(&self, claims: &LinkClaims) -> String {
        let key = &self.0[0];
        let mut bytes = Vec::with_capacity(64);
        bytes.push(VERSION);
        bytes.push(claims.purpose.byte());
        bytes.push(channel_byte(claims.channel));
        bytes.extend_from_slice(&claims.step.to_be_bytes());
        bytes.extend_from_slice(&claims.expires_at.as_second().to_be_bytes());
        for id in [
            claims.tenant.as_str(),
            claims.client.as_str(),
            claims.enrollment.as_str(),
        ] {
            // Ids are at most 255 bytes long by their own rules; longer ones cannot be signed.
            let len = u8::try_from(id.len()).expect("ids are at most 255 bytes");
            bytes.push(len);
            bytes.extend_from_slice(id.as_bytes());
        }
        let mac = key.mac(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&mac[..MAC_BYTES]);
        format!("{}.{}", key.id, URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The claims of a token, if it is genuine, unexpired at `now` and for `purpose`.
    pub fn verify(
        &self,
        token: &str,
        purpose: Purpose,
        now: Timestamp,
    ) -> Result<LinkClaims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let (key_id, body) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let key = self
            .0
            .iter()
            .find(|k| k.id == key_id)
            .ok_or(TokenError::UnknownKey)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenError::Malformed)?;
        if bytes.len() < MAC_BYTES + 14 {
            return Err(TokenError::Malformed);
        }
        let (payload, mac) = bytes.split_at(bytes.len() - MAC_BYTES);
        key.mac(payload)
            .verify_truncated_left(mac)
            .map_err(|_| TokenError::BadSignature)?;
        let claims = decode(payload).ok_or(TokenError::Malformed)?;
        if claims.purpose != purpose {
            return Err(TokenError::WrongPurpose);
        }
        if claims.expires_at <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the link is incomplete or damaged")]
    Malformed,
    #[error("the link was signed with a key that is no longer in use")]
    UnknownKey,
    #[error("the link has been changed")]
    BadSignature,
    #[error("the link has expired")]
    Expired,
    #[error("the link is for something else")]
    WrongPurpose,
}

/// The payload's fields, once its signature is known to be good.
fn decode(payload: &[u8]) -> Option<LinkClaims> {
    let (&version, rest) = payload.split_first()?;
    if version != VERSION {
        return None;
    }
    let (&purpose, rest) = rest.split_first()?;
    let (&channel, rest) = rest.split_first()?;
    let (step, rest) = rest.split_at_checked(2)?;
    let (expires, mut rest) = rest.split_at_checked(8)?;
    let mut ids = Vec::with_capacity(3);
    for _ in 0..3 {
        let (&len, after) = rest.split_first()?;
        let (id, after) = after.split_at_checked(usize::from(len))?;
        ids.push(std::str::from_utf8(id).ok()?);
        rest = after;
    }
    if !rest.is_empty() {
        return None;
    }
    Some(LinkClaims {
        purpose: Purpose::from_byte(purpose)?,
        channel: channel_from(channel)?,
        step: u16::from_be_bytes(step.try_into().ok()?),
        expires_at: Timestamp::from_second(i64::from_be_bytes(expires.try_into().ok()?)).ok()?,
        tenant: TenantId::parse(ids[0]).ok()?,
        client: ClientId::parse(ids[1]).ok()?,
        enrollment: EnrollmentId::parse(ids[2]).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_from_the_setting_signing_with_the_first_and_checking_with_all() {
        let old = LinkKeys::from_setting("k1:an-old-secret-of-at-least-32-bytes!!").unwrap();
        let rotated = LinkKeys::from_setting(
            "k2:a-new-secret-of-at-least-32-bytes-too, k1:an-old-secret-of-at-least-32-bytes!!",
        )
        .unwrap();
        let claims = LinkClaims {
            purpose: Purpose::Rebook,
            tenant: TenantId::parse("salon").unwrap(),
            client: ClientId::parse("c-1").unwrap(),
            enrollment: EnrollmentId::parse("2026-11-01~hair").unwrap(),
            step: 0,
            channel: Channel::Email,
            expires_at: "2027-01-01T00:00:00Z".parse().unwrap(),
        };
        let now = "2026-12-01T00:00:00Z".parse().unwrap();
        let token = old.sign(&claims);
        assert_eq!(
            rotated.verify(&token, Purpose::Rebook, now).unwrap(),
            claims
        );
        assert!(rotated.sign(&claims).starts_with("k2."));
        assert!(matches!(
            LinkKeys::from_setting("k1:short"),
            Err(KeyError::TooShort(_))
        ));
        assert!(matches!(LinkKeys::from_setting(""), Err(KeyError::None)));
        assert!(matches!(
            LinkKeys::from_setting("no-colon-here"),
            Err(KeyError::BadId(_))
        ));
    }
    use crate::domain::day::Day;
    use crate::domain::ids::Category;

    fn keys(id: &str, byte: u8) -> LinkKeys {
        LinkKeys::new(vec![LinkKey::new(id, vec![byte; 32]).unwrap()]).unwrap()
    }

    fn claims(purpose: Purpose) -> LinkClaims {
        LinkClaims {
            purpose,
            tenant: TenantId::parse("salon").unwrap(),
            client: ClientId::parse("c-1").unwrap(),
            enrollment: EnrollmentId::new(
                Day::from_date(jiff::civil::date(2026, 11, 30)),
                &Category::parse("hair").unwrap(),
            ),
            step: 2,
            channel: Channel::Sms,
            expires_at: "2027-02-28T00:00:00Z".parse().unwrap(),
        }
    }

    fn now() -> Timestamp {
        "2026-12-01T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_signed_link_round_trips_and_is_compact_enough_for_an_sms() {
        let keys = keys("k1", 7);
        let token = keys.sign(&claims(Purpose::Rebook));
        assert!(token.len() < 100, "{} chars: {token}", token.len());
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
        assert_eq!(
            keys.verify(&token, Purpose::Rebook, now()),
            Ok(claims(Purpose::Rebook))
        );
    }

    #[test]
    fn a_tampered_truncated_or_forged_link_is_refused() {
        let keys = keys("k1", 7);
        let token = keys.sign(&claims(Purpose::OptOut));
        let verify = |t: &str| keys.verify(t, Purpose::OptOut, now());
        // Flip one character of the body.
        let mut chars: Vec<char> = token.chars().collect();
        let i = token.len() / 2;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert!(matches!(
            verify(&tampered),
            Err(TokenError::BadSignature | TokenError::Malformed)
        ));
        for cut in [1, 2, 3, 4] {
            assert!(matches!(
                verify(&token[..token.len() - cut]),
                Err(TokenError::BadSignature | TokenError::Malformed)
            ));
        }
        assert_eq!(verify("k1"), Err(TokenError::Malformed));
        assert_eq!(verify(""), Err(TokenError::Malformed));
        assert_eq!(verify("k1.!!!"), Err(TokenError::Malformed));
        let forged = self::keys("k1", 8).sign(&claims(Purpose::OptOut));
        assert_eq!(verify(&forged), Err(TokenError::BadSignature));
    }

    #[test]
    fn an_expired_or_wrong_purpose_link_is_refused() {
        let keys = keys("k1", 7);
        let token = keys.sign(&claims(Purpose::Rebook));
        assert_eq!(
            keys.verify(&token, Purpose::OptOut, now()),
            Err(TokenError::WrongPurpose)
        );
        let later: Timestamp = "2027-03-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            keys.verify(&token, Purpose::Rebook, later),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn keys_rotate_by_id_and_links_signed_with_a_retired_key_stop_working() {
        let old = keys("k1", 7);
        let token = old.sign(&claims(Purpose::Rebook));
        let rotated = LinkKeys::new(vec![
            LinkKey::new("k2", vec![9; 32]).unwrap(),
            LinkKey::new("k1", vec![7; 32]).unwrap(),
        ])
        .unwrap();
        assert!(rotated.verify(&token, Purpose::Rebook, now()).is_ok());
        assert!(rotated.sign(&claims(Purpose::Rebook)).starts_with("k2."));
        let retired = keys("k2", 9);
        assert_eq!(
            retired.verify(&token, Purpose::Rebook, now()),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn key_ids_and_lengths_are_checked() {
        assert!(matches!(
            LinkKey::new("k.1", vec![0; 32]),
            Err(KeyError::BadId(_))
        ));
        assert!(matches!(
            LinkKey::new("k1", vec![0; 16]),
            Err(KeyError::TooShort(_))
        ));
        assert!(matches!(LinkKeys::new(Vec::new()), Err(KeyError::None)));
        assert!(!format!("{:?}", LinkKey::new("k1", vec![5; 32]).unwrap()).contains('5'));
    }

    #[test]
    fn random_and_mutated_tokens_never_verify_and_never_panic() {
        // The stable-toolchain cousin of the fuzz target in shared/fuzz.
        use rand::{Rng, SeedableRng};
        let keys = keys("k1", 7);
        let genuine = keys.sign(&claims(Purpose::Rebook));
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        let alphabet: Vec<char> = "AZaz09-_.k1=+/ ".chars().collect();
        for _ in 0..20_000 {
            let mut token: Vec<char> = genuine.chars().collect();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..token.len());
                match rng.random_range(0..3) {
                    0 => token[i] = alphabet[rng.random_range(0..alphabet.len())],
                    1 => {
                        token.remove(i);
                    }
                    _ => token.insert(i, alphabet[rng.random_range(0..alphabet.len())]),
                }
            }
            let token: String = token.into_iter().collect();
            if token != genuine {
                assert!(
                    keys.verify(&token, Purpose::Rebook, now()).is_err(),
                    "{token}"
                );
            }
            let random: String = (0..rng.random_range(0..120))
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            assert!(keys.verify(&random, Purpose::Rebook, now()).is_err());
        }
    }

    #[test]
    fn any_string_is_refused_or_accepted_without_panicking() {
        let keys = keys("k1", 7);
        let token = keys.sign(&claims(Purpose::Rebook));
        for cut in 0..token.len() {
            let _ = keys.verify(&token[..cut], Purpose::Rebook, now());
            let _ = keys.verify(&token[cut..], Purpose::Rebook, now());
        }
        let _ = keys.verify(&"A".repeat(5000), Purpose::Rebook, now());
    }
}
