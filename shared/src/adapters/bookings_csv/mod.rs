//! Reads a bookings export (CSV with a header row) from any booking tool into
//! [`BookingLine`]s, one row at a time.
//!
//! Booking tools name their columns differently: the header is matched against the canonical
//! names and the common spellings of real tools ("Client ID", "Customer", "Date", "Category",
//! "Price", "Total", ...), and the caller can map any other header explicitly. Comma, semicolon
//! and tab delimiters are recognised from the header, and a UTF-8 byte-order mark is ignored.
//!
//! A file that is not a bookings export at all (empty, binary, missing a required column) is an
//! [`ExportError`] that says what is missing and how to map it. A bad row is a [`RowError`] with
//! its line number, column and reason, and never stops the rest of the file.

//!
//! In files: this one opens an export and hands out its rows; `columns` knows the fields and
//! matches the header, `split` finds a row's delimiters and unquotes the rare quoted row, `row`
//! turns a row's cells into a booking line, `dates` reads the many ways tools write a day, and
//! `error` says what went wrong.

pub mod audit_run;
mod columns;
mod dates;
mod error;
mod row;
mod split;
#[cfg(test)]
mod tests;

pub use columns::{ColumnMap, Field, parse_mapping};
use dates::parse_day;
pub use error::{ExportError, RowError};
pub use row::{RawRecord, RowParser};
use split::{each_delimiter, parse_quoted, sniff_delimiter};

use std::io::{BufRead, BufReader, Read};

use crate::domain::booking::BookingLine;
use crate::domain::money::Currency;
use crate::domain::time_zone::TimeZoneName;

/// How to read an export.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Explicit `canonical=Header` mappings, taking precedence over recognised spellings.
    pub mappings: Vec<(Field, String)>,
    /// The zone RFC 3339 date-times are converted to before their day is taken.
    pub timezone: TimeZoneName,
    /// The business's currency: amounts are in it, and a row in another currency is refused.
    pub currency: Currency,
    /// A `strftime`-style layout for dates that are not ISO 8601, e.g. `%d/%m/%Y`.
    pub date_format: Option<String>,
}

/// Reads booking lines from an export, one row at a time, straight from the read buffer.
///
/// Rows are found with a SIMD record splitter. A row without a quote character is cut into
/// fields at its delimiters, which is exactly what CSV means for it; a row with quotes goes
/// through the full CSV parser, which unquotes and unescapes its values.
pub struct BookingsReader<R: Read> {
    splitter: simd_csv::Splitter<BufReader<R>>,
    parser: RowParser,
    /// The line the current row starts on (the header is line 1).
    line: u64,
    /// Set after an I/O error: nothing after one can be trusted.
    failed: bool,
}

impl<R: Read> BookingsReader<R> {
    /// Opens an export: reads and resolves its header row.
    pub fn new(input: R, options: ReadOptions) -> Result<BookingsReader<R>, ExportError> {
        let mut input = BufReader::with_capacity(1 << 16, input);
        let head = input.fill_buf()?;
        if head.is_empty() {
            return Err(ExportError::Empty);
        }
        if head.contains(&0) {
            return Err(ExportError::NotText);
        }
        let delimiter = sniff_delimiter(head);
        let mut splitter = simd_csv::SplitterBuilder::with_capacity(1 << 18)
            .delimiter(delimiter)
            .has_headers(true)
            .from_reader(input);
        let header = splitter.byte_headers().map_err(|e| match e.kind() {
            simd_csv::ErrorKind::Io(_) => ExportError::Io(std::io::Error::other(e.to_string())),
            _ => ExportError::NotText,
        })?;
        let header = parse_quoted(header, delimiter).ok_or(ExportError::Empty)?;
        let headers: Vec<String> = header
            .iter()
            .map(|h| {
                std::str::from_utf8(h).map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
            })
            .collect::<Result<_, _>>()
            .map_err(|_| ExportError::NotText)?;
        if headers.iter().all(String::is_empty) {
            return Err(ExportError::Empty);
        }
        let map = ColumnMap::resolve(&headers, &options.mappings)?;
        let mut column_fields = vec![None; headers.len()];
        // Contact columns are recognised, so that no other field claims them, but a booking
        // line does not carry them.
        for &(field, column) in map.mapped() {
            if !matches!(field, Field::Email | Field::Phone) {
                column_fields[column] = Some(field);
            }
        }
        let parser = RowParser {
            delimiter,
            map,
            options,
            column_fields,
            owned: simd_csv::ByteRecord::new(),
        };
        Ok(BookingsReader {
            splitter,
            parser,
            line: 1,
            failed: false,
        })
    }

    /// Reads a later part of an export, starting at the beginning of a row, with the header
    /// another reader resolved. Line numbers count from the part's start.
    pub fn continuation(input: R, parser: &RowParser) -> BookingsReader<R> {
        let splitter = simd_csv::SplitterBuilder::with_capacity(1 << 18)
            .delimiter(parser.delimiter)
            .has_headers(false)
            .from_reader(BufReader::with_capacity(1 << 16, input));
        BookingsReader {
            splitter,
            parser: parser.clone(),
            line: 0,
            failed: false,
        }
    }

    pub fn columns(&self) -> &ColumnMap {
        &self.parser.map
    }

    pub fn parser(&self) -> &RowParser {
        &self.parser
    }

    /// The line number of the row last read.
    pub fn current_line(&self) -> u64 {
        self.line
    }

    /// Reads the next row: `None` at the end of the file, otherwise the row's line or why it
    /// was refused. An I/O failure part-way ends the file with an error for that row.
    pub fn next_line(&mut self) -> Option<Result<BookingLine<'_>, RowError>> {
        let (raw, parser) = self.next_raw()?;
        Some(match raw {
            RawRecord::Unreadable(error) => Err(error),
            RawRecord::Record {
                bytes,
                line,
                quoted,
            } => parser.parse(bytes, line, quoted),
        })
    }

    /// Finds the next record without parsing it, with the parser to parse it.
    pub fn next_raw(&mut self) -> Option<(RawRecord<'_>, &mut RowParser)> {
        if self.failed {
            return None;
        }
        let BookingsReader {
            splitter,
            parser,
            line,
            failed,
        } = self;
        let raw = match splitter.split_record() {
            Ok(Some(bytes)) => {
                // Line numbers count the rows, and the line breaks inside quoted values.
                *line += 1;
                let row_line = *line;
                let quoted = memchr::memchr(b'"', bytes).is_some();
                if quoted {
                    *line += memchr::memchr_iter(b'\n', bytes).count() as u64;
                }
                RawRecord::Record {
                    bytes,
                    line: row_line,
                    quoted,
                }
            }
            Ok(None) => return None,
            Err(e) => {
                *line += 1;
                *failed = matches!(e.kind(), simd_csv::ErrorKind::Io(_));
                RawRecord::Unreadable(RowError {
                    line: *line,
                    column: None,
                    reason: format!("the row could not be read: {e}"),
                })
            }
        };
        Some((raw, parser))
    }
}
