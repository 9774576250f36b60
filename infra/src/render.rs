//! How an audit is shown: a table for people, one JSON document for programs, a scores CSV
//! with one row per client and category, and a client's explanation.

use std::fmt::Write as _;
use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};
use shared::app::audit::{AuditReport, ClientScore};
use shared::domain::day::Day;
use shared::domain::rhythm::DefaultSource;
use shared::domain::stage::Stage;

use crate::demo::DemoSummary;
use shared::adapters::bookings_csv::audit_run::InputSummary;

/// The header of `--scores`, fixed: other tools read it.
pub const SCORES_HEADER: [&str; 11] = [
    "client_id",
    "service_category",
    "stage",
    "visits",
    "last_visit",
    "days_since_last",
    "interval_days",
    "interval_spread_days",
    "overdue_ratio",
    "lapse_score",
    "rfm_tier",
];

/// Rows formatted per block: each core formats a block while the previous ones are written.
const SCORES_BLOCK: usize = 1 << 14;

/// Writes one row per client and category with a completed visit.
pub fn write_scores(report: &AuditReport, mut out: impl Write) -> io::Result<()> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let mut header = csv::Writer::from_writer(Vec::new());
    header.write_record(SCORES_HEADER)?;
    out.write_all(&header.into_inner().map_err(|e| e.into_error())?)?;
    // Blocks are formatted on every core while this thread writes the finished ones in order,
    // so formatting and writing overlap.
    let count = report.score_count();
    let blocks = count.div_ceil(SCORES_BLOCK);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (done, finished) =
        std::sync::mpsc::sync_channel::<(usize, io::Result<Vec<u8>>)>(2 * threads);
    std::thread::scope(|scope| -> io::Result<()> {
        for _ in 0..threads.min(blocks) {
            let (done, next) = (done.clone(), &next);
            scope.spawn(move || {
                loop {
                    let block = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if block >= blocks {
                        break;
                    }
                    let start = block * SCORES_BLOCK;
                    let range = start..(start + SCORES_BLOCK).min(count);
                    // The writer stops receiving only on an error, which it reports.
                    if done.send((block, format_scores(report, range))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        let mut waiting = std::collections::BTreeMap::new();
        let mut wanted = 0;
        for (block, bytes) in finished {
            waiting.insert(block, bytes);
            while let Some(bytes) = waiting.remove(&wanted) {
                out.write_all(&bytes?)?;
                wanted += 1;
            }
        }
        Ok(())
    })?;
    out.flush()
}

fn format_scores(report: &AuditReport, range: std::ops::Range<usize>) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(range.len() * 80);
    let (mut visits, mut days) = (itoa::Buffer::new(), itoa::Buffer::new());
    let mut fixed: [[u8; 32]; 4] = [[0; 32]; 4];
    // Many rows share a last-visit day: format each day once.
    let mut dates: rustc_hash::FxHashMap<Day, [u8; 10]> = rustc_hash::FxHashMap::default();
    let mut date = String::new();
    for s in report.scores_in(range) {
        let last = s.last_visit();
        let day = dates.entry(last).or_insert_with(|| {
            date.clear();
            write!(date, "{last}").expect("writing to a String cannot fail");
            date.as_bytes().try_into().unwrap_or(*b"0000-00-00")
        });
        let [interval, spread, overdue, lapse] = &mut fixed;
        let client = spreadsheet_safe(s.client().as_bytes());
        let category = spreadsheet_safe(s.category().as_str().as_bytes());
        let fields: [&[u8]; 11] = [
            &client,
            &category,
            s.stage().name().as_bytes(),
            visits.format(s.visits()).as_bytes(),
            day,
            days.format(s.days_since_last_visit()).as_bytes(),
            write_fixed(interval, s.interval_days(), 1),
            write_fixed(spread, s.spread_days(), 1),
            write_fixed(overdue, s.overdue_ratio(), 3),
            write_fixed(lapse, s.lapse_score(), 4),
            s.tier().name().as_bytes(),
        ];
        // Only the client id and the category can hold what CSV must quote; a row with such a
        // value is written by the CSV writer, every other row as its fields joined by commas,
        // which is what the writer would write for it.
        if fields[..2]
            .iter()
            .any(|f| f.iter().any(|b| b",\"\r\n".contains(b)))
        {
            let mut writer = csv::Writer::from_writer(&mut out);
            writer.write_record(fields)?;
            writer.flush()?;
            continue;
        }
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(field);
        }
        out.push(b'\n');
    }
    Ok(out)
}

/// A cell as a spreadsheet opens it safely: one that begins with what a spreadsheet takes for
/// a formula (`=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so a client id
/// like `=HYPERLINK(...)` is shown as text, never run.
fn spreadsheet_safe(field: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match field.first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => {
            let mut safe = Vec::with_capacity(field.len() + 1);
            safe.push(b'\'');
            safe.extend_from_slice(field);
            std::borrow::Cow::Owned(safe)
        }
        _ => std::borrow::Cow::Borrowed(field),
    }
}

/// A writer for a terminal: control characters in what it is given (an escape sequence in a
/// client's name, say) are written as `?`, so text from an export can never move the cursor,
/// retitle the window or recolour what follows. Newlines and tabs pass.
pub struct Printable<W> {
    out: W,
    /// The last byte written was the first of a two-byte UTF-8 sequence starting U+0080.
    after_c2: bool,
}

impl<W: Write> Printable<W> {
    pub fn new(out: W) -> Printable<W> {
        Printable {
            out,
            after_c2: false,
        }
    }

    /// The writer underneath, for output that is not for a terminal (JSON escapes its own).
    pub fn raw(&mut self) -> &mut W {
        &mut self.out
    }
}

impl<W: Write> Write for Printable<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut clean = Vec::with_capacity(bytes.len());
        for &byte in bytes {
            if std::mem::take(&mut self.after_c2) {
                // U+0080..U+009F are the C1 controls (CSI among them).
                if (0x80..=0x9f).contains(&byte) {
                    clean.push(b'?');
                    continue;
                }
                clean.push(0xc2);
            }
            match byte {
                b'\n' | b'\t' => clean.push(byte),
                0x00..=0x1f | 0x7f => clean.push(b'?'),
                0xc2 => self.after_c2 = true,
                _ => clean.push(byte),
            }
        }
        self.out.write_all(&clean)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.after_c2) {
            self.out.write_all(&[0xc2])?;
        }
        self.out.flush()
    }
}

