//! The JSON the booking tool sends, read into domain values with every bad field reported at
//! once (as a JSON pointer, what is wrong, and how to fix it), so one round trip fixes a request.
//!
//! Unknown fields are ignored: booking tools send more than winback needs.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value};

use crate::domain::booking::{Booking, BookingStatus, MAX_SERVICES_PER_BOOKING, ServiceLine};
use crate::domain::client::{ClientProfile, Consent, Consents};
use crate::domain::contact::{EmailAddress, PhoneNumber};
use crate::domain::ids::{BookingId, Category, ClientId, LocationId};
use crate::domain::money::{Currency, Money};
use crate::domain::time_zone::TimeZoneName;
use crate::http::problem::FieldError;

/// At most this many bookings in one request.
pub const MAX_BATCH: usize = 100;
/// The longest free-text value (names, sources, staff).
const MAX_TEXT: usize = 200;
/// Bookings before this year are refused as a mistake (a date typed as 0026, say).
const EARLIEST_YEAR: i16 = 2000;
/// How far ahead a booking may be.
const LATEST_AHEAD: SignedDuration = SignedDuration::from_hours(24 * 366 * 2);
/// How far ahead of our clock an `updated_at` may be (clocks differ a little).
const CLOCK_SKEW: SignedDuration = SignedDuration::from_hours(24);

/// Reads one JSON object's fields, collecting errors with their pointers.
struct Fields<'a> {
    object: &'a Map<String, Value>,
    at: String,
    errors: &'a mut Vec<FieldError>,
}

impl<'a> Fields<'a> {
    fn error(&mut self, field: &str, detail: impl Into<String>, fix: impl Into<String>) {
        self.errors.push(FieldError {
            pointer: format!("{}/{field}", self.at),
            detail: detail.into(),
            fix: fix.into(),
        });
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.object.get(field).filter(|v| !v.is_null())
    }

    fn text(&mut self, field: &str, required: bool) -> Option<&'a str> {
        match self.get(field) {
            None if required => {
                self.error(field, format!("{field} is missing"), format!("add {field}"));
                None
            }
            None => None,
            Some(Value::String(s)) if s.chars().count() > MAX_TEXT && field != "id" => {
                self.error(
                    field,
                    format!("{field} is over {MAX_TEXT} characters"),
                    "shorten it",
                );
                None
            }
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => {
                self.error(
                    field,
                    format!("{field} must be a string, not {}", kind(other)),
                    format!("send {field} as a JSON string"),
                );
                None
            }
        }
    }

    fn parsed<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        required: bool,
        parse: impl FnOnce(&str) -> Result<T, E>,
        fix: &str,
    ) -> Option<T> {
        let text = self.text(field, required)?;
        match parse(text) {
            Ok(value) => Some(value),
            Err(error) => {
                self.error(field, error.to_string(), fix);
                None
            }
        }
    }

    fn timestamp(&mut self, field: &str, required: bool) -> Option<Timestamp> {
        self.parsed(
            field,
            required,
            |text| {
                text.parse::<Timestamp>()
                    .map_err(|_| format!("{text:?} is not an RFC 3339 date-time with an offset"))
            },
            "write it like 2026-11-20T10:30:00Z or 2026-11-20T10:30:00+01:00",
        )
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A request body that is not one JSON document, and where it stops being one.
#[derive(Debug, thiserror::Error)]
pub enum NotJson {
    #[error("the body is not valid JSON: {source} (line {}, column {})", source.line(), source.column())]
    Syntax {
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the body has more after the JSON document (line {}, column {}); only one document is read, so nothing was stored",
        source.line(), source.column()
    )]
    Trailing {
        #[source]
        source: serde_json::Error,
    },
}

/// Why a request body is not what a JSON route reads.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Not one JSON document (a 400).
    #[error(transparent)]
    NotJson(#[from] NotJson),
    /// A JSON document, but not an object (a 422 at the top of the body).
    #[error("the body must be a JSON object, not {0}")]
    NotAnObject(&'static str),
}

/// Reads a request body the one way every JSON route does: one whole JSON document with
/// nothing after it but whitespace, an object at the top.
pub fn object(body: &[u8]) -> Result<Value, BodyError> {
    use serde::Deserialize;
    let mut reader = serde_json::Deserializer::from_slice(body);
    let value = Value::deserialize(&mut reader).map_err(|source| NotJson::Syntax { source })?;
    reader
        .end()
        .map_err(|source| NotJson::Trailing { source })?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(BodyError::NotAnObject(kind(&value)))
    }
}

