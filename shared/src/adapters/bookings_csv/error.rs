//! What can go wrong reading an export: the file as a whole, or one row.

use std::fmt;

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
