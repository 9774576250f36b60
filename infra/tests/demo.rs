//! `winback demo` as a newcomer runs it: the whole system over a simulated business, with an
//! outbox that holds exactly the messages the summary counts.

use std::process::Command;

use serde_json::Value;

fn demo(folder: &std::path::Path, extra: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_winback"))
        .args([
            "demo",
            "--weeks",
            "8",
            "--clients",
            "300",
            "--until",
            "2026-11-20",
        ])
        .args(["--format", "json", "--out"])
        .arg(folder)
        .args(extra)
        .output()
        .expect("winback runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the summary is JSON")
}

fn count(value: &Value) -> u64 {
    value.as_u64().unwrap()
}

#[test]
fn the_demo_messages_clients_some_come_back_and_the_outbox_holds_every_message() {
    let folder = tempfile::tempdir().unwrap();
    let summary = demo(folder.path(), &[]);
    let report = &summary["report"];
    assert!(count(&report["enrolled"]) > 20, "{summary}");
    assert!(count(&report["control"]) > 0, "{summary}");
    assert!(count(&report["reactivated"]) > 0, "{summary}");
    assert!(report["revenue_minor"].as_i64().unwrap() > 0);
    assert!(report["lift"].is_object(), "{summary}");

    let outbox = folder.path().join("outbox");
    let emails: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(emails.len() as u64, count(&report["emails_sent"]));
    assert!(
        emails
            .iter()
            .all(|e| e.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"))
    );
    let texts = std::fs::read_to_string(outbox.join("sms.jsonl")).unwrap_or_default();
    assert_eq!(texts.lines().count() as u64, count(&report["sms_sent"]));
    assert!(count(&report["sms_sent"]) > 0, "{summary}");
    assert!(texts.lines().all(|l| l.contains("Reply STOP")));

    // Run again in the same folder: the earlier run is replaced, and the same seed and dates
    // give the same outcome.
    let again = demo(folder.path(), &[]);
    assert_eq!(again["report"], summary["report"]);
    let emails_again = std::fs::read_dir(&outbox)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "eml")
        })
        .count();
    assert_eq!(emails_again as u64, count(&report["emails_sent"]));
}

#[test]
fn the_demo_table_ends_with_the_lift_over_the_control_group() {
    let folder = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_winback"))
        .args([
            "demo",
            "--weeks",
            "4",
            "--clients",
            "200",
            "--until",
            "2026-11-20",
            "--out",
        ])
        .arg(folder.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "week  4:",
        "enrolled in a sequence",
        "came back after a message",
        "opted out",
        "This was a simulation",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

fn preview(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_winback"))
        .arg("preview")
        .args(args)
        .output()
        .expect("winback runs")
}

#[test]
fn preview_renders_a_step_for_a_client_or_with_typical_values() {
    let output = preview(&["--template", "last_chance"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("Subject: "), "{text}");
    assert!(text.contains("Unsubscribe: https://"), "{text}");

    let output = preview(&["--channel", "sms"]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("Reply STOP to opt out"), "{text}");
    assert!(
        text.contains("segments as GSM-7") || text.contains("segment as GSM-7"),
        "{text}"
    );

    let output = preview(&["--template", "spring_promo"]);
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(
        error.contains("\"spring_promo\" is not a template any step uses"),
        "{error}"
    );

    // A client of a store: the demo's.
    let folder = tempfile::tempdir().unwrap();
    demo(folder.path(), &[]);
    let data = folder.path().to_str().unwrap();
    let output = preview(&["--client", "C0000001", "--data", data, "--tenant", "demo"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("Maple Street Hair & Beauty"), "{text}");
    let output = preview(&["--client", "nobody", "--data", data]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("no client \"nobody\"")
    );
}
