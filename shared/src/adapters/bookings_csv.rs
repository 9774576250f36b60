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

use std::fmt;
use std::io::{BufRead, BufReader, Read};

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use wide::u8x16;

use crate::domain::booking::{BookingLine, BookingStatus, Rating};
use crate::domain::day::Day;
use crate::domain::ids::{ClientId, has_control_character};
use crate::domain::money::{Currency, Money};
use crate::domain::time_zone::TimeZoneName;

/// A column of the canonical bookings export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    ClientId,
    OccurredAt,
    ServiceCategory,
    Amount,
    Status,
    Service,
    LocationId,
    Staff,
    Currency,
    Email,
    Phone,
    Rating,
    ClientName,
}

impl Field {
    /// In resolution order: a header claimed by an earlier field is not offered to a later one,
    /// so "Customer" is the client id unless a better id column exists, and then it is the name.
    pub const ALL: [Field; 13] = [
        Field::ClientId,
        Field::OccurredAt,
        Field::ServiceCategory,
        Field::Amount,
        Field::Status,
        Field::Service,
        Field::LocationId,
        Field::Staff,
        Field::Currency,
        Field::Email,
        Field::Phone,
        Field::Rating,
        Field::ClientName,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::ClientId => "client_id",
            Field::OccurredAt => "occurred_at",
            Field::ServiceCategory => "service_category",
            Field::Amount => "amount",
            Field::Status => "status",
            Field::Service => "service",
            Field::LocationId => "location_id",
            Field::Staff => "staff",
            Field::Currency => "currency",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Rating => "rating",
            Field::ClientName => "client_name",
        }
    }

    pub fn is_required(self) -> bool {
        matches!(
            self,
            Field::ClientId | Field::OccurredAt | Field::ServiceCategory
        )
    }

    pub fn from_name(name: &str) -> Option<Field> {
        let key = normalise_header(name);
        Field::ALL
            .into_iter()
            .find(|f| normalise_header(f.name()) == key)
    }

    /// Header spellings recognised for this field, best first, in normalised form (lower case,
    /// letters and digits only).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::ClientId => &[
                "clientid",
                "customerid",
                "clientnumber",
                "customernumber",
                "guestid",
                "patientid",
                "memberid",
                "contactid",
                "accountid",
                "userid",
                "clientref",
                "customerref",
                "client",
                "customer",
                "guest",
                "patient",
                "member",
            ],
            Field::OccurredAt => &[
                "occurredat",
                "date",
                "datetime",
                "appointmentdate",
                "appointmentdatetime",
                "appointmentstart",
                "appointmenttime",
                "startdate",
                "starttime",
                "startsat",
                "startdatetime",
                "start",
                "bookingdate",
                "visitdate",
                "servicedate",
                "dateofservice",
                "scheduledat",
                "scheduledfor",
                "time",
            ],
            Field::ServiceCategory => &[
                "servicecategory",
                "category",
                "servicetype",
                "servicegroup",
                "treatmentcategory",
                "treatmenttype",
                "department",
                "type",
                "kind",
                "group",
            ],
            Field::Amount => &[
                "amount",
                "total",
                "totalprice",
                "totalamount",
                "amountpaid",
                "price",
                "serviceprice",
                "paid",
                "revenue",
                "value",
                "sales",
                "netsales",
                "grosssales",
                "net",
                "gross",
                "subtotal",
                "charge",
                "fee",
            ],
            Field::Status => &[
                "status",
                "appointmentstatus",
                "bookingstatus",
                "visitstatus",
                "state",
            ],
            Field::Service => &[
                "service",
                "servicename",
                "treatment",
                "treatmentname",
                "servicetitle",
                "item",
                "itemname",
                "product",
                "description",
            ],
            Field::LocationId => &[
                "locationid",
                "location",
                "branchid",
                "branch",
                "siteid",
                "site",
                "storeid",
                "store",
                "salon",
                "clinic",
                "venue",
                "shop",
            ],
            Field::Staff => &[
                "staff",
                "staffname",
                "staffmember",
                "stylist",
                "provider",
                "employee",
                "practitioner",
                "therapist",
                "technician",
                "teammember",
                "professional",
                "barber",
                "artist",
                "clinician",
                "resource",
            ],
            Field::Currency => &["currency", "currencycode"],
            Field::Email => &[
                "email",
                "emailaddress",
                "clientemail",
                "customeremail",
                "mail",
            ],
            Field::Phone => &[
                "phone",
                "phonenumber",
                "mobile",
                "mobilephone",
                "mobilenumber",
                "cell",
                "cellphone",
                "telephone",
                "tel",
                "clientphone",
                "customerphone",
            ],
            Field::Rating => &[
                "rating",
                "stars",
                "reviewrating",
                "reviewscore",
                "review",
                "satisfaction",
                "score",
            ],
            Field::ClientName => &[
                "clientname",
                "customername",
                "guestname",
                "patientname",
                "membername",
                "fullname",
                "name",
                "client",
                "customer",
                "guest",
                "patient",
            ],
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn normalise_header(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Why a file cannot be read as a bookings export at all.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("could not read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is empty: a bookings export needs a header row and one row per booking")]
    Empty,
    #[error("the file is not text (it looks binary): export your bookings as CSV and try again")]
    NotText,
    #[error(
        "this is not a bookings export: it has no column for {missing}. Found columns: {found}. \
         If one of them holds it, map it, e.g. --map {example}=\"{example_header}\""
    )]
    MissingColumns {
        missing: String,
        found: String,
        example: &'static str,
        example_header: String,
    },
    #[error("--map {0}: \"{0}\" is not a bookings column; use one of {1}")]
    UnknownField(String, String),
    #[error(
        "--map {field}=\"{header}\": the file has no column \"{header}\". Found columns: {found}"
    )]
    MappedHeaderMissing {
        field: &'static str,
        header: String,
        found: String,
    },
    #[error("--map {0}: write it as canonical=Header, e.g. --map client_id=\"Customer Number\"")]
    BadMapping(String),
}

