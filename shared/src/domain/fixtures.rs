//! Builders for tests (the domain's unit tests, the store contract, the use-case tests; the
//! `test-support` feature): a business in London, regular clients with consent, and their
//! records as a store would return them.

use jiff::Timestamp;

use crate::domain::booking::{Booking, BookingStatus, ServiceLine};
use crate::domain::booking_change;
use crate::domain::client::{ClientProfile, Consent};
use crate::domain::client_record::{ClientRecord, StoredCadence};
use crate::domain::config::BusinessConfig;
use crate::domain::contact::{EmailAddress, PhoneNumber};
use crate::domain::day::Day;
use crate::domain::enrollment::Outreach;
use crate::domain::ids::{BookingId, Category, ClientId, TenantId};
use crate::domain::tenant::Tenant;
use crate::domain::time_zone::TimeZoneName;

pub fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

pub fn day(text: &str) -> Day {
    Day::from(text.parse::<jiff::civil::Date>().unwrap())
}

pub fn category(name: &str) -> Category {
    Category::parse(name).unwrap()
}

pub fn client_id(id: &str) -> ClientId {
    ClientId::parse(id).unwrap()
}

/// A business in London with no control group, configured by `configure`.
pub fn tenant(configure: impl FnOnce(&mut BusinessConfig)) -> Tenant {
    let mut config = BusinessConfig {
        timezone: TimeZoneName::parse("Europe/London").unwrap(),
        ..BusinessConfig::default()
    };
    config.outreach.control_share = 0.0;
    configure(&mut config);
    config.validate().unwrap();
    Tenant {
        id: TenantId::parse("salon").unwrap(),
        name: "Salon".into(),
        config,
        created_at: at("2026-01-01T00:00:00Z"),
        webhook_secrets: Vec::new(),
        paused: None,
    }
}

/// A completed visit of `client` on `on` at 10:00 UTC.
pub fn visit(id: &str, client: &str, on: &str, category_name: &str, price_minor: i64) -> Booking {
    Booking {
        id: BookingId::parse(id).unwrap(),
        client_id: client_id(client),
        status: BookingStatus::Completed,
        starts_at: at(&format!("{on}T10:00:00Z")),
        updated_at: at(&format!("{on}T18:00:00Z")),
        location_id: None,
        staff: Some("Maya".into()),
        offer_code: None,
        services: vec![ServiceLine {
            category: category(category_name),
            name: Some("Cut".into()),
            price_minor,
        }],
    }
}

/// Five visits of `category_name`, four weeks apart, the last on `last`.
pub fn every_four_weeks(
    client: &str,
    category_name: &str,
    last: &str,
    price_minor: i64,
) -> Vec<Booking> {
    let last = day(last);
    (0..5)
        .map(|i| {
            let on = last.plus_days(-28 * (4 - i)).to_string();
            let id = format!("{client}-{category_name}-{i}");
            visit(&id, client, &on, category_name, price_minor)
        })
        .collect()
}

/// A client with an email address they consented to be written at.
pub fn profile(id: &str) -> ClientProfile {
    let mut profile = ClientProfile::new(client_id(id));
    profile.name = Some("Ana Lopez".into());
    profile.email = Some(EmailAddress::parse(&format!("{id}@example.com")).unwrap());
    profile.consent.email = Some(consent());
    profile
}

/// The same, with a mobile number they consented to receive texts on too.
pub fn profile_with_phone(id: &str) -> ClientProfile {
    let mut profile = profile(id);
    profile.phone = Some(PhoneNumber::parse("+447700900123").unwrap());
    profile.consent.sms = Some(consent());
    profile
}

pub fn consent() -> Consent {
    Consent {
        granted: true,
        source: "booking form".into(),
        at: at("2025-01-01T00:00:00Z"),
    }
}

/// The record a store returns for a client with `bookings`, never enrolled.
pub fn record(profile: Option<ClientProfile>, bookings: Vec<Booking>) -> ClientRecord {
    let tz = TimeZoneName::parse("Europe/London").unwrap();
    let client = bookings
        .first()
        .map(|b| b.client_id.clone())
        .or_else(|| profile.as_ref().map(|p| p.id.clone()))
        .expect("a client");
    let mut merged = booking_change::merge(&client, &[], &bookings, &tz);
    merged.bookings.sort_by_key(|b| b.starts_at);
    merged.cadences.sort_by(|a, b| a.0.cmp(&b.0));
    ClientRecord {
        profile,
        bookings: merged.bookings,
        cadences: merged
            .cadences
            .into_iter()
            .filter_map(|(_, cadence)| cadence)
            .map(|cadence| StoredCadence {
                cadence,
                watch: None,
            })
            .collect(),
        outreach: Outreach::default(),
        outreach_version: 0,
    }
}