/// `PUT /v1/clients/{id}`: the profile for `id`.
pub fn client_profile(id: &ClientId, body: &Value) -> Result<ClientProfile, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(object) = body.as_object() else {
        return Err(vec![FieldError {
            pointer: String::new(),
            detail: format!("the body must be a JSON object, not {}", kind(body)),
            fix: "send {\"name\": ..., \"email\": ..., ...}".into(),
        }]);
    };
    let mut fields = Fields {
        object,
        at: String::new(),
        errors: &mut errors,
    };
    if let Some(body_id) = fields.text("id", false)
        && body_id.trim() != id.as_str()
    {
        fields.error(
            "id",
            format!("the body's id {body_id:?} differs from the id in the URL"),
            "leave id out of the body, or make it match the URL",
        );
    }
    let name = fields.text("name", false).map(|s| s.trim().to_owned());
    let email = fields.parsed(
        "email",
        false,
        EmailAddress::parse,
        "send a single address such as ana@example.com",
    );
    let phone = fields.parsed(
        "phone",
        false,
        PhoneNumber::parse,
        "send the number in E.164: + country code and number, e.g. +447700900123",
    );
    let timezone = fields.parsed(
        "timezone",
        false,
        TimeZoneName::parse,
        "use an IANA name such as Europe/London",
    );
    let updated_at = fields.timestamp("updated_at", false);
    let mut consent = Consents::default();
    match fields.get("consent") {
        None => {}
        Some(Value::Object(channels)) => {
            for (channel, value) in channels {
                let at = format!("/consent/{channel}");
                let parsed = consent_of(value, &at, fields.errors);
                match channel.as_str() {
                    "email" => consent.email = parsed,
                    "sms" => consent.sms = parsed,
                    other => fields.errors.push(FieldError {
                        pointer: at,
                        detail: format!("{other:?} is not a channel"),
                        fix: "give consent for \"email\" or \"sms\"".into(),
                    }),
                }
            }
        }
        Some(other) => fields.error(
            "consent",
            format!("consent must be an object, not {}", kind(other)),
            "send {\"email\": {\"granted\": true, \"source\": ..., \"at\": ...}}",
        ),
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ClientProfile {
        id: id.clone(),
        name: name.filter(|n| !n.is_empty()),
        email,
        phone,
        timezone,
        consent,
        updated_at,
    })
}

fn consent_of(value: &Value, at: &str, errors: &mut Vec<FieldError>) -> Option<Consent> {
    let Some(object) = value.as_object() else {
        errors.push(FieldError {
            pointer: at.to_owned(),
            detail: format!("consent must be an object, not {}", kind(value)),
            fix: "send {\"granted\": true, \"source\": \"booking form\", \"at\": \"2026-11-20T10:00:00Z\"}".into(),
        });
        return None;
    };
    let mut fields = Fields {
        object,
        at: at.to_owned(),
        errors,
    };
    let granted = match fields.get("granted") {
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            let detail = format!("granted must be true or false, not {}", kind(other));
            fields.error("granted", detail, "send true or false");
            None
        }
        None => {
            fields.error(
                "granted",
                "granted is missing",
                "add granted: true or false",
            );
            None
        }
    };
    let source = fields.text("source", true).map(str::to_owned);
    let at = fields.timestamp("at", true);
    Some(Consent {
        granted: granted?,
        source: source?,
        at: at?,
    })
}

/// `POST /v1/bookings`: one booking object, or `{"bookings": [...]}` with up to
/// [`MAX_BATCH`]. Every booking is checked; any error rejects the whole request.
pub fn bookings(
    body: &Value,
    currency: Currency,
    now: Timestamp,
) -> Result<(Vec<Booking>, bool), Vec<FieldError>> {
    let mut errors = Vec::new();
    let (items, batch): (Vec<(&Value, String)>, bool) = match body.get("bookings") {
        Some(Value::Array(list)) => {
            if list.is_empty() || list.len() > MAX_BATCH {
                return Err(vec![FieldError {
                    pointer: "/bookings".into(),
                    detail: format!("the batch holds {} bookings", list.len()),
                    fix: format!("send between 1 and {MAX_BATCH} bookings per request"),
                }]);
            }
            let items = list
                .iter()
                .enumerate()
                .map(|(i, v)| (v, format!("/bookings/{i}")))
                .collect();
            (items, true)
        }
        Some(other) => {
            return Err(vec![FieldError {
                pointer: "/bookings".into(),
                detail: format!("bookings must be an array, not {}", kind(other)),
                fix: "send {\"bookings\": [ {...}, {...} ]} or one booking object".into(),
            }]);
        }
        None => (vec![(body, String::new())], false),
    };
    let mut parsed = Vec::with_capacity(items.len());
    for (value, at) in items {
        if let Some(booking) = booking(value, at, currency, now, &mut errors) {
            parsed.push(booking);
        }
    }
    // Two versions of one booking in one batch: which one wins would depend on order.
    for (i, a) in parsed.iter().enumerate() {
        if parsed[..i]
            .iter()
            .any(|b| b.id == a.id && b.updated_at == a.updated_at && b != a)
        {
            errors.push(FieldError {
                pointer: format!("/bookings/{i}/updated_at"),
                detail: format!("booking {} appears twice with the same updated_at", a.id),
                fix: "send each version of a booking once, with its own updated_at".into(),
            });
        }
    }
    if errors.is_empty() {
        Ok((parsed, batch))
    } else {
        Err(errors)
    }
}

