//! Typed identifiers, validated when they are made and when they are deserialised, so an id
//! that reached the domain is never empty, overlong or full of control characters.

use std::fmt;

/// Why a value was refused as an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("the {kind} is empty")]
    Empty { kind: &'static str },
    #[error("the {kind} is {len} bytes long; at most {max} are allowed")]
    TooLong {
        kind: &'static str,
        len: usize,
        max: usize,
    },
    #[error("the {kind} contains a control character")]
    ControlCharacter { kind: &'static str },
    #[error("the {kind} may hold only {allowed}")]
    Character {
        kind: &'static str,
        allowed: &'static str,
    },
    #[error("the {kind} is not of the form {form}")]
    Malformed {
        kind: &'static str,
        form: &'static str,
    },
}

/// Whether `text` holds a control character. They are ASCII or U+0080–U+009F: most names and
/// ids are printable ASCII, checked in one pass over the bytes; only text with other bytes is
/// read as characters.
pub fn has_control_character(text: &str) -> bool {
    !text.bytes().all(|b| (0x20..0x7f).contains(&b)) && text.chars().any(char::is_control)
}

fn check(kind: &'static str, value: &str, max: usize) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.len() > max {
        return Err(IdError::TooLong {
            kind,
            len: value.len(),
            max,
        });
    }
    if has_control_character(value) {
        return Err(IdError::ControlCharacter { kind });
    }
    Ok(())
}

/// Declares a string identifier newtype: trimmed of ASCII spaces, validated on construction and on
/// deserialisation, displayed as itself.
macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $max:literal) => {
        string_id!($(#[$meta])* $name, $kind, $max, |_| Ok(()));
    };
    ($(#[$meta:meta])* $name:ident, $kind:literal, $max:literal, $extra:expr) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Box<str>);

        impl $name {
            /// What this identifier is called in error messages.
            pub const KIND: &'static str = $kind;

            pub fn parse(value: &str) -> Result<Self, IdError> {
                Self::check(value).map(|value| Self(value.into()))
            }

            /// Checks a value without keeping it: for readers that borrow ids from a buffer.
            pub fn check(value: &str) -> Result<&str, IdError> {
                let value = value.trim_ascii();
                check($kind, value, $max)?;
                let extra: fn(&str) -> Result<(), IdError> = $extra;
                extra(value)?;
                Ok(value)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.into()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }
    };
}

string_id!(
    /// The booking tool's identifier for a client, unique within one business.
    ClientId,
    "client id",
    128
);
string_id!(
    /// A business (tenant) deploying winback: letters, digits, `-`, `_` and `.`, so it never
    /// holds the separator the stores' keys are built with.
    TenantId,
    "tenant id",
    64,
    |value| {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
        if value.bytes().all(allowed) {
            Ok(())
        } else {
            Err(IdError::Character {
                kind: "tenant id",
                allowed: "letters, digits, '-', '_' and '.'",
            })
        }
    }
);
string_id!(
    /// The booking tool's identifier for a booking, unique within one business.
    BookingId,
    "booking id",
    128
);
string_id!(
    /// One of the business's locations.
    LocationId,
    "location id",
    128
);

/// A service category (hair, colour, massage, cleaning, ...). Clients are tracked per category
/// because a monthly haircut client and a yearly colour client lapse on different clocks.
///
/// Categories compare case- and space-insensitively: "Hair ", "hair" and "HAIR" are one
/// category, shown in lower case.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Category(Box<str>);

impl Category {
    pub const KIND: &'static str = "service category";

    pub fn parse(value: &str) -> Result<Self, IdError> {
        let normalised = value
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        check(Self::KIND, &normalised, 64)?;
        Ok(Self(normalised.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Category {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, IdError> {
        Self::parse(&value)
    }
}

impl From<Category> for String {
    fn from(category: Category) -> String {
        category.0.into()
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Category({:?})", &*self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_is_trimmed_and_must_not_be_empty() {
        assert_eq!(ClientId::parse("  c-17 ").unwrap().as_str(), "c-17");
        assert_eq!(
            ClientId::parse("   "),
            Err(IdError::Empty { kind: "client id" })
        );
    }

    #[test]
    fn client_id_rejects_control_characters_and_overlong_values() {
        assert!(matches!(
            ClientId::parse("a\u{0}b"),
            Err(IdError::ControlCharacter { .. })
        ));
        assert!(matches!(
            ClientId::parse(&"x".repeat(129)),
            Err(IdError::TooLong { .. })
        ));
    }

    #[test]
    fn a_tenant_id_never_holds_the_key_separator_or_spaces() {
        assert!(TenantId::parse("salon-42_main.eu").is_ok());
        for bad in ["a#b", "two words", "t/1", "é"] {
            assert!(
                matches!(TenantId::parse(bad), Err(IdError::Character { .. })),
                "{bad}"
            );
        }
        assert!(serde_json::from_str::<TenantId>("\"x#1\"").is_err());
    }

    #[test]
    fn client_id_is_validated_when_deserialised() {
        assert!(serde_json::from_str::<ClientId>("\"\"").is_err());
        assert_eq!(
            serde_json::from_str::<ClientId>("\"c1\"").unwrap().as_str(),
            "c1"
        );
    }

    #[test]
    fn categories_ignore_case_and_spacing() {
        assert_eq!(
            Category::parse(" Hair  Colour ").unwrap(),
            Category::parse("hair colour").unwrap()
        );
        assert_eq!(Category::parse("HAIR").unwrap().as_str(), "hair");
    }
}
