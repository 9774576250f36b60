//! One row of an export: its cells cut out (at the delimiters, or by the CSV parser for a row
//! with quotes) and read into a booking line.

use crate::domain::booking::{BookingLine, BookingStatus, Rating};
use crate::domain::ids::{ClientId, has_control_character};
use crate::domain::money::{Currency, Money};

use super::*;

/// Turns one record's bytes into a booking line, for a known header.
#[derive(Debug, Clone)]
pub struct RowParser {
    pub(super) delimiter: u8,
    pub(super) map: ColumnMap,
    pub(super) options: ReadOptions,
    /// Which field each column holds, by column.
    pub(super) column_fields: Vec<Option<Field>>,
    /// An unescaped copy of the current row, for the few rows with quoted values.
    pub(super) owned: simd_csv::ByteRecord,
}

/// A record as the splitter found it, before parsing.
pub enum RawRecord<'a> {
    /// `quoted`: the record holds a quote character, so it needs the full CSV parser.
    Record {
        bytes: &'a [u8],
        line: u64,
        quoted: bool,
    },
    Unreadable(RowError),
}

impl RowParser {
    /// The client id of a record, as bytes trimmed of ASCII spaces (empty if it has none).
    pub fn client_of<'r>(&'r mut self, record: &'r [u8], quoted: bool) -> &'r [u8] {
        let column = self.map.column(Field::ClientId).unwrap_or(usize::MAX);
        if quoted {
            match parse_quoted(record, self.delimiter) {
                Some(parsed) => self.owned = parsed,
                None => return b"",
            }
            return self.owned.get(column).unwrap_or_default().trim_ascii();
        }
        record
            .split(|&b| b == self.delimiter)
            .nth(column)
            .unwrap_or_default()
            .trim_ascii()
    }

    /// Parses a record found on `line` (`quoted` if it holds a quote character).
    pub fn parse<'r>(
        &'r mut self,
        record: &'r [u8],
        line: u64,
        quoted: bool,
    ) -> Result<BookingLine<'r>, RowError> {
        let RowParser {
            delimiter,
            map: _,
            options,
            column_fields,
            owned,
        } = self;
        if quoted {
            let Some(parsed) = parse_quoted(record, *delimiter) else {
                return Err(RowError {
                    line,
                    column: None,
                    reason: "the row could not be read as CSV".into(),
                });
            };
            *owned = parsed;
            let mut cells: Cells<'_> = [""; Field::ALL.len()];
            for (column, field) in column_fields.iter().enumerate() {
                let (Some(field), Some(bytes)) = (field, owned.get(column)) else {
                    continue;
                };
                match std::str::from_utf8(bytes.trim_ascii()) {
                    Ok(text) => cells[*field as usize] = text,
                    Err(_) => {
                        return Err(RowError {
                            line,
                            column: Some(field.name()),
                            reason: "the value is not valid UTF-8 text; save the export as UTF-8"
                                .into(),
                        });
                    }
                }
            }
            return parse_row(&cells, line, options);
        }

        // No quotes: the fields are exactly what lies between the delimiters.
        // Where each field lies in the row; a field not in the export is empty.
        let mut spans = [(0_u32, 0_u32); Field::ALL.len()];
        let (mut column, mut start) = (0, 0);
        let mut field_ends_at = |end: usize| {
            match column_fields.get(column) {
                Some(Some(field)) => spans[*field as usize] = (start as u32, end as u32),
                Some(None) => {}
                // Columns past the header's are not read.
                None => return false,
            }
            column += 1;
            start = end + 1;
            true
        };
        each_delimiter(record, *delimiter, &mut field_ends_at);
        field_ends_at(record.len());
        // One UTF-8 check for the whole row; cut at ASCII delimiters and trimmed of ASCII
        // spaces, every field of it is text too.
        let Ok(text) = simdutf8::basic::from_utf8(record) else {
            let reason = "the row is not valid UTF-8 text; save the export as UTF-8".into();
            return Err(RowError {
                line,
                column: None,
                reason,
            });
        };
        // Cut at ASCII delimiters, every span is at a character boundary of the text.
        let cells: Cells<'_> = spans.map(|(start, end)| {
            text.get(start as usize..end as usize)
                .unwrap_or_default()
                .trim_ascii()
        });
        parse_row(&cells, line, options)
    }
}

/// A row's value for each field (by `Field as usize`): trimmed text, empty when blank or not in
/// the export.
pub(super) type Cells<'r> = [&'r str; Field::ALL.len()];

/// Parses one row from its cells.
pub(super) fn parse_row<'r>(
    cells: &Cells<'r>,
    line: u64,
    options: &ReadOptions,
) -> Result<BookingLine<'r>, RowError> {
    let fail = |field: Field, reason: String| RowError {
        line,
        column: Some(field.name()),
        reason,
    };
    let cell = |wanted: Field| -> Option<&'r str> {
        let value = cells[wanted as usize];
        (!value.is_empty()).then_some(value)
    };

    let client = cell(Field::ClientId)
        .ok_or_else(|| fail(Field::ClientId, "the client id is empty".into()))?;
    let client = ClientId::check(client).map_err(|e| fail(Field::ClientId, e.to_string()))?;
    let occurred = cell(Field::OccurredAt)
        .ok_or_else(|| fail(Field::OccurredAt, "the date is empty".into()))?;
    let day = parse_day(occurred, &options.timezone, options.date_format.as_deref())
        .map_err(|reason| fail(Field::OccurredAt, reason.to_string()))?;
    let status = match cell(Field::Status) {
        None => BookingStatus::Completed,
        Some(text) => text
            .parse()
            .map_err(|e: crate::domain::booking::UnknownStatus| {
                fail(Field::Status, e.to_string())
            })?,
    };
    let category = cell(Field::ServiceCategory).ok_or_else(|| {
        fail(
            Field::ServiceCategory,
            "the service category is empty".into(),
        )
    })?;
    if category.len() > 64 || has_control_character(category) {
        return Err(fail(
            Field::ServiceCategory,
            "a category name must be at most 64 characters of text".into(),
        ));
    }
    if let Some(code) = cell(Field::Currency)
        && !code.eq_ignore_ascii_case(options.currency.code())
    {
        let currency = Currency::parse(code).map_err(|e| fail(Field::Currency, e.to_string()))?;
        return Err(fail(
            Field::Currency,
            format!(
                "{currency} differs from the business currency {}; set currency = \"{currency}\" in the config if that is the business's currency",
                options.currency
            ),
        ));
    }
    let price_minor = match cell(Field::Amount) {
        None => 0,
        Some(text) => {
            Money::parse_major(text, options.currency)
                .map_err(|e| fail(Field::Amount, e.to_string()))?
                .minor
        }
    };
    let rating = match cell(Field::Rating) {
        None => None,
        Some(text) => match text.parse::<f32>() {
            Ok(r) if r.is_finite() && (0.0..=10.0).contains(&r) => Rating::new(r),
            _ => {
                return Err(fail(
                    Field::Rating,
                    format!("\"{text}\" is not a rating from 0 to 10"),
                ));
            }
        },
    };
    // Locations are only carried along: any text will do until they are used.
    let location = cell(Field::LocationId);
    Ok(BookingLine {
        client,
        day,
        status,
        category,
        price_minor,
        service: cell(Field::Service),
        staff: cell(Field::Staff),
        location,
        rating,
        client_name: cell(Field::ClientName),
    })
}
