//! Runs an audit over an export: reads rows with the bookings reader, feeds the audit, and keeps
//! the first few bad rows to show.
//!
//! A large file is read by one thread per core, in parts taken from a shared queue. Each
//! thread audits the clients whose id hashes to it and hands the rows of other clients, as
//! bytes, to their thread, so all of a client's lines meet in one audit (not always in file
//! order: an audit takes lines in any order); the shares are then put together.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use crate::adapters::bookings_csv::{
    BookingsReader, ColumnMap, ExportError, Field, RawRecord, ReadOptions, RowError, RowParser,
};
use crate::app::audit::{Audit, AuditError, AuditOptions, AuditReport, share_of};
use crate::domain::booking::BookingLine;

/// Why an export file could not be audited.
#[derive(Debug, thiserror::Error)]
pub enum AuditRunError {
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The audits of the threads could not be put together (more categories than an audit
    /// reports, say).
    #[error("{0}")]
    Join(#[from] AuditError),
}

/// How many bad rows a report shows; the rest are counted.
pub const SHOWN_BAD_ROWS: usize = 10;

/// When a file is read by several threads, and in what parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelism {
    /// Files smaller than this are read by one thread: sharing out would cost more than it
    /// saves.
    pub from_bytes: u64,
    /// The size of the parts a large file is cut into: small enough that the threads finish
    /// together, large enough that opening a part costs nothing.
    pub part_bytes: u64,
    /// Say on standard error how long each phase of a parallel read took: for benchmarking
    /// (`WINBACK_TIMINGS`), never in normal use.
    pub timings: bool,
}

impl Default for Parallelism {
    fn default() -> Self {
        Parallelism {
            from_bytes: 16 << 20,
            part_bytes: 16 << 20,
            timings: false,
        }
    }
}

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
}

