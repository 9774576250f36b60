//! The export reader's unit tests.

use super::columns::*;
use super::split::*;
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
