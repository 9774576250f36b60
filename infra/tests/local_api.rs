//! `winback tenant ...` and `winback serve` as a developer runs them: ids and keys captured from
//! standard output, the API answered on localhost, and the same commands on DynamoDB (moto).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};

fn winback(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_winback"))
        .args(args)
        .output()
        .expect("winback runs")
}

fn captured(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "one line on stdout: {text:?}");
    text.trim().to_owned()
}

/// One HTTP/1.1 request; returns the status and the body.
fn http(port: u16, method: &str, path: &str, key: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// When a server's clock starts: a fixed day, so no test depends on the date it runs.
const TODAY_AT_TEN: &str = "2030-03-04T10:00:00Z";

struct Server {
    child: Child,
    port: u16,
    /// What it printed before it started listening.
    banner: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &std::path::Path) -> Server {
    serve_with(data, &[])
}

fn serve_with(data: &std::path::Path, extra: &[&str]) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_winback"))
        .args(["serve", "--port", "0", "--data", data.to_str().unwrap()])
        .args(extra)
        .env(shared::adapters::clock::CLOCK_START, TODAY_AT_TEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server {
        child,
        port: 0,
        banner: Vec::new(),
    };
    let stdout = server.child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("winback is listening on http://127.0.0.1:") {
            server.port = rest.split_whitespace().next().unwrap().parse().unwrap();
            return server;
        }
        server.banner.push(line);
    }
    panic!("the server stopped before listening: {:?}", server.banner)
}

#[test]
fn serve_makes_a_demo_tenant_on_first_start_and_answers_the_api() {
    let data = tempfile::tempdir().unwrap();
    let server = serve(data.path());
    let key_line = server
        .banner
        .iter()
        .find(|l| l.starts_with("Its API key"))
        .expect("the demo key is printed");
    let key = key_line.rsplit(' ').next().unwrap().to_owned();
    let (status, body) = http(
        server.port,
        "PUT",
        "/v1/clients/c-1",
        &key,
        Some(r#"{"name": "Ana", "email": "ana@example.com"}"#),
    );
    assert_eq!(status, 201, "{body}");
    let booking = r#"{"id": "b1", "client_id": "c-1", "status": "completed",
        "starts_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T12:00:00Z",
        "services": [{"category": "hair", "price": "45.00"}]}"#;
    assert_eq!(
        http(server.port, "POST", "/v1/bookings", &key, Some(booking)).0,
        201
    );
    let (status, body) = http(server.port, "GET", "/v1/clients/c-1", &key, None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"category\":\"hair\""), "{body}");
    // The link-signing key and the database are the owner's alone.
    for file in ["link-signing.key", "winback.sqlite3"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} is {:o}", mode & 0o777);
    }
    let (status, body) = http(server.port, "GET", "/v1/clients/c-1", "wbk_wrong", None);
    assert_eq!(status, 401);
    assert!(body.contains("\"fix\""));
    drop(server);

    // A second start keeps the data and makes no second demo tenant.
    let again = serve(data.path());
    assert!(
        !again.banner.iter().any(|l| l.contains("demo tenant")),
        "{:?}",
        again.banner
    );
    assert_eq!(
        http(again.port, "GET", "/v1/clients/c-1", &key, None).0,
        200
    );
}