fn booking(
    value: &Value,
    at: String,
    currency: Currency,
    now: Timestamp,
    errors: &mut Vec<FieldError>,
) -> Option<Booking> {
    let Some(object) = value.as_object() else {
        errors.push(FieldError {
            pointer: at,
            detail: format!("a booking must be an object, not {}", kind(value)),
            fix: "send each booking as a JSON object".into(),
        });
        return None;
    };
    let before = errors.len();
    let mut fields = Fields { object, at, errors };
    let id = fields.parsed(
        "id",
        true,
        BookingId::parse,
        "send the booking tool's booking id",
    );
    let client_id = fields.parsed("client_id", true, ClientId::parse, "send the client's id");
    let status = fields.parsed(
        "status",
        true,
        |text| text.parse::<BookingStatus>(),
        "use booked, completed, cancelled or no_show",
    );
    let starts_at = fields.timestamp("starts_at", true);
    if let Some(starts_at) = starts_at {
        let year = jiff::tz::TimeZone::UTC.to_datetime(starts_at).year();
        let latest = now.checked_add(LATEST_AHEAD).unwrap_or(now);
        if year < EARLIEST_YEAR || starts_at > latest {
            fields.error(
                "starts_at",
                format!("{starts_at} is out of range"),
                format!("send a date between {EARLIEST_YEAR}-01-01 and two years from now"),
            );
        }
    }
    let updated_at = fields.timestamp("updated_at", true);
    if let Some(updated_at) = updated_at
        && updated_at > now.checked_add(CLOCK_SKEW).unwrap_or(now)
    {
        fields.error(
            "updated_at",
            format!("{updated_at} is in the future"),
            "send when the booking tool last changed the booking",
        );
    }
    let location_id = fields.parsed(
        "location_id",
        false,
        LocationId::parse,
        "send the location's id",
    );
    let staff = fields.text("staff", false).map(str::to_owned);
    let offer_code = fields
        .text("offer_code", false)
        .map(|code| code.trim().to_uppercase());
    if let Some(code) = fields.text("currency", false)
        && Currency::parse(code).ok() != Some(currency)
    {
        fields.error(
            "currency",
            format!(
                "{code:?} is not this business's currency ({})",
                currency.code()
            ),
            format!("send prices in {}", currency.code()),
        );
    }
    let services = match fields.get("services") {
        Some(Value::Array(list)) if (1..=MAX_SERVICES_PER_BOOKING).contains(&list.len()) => {
            let at = fields.at.clone();
            let mut services = Vec::with_capacity(list.len());
            for (i, value) in list.iter().enumerate() {
                services.push(service(
                    value,
                    format!("{at}/services/{i}"),
                    currency,
                    fields.errors,
                ));
            }
            services.into_iter().collect::<Option<Vec<_>>>()
        }
        Some(Value::Array(list)) => {
            fields.error(
                "services",
                format!("the booking has {} services", list.len()),
                format!("send between 1 and {MAX_SERVICES_PER_BOOKING} services"),
            );
            None
        }
        Some(other) => {
            let detail = format!("services must be an array, not {}", kind(other));
            fields.error(
                "services",
                detail,
                "send [{\"category\": \"hair\", \"price\": \"45.00\"}]",
            );
            None
        }
        None => {
            fields.error(
                "services",
                "services is missing",
                "send at least one service with its category and price",
            );
            None
        }
    };
    if errors.len() > before {
        return None;
    }
    Some(Booking {
        id: id?,
        client_id: client_id?,
        status: status?,
        starts_at: starts_at?,
        updated_at: updated_at?,
        location_id,
        staff,
        services: services?,
        offer_code,
    })
}

fn service(
    value: &Value,
    at: String,
    currency: Currency,
    errors: &mut Vec<FieldError>,
) -> Option<ServiceLine> {
    let Some(object) = value.as_object() else {
        errors.push(FieldError {
            pointer: at,
            detail: format!("a service must be an object, not {}", kind(value)),
            fix: "send {\"category\": \"hair\", \"name\": \"Cut\", \"price\": \"45.00\"}".into(),
        });
        return None;
    };
    let mut fields = Fields { object, at, errors };
    let category = fields.parsed(
        "category",
        true,
        Category::parse,
        "send the service's category, e.g. hair",
    );
    let name = fields.text("name", false).map(str::to_owned);
    let price = match fields.get("price") {
        None => Some(Money::zero(currency)),
        Some(Value::String(text)) => parse_price(&mut fields, text, currency),
        Some(Value::Number(number)) => parse_price(&mut fields, &number.to_string(), currency),
        Some(other) => {
            let detail = format!("price must be a number or a string, not {}", kind(other));
            fields.error(
                "price",
                detail,
                "send the price in currency units, e.g. \"45.00\"",
            );
            None
        }
    };
    Some(ServiceLine {
        category: category?,
        name,
        price_minor: price?.minor,
    })
}

fn parse_price(fields: &mut Fields<'_>, text: &str, currency: Currency) -> Option<Money> {
    match Money::parse_major(text, currency) {
        Ok(money) => Some(money),
        Err(error) => {
            fields.error(
                "price",
                error.to_string(),
                "send the price in currency units, zero or more, e.g. \"45.00\"",
            );
            None
        }
    }
}
