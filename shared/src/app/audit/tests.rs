//! The audit's unit tests: lines in, reports out.

use super::packed::*;
use super::report::*;
use super::score::*;
use super::*;
use crate::domain::booking::BookingStatus;
use crate::domain::stage::Stage;
use jiff::civil::date;

fn as_of() -> Day {
    Day::from(date(2026, 6, 1))
}

fn options() -> AuditOptions {
    AuditOptions {
        as_of: as_of(),
        horizon_days: 90,
        config: BusinessConfig::default(),
    }
}

fn audit() -> Audit {
    Audit::new(options())
}

fn visit<'a>(client: &'a str, category: &'a str, days_ago: i32, price: i64) -> BookingLine<'a> {
    BookingLine {
        client,
        day: as_of().plus_days(-days_ago),
        status: BookingStatus::Completed,
        category,
        price_minor: price,
        service: None,
        staff: None,
        location: None,
        rating: None,
        client_name: None,
    }
}

/// A monthly client whose last visit was `days_ago`.
fn monthly(audit: &mut Audit, client: &str, days_ago: i32) {
    for k in 0..8 {
        audit
            .add(&visit(client, "hair", days_ago + 28 * k, 5000))
            .unwrap();
    }
}

#[test]
fn a_future_booking_in_another_category_or_location_keeps_a_client_off_every_overdue_list() {
    let mut audit = audit();
    monthly(&mut audit, "c1", 60);
    let mut future = visit("c1", "nails", -7, 3000);
    future.status = BookingStatus::Booked;
    future.location = Some("other-branch");
    audit.add(&future).unwrap();
    let report = audit.finish();
    assert_eq!(report.client("c1")[0].stage(), Stage::Active);
    assert!(report.top_overdue.is_empty());
}

#[test]
fn a_multi_service_booking_counts_as_a_visit_in_each_of_its_categories() {
    let mut audit = audit();
    audit.add(&visit("c1", "hair", 10, 5000)).unwrap();
    audit.add(&visit("c1", "colour", 10, 9000)).unwrap();
    audit.add(&visit("c1", "Hair ", 10, 1000)).unwrap(); // a second hair service, same visit
    let report = audit.finish();
    let rows = report.client("c1");
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.visits() == 1));
    assert_eq!(rows[0].category().as_str(), "hair");
    assert_eq!(rows[0].category_spend().minor, 6000);
    assert_eq!(report.lines.visits, 3);
}

#[test]
fn cancelled_and_no_show_bookings_do_not_reset_the_clock() {
    let mut audit = audit();
    monthly(&mut audit, "c1", 50);
    let mut cancelled = visit("c1", "hair", 5, 5000);
    cancelled.status = BookingStatus::Cancelled;
    let mut no_show = visit("c1", "hair", 3, 5000);
    no_show.status = BookingStatus::NoShow;
    audit.add(&cancelled).unwrap();
    audit.add(&no_show).unwrap();
    let report = audit.finish();
    let row = report.client("c1")[0];
    assert_eq!(row.days_since_last_visit(), 50);
    assert_eq!(row.stage(), Stage::Lapsed);
    assert_eq!(row.last_no_show(), Some(as_of().plus_days(-3)));
}

#[test]
fn leads_who_never_visited_and_one_time_clients_are_counted_apart() {
    let mut audit = audit();
    monthly(&mut audit, "regular", 10);
    audit.add(&visit("once", "hair", 100, 4000)).unwrap();
    let mut lead = visit("lead", "hair", 20, 0);
    lead.status = BookingStatus::Cancelled;
    audit.add(&lead).unwrap();
    let report = audit.finish();
    assert_eq!(report.clients.total, 3);
    assert_eq!(report.clients.never_visited, 1);
    assert_eq!(report.clients.one_time, 1);
    assert!(report.client("lead").is_empty());
    assert!(report.knows_client("lead"));
}

