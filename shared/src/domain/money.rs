//! Money in minor units with its currency. Never a float: amounts are parsed from text with
//! `rust_decimal`, rounded to the currency's own number of decimals, and summed as integers.

use std::fmt;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// An ISO 4217 currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(iso_currency::Currency);

impl Currency {
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        iso_currency::Currency::from_code(&code.trim().to_ascii_uppercase())
            .map(Currency)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.trim().to_owned()))
    }

    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point in this currency's minor unit (2 for EUR, 0 for JPY).
    pub fn exponent(self) -> u32 {
        self.0.exponent().map_or(0, u32::from)
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(code: String) -> Result<Currency, MoneyError> {
        Currency::parse(&code)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.code().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("\"{0}\" is not a number")]
    NotANumber(String),
    #[error("{0} is negative; amounts must be zero or more (record refunds as cancellations)")]
    Negative(String),
    #[error("{0} is too large")]
    TooLarge(String),
    #[error("\"{0}\" is not an ISO 4217 currency code (e.g. USD, EUR, GBP)")]
    UnknownCurrency(String),
}

/// An amount of money in the currency's minor unit (cents, pence, yen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Parses an amount written in currency units, as booking tools export it: `45`, `45.5`,
    /// `1,234.50`, `$45.00`, `€ 45`, `45,50` (decimal comma), `1.234,50`, `USD 12`.
    /// Extra decimals are rounded half away from zero to the currency's minor unit.
    pub fn parse_major(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        if let Some(minor) = parse_plain(text.as_bytes(), currency.exponent()) {
            return Ok(Money { minor, currency });
        }
        let number =
            normalise_number(text).ok_or_else(|| MoneyError::NotANumber(text.trim().to_owned()))?;
        let decimal = Decimal::from_str(&number)
            .map_err(|_| MoneyError::NotANumber(text.trim().to_owned()))?;
        if decimal.is_sign_negative() && !decimal.is_zero() {
            return Err(MoneyError::Negative(text.trim().to_owned()));
        }
        let scaled = to_minor(decimal, currency)
            .ok_or_else(|| MoneyError::TooLarge(text.trim().to_owned()))?;
        Ok(Money {
            minor: scaled,
            currency,
        })
    }

    /// The amount in major units, for people and for JSON reports.
    pub fn major(self) -> f64 {
        self.minor as f64 / 10_f64.powi(self.currency.exponent() as i32)
    }
}

impl fmt::Display for Money {
    /// `1,234.50 EUR`: grouped for reading, with the code so no symbol is ambiguous.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exponent = self.currency.exponent();
        let unit = 10_i64.pow(exponent);
        let sign = if self.minor < 0 { "-" } else { "" };
        let whole = (self.minor / unit).unsigned_abs();
        let fraction = (self.minor % unit).unsigned_abs();
        let digits = whole.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if exponent == 0 {
            write!(f, "{sign}{grouped} {}", self.currency)
        } else {
            write!(
                f,
                "{sign}{grouped}.{fraction:0width$} {}",
                self.currency,
                width = exponent as usize
            )
        }
    }
}

/// `decimal` in minor units of `currency`, rounded half away from zero; `None` if too large.
fn to_minor(decimal: Decimal, currency: Currency) -> Option<i64> {
    decimal
        .round_dp_with_strategy(currency.exponent(), RoundingStrategy::MidpointAwayFromZero)
        .checked_mul(Decimal::from(10_i64.pow(currency.exponent())))
        .and_then(|d| d.to_i64())
}

/// An amount in a currency's major units as a business writes it in its settings (`1500`,
/// `1499.99`), before the currency is known: an exact decimal, never a float. A JSON number is
/// read through its shortest decimal form, so what was written (up to 15 significant digits)
/// is what is kept, and it is written back as the same number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MajorAmount(Decimal);

impl MajorAmount {
    /// The largest amount a setting may hold: a trillion.
    pub const MAX: MajorAmount = MajorAmount(Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0));

    /// `text` as a plain decimal (`1499.99`); `None` if it is not one.
    pub fn parse(text: &str) -> Option<MajorAmount> {
        Decimal::from_str(text.trim()).ok().map(MajorAmount)
    }

    /// The amount in minor units of `currency` (cents for USD), rounded half away from zero
    /// once; `None` if it does not fit.
    pub fn in_minor_units(self, currency: Currency) -> Option<i64> {
        to_minor(self.0, currency)
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }
}

impl From<u32> for MajorAmount {
    fn from(whole: u32) -> MajorAmount {
        MajorAmount(Decimal::from(whole))
    }
}

impl fmt::Display for MajorAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.normalize(), f)
    }
}

impl serde::Serialize for MajorAmount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.normalize().to_i64() {
            Some(whole) if self.0.fract().is_zero() => serializer.serialize_i64(whole),
            _ => serializer.serialize_f64(self.0.to_f64().unwrap_or(f64::NAN)),
        }
    }
}