/// Why one row was skipped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// The row's line number in the file (the header is line 1).
    pub line: u64,
    /// The canonical column at fault, if one is.
    pub column: Option<&'static str>,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "line {}, {column}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

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

/// Parses `canonical=Header` as given on a command line.
pub fn parse_mapping(text: &str) -> Result<(Field, String), ExportError> {
    let (field, header) = text
        .split_once('=')
        .ok_or_else(|| ExportError::BadMapping(text.to_owned()))?;
    let field = Field::from_name(field).ok_or_else(|| {
        ExportError::UnknownField(
            field.trim().to_owned(),
            Field::ALL.map(Field::name).join(", "),
        )
    })?;
    let header = header.trim().trim_matches('"').to_owned();
    if header.is_empty() {
        return Err(ExportError::BadMapping(text.to_owned()));
    }
    Ok((field, header))
}

/// Which column holds each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    columns: [Option<usize>; Field::ALL.len()],
    /// The fields that have a column, with it.
    mapped: Vec<(Field, usize)>,
    headers: Vec<String>,
}

impl ColumnMap {
    pub fn resolve(
        headers: &[String],
        mappings: &[(Field, String)],
    ) -> Result<ColumnMap, ExportError> {
        let found = || {
            headers
                .iter()
                .map(|h| format!("\"{h}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut columns = [None; Field::ALL.len()];
        let mut taken = vec![false; headers.len()];
        for (field, wanted) in mappings {
            let index = headers
                .iter()
                .position(|h| h.trim() == wanted.trim())
                .or_else(|| {
                    headers
                        .iter()
                        .position(|h| h.trim().eq_ignore_ascii_case(wanted.trim()))
                })
                .or_else(|| {
                    headers
                        .iter()
                        .position(|h| normalise_header(h) == normalise_header(wanted))
                })
                .ok_or_else(|| ExportError::MappedHeaderMissing {
                    field: field.name(),
                    header: wanted.clone(),
                    found: found(),
                })?;
            columns[slot(*field)] = Some(index);
            taken[index] = true;
        }
        let normalised: Vec<String> = headers.iter().map(|h| normalise_header(h)).collect();
        for field in Field::ALL {
            if columns[slot(field)].is_some() {
                continue;
            }
            let best = field.aliases().iter().find_map(|alias| {
                (0..headers.len()).find(|&i| !taken[i] && normalised[i] == *alias)
            });
            if let Some(index) = best {
                columns[slot(field)] = Some(index);
                taken[index] = true;
            }
        }
        let missing: Vec<Field> = Field::ALL
            .into_iter()
            .filter(|f| f.is_required() && columns[slot(*f)].is_none())
            .collect();
        if let Some(first) = missing.first() {
            let unclaimed = (0..headers.len())
                .find(|&i| !taken[i])
                .map(|i| headers[i].clone());
            return Err(ExportError::MissingColumns {
                missing: missing
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(" and "),
                found: if headers.is_empty() {
                    "none".into()
                } else {
                    found()
                },
                example: first.name(),
                example_header: unclaimed.unwrap_or_else(|| "Your Header".into()),
            });
        }
        let mapped = Field::ALL
            .into_iter()
            .filter_map(|f| columns[slot(f)].map(|c| (f, c)))
            .collect();
        Ok(ColumnMap {
            columns,
            mapped,
            headers: headers.to_vec(),
        })
    }

    pub fn column(&self, field: Field) -> Option<usize> {
        self.columns[slot(field)]
    }

    pub fn mapped(&self) -> &[(Field, usize)] {
        &self.mapped
    }

    /// The header read for a field, for telling the user how their file was understood.
    pub fn header(&self, field: Field) -> Option<&str> {
        self.column(field).map(|i| self.headers[i].as_str())
    }
}

/// A field's place in `Field::ALL`: the enum is declared in that order.
fn slot(field: Field) -> usize {
    field as usize
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

/// Turns one record's bytes into a booking line, for a known header.
#[derive(Debug, Clone)]
pub struct RowParser {
    delimiter: u8,
    map: ColumnMap,
    options: ReadOptions,
    /// Which field each column holds, by column.
    column_fields: Vec<Option<Field>>,
    /// An unescaped copy of the current row, for the few rows with quoted values.
    owned: simd_csv::ByteRecord,
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

/// Calls `found` with each position of `delimiter` in a row, in order, until `found` returns
/// `false`. Sixteen bytes are compared at once (SSE2 on x86-64, NEON on ARM): a row's fields
/// are short, so one pass finds them all sooner than a search per field.
#[inline(always)]
fn each_delimiter(record: &[u8], delimiter: u8, mut found: impl FnMut(usize) -> bool) {
    let pattern = u8x16::splat(delimiter);
    let mut blocks = record.chunks_exact(16);
    let mut at = 0;
    for block in &mut blocks {
        let bytes: [u8; 16] = block.try_into().expect("chunks of sixteen");
        let mut hits = u8x16::new(bytes).simd_eq(pattern).to_bitmask();
        while hits != 0 {
            if !found(at + hits.trailing_zeros() as usize) {
                return;
            }
            hits &= hits - 1;
        }
        at += 16;
    }
    for (i, &b) in blocks.remainder().iter().enumerate() {
        if b == delimiter && !found(at + i) {
            return;
        }
    }
}

/// Reads the fields of one record that holds quotes, unescaped.
fn parse_quoted(record: &[u8], delimiter: u8) -> Option<simd_csv::ByteRecord> {
    let mut reader = simd_csv::ZeroCopyReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(record);
    reader
        .read_byte_record()
        .ok()
        .flatten()
        .map(|r| r.to_byte_record())
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

fn sniff_delimiter(head: &[u8]) -> u8 {
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(head);
    let mut counts = [(b',', 0), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for &b in first_line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(slot) = counts.iter_mut().find(|(d, _)| *d == b) {
            slot.1 += 1;
        }
    }
    counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0)
        .map_or(b',', |(d, _)| *d)
}

/// A row's value for each field (by `Field as usize`): trimmed text, empty when blank or not in
/// the export.
type Cells<'r> = [&'r str; Field::ALL.len()];

/// Parses one row from its cells.
fn parse_row<'r>(
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
        .map_err(|reason| fail(Field::OccurredAt, reason))?;
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

/// The earliest and latest years accepted: anything outside is a typo, not a booking.
const YEARS: std::ops::RangeInclusive<i16> = 1970..=2100;

/// Reads the day of a booking: an ISO date, an RFC 3339 date-time (converted to the business's
/// zone), a local date-time, or the caller's own layout.
fn parse_day(text: &str, timezone: &TimeZoneName, format: Option<&str>) -> Result<Day, String> {
    let date = if let Some(format) = format {
        jiff::fmt::strtime::parse(format, text)
            .and_then(|parsed| parsed.to_date())
            .map_err(|_| format!("\"{text}\" does not match the date format \"{format}\""))?
    } else if let Some(date) = iso_date_prefix(text) {
        // A plain date, or a local date-time whose day is its date.
        if text.len() > 10 && !is_local_time(&text[10..]) {
            return parse_instant_day(text, timezone);
        }
        date
    } else if has_offset(text) {
        return parse_instant_day(text, timezone);
    } else {
        // A local date-time is already in the business's zone.
        text.parse::<DateTime>()
            .map_err(|_| not_a_date(text))?
            .date()
    };
    if !YEARS.contains(&date.year()) {
        return Err(format!(
            "{date} is out of range; bookings must fall between 1970 and 2100"
        ));
    }
    Ok(Day::from(date))
}

/// The date at the start of `YYYY-MM-DD...`, read without the general parser: most exports
/// write every row this way.
fn iso_date_prefix(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i16> {
        b[range].iter().try_fold(0_i16, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i16::from(d - b'0'))
        })
    };
    Date::new(number(0..4)?, number(5..7)? as i8, number(8..10)? as i8).ok()
}

/// Whether what follows a date is a plain local time: `T14:30`, ` 14:30:05`, `T14:30:05.250`.
/// Only its shape matters: the day is the date before it.
fn is_local_time(rest: &str) -> bool {
    let b = rest.as_bytes();
    let two_digits = |at: usize, max: u8| {
        b.get(at..at + 2).is_some_and(|d| {
            d[0].is_ascii_digit()
                && d[1].is_ascii_digit()
                && (d[0] - b'0') * 10 + (d[1] - b'0') <= max
        })
    };
    let starts = matches!(b.first(), Some(b'T' | b't' | b' '));
    if !(starts && two_digits(1, 23) && b.get(3) == Some(&b':') && two_digits(4, 59)) {
        return false;
    }
    let mut at = 6;
    if b.get(at) == Some(&b':') {
        if !two_digits(at + 1, 60) {
            return false;
        }
        at += 3;
        if matches!(b.get(at), Some(b'.' | b',')) {
            let digits = b[at + 1..]
                .iter()
                .take_while(|d| d.is_ascii_digit())
                .count();
            if digits == 0 {
                return false;
            }
            at += 1 + digits;
        }
    }
    at == b.len()
}

fn has_offset_suffix(time: &str) -> bool {
    time.ends_with(['Z', 'z']) || time.contains(['+', '-'])
}

fn parse_instant_day(text: &str, timezone: &TimeZoneName) -> Result<Day, String> {
    let timestamp = text.parse::<Timestamp>().map_err(|_| not_a_date(text))?;
    let date = timezone.zone().to_datetime(timestamp).date();
    if !YEARS.contains(&date.year()) {
        return Err(format!(
            "{date} is out of range; bookings must fall between 1970 and 2100"
        ));
    }
    Ok(Day::from(date))
}

/// Whether a date-time names its offset (`Z`, `+01:00`, `-0500`), and so is an instant.
fn has_offset(text: &str) -> bool {
    has_offset_suffix(text.get(10..).unwrap_or(""))
}

fn not_a_date(text: &str) -> String {
    format!(
        "\"{text}\" is not a date: use YYYY-MM-DD or an RFC 3339 date-time (2026-03-01T14:30:00Z), \
         or give the layout with --date-format (e.g. \"%d/%m/%Y\")"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ReadOptions {
        ReadOptions {
            mappings: Vec::new(),
            timezone: TimeZoneName::parse("America/New_York").unwrap(),
            currency: Currency::parse("USD").unwrap(),
            date_format: None,
        }
    }

    #[test]
    fn delimiters_are_found_wherever_they_fall_in_a_block() {
        let rows: [&[u8]; 7] = [
            b"",
            b",",
            b"abc",
            b",,,,,,,,,,,,,,,,,",
            b"C0000001,Noah Khan,noah@example.com,+15550000000,2025-09-23,completed",
            b"\xff,\x80\xac,;;\t,\x2c\x2c,end,",
            b"no delimiter in a row longer than one block of sixteen bytes",
        ];
        for row in rows {
            for delimiter in [b',', b';', b'\t', 0xac] {
                let expected: Vec<usize> = memchr::memchr_iter(delimiter, row).collect();
                let mut found = Vec::new();
                each_delimiter(row, delimiter, |at| {
                    found.push(at);
                    true
                });
                assert_eq!(found, expected, "{:?} in {:?}", delimiter as char, row);
            }
        }
    }

    #[test]
    fn the_delimiter_search_stops_when_told() {
        let mut found = Vec::new();
        each_delimiter(b"a,b,c,d,e,f,g,h,i,j", b',', |at| {
            found.push(at);
            found.len() < 3
        });
        assert_eq!(found, [1, 3, 5]);
    }

    #[test]
    fn a_row_that_is_not_utf8_is_a_bad_row_and_the_rest_are_read() {
        let mut text = b"client_id,occurred_at,service_category,service\n".to_vec();
        text.extend_from_slice(b"c1,2026-01-05,Hair,Cut\n");
        text.extend_from_slice(b"c2,2026-01-05,Hair,Cut \xff\n");
        text.extend_from_slice(b"c3,2026-01-05,Hair,\"Cut, \xff\"\n");
        text.extend_from_slice(b"c4,2026-01-05,Hair,\"Cut, long\"\n");
        let mut reader = BookingsReader::new(text.as_slice(), options()).unwrap();
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        while let Some(row) = reader.next_line() {
            match row {
                Ok(line) => good.push(format!("{}|{}", line.client, line.service.unwrap())),
                Err(e) => bad.push((e.line, e.column, e.reason)),
            }
        }
        assert_eq!(good, ["c1|Cut", "c4|Cut, long"]);
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert_eq!((bad[0].0, bad[0].1), (3, None));
        assert_eq!((bad[1].0, bad[1].1), (4, Some("service")));
        assert!(
            bad.iter()
                .all(|(_, _, reason)| reason.contains("save the export as UTF-8"))
        );
    }

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn read_all(text: &str, options: ReadOptions) -> (Vec<String>, Vec<RowError>) {
        let mut reader = BookingsReader::new(text.as_bytes(), options).unwrap();
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        while let Some(row) = reader.next_line() {
            match row {
                Ok(line) => good.push(format!(
                    "{}|{}|{}|{}|{}",
                    line.client, line.day, line.status, line.category, line.price_minor
                )),
                Err(e) => bad.push(e),
            }
        }
        (good, bad)
    }

    #[test]
    fn common_header_spellings_are_recognised() {
        let map = ColumnMap::resolve(
            &headers(&["Customer", "Date", "Category", "Price", "Total"]),
            &[],
        )
        .unwrap();
        assert_eq!(map.header(Field::ClientId), Some("Customer"));
        assert_eq!(map.header(Field::OccurredAt), Some("Date"));
        assert_eq!(map.header(Field::Amount), Some("Total"));
        let map = ColumnMap::resolve(
            &headers(&["Client ID", "Customer", "Appointment Date", "Service Type"]),
            &[],
        )
        .unwrap();
        assert_eq!(map.header(Field::ClientId), Some("Client ID"));
        assert_eq!(map.header(Field::ClientName), Some("Customer"));
        assert_eq!(map.header(Field::ServiceCategory), Some("Service Type"));
    }

    #[test]
    fn an_explicit_mapping_wins() {
        let mapping = parse_mapping("client_id=Ref No").unwrap();
        let map = ColumnMap::resolve(
            &headers(&["Client", "Ref No", "Date", "Category"]),
            &[mapping],
        )
        .unwrap();
        assert_eq!(map.header(Field::ClientId), Some("Ref No"));
        assert!(matches!(
            parse_mapping("colour=X"),
            Err(ExportError::UnknownField(..))
        ));
        assert!(matches!(
            parse_mapping("client_id"),
            Err(ExportError::BadMapping(..))
        ));
    }

    #[test]
    fn a_file_without_the_required_columns_says_what_is_missing_and_how_to_map_it() {
        let err = ColumnMap::resolve(&headers(&["Who", "Date", "Category"]), &[]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("no column for client_id"), "{message}");
        assert!(message.contains("--map client_id=\"Who\""), "{message}");
    }

    #[test]
    fn empty_and_binary_files_are_refused() {
        assert!(matches!(
            BookingsReader::new(&b""[..], options()),
            Err(ExportError::Empty)
        ));
        assert!(matches!(
            BookingsReader::new(&b"\x89PNG\r\n\x1a\n\0\0"[..], options()),
            Err(ExportError::NotText)
        ));
    }

    #[test]
    fn rows_are_read_with_bad_ones_reported_by_line_and_column() {
        let text = "\u{feff}client_id,occurred_at,status,service_category,amount\n\
                    c1,2026-03-01,completed,Hair,45.00\n\
                    c2,2026-13-01,completed,Hair,45.00\n\
                    c3,2026-03-02T03:30:00Z,Done,Hair,\"$1,234.50\"\n\
                    c4,2026-03-02,maybe,Hair,10\n\
                    c5,2026-03-02,,Hair,-3\n\
                    ,2026-03-02,,Hair,3\n\
                    c6,2026-03-02\n";
        let (good, bad) = read_all(text, options());
        // 03:30 UTC on 2 March is still 1 March in New York.
        assert_eq!(
            good,
            vec![
                "c1|2026-03-01|completed|Hair|4500",
                "c3|2026-03-01|completed|Hair|123450"
            ]
        );
        let summary: Vec<(u64, Option<&str>)> = bad.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(
            summary,
            vec![
                (3, Some("occurred_at")),
                (5, Some("status")),
                (6, Some("amount")),
                (7, Some("client_id")),
                (8, Some("service_category")),
            ]
        );
    }

    #[test]
    fn local_date_times_are_read_as_days_of_the_business() {
        let text = "client_id,occurred_at,service_category\nc1,2026-03-01 23:30,Hair\nc2,2026-03-01T23:30:00,Hair\n\
                    c3,2026-03-02T03:30:00+00:00,Hair\nc4,2026-03-01T23:30:59.125,Hair\nc5,2026-03-01 25:30,Hair\nc6,2026-03-01 noon,Hair\n";
        let (good, bad) = read_all(text, options());
        assert_eq!(good.len(), 4, "{bad:?}");
        assert!(good.iter().all(|g| g.contains("|2026-03-01|")), "{good:?}");
        assert_eq!(bad.iter().map(|e| e.line).collect::<Vec<_>>(), vec![6, 7]);
    }

    #[test]
    fn quoted_values_with_delimiters_quotes_and_line_breaks_are_read() {
        let text = "client_id,client_name,occurred_at,service_category,amount\n\
                    c1,\"Smith, Jo\",2026-03-01,Hair,\"1,234.50\"\n\
                    c2,\"Jo \"\"JJ\"\" Lee\",2026-03-01,Hair,10\n\
                    c3,\"two\nlines\",2026-03-01,Hair,10\n\
                    c4,x,2026-99-01,Hair,10\n";
        let mut reader = BookingsReader::new(text.as_bytes(), options()).unwrap();
        let mut names = Vec::new();
        let mut bad = Vec::new();
        while let Some(row) = reader.next_line() {
            match row {
                Ok(line) => names.push((line.client_name.unwrap().to_owned(), line.price_minor)),
                Err(e) => bad.push(e.line),
            }
        }
        assert_eq!(
            names,
            vec![
                ("Smith, Jo".into(), 123_450),
                ("Jo \"JJ\" Lee".into(), 1000),
                ("two\nlines".into(), 1000)
            ]
        );
        // The third row spans two lines, so the bad row after it is on line 6.
        assert_eq!(bad, vec![6]);
    }

    #[test]
    fn semicolon_exports_and_custom_date_layouts_are_read() {
        let text = "Client;Date;Category;Price\nc1;01/03/2026;Hair;45,50\n";
        let (good, bad) = read_all(
            text,
            ReadOptions {
                date_format: Some("%d/%m/%Y".into()),
                ..options()
            },
        );
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(good, vec!["c1|2026-03-01|completed|Hair|4550"]);
    }

    #[test]
    fn a_row_in_another_currency_is_refused() {
        let text = "client_id,occurred_at,service_category,amount,currency\nc1,2026-03-01,Hair,45,EUR\nc2,2026-03-01,Hair,45,usd\n";
        let (good, bad) = read_all(text, options());
        assert_eq!(good.len(), 1);
        assert!(
            bad[0]
                .reason
                .contains("EUR differs from the business currency USD")
        );
    }
}
