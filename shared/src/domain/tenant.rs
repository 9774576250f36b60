//! A tenant: one business using winback, with its settings and its credentials.
//!
//! API keys are shown once when made and stored only as their SHA-256: a leaked table does not
//! leak working keys. Webhook signing secrets, by contrast, must be kept to check signatures;
//! they live in the tenant's record and are never logged.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::domain::config::BusinessConfig;
use crate::domain::contact::hex;
use crate::domain::ids::TenantId;

/// A business and its settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub config: BusinessConfig,
    pub created_at: Timestamp,
    /// Standard Webhooks signing secrets (`whsec_...`); more than one while rotating.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_secrets: Vec<WebhookSecret>,
    /// Set when the business's sending is paused (its bounce or complaint rate crossed the
    /// line): nobody is enrolled and nothing is sent until it is resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<crate::domain::reputation::Pause>,
}

const API_KEY_PREFIX: &str = "wbk_";

/// An API key in the clear: exists only between being made and being printed once.
pub struct ApiKey(String);

impl ApiKey {
    /// A new key from 32 random bytes.
    pub fn from_random(bytes: [u8; 32]) -> ApiKey {
        ApiKey(format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> ApiKeyHash {
        ApiKeyHash::of(&self.0)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The SHA-256 of an API key, hex: what is stored and looked up. Keys carry 256 random bits,
/// so a fast hash is enough (no password stretching is needed for them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ApiKeyHash(String);

impl ApiKeyHash {
    /// The hash of a presented key, whatever it is (an unknown key simply matches nothing).
    pub fn of(presented: &str) -> ApiKeyHash {
        ApiKeyHash(hex(&Sha256::digest(presented.as_bytes())))
    }

    pub fn from_stored(hex: String) -> ApiKeyHash {
        ApiKeyHash(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Standard Webhooks signing secret: `whsec_` and the base64 of the key bytes.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookSecret(Vec<u8>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret is \"whsec_\" followed by base64 of 24 to 64 bytes")]
pub struct BadWebhookSecret;

impl WebhookSecret {
    pub fn from_random(bytes: [u8; 32]) -> WebhookSecret {
        WebhookSecret(bytes.to_vec())
    }

    pub fn parse(text: &str) -> Result<WebhookSecret, BadWebhookSecret> {
        let encoded = text.strip_prefix("whsec_").unwrap_or(text);
        let bytes = STANDARD.decode(encoded).map_err(|_| BadWebhookSecret)?;
        if !(24..=64).contains(&bytes.len()) {
            return Err(BadWebhookSecret);
        }
        Ok(WebhookSecret(bytes))
    }

    pub fn key(&self) -> &[u8] {
        &self.0
    }

    pub fn expose(&self) -> String {
        format!("whsec_{}", STANDARD.encode(&self.0))
    }
}

impl TryFrom<String> for WebhookSecret {
    type Error = BadWebhookSecret;
    fn try_from(text: String) -> Result<WebhookSecret, BadWebhookSecret> {
        WebhookSecret::parse(&text)
    }
}

impl From<WebhookSecret> for String {
    fn from(secret: WebhookSecret) -> String {
        secret.expose()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_key_is_stored_only_as_its_hash() {
        let key = ApiKey::from_random([7; 32]);
        assert!(key.expose().starts_with("wbk_"));
        assert_eq!(key.hash(), ApiKeyHash::of(key.expose()));
        assert_ne!(key.hash().as_str(), key.expose());
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
    }

    #[test]
    fn webhook_secrets_round_trip_in_the_standard_form() {
        let secret = WebhookSecret::from_random([9; 32]);
        let text = secret.expose();
        assert!(text.starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(&text).unwrap(), secret);
        assert!(WebhookSecret::parse("whsec_c2hvcnQ=").is_err());
        assert!(!format!("{secret:?}").contains(&text));
    }
}
