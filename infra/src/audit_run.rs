//! Runs an audit over an export: reads rows with the bookings reader, feeds the audit, and keeps
//! the first few bad rows to show.
//!
//! A large file is read by one thread per core. Each thread reads the whole file but audits
//! only its share of the clients (by a hash of the client id), so every client's lines meet in
//! one audit, in file order, exactly as a single reader would see them; the shares are then
//! put together. Reading the rows twice costs less than the rest of the work it splits.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use shared::adapters::bookings_csv::{
    BookingsReader, ColumnMap, ExportError, Field, ReadOptions, Row, RowError,
};
use shared::app::audit::{Audit, AuditOptions, AuditReport, share_of};
use shared::domain::booking::BookingLine;

/// How many bad rows a report shows; the rest are counted.
pub const SHOWN_BAD_ROWS: usize = 10;

/// Files smaller than this are read by one thread: sharing out would cost more than it saves.
const PARALLEL_FROM_BYTES: u64 = 16 << 20;

/// What was read, beside what the audit found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InputSummary {
    pub rows: u64,
    pub bad_rows: u64,
    pub first_bad_rows: Vec<RowError>,
    /// How each recognised column was read: canonical name → header in the file.
    pub columns: Vec<(&'static str, String)>,
}

impl InputSummary {
    fn new(columns: &ColumnMap) -> InputSummary {
        let columns = Field::ALL
            .into_iter()
            .filter_map(|f| columns.header(f).map(|h| (f.name(), h.to_owned())))
            .collect();
        InputSummary {
            rows: 0,
            bad_rows: 0,
            first_bad_rows: Vec::new(),
            columns,
        }
    }

    fn bad(&mut self, error: RowError) {
        self.bad_rows += 1;
        if self.first_bad_rows.len() < SHOWN_BAD_ROWS {
            self.first_bad_rows.push(error);
        }
    }

    /// Adds another share's counts, keeping the first bad rows of the file in line order.
    fn absorb(&mut self, other: InputSummary) {
        self.rows += other.rows;
        self.bad_rows += other.bad_rows;
        self.first_bad_rows.extend(other.first_bad_rows);
        self.first_bad_rows.sort_by_key(|e| e.line);
        self.first_bad_rows.truncate(SHOWN_BAD_ROWS);
    }
}

/// Reads every row of an opened export, handing each good one to `on_line` and counting the
/// bad ones.
fn drain<R: Read>(
    reader: &mut BookingsReader<R>,
    keep: &dyn Fn(&[u8]) -> bool,
    mut on_line: impl FnMut(&BookingLine<'_>) -> Result<(), String>,
) -> InputSummary {
    let mut summary = InputSummary::new(reader.columns());
    while let Some(row) = reader.next_row(keep) {
        let outcome = match row {
            Row::Skipped => continue,
            Row::Line(line) => on_line(&line).map_err(|reason| RowError {
                line: 0,
                column: None,
                reason,
            }),
            Row::Bad(error) => Err(error),
        };
        summary.rows += 1;
        if let Err(mut error) = outcome {
            if error.line == 0 {
                error.line = reader.current_line();
            }
            summary.bad(error);
        }
    }
    summary
}

/// Reads every row of `input` in one piece.
pub fn read_rows<R: Read>(
    input: R,
    read_options: ReadOptions,
    on_line: impl FnMut(&BookingLine<'_>) -> Result<(), String>,
) -> Result<InputSummary, ExportError> {
    let mut reader = BookingsReader::new(input, read_options)?;
    Ok(drain(&mut reader, &|_| true, on_line))
}

/// Audits an export read from a stream, in one piece.
pub fn audit<R: Read>(
    input: R,
    read_options: ReadOptions,
    options: AuditOptions,
) -> Result<(AuditReport, InputSummary), ExportError> {
    let mut audit = Audit::new(options);
    let summary = read_rows(input, read_options, |line| {
        audit.add(line).map_err(|e| e.to_string())
    })?;
    Ok((audit.finish(), summary))
}

/// With `WINBACK_TIMINGS` set, says on standard error how long each phase of a parallel read
/// took: for benchmarking, never in normal use.
fn timing(phase: &str, start: std::time::Instant) {
    if std::env::var_os("WINBACK_TIMINGS").is_some() {
        eprintln!("{phase}: {:.3} s", start.elapsed().as_secs_f64());
    }
}

/// Audits an export file, with one thread per core for a large one.
pub fn audit_file(
    path: &Path,
    read_options: ReadOptions,
    options: AuditOptions,
) -> Result<(AuditReport, InputSummary), ExportError> {
    let t0 = std::time::Instant::now();
    let size = std::fs::metadata(path)?.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads < 2 || size < PARALLEL_FROM_BYTES {
        return audit(File::open(path)?, read_options, options);
    }
    // Open every reader first, so a file that is not an export fails before any thread starts.
    let readers = (0..threads)
        .map(|_| BookingsReader::new(File::open(path)?, read_options.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let shares: Vec<(Audit, InputSummary)> = std::thread::scope(|scope| {
        let handles: Vec<_> = readers
            .into_iter()
            .enumerate()
            .map(|(share, mut reader)| {
                let options = options.clone();
                scope.spawn(move || {
                    let keep = |client: &[u8]| share_of(client, threads) == share;
                    let mut audit = Audit::new(options);
                    let summary = drain(&mut reader, &keep, |line| {
                        audit.add(line).map_err(|e| e.to_string())
                    });
                    (audit, summary)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("an audit thread does not panic"))
            .collect()
    });
    timing("read", t0);
    let mut shares = shares.into_iter();
    let (mut whole, mut summary) = shares.next().expect("at least two shares");
    for (audit, share_summary) in shares {
        whole
            .absorb(audit)
            .map_err(|e| ExportError::Io(std::io::Error::other(e.to_string())))?;
        summary.absorb(share_summary);
    }
    timing("absorbed", t0);
    let report = whole.finish();
    timing("finished", t0);
    Ok((report, summary))
}