#[test]
fn serve_runs_lapse_detection_and_the_step_queue_on_its_own_timer() {
    let data = tempfile::tempdir().unwrap();
    let server = serve_with(data.path(), &["--tick-seconds", "1"]);
    let key_line = server
        .banner
        .iter()
        .find(|l| l.starts_with("Its API key"))
        .expect("the demo key is printed");
    let key = key_line.rsplit(' ').next().unwrap().to_owned();
    // Send email at any hour, so the first message is due at once.
    let (status, body) = http(
        server.port,
        "PUT",
        "/v1/config",
        &key,
        Some(
            r#"{"outreach": {"windows": {"email": {"start": "00:00", "end": "23:59:59"}}, "control_share": 0}}"#,
        ),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(
        server.port,
        "PUT",
        "/v1/clients/c-1",
        &key,
        Some(
            r#"{"name": "Ana", "email": "ana@example.com",
                "consent": {"email": {"granted": true, "source": "booking form", "at": "2026-01-01T00:00:00Z"}}}"#,
        ),
    );
    assert_eq!(status, 201, "{body}");
    // A four-weekly client last seen fifty days ago: lapsed today.
    let today = TODAY_AT_TEN.parse::<jiff::Timestamp>().unwrap();
    let today = jiff::tz::TimeZone::UTC.to_datetime(today).date();
    let visits: Vec<String> = [106, 78, 50]
        .iter()
        .enumerate()
        .map(|(i, ago)| {
            let on = today.checked_sub(jiff::Span::new().days(*ago)).unwrap();
            format!(
                r#"{{"id": "b{i}", "client_id": "c-1", "status": "completed",
                    "starts_at": "{on}T10:00:00Z", "updated_at": "{on}T12:00:00Z",
                    "services": [{{"category": "hair", "price": "45.00"}}]}}"#
            )
        })
        .collect();
    let (status, body) = http(
        server.port,
        "POST",
        "/v1/bookings",
        &key,
        Some(&format!(r#"{{"bookings": [{}]}}"#, visits.join(","))),
    );
    assert_eq!(status, 200, "{body}");

    // The first message lands in the outbox as an email a mail client opens.
    let outbox = data.path().join("outbox");
    let emails = || -> Vec<String> {
        std::fs::read_dir(&outbox)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut waited = 0;
    while emails().is_empty() {
        assert!(waited < 100, "no email reached the outbox in 10 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
        waited += 1;
    }
    let email = emails().remove(0).replace("\r\n ", " ");
    assert!(email.contains("To: ana@example.com"), "{email}");
    assert!(
        email.contains("Subject: Time for your next visit, Ana?"),
        "{email}"
    );
    assert!(
        email.contains(&format!(
            "List-Unsubscribe: <http://127.0.0.1:{}/u/local.",
            server.port
        )),
        "{email}"
    );
    // The send is recorded with the next step scheduled (polled for, not waited out); by then
    // the step is sent for good, and the ticks that came in between sent nothing more.
    let mut waited = 0;
    let body = loop {
        let (_, body) = http(server.port, "GET", "/v1/clients/c-1", &key, None);
        if body.contains(r#""next_step":1"#) {
            break body;
        }
        assert!(waited < 100, "the send was not recorded in 10 s: {body}");
        std::thread::sleep(std::time::Duration::from_millis(100));
        waited += 1;
    };
    assert!(
        body.contains(r#""sequence":"medium tier 30/60/90""#),
        "{body}"
    );
    assert_eq!(emails().len(), 1, "sent once, whatever the ticks");
}

#[test]
fn tenant_commands_print_only_what_a_script_captures_and_the_key_works() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let tenant = captured(&winback(&[
        "tenant",
        "create",
        "--name",
        "Studio Nine",
        "--timezone",
        "Europe/Paris",
        "--currency",
        "EUR",
        "--data",
        dir,
    ]));
    assert!(tenant.starts_with("t_"), "{tenant}");
    let key = captured(&winback(&[
        "tenant", "key", "create", &tenant, "--data", dir,
    ]));
    assert!(key.starts_with("wbk_"), "{key}");
    let secret = captured(&winback(&[
        "tenant",
        "webhook-secret",
        "create",
        &tenant,
        "--data",
        dir,
    ]));
    assert!(secret.starts_with("whsec_"), "{secret}");

    let unknown = winback(&["tenant", "key", "create", "t_nobody", "--data", dir]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("winback tenant create"));
    let bad_zone = winback(&[
        "tenant",
        "create",
        "--name",
        "X",
        "--timezone",
        "Mars/Olympus",
        "--currency",
        "EUR",
        "--data",
        dir,
    ]);
    assert_eq!(bad_zone.status.code(), Some(2));

    let server = serve(data.path());
    let booking = r#"{"id": "b1", "client_id": "c-1", "status": "completed",
        "starts_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T12:00:00Z",
        "services": [{"category": "hair", "price": "45.00"}]}"#;
    assert_eq!(
        http(server.port, "POST", "/v1/bookings", &key, Some(booking)).0,
        201
    );
}

#[test]
fn tenant_commands_work_on_a_dynamodb_table() {
    let account = shared::testing::moto::Account::fresh();
    let (_, table) = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(account.new_table());
    let aws = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_winback"))
            .args(args)
            .envs(account.env())
            .output()
            .unwrap()
    };
    let tenant = captured(&aws(&[
        "tenant",
        "create",
        "--name",
        "Salon",
        "--timezone",
        "America/New_York",
        "--currency",
        "USD",
        "--dynamodb-table",
        &table,
    ]));
    let key = captured(&aws(&[
        "tenant",
        "key",
        "create",
        &tenant,
        "--dynamodb-table",
        &table,
    ]));
    assert!(key.starts_with("wbk_"));
}