#[test]
fn revenue_at_stake_is_what_lapsed_and_dormant_clients_spent_per_year() {
    let mut audit = audit();
    monthly(&mut audit, "lapsed", 45); // 8 visits of 50.00 over 196 days + 28: under a year
    monthly(&mut audit, "active", 5);
    let report = audit.finish();
    let lapsed = report.client("lapsed")[0];
    assert_eq!(lapsed.stage(), Stage::Lapsed);
    assert_eq!(report.revenue_at_stake, lapsed.annual_value());
    assert_eq!(lapsed.annual_value().minor, 40_000);
    assert_eq!(report.top_overdue.len(), 1);
    assert!(
        report.top_overdue[0]
            .explanation
            .contains("lapsed, usually every 28 days")
    );
}

#[test]
fn a_flagged_client_is_explained_in_numbers_a_person_can_check() {
    let mut audit = audit();
    monthly(&mut audit, "c1", 45);
    let report = audit.finish();
    let text = report.client("c1")[0].explanation().to_string();
    assert!(
        text.starts_with("hair: lapsed, usually every 28 days (window "),
        "{text}"
    );
    assert!(text.contains("from 8 visits"), "{text}");
    assert!(text.contains("(45 days ago"), "{text}");
    assert!(text.contains("days past the window"), "{text}");
    assert!(
        text.contains("% chance of no hair visit in the next 90 days; tier "),
        "{text}"
    );
}

#[test]
fn summaries_stay_within_their_memory_budget() {
    // Ten million rows of 1.3 million clients fit in less memory than DuckDB needs to
    // aggregate them only while these stay this small.
    assert!(
        size_of::<CategoryEntry>() <= 96,
        "{}",
        size_of::<CategoryEntry>()
    );
    assert!(
        size_of::<ClientSummary>() <= 88,
        "{}",
        size_of::<ClientSummary>()
    );
    assert!(size_of::<ScoreRow>() <= 32, "{}", size_of::<ScoreRow>());
}

#[test]
fn memory_is_per_client_not_per_line() {
    let mut audit = audit();
    for k in 0..5_000 {
        audit.add(&visit("c1", "hair", k, 100)).unwrap();
    }
    assert_eq!(audit.clients.len(), 1);
    assert_eq!(audit.entries.len(), 1);
    let cadence = &audit.entries.get(0).cadence;
    assert_eq!(cadence.days.count(), 5_000);
    assert_eq!(
        cadence.days.recent_len(),
        crate::domain::cadence::RECENT_VISITS
    );
}

#[test]
fn audits_of_disjoint_shares_of_the_clients_add_up_to_the_audit_of_the_whole() {
    let lines: Vec<(String, &str, i32, i64)> = (0..300)
        .map(|i| {
            (
                format!("c{}", i % 37),
                ["hair", "nails", "colour"][i % 3],
                (i as i32 * 7) % 400,
                1000 + i as i64,
            )
        })
        .collect();
    let mut whole = audit();
    let (mut first, mut second) = (audit(), audit());
    for (client, category, days_ago, price) in &lines {
        let mut line = visit(client, category, *days_ago, *price);
        line.service = Some(if *price % 2 == 0 { "cut" } else { "colour" });
        whole.add(&line).unwrap();
        if client.len() % 2 == 0 {
            first.add(&line).unwrap()
        } else {
            second.add(&line).unwrap()
        }
    }
    first.absorb(second).unwrap();
    let (whole, merged) = (whole.finish(), first.finish());
    let summary = |r: &AuditReport| {
        let mut rows: Vec<_> = r
            .scores()
            .map(|s| {
                (
                    s.client().to_owned(),
                    s.category().to_string(),
                    s.visits(),
                    s.last_visit(),
                    s.stage(),
                    s.tier(),
                    s.explanation().to_string(),
                )
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(summary(&whole), summary(&merged));
    assert_eq!(whole.revenue_at_stake, merged.revenue_at_stake);
    assert_eq!(whole.lines, merged.lines);
    assert!(merged.knows_client("c3") && merged.knows_client("c30"));
}

#[test]
fn a_client_in_two_shares_is_refused() {
    let (mut first, mut second) = (audit(), audit());
    first.add(&visit("c1", "hair", 3, 100)).unwrap();
    second.add(&visit("c1", "hair", 9, 100)).unwrap();
    assert!(matches!(
        first.absorb(second),
        Err(AuditError::ClientInTwoShares(_))
    ));
}