/// Writes a non-negative number with a fixed count of decimals into `text`, without the float
/// formatter: the scores file has four such columns on each of millions of rows.
fn write_fixed(text: &mut [u8; 32], value: f64, decimals: u32) -> &[u8] {
    let scale = 10_u64.pow(decimals);
    let scaled = (value.max(0.0) * scale as f64).round() as u64;
    let mut buffer = itoa::Buffer::new();
    let whole = buffer.format(scaled / scale).as_bytes();
    text[..whole.len()].copy_from_slice(whole);
    let mut len = whole.len();
    text[len] = b'.';
    len += 1;
    let mut fraction = scaled % scale;
    for i in (0..decimals as usize).rev() {
        text[len + i] = b'0' + (fraction % 10) as u8;
        fraction /= 10;
    }
    &text[..len + decimals as usize]
}

/// The report and what was read, as one JSON document.
pub fn write_json(
    report: &AuditReport,
    input: &InputSummary,
    source: &str,
    out: impl Write,
) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Document<'a> {
        source: &'a str,
        input: &'a InputSummary,
        #[serde(flatten)]
        report: &'a AuditReport,
    }
    serde_json::to_writer_pretty(
        out,
        &Document {
            source,
            input,
            report,
        },
    )
    .map_err(io::Error::other)
}

fn count(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    // Fits a terminal's width when there is one; piped output keeps whole lines.
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    table
}