impl<'de> serde::Deserialize<'de> for MajorAmount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<MajorAmount, D::Error> {
        struct Amount;
        impl serde::de::Visitor<'_> for Amount {
            type Value = MajorAmount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount of money as a number, such as 1500 or 1499.99")
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<MajorAmount, E> {
                Ok(MajorAmount(Decimal::from(n)))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<MajorAmount, E> {
                Ok(MajorAmount(Decimal::from(n)))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<MajorAmount, E> {
                // Rust writes a float's shortest round-trip form, never in exponent notation.
                Decimal::from_str(&n.to_string())
                    .map(MajorAmount)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Float(n), &self))
            }
        }
        deserializer.deserialize_any(Amount)
    }
}

/// The common case, without allocating: digits, then at most `exponent` decimals after a dot.
fn parse_plain(text: &[u8], exponent: u32) -> Option<i64> {
    let (whole, fraction) = match text.iter().position(|&b| b == b'.') {
        Some(dot) => (&text[..dot], &text[dot + 1..]),
        None => (text, &text[..0]),
    };
    if whole.is_empty() || whole.len() > 15 || fraction.len() > exponent as usize {
        return None;
    }
    let digits = |minor: Option<i64>, part: &[u8]| {
        part.iter().try_fold(minor?, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
        })
    };
    let minor = digits(digits(Some(0), whole), fraction)?;
    Some(minor * 10_i64.pow(exponent - fraction.len() as u32))
}

/// Strips currency symbols, codes and grouping, leaving a plain `-123.45`.
fn normalise_number(text: &str) -> Option<String> {
    let kept: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-'))
        .collect();
    if !kept.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    // Anything other than symbols, letters of a currency code and spaces is not an amount.
    if text.chars().any(|c| {
        !(c.is_ascii_digit()
            || matches!(c, '.' | ',' | '-' | '+' | '\'' | ' ' | '\u{a0}')
            || c.is_alphabetic()
            || is_currency_symbol(c))
    }) {
        return None;
    }
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    if letters != 0 && letters != 3 {
        return None;
    }
    let last_dot = kept.rfind('.');
    let last_comma = kept.rfind(',');
    let decimal_separator = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(if d > c { '.' } else { ',' }),
        (Some(_), None) => (kept.matches('.').count() == 1).then_some('.'),
        // A single comma followed by exactly three digits groups thousands ("1,234");
        // otherwise it is a decimal comma ("45,50").
        (None, Some(c)) => {
            (kept.matches(',').count() == 1 && kept.len() - c - 1 != 3).then_some(',')
        }
        (None, None) => None,
    };
    Some(
        kept.chars()
            .filter_map(|c| match c {
                '-' => Some('-'),
                c if c.is_ascii_digit() => Some(c),
                c if Some(c) == decimal_separator => Some('.'),
                _ => None,
            })
            .collect(),
    )
}

fn is_currency_symbol(c: char) -> bool {
    matches!(
        c,
        '$' | '€'
            | '£'
            | '¥'
            | '₹'
            | '₩'
            | '₪'
            | '₫'
            | '₱'
            | '₺'
            | '₽'
            | '฿'
            | '₴'
            | '₦'
            | '₡'
            | '¢'
            | '₲'
            | '₵'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("usd").unwrap()
    }

    #[test]
    fn amounts_parse_from_the_shapes_booking_tools_export() {
        for (text, minor) in [
            ("45", 4500),
            ("45.5", 4550),
            ("1,234.50", 123_450),
            ("$45.00", 4500),
            ("USD 12", 1200),
            ("45,50", 4550),
            ("1.234,50", 123_450),
            ("1,234", 123_400),
            ("0", 0),
        ] {
            assert_eq!(
                Money::parse_major(text, usd()).unwrap().minor,
                minor,
                "{text}"
            );
        }
    }

    #[test]
    fn extra_decimals_round_to_the_currency_minor_unit() {
        assert_eq!(Money::parse_major("10.005", usd()).unwrap().minor, 1001);
        let yen = Currency::parse("JPY").unwrap();
        assert_eq!(Money::parse_major("1200.4", yen).unwrap().minor, 1200);
    }

    #[test]
    fn negative_amounts_and_words_are_refused() {
        assert!(matches!(
            Money::parse_major("-5", usd()),
            Err(MoneyError::Negative(_))
        ));
        assert!(matches!(
            Money::parse_major("free", usd()),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(
            Money::parse_major("12 apples", usd()),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(
            Money::parse_major("99999999999999999999", usd()),
            Err(MoneyError::TooLarge(_))
        ));
    }

    #[test]
    fn money_is_shown_grouped_with_its_currency_code() {
        assert_eq!(
            Money::from_minor(123_456_789, usd()).to_string(),
            "1,234,567.89 USD"
        );
        assert_eq!(Money::from_minor(5, usd()).to_string(), "0.05 USD");
        assert_eq!(
            Money::from_minor(1200, Currency::parse("JPY").unwrap()).to_string(),
            "1,200 JPY"
        );
    }

    #[test]
    fn unknown_currency_codes_are_refused() {
        assert!(Currency::parse("XYZ").is_err());
    }
}
