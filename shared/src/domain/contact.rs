//! Contact details: an email address and a phone number in E.164, parsed once at the edge.
//!
//! Their `Debug` redacts, so a contact detail that reaches a log by accident shows as
//! `EmailAddress(<redacted>)`. A [`ContactHash`] is what remains of a contact detail after the
//! client is erased: enough to recognise the person again and never message them, not enough to
//! read it back.

use std::fmt;

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("\"{0}\" is not an email address; write it as name@example.com")]
    Email(String),
    #[error(
        "\"{0}\" is not a phone number in E.164 form; write it as + country code and number, digits only, e.g. +447700900123"
    )]
    Phone(String),
}

/// A sender as an email's From header names it: an address, with an optional display name
/// (`Maple Street Hair <hello@maplestreethair.com>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub name: Option<String>,
    pub address: EmailAddress,
}

/// Why a sender is not one an email can be sent from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\"{0}\" is not a sender address; write it as hello@example.com or as Name <hello@example.com>, on one line, without quotes or angle brackets in the name"
)]
pub struct SenderError(String);

impl Sender {
    pub fn parse(text: &str) -> Result<Sender, SenderError> {
        let refused = || SenderError(text.trim().to_owned());
        if text.chars().any(char::is_control) {
            return Err(refused());
        }
        let text = text.trim();
        let (name, address) = match text.strip_suffix('>').and_then(|t| t.rsplit_once('<')) {
            Some((name, address)) => (Some(name.trim()), address),
            None => (None, text),
        };
        if name.is_some_and(|n| n.contains(['<', '>', '"'])) {
            return Err(refused());
        }
        let address = EmailAddress::parse(address).map_err(|_| refused())?;
        Ok(Sender {
            name: name.filter(|n| !n.is_empty()).map(str::to_owned),
            address,
        })
    }

    /// Whether the address is at `domain` or one of its subdomains (what an SES identity for
    /// `domain` may send from).
    pub fn is_at(&self, domain: &str) -> bool {
        let domain = domain.trim().to_ascii_lowercase();
        let own = self.address.domain();
        own == domain || own.ends_with(&format!(".{domain}"))
    }
}

/// An email address, trimmed, with its domain in lower case.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(Box<str>);

impl EmailAddress {
    /// The part after the `@`, in lower case.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }

    pub fn parse(text: &str) -> Result<EmailAddress, ContactError> {
        let text = text.trim();
        let parsed = email_address::EmailAddress::parse_with_options(
            text,
            email_address::Options::default()
                .without_display_text()
                .without_domain_literal(),
        )
        .map_err(|_| ContactError::Email(text.to_owned()))?;
        // A deliverable address has a dot in its domain; "name@localhost" is not one.
        if !parsed.domain().contains('.') {
            return Err(ContactError::Email(text.to_owned()));
        }
        Ok(EmailAddress(
            format!(
                "{}@{}",
                parsed.local_part(),
                parsed.domain().to_ascii_lowercase()
            )
            .into(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = ContactError;
    fn try_from(text: String) -> Result<EmailAddress, ContactError> {
        EmailAddress::parse(&text)
    }
}

impl From<EmailAddress> for String {
    fn from(email: EmailAddress) -> String {
        email.0.into()
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress(<redacted>)")
    }
}

/// A phone number in E.164: `+`, a country code that does not start with 0, at most 15 digits.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(Box<str>);

impl PhoneNumber {
    pub fn parse(text: &str) -> Result<PhoneNumber, ContactError> {
        let text = text.trim();
        let digits = text
            .strip_prefix('+')
            .ok_or_else(|| ContactError::Phone(text.to_owned()))?;
        let valid = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !valid {
            return Err(ContactError::Phone(text.to_owned()));
        }
        Ok(PhoneNumber(text.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = ContactError;
    fn try_from(text: String) -> Result<PhoneNumber, ContactError> {
        PhoneNumber::parse(&text)
    }
}

impl From<PhoneNumber> for String {
    fn from(phone: PhoneNumber) -> String {
        phone.0.into()
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneNumber(<redacted>)")
    }
}

/// The SHA-256 of a contact detail (email in lower case, phone as E.164), hex: what a
/// suppression record keeps of an erased or opted-out person.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ContactHash(String);

impl ContactHash {
    pub fn of_email(email: &EmailAddress) -> ContactHash {
        ContactHash::of("email", &email.as_str().to_lowercase())
    }

    pub fn of_phone(phone: &PhoneNumber) -> ContactHash {
        ContactHash::of("phone", phone.as_str())
    }

    fn of(kind: &str, value: &str) -> ContactHash {
        let digest = Sha256::new()
            .chain_update(kind.as_bytes())
            .chain_update(b":")
            .chain_update(value.as_bytes())
            .finalize();
        ContactHash(hex(&digest))
    }

    /// A hash read back from storage.
    pub fn from_stored(hex: String) -> ContactHash {
        ContactHash(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lower-case hex of some bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_checked_and_their_domain_lowercased() {
        let email = EmailAddress::parse(" Ana.Lopez@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Ana.Lopez@example.com");
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@localhost",
            "Ana <ana@example.com>",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn phone_numbers_must_be_e164() {
        assert_eq!(
            PhoneNumber::parse("+447700900123").unwrap().as_str(),
            "+447700900123"
        );
        for bad in [
            "07700900123",
            "+44 7700 900123",
            "+0447700900",
            "+1234567",
            "+1234567890123456",
            "+44770090012a",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn contact_details_never_show_in_debug_output() {
        let email = EmailAddress::parse("ana@example.com").unwrap();
        let phone = PhoneNumber::parse("+447700900123").unwrap();
        let shown = format!("{email:?} {phone:?}");
        assert!(!shown.contains("ana") && !shown.contains("7700"), "{shown}");
    }

    #[test]
    fn a_contact_hash_is_the_same_for_any_spelling_of_one_address() {
        let a = EmailAddress::parse("Ana@Example.com").unwrap();
        let b = EmailAddress::parse("ana@example.com").unwrap();
        assert_eq!(ContactHash::of_email(&a), ContactHash::of_email(&b));
        assert_eq!(ContactHash::of_email(&a).as_str().len(), 64);
    }

    #[test]
    fn a_sender_is_an_address_with_an_optional_name_on_one_line() {
        let sender = Sender::parse(" Maple Street Hair <hello@MapleStreet.example> ").unwrap();
        assert_eq!(sender.name.as_deref(), Some("Maple Street Hair"));
        assert_eq!(sender.address.as_str(), "hello@maplestreet.example");
        assert_eq!(Sender::parse("hello@salon.example").unwrap().name, None);
        for refused in [
            "Evil\r\nBcc: victim@example.com <a@b.example>",
            "Evil <a@b.example>\n",
            "Name <not an address>",
            "Na<me <a@b.example>",
            "\"Quoted\" <a@b.example>",
            "a@localhost",
            "",
        ] {
            assert!(Sender::parse(refused).is_err(), "{refused:?}");
        }
    }
}
