//! A client as the booking tool describes them: name, contact details, time zone, and consent
//! per channel with where and when it was given.

use jiff::Timestamp;

use crate::domain::channel::Channel;
use crate::domain::contact::{ContactHash, EmailAddress, PhoneNumber};
use crate::domain::ids::ClientId;
use crate::domain::time_zone::TimeZoneName;

/// A client's consent on one channel: given or withdrawn, by whom, when.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    pub granted: bool,
    /// Where it came from: "booking form", "front desk", "import", ...
    pub source: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Consents {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Consent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<Consent>,
}

impl Consents {
    pub fn get(&self, channel: Channel) -> Option<&Consent> {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
        }
    }

    pub fn get_mut(&mut self, channel: Channel) -> &mut Option<Consent> {
        match channel {
            Channel::Email => &mut self.email,
            Channel::Sms => &mut self.sms,
        }
    }
}

/// What winback knows about a client besides their bookings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClientProfile {
    pub id: ClientId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
    /// The client's own time zone, when it differs from the business's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<TimeZoneName>,
    #[serde(default)]
    pub consent: Consents,
    /// When the booking tool last changed this profile; an older update never overwrites it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

impl ClientProfile {
    pub fn new(id: ClientId) -> ClientProfile {
        ClientProfile {
            id,
            name: None,
            email: None,
            phone: None,
            timezone: None,
            consent: Consents::default(),
            updated_at: None,
        }
    }

    /// The first word of the name, for "Hi Ana".
    pub fn first_name(&self) -> Option<&str> {
        self.name.as_deref()?.split_whitespace().next()
    }

    /// The hashes of the client's email and phone: what stays, suppressed, after erasure.
    pub fn contact_hashes(&self) -> impl Iterator<Item = ContactHash> + '_ {
        self.email
            .iter()
            .map(ContactHash::of_email)
            .chain(self.phone.iter().map(ContactHash::of_phone))
    }

    /// The client's address or number on `channel`, if they have one.
    pub fn contact(&self, channel: Channel) -> Option<&str> {
        match channel {
            Channel::Email => self.email.as_ref().map(EmailAddress::as_str),
            Channel::Sms => self.phone.as_ref().map(PhoneNumber::as_str),
        }
    }

    /// The hash of the client's address or number on `channel`, if they have one.
    pub fn contact_hash(&self, channel: Channel) -> Option<ContactHash> {
        match channel {
            Channel::Email => self.email.as_ref().map(ContactHash::of_email),
            Channel::Sms => self.phone.as_ref().map(ContactHash::of_phone),
        }
    }

    /// Whether `self` may replace `stored`: a profile without `updated_at` always may (the
    /// caller did not say), one with it may unless the stored one is newer.
    pub fn supersedes(&self, stored: &ClientProfile) -> bool {
        match (self.updated_at, stored.updated_at) {
            (Some(new), Some(old)) => new >= old,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn an_older_profile_update_never_overwrites_a_newer_one() {
        let mut stored = ClientProfile::new(ClientId::parse("c1").unwrap());
        stored.updated_at = Some(at("2026-11-20T10:00:00Z"));
        let mut older = stored.clone();
        older.updated_at = Some(at("2026-11-19T10:00:00Z"));
        let mut newer = stored.clone();
        newer.updated_at = Some(at("2026-11-21T10:00:00Z"));
        assert!(!older.supersedes(&stored));
        assert!(newer.supersedes(&stored));
    }

    #[test]
    fn the_first_name_is_the_first_word() {
        let mut profile = ClientProfile::new(ClientId::parse("c1").unwrap());
        assert_eq!(profile.first_name(), None);
        profile.name = Some("  Ana María López ".into());
        assert_eq!(profile.first_name(), Some("Ana"));
    }
}