fn align_numbers(table: &mut Table, from: usize) {
    for (i, column) in table.column_iter_mut().enumerate() {
        if i >= from {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// The audit for people.
pub fn write_table(
    report: &AuditReport,
    input: &InputSummary,
    source: &str,
    mut out: impl Write,
) -> io::Result<()> {
    let lines = &report.lines;
    writeln!(
        out,
        "winback audit of {source}, as of {} (lapse horizon {} days)",
        report.as_of, report.horizon_days
    )?;
    writeln!(
        out,
        "Read {} rows: {} visits, {} future bookings, {} cancelled, {} no-shows{}.",
        count(input.rows),
        count(lines.visits),
        count(lines.future_bookings),
        count(lines.cancelled),
        count(lines.no_shows),
        if input.bad_rows > 0 {
            format!(
                "; {} bad rows skipped (listed below)",
                count(input.bad_rows)
            )
        } else {
            String::new()
        }
    )?;
    let clients = &report.clients;
    writeln!(
        out,
        "Clients: {} ({} have visited, {} never visited, {} came once, {} hold a future booking).",
        count(clients.total as u64),
        count(clients.with_visits as u64),
        count(clients.never_visited as u64),
        count(clients.one_time as u64),
        count(clients.with_future_booking as u64),
    )?;

    writeln!(out, "\nClients per category and stage")?;
    let mut header = vec!["category"];
    header.extend(Stage::ALL.iter().map(|s| s.name()));
    header.extend([
        "clients",
        "default interval",
        "too few visits",
        "revenue at stake / yr",
    ]);
    let mut stages = table(&header);
    for c in &report.categories {
        let mut row: Vec<String> = vec![c.category.to_string()];
        row.extend(Stage::ALL.iter().map(|&s| count(c.stages.get(s) as u64)));
        let source = match c.default_source {
            DefaultSource::Configured => "set".to_owned(),
            DefaultSource::Learned { .. } => "learned".to_owned(),
            DefaultSource::Industry { industry } => industry.to_string(),
        };
        row.extend([
            count(c.clients as u64),
            format!("{:.0} d ({source})", c.default_interval_days),
            count(c.too_few_visits as u64),
            c.revenue_at_stake.to_string(),
        ]);
        stages.add_row(row);
    }
    let mut total: Vec<String> = vec!["all".into()];
    total.extend(
        Stage::ALL
            .iter()
            .map(|&s| count(report.stages.get(s) as u64)),
    );
    let too_few: usize = report.categories.iter().map(|c| c.too_few_visits).sum();
    let pairs: usize = report.categories.iter().map(|c| c.clients).sum();
    total.extend([
        count(pairs as u64),
        String::new(),
        count(too_few as u64),
        report.revenue_at_stake.to_string(),
    ]);
    stages.add_row(total);
    align_numbers(&mut stages, 1);
    writeln!(out, "{stages}")?;
    writeln!(
        out,
        "A client counts once in each category they have visited. Too few visits: fewer than needed for a personal interval, so the category default applies."
    )?;

    writeln!(
        out,
        "\nValue tiers (RFM: high = top 20%, medium = next 30%, low = bottom 50%)"
    )?;
    let mut tiers = table(&[
        "tier",
        "clients",
        "lifetime value",
        "average ticket",
        "overdue somewhere",
    ]);
    for t in &report.tiers {
        tiers.add_row(vec![
            t.tier.to_string(),
            count(t.clients as u64),
            t.lifetime_value.to_string(),
            t.average_ticket.to_string(),
            count(t.overdue_clients as u64),
        ]);
    }
    align_numbers(&mut tiers, 1);
    writeln!(out, "{tiers}")?;

    writeln!(
        out,
        "\nRevenue at stake: {} a year — what the lapsed and dormant clients used to spend.",
        report.revenue_at_stake
    )?;

    if report.top_overdue.is_empty() {
        writeln!(out, "\nNo client is at-risk, lapsed or dormant.")?;
    } else {
        writeln!(out, "\nMost valuable overdue clients")?;
        let mut top = table(&[
            "client",
            "name",
            "category",
            "stage",
            "tier",
            "per year",
            "no visit in horizon",
        ]);
        for c in &report.top_overdue {
            top.add_row(vec![
                c.client.to_string(),
                c.name.clone().unwrap_or_default(),
                c.category.to_string(),
                c.stage.to_string(),
                c.tier.to_string(),
                c.annual_value.to_string(),
                format!("{:.0}%", c.lapse_score * 100.0),
            ]);
        }
        align_numbers(&mut top, 5);
        writeln!(out, "{top}")?;
        writeln!(out, "Why:")?;
        for c in &report.top_overdue {
            writeln!(out, "  {} — {}", c.client, c.explanation)?;
        }
    }

    if input.bad_rows > 0 {
        writeln!(
            out,
            "\nBad rows ({} of {} shown):",
            input.first_bad_rows.len(),
            count(input.bad_rows)
        )?;
        for error in &input.first_bad_rows {
            writeln!(out, "  {error}")?;
        }
    }
    Ok(())
}

/// One client's explanation per category.
pub fn write_client(rows: &[ClientScore<'_>], mut out: impl Write) -> io::Result<()> {
    let first = &rows[0];
    match first.name() {
        Some(name) => writeln!(
            out,
            "{} ({name}): lifetime value {}, tier {}",
            first.client(),
            first.lifetime_value(),
            first.tier()
        )?,
        None => writeln!(
            out,
            "{}: lifetime value {}, tier {}",
            first.client(),
            first.lifetime_value(),
            first.tier()
        )?,
    }
    for row in rows {
        writeln!(out, "  {}", row.explanation())?;
    }
    Ok(())
}

/// The demo's closing summary, for people.
pub fn write_demo_summary(summary: &DemoSummary, mut out: impl Write) -> io::Result<()> {
    let report = &summary.report;
    let money = |minor: i64| {
        format!(
            "{} {}.{:02}",
            summary.currency,
            count(minor.unsigned_abs() / 100),
            minor.unsigned_abs() % 100
        )
    };
    writeln!(out)?;
    writeln!(
        out,
        "{}: {} clients, {} to {} ({} visits came in).",
        summary.business,
        count(summary.clients),
        summary.from,
        summary.through,
        count(summary.visits_ingested)
    )?;
    let mut table = table(&["outreach", "clients"]);
    let rows: [(&str, String); 11] = [
        ("enrolled in a sequence", count(report.enrolled)),
        ("held back (control group)", count(report.control)),
        ("emails sent", count(report.emails_sent)),
        ("text messages sent", count(report.sms_sent)),
        ("rebook links tapped", count(summary.clicks)),
        ("came back after a message", count(report.reactivated)),
        ("revenue from those visits", money(report.revenue_minor)),
        (
            "control clients who came back",
            count(report.control_returned),
        ),
        (
            "offer codes redeemed / given",
            format!(
                "{} / {}",
                count(report.offer_codes_redeemed),
                count(report.offer_codes_given)
            ),
        ),
        ("opted out", count(report.opted_out)),
        ("still in a sequence", count(report.active)),
    ];
    for (label, value) in rows {
        table.add_row(vec![label.to_owned(), value]);
    }
    align_numbers(&mut table, 1);
    writeln!(out, "{table}")?;
    match &report.lift {
        Some(lift) => writeln!(
            out,
            "Came back: {:.1}% of messaged clients vs {:.1}% of the control group: {:+.1} points \
             from the messages (95% interval {:+.1} to {:+.1}).",
            100.0 * lift.messaged_rate,
            100.0 * lift.control_rate,
            100.0 * lift.difference,
            100.0 * lift.low,
            100.0 * lift.high
        )?,
        None => writeln!(
            out,
            "No control group yet, so no lift: run more weeks or more clients."
        )?,
    }
    if !report.by_step.is_empty() {
        let credited: Vec<String> = report
            .by_step
            .iter()
            .map(|(step, n)| format!("message {}: {}", step + 1, count(*n)))
            .collect();
        writeln!(out, "Returns credited by message: {}.", credited.join(", "))?;
    }
    writeln!(
        out,
        "The messages are in {}: open an .eml file in a mail client; sms.jsonl has the texts.",
        summary.outbox.display()
    )?;
    if let Some(folder) = summary.outbox.parent() {
        writeln!(
            out,
            "Their links work while `winback serve --data {}` runs.",
            folder.display()
        )?;
    }
    writeln!(
        out,
        "This was a simulation: clients' answers to messages are drawn at random, their own visits come from the sample."
    )
}