/// Reads every row of an opened export, handing each good one to `on_line` and counting the
/// bad ones.
fn drain<R: Read, E: std::fmt::Display>(
    reader: &mut BookingsReader<R>,
    mut on_line: impl FnMut(&BookingLine<'_>) -> Result<(), E>,
) -> InputSummary {
    let mut summary = InputSummary::new(reader.columns());
    while let Some(row) = reader.next_line() {
        let outcome = match row {
            Ok(line) => on_line(&line).map_err(|refused| RowError {
                line: 0,
                column: None,
                reason: refused.to_string(),
            }),
            Err(error) => Err(error),
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

/// Reads every row of `input` in one piece. A line `on_line` refuses is a bad row, with the
/// refusal as its reason.
pub fn read_rows<R: Read, E: std::fmt::Display>(
    input: R,
    read_options: ReadOptions,
    on_line: impl FnMut(&BookingLine<'_>) -> Result<(), E>,
) -> Result<InputSummary, ExportError> {
    let mut reader = BookingsReader::new(input, read_options)?;
    Ok(drain(&mut reader, on_line))
}

/// Audits an export read from a stream, in one piece.
pub fn audit<R: Read>(
    input: R,
    read_options: ReadOptions,
    options: AuditOptions,
) -> Result<(AuditReport, InputSummary), ExportError> {
    let mut audit = Audit::new(options);
    let summary = read_rows(input, read_options, |line| audit.add(line))?;
    Ok((audit.finish(), summary))
}

/// How long a phase of a parallel read took, on standard error, when asked for.
fn timing(parallelism: &Parallelism, phase: &str, start: std::time::Instant) {
    if parallelism.timings {
        eprintln!("{phase}: {:.3} s", start.elapsed().as_secs_f64());
    }
}

/// Audits an export file, with one thread per core for a large one.
pub fn audit_file(
    path: &Path,
    read_options: ReadOptions,
    options: AuditOptions,
    parallelism: Parallelism,
) -> Result<(AuditReport, InputSummary), AuditRunError> {
    let start = std::time::Instant::now();
    let size = std::fs::metadata(path).map_err(ExportError::from)?.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads >= 2 && size >= parallelism.from_bytes {
        let parts = size
            .div_ceil(parallelism.part_bytes.max(1))
            .max(threads as u64) as usize;
        let cuts = cut_points(path, size, parts)?;
        if cuts.len() >= 2
            && let Some((audit, summary)) =
                audit_parts(path, &cuts, threads, read_options.clone(), options.clone())?
        {
            timing(&parallelism, "read", start);
            let report = audit.finish();
            timing(&parallelism, "finished", start);
            return Ok((report, summary));
        }
    }
    Ok(audit(
        File::open(path).map_err(ExportError::from)?,
        read_options,
        options,
    )?)
}

/// Byte offsets where parts start: 0, then just after the first line end past each even share.
fn cut_points(path: &Path, size: u64, parts: usize) -> Result<Vec<u64>, ExportError> {
    let mut file = BufReader::new(File::open(path)?);
    let mut cuts = vec![0];
    let mut skipped = Vec::new();
    for k in 1..parts as u64 {
        let target = size * k / parts as u64;
        if target <= *cuts.last().expect("starts with 0") {
            continue;
        }
        file.seek(SeekFrom::Start(target))?;
        skipped.clear();
        let cut = target + file.read_until(b'\n', &mut skipped)? as u64;
        if cut < size && cut > *cuts.last().expect("starts with 0") {
            cuts.push(cut);
        }
    }
    Ok(cuts)
}

/// Rows one thread found for another's clients: the bytes of each row, where it came from.
struct Batch {
    bytes: Vec<u8>,
    /// Offset and length in `bytes`, the part the row was read from, and its line there.
    rows: Vec<(u32, u32, u16, u64, bool)>,
}

/// Bytes of rows a batch gathers before it is handed over.
const BATCH_BYTES: usize = 1 << 18;

impl Batch {
    fn new() -> Batch {
        Batch {
            bytes: Vec::with_capacity(BATCH_BYTES + 4096),
            rows: Vec::with_capacity(BATCH_BYTES / 64),
        }
    }
}

/// One thread's share of the work: the rows of its clients, wherever in the file they are.
struct Share {
    audit: Audit,
    rows: u64,
    bad_rows: u64,
    /// The first bad rows by (part, line in part), which is file order.
    first_bad: Vec<(u16, RowError)>,
}

impl Share {
    /// Takes in a row found on `line` of `part`.
    fn take(&mut self, row: Result<BookingLine<'_>, RowError>, part: u16, line: u64) {
        let error = match row {
            Ok(booking) => match self.audit.add(&booking) {
                Ok(()) => {
                    self.rows += 1;
                    return;
                }
                Err(e) => RowError {
                    line,
                    column: None,
                    reason: e.to_string(),
                },
            },
            Err(error) => error,
        };
        self.rows += 1;
        self.bad_rows += 1;
        self.first_bad.push((part, error));
        if self.first_bad.len() >= 4 * SHOWN_BAD_ROWS {
            self.first_bad.sort_by_key(|(part, e)| (*part, e.line));
            self.first_bad.truncate(SHOWN_BAD_ROWS);
        }
    }

    fn take_batch(&mut self, batch: &Batch, parser: &mut RowParser) {
        for &(at, len, part, line, quoted) in &batch.rows {
            let bytes = &batch.bytes[at as usize..(at + len) as usize];
            let row = parser.parse(bytes, line, quoted);
            self.take(row, part, line);
        }
    }
}

/// Reads the file in parts taken from a shared queue by one thread per core, so a slower core
/// reads fewer parts. Every thread audits the clients that hash to it and hands the rows of
/// other clients to their threads. `None` when a cut fell inside a quoted value, so the parts
/// were not whole rows.
fn audit_parts(
    path: &Path,
    cuts: &[u64],
    threads: usize,
    read_options: ReadOptions,
    options: AuditOptions,
) -> Result<Option<(Audit, InputSummary)>, AuditRunError> {
    let parts = cuts.len();
    let part_input = |k: usize| -> Result<std::io::Take<File>, ExportError> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(cuts[k]))?;
        Ok(file.take(cuts.get(k + 1).copied().unwrap_or(u64::MAX) - cuts[k]))
    };
    // The first part holds the header: resolving it first fails a file that is not an export
    // before any thread starts.
    let first = BookingsReader::new(part_input(0)?, read_options)?;
    let mut summary = InputSummary::new(first.columns());
    let parser = first.parser().clone();
    let first = std::sync::Mutex::new(Some(first));
    let next_part = AtomicUsize::new(0);
    // Per part: its quote characters and its lines, for checking cuts and numbering lines.
    let part_counts: Vec<(AtomicU64, AtomicU64)> = (0..parts)
        .map(|_| (AtomicU64::new(0), AtomicU64::new(0)))
        .collect();
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..threads).map(|_| sync_channel::<Batch>(8)).unzip();

    let results: Vec<Result<Share, ExportError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = receivers
            .into_iter()
            .enumerate()
            .map(|(me, inbox)| {
                let senders = senders.clone();
                let options = options.clone();
                let (first, next_part, part_counts, parser, part_input) =
                    (&first, &next_part, &part_counts, &parser, &part_input);
                scope.spawn(move || -> Result<Share, ExportError> {
                    let mut share = Share {
                        audit: Audit::new(options),
                        rows: 0,
                        bad_rows: 0,
                        first_bad: Vec::new(),
                    };
                    let mut outboxes: Vec<Batch> = (0..threads).map(|_| Batch::new()).collect();
                    let mut spare = parser.clone();
                    loop {
                        let part = next_part.fetch_add(1, Ordering::Relaxed);
                        if part >= parts {
                            break;
                        }
                        let mut reader = match part {
                            0 => first
                                .lock()
                                .expect("no thread panics holding it")
                                .take()
                                .expect("part 0 is taken once"),
                            k => BookingsReader::continuation(part_input(k)?, parser),
                        };
                        let (mut quotes, mut read) = (0_u64, 0_u32);
                        let tag = part as u16;
                        while let Some((raw, parser)) = reader.next_raw() {
                            // Take in other threads' rows as they come, so none waits on another.
                            read = read.wrapping_add(1);
                            if read % 1024 == 0 {
                                while let Ok(batch) = inbox.try_recv() {
                                    share.take_batch(&batch, parser);
                                }
                            }
                            let (bytes, line, quoted) = match raw {
                                RawRecord::Unreadable(error) => {
                                    let line = error.line;
                                    share.take(Err(error), tag, line);
                                    continue;
                                }
                                RawRecord::Record {
                                    bytes,
                                    line,
                                    quoted,
                                } => (bytes, line, quoted),
                            };
                            if quoted {
                                quotes += memchr::memchr_iter(b'"', bytes).count() as u64;
                            }
                            let owner = share_of(parser.client_of(bytes, quoted), threads);
                            if owner == me {
                                let row = parser.parse(bytes, line, quoted);
                                share.take(row, tag, line);
                                continue;
                            }
                            let outbox = &mut outboxes[owner];
                            outbox.rows.push((
                                outbox.bytes.len() as u32,
                                bytes.len() as u32,
                                tag,
                                line,
                                quoted,
                            ));
                            outbox.bytes.extend_from_slice(bytes);
                            if outbox.bytes.len() >= BATCH_BYTES {
                                let full = std::mem::replace(outbox, Batch::new());
                                hand_over(full, &senders[owner], &inbox, &mut share, parser);
                            }
                        }
                        part_counts[part].0.store(quotes, Ordering::Relaxed);
                        part_counts[part]
                            .1
                            .store(reader.current_line(), Ordering::Relaxed);
                    }
                    for (owner, outbox) in outboxes.into_iter().enumerate() {
                        if owner != me && !outbox.rows.is_empty() {
                            hand_over(outbox, &senders[owner], &inbox, &mut share, &mut spare);
                        }
                    }
                    drop(senders);
                    for batch in inbox {
                        share.take_batch(&batch, &mut spare);
                    }
                    Ok(share)
                })
            })
            .collect();
        drop(senders);
        handles
            .into_iter()
            .map(|h| h.join().expect("an audit thread does not panic"))
            .collect()
    });
    let shares = results.into_iter().collect::<Result<Vec<Share>, _>>()?;

    // A cut is between rows only if the quotes before it are even in number.
    let counts: Vec<(u64, u64)> = part_counts
        .iter()
        .map(|(q, l)| (q.load(Ordering::Relaxed), l.load(Ordering::Relaxed)))
        .collect();
    let mut quotes_before = 0;
    for (quotes, _) in &counts[..parts - 1] {
        quotes_before += quotes;
        if quotes_before % 2 == 1 {
            return Ok(None);
        }
    }
    let mut lines_before = vec![0_u64; parts];
    for k in 1..parts {
        lines_before[k] = lines_before[k - 1] + counts[k - 1].1;
    }
    let mut first_bad = Vec::new();
    let mut whole: Option<Audit> = None;
    for share in shares {
        summary.rows += share.rows;
        summary.bad_rows += share.bad_rows;
        first_bad.extend(share.first_bad);
        match &mut whole {
            None => whole = Some(share.audit),
            Some(whole) => whole.absorb(share.audit)?,
        }
    }
    first_bad.sort_by_key(|(part, e)| (*part, e.line));
    summary.first_bad_rows = first_bad
        .into_iter()
        .take(SHOWN_BAD_ROWS)
        .map(|(part, mut error)| {
            error.line += lines_before[usize::from(part)];
            error
        })
        .collect();
    Ok(whole.map(|audit| (audit, summary)))
}

/// Sends a batch to its thread; while that thread's inbox is full, works through this
/// thread's own inbox, so two threads waiting on each other always make progress.
fn hand_over(
    batch: Batch,
    to: &SyncSender<Batch>,
    inbox: &Receiver<Batch>,
    share: &mut Share,
    parser: &mut RowParser,
) {
    let mut batch = batch;
    loop {
        match to.try_send(batch) {
            Ok(()) => return,
            Err(TrySendError::Full(back)) => {
                batch = back;
                match inbox.try_recv() {
                    Ok(received) => share.take_batch(&received, parser),
                    Err(_) => std::thread::yield_now(),
                }
            }
            // The receiving thread only stops receiving once every sender is gone.
            Err(TrySendError::Disconnected(_)) => {
                unreachable!("a thread keeps its inbox until all senders are done")
            }
        }
    }
}
