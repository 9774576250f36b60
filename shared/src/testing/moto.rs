//! A moto server (a local emulator of the AWS APIs) for the tests of the AWS adapters, and an
//! AWS account of its own for each test.
//!
//! One server serves a whole test run: the first test process that needs it starts it (under a
//! lock in the workspace's `target/moto/`, since test processes may start at once), writes its
//! port there, and every later process finds it. The server exits by itself after ten minutes
//! without a request. Tests share nothing through it: each asks for an [`Account`], a fresh
//! AWS account with its own access key, and moto keeps every account's tables, queues, buses and
//! sent messages apart. A function binary started with [`Account::env`] works in that account
//! too, with nothing in it for tests.
//!
//! Moto comes from a Python virtual environment under `target/`, made (with a lock) the first
//! time it is missing, so `cargo test` needs nothing installed by hand beyond Python 3.
//! `WINBACK_MOTO_ENDPOINT` points the tests at a server started elsewhere (one started from
//! `moto_server.py`, which adds the two routes accounts need).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::Value;

const MOTO_REQUIREMENT: &str = "moto[server]==5.2.1";
const REGION: &str = "us-east-1";

/// The endpoint URL of the test run's moto server, starting it if no process has yet.
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| std::env::var("WINBACK_MOTO_ENDPOINT").unwrap_or_else(|_| shared_server()))
}

/// The run's server: the one `target/moto/port` names if it still answers, else a new one.
#[expect(
    clippy::zombie_processes,
    reason = "the server outlives the test process that starts it; it exits when idle"
)]
fn shared_server() -> String {
    let dir = target_dir().join("moto");
    std::fs::create_dir_all(&dir).expect("target/moto can be made");
    let lock = File::create(dir.join("lock")).expect("lock file");
    lock.lock().expect("lock the moto server");
    if let Ok(port) = std::fs::read_to_string(dir.join("port"))
        && let Ok(port) = port.trim().parse::<u16>()
    {
        let endpoint = format!("http://127.0.0.1:{port}");
        if answers(&endpoint) {
            return endpoint;
        }
    }
    let python = python_with_moto();
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(include_str!("moto_server.py"))
        .env("WINBACK_MOTO_VERSION", script_version())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start moto with {}: {e}", python.display()));
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout is piped"))
        .read_line(&mut line)
        .expect("moto prints its port");
    let port: u16 = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("moto did not start (it printed {line:?})"));
    std::fs::write(dir.join("port"), port.to_string()).expect("write target/moto/port");
    std::fs::write(dir.join("pid"), child.id().to_string()).expect("write target/moto/pid");
    format!("http://127.0.0.1:{port}")
}

/// Whether a moto server started from this very `moto_server.py` answers at `endpoint` (a
/// port may have been reused since, or the script changed).
fn answers(endpoint: &str) -> bool {
    let expected = format!("winback-moto {}", script_version());
    matches!(call(endpoint, "GET", "/winback/ping", None), Ok(Value::String(s)) if s == expected)
}

/// A fingerprint of `moto_server.py`, which the server echoes when pinged.
fn script_version() -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    include_str!("moto_server.py").hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// A plain HTTP/1.1 request to one of the server's own routes; the JSON it answers.
fn call(endpoint: &str, method: &str, path: &str, key: Option<&str>) -> std::io::Result<Value> {
    let address = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let key = key
        .map(|k| format!("x-winback-access-key: {k}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{key}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or_default();
    serde_json::from_str(body).map_err(std::io::Error::other)
}

/// An AWS account on the run's moto server that no other test uses.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    access_key_id: String,
    secret_access_key: String,
}

impl Account {
    /// A new account, with an access key that moto maps to it.
    pub fn fresh() -> Account {
        let made = call(endpoint(), "POST", "/winback/accounts", None)
            .unwrap_or_else(|e| panic!("moto made no account: {e}"));
        Account::from_answer(&made)
    }

    /// An account and key as the server's own routes answer them.
    fn from_answer(made: &Value) -> Account {
        let field = |name: &str| {
            made[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name} in {made}"))
                .to_owned()
        };
        Account {
            id: field("account"),
            access_key_id: field("access_key_id"),
            secret_access_key: field("secret_access_key"),
        }
    }

    /// An SDK configuration that works in this account: its access key, us-east-1, the run's
    /// server. Moto's server is not thread-safe under heavy concurrent writes (it answers some
    /// with a 500 that real DynamoDB never gives), so the SDK retries more than its default
    /// three attempts.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(crate::adapters::aws::https_client())
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(10))
            .endpoint_url(endpoint())
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                &self.access_key_id,
                &self.secret_access_key,
                None,
                None,
                "moto-account",
            ))
            .load()
            .await
    }

    /// The environment that puts a function binary in this account on the run's server.
    pub fn env(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("AWS_ENDPOINT_URL", endpoint()),
            ("AWS_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", &self.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &self.secret_access_key),
        ]
    }

    /// A new, empty winback table in this account, and a client for it.
    pub async fn new_table(&self) -> (aws_sdk_dynamodb::Client, String) {
        static TABLES: AtomicU32 = AtomicU32::new(0);
        let client = aws_sdk_dynamodb::Client::new(&self.sdk_config().await);
        let table = format!("winback-{}", TABLES.fetch_add(1, Ordering::Relaxed));
        crate::adapters::aws::dynamo::create_table(&client, &table)
            .await
            .expect("moto creates the table");
        (client, table)
    }

    /// Another access key to the same account (a function's own, say, so what it calls can be
    /// told apart from what the test calls).
    pub fn another_key(&self) -> Account {
        let made = call(
            endpoint(),
            "POST",
            "/winback/keys",
            Some(&self.access_key_id),
        )
        .unwrap_or_else(|e| panic!("moto made no key: {e}"));
        let key = Account::from_answer(&made);
        assert_eq!(key.id, self.id, "{made}");
        key
    }

    /// The DynamoDB calls made with this access key, in order.
    pub fn dynamodb_calls(&self) -> Vec<DynamoCall> {
        let calls = call(
            endpoint(),
            "GET",
            "/winback/calls",
            Some(&self.access_key_id),
        )
        .unwrap_or_else(|e| panic!("moto did not say what was called: {e}"));
        calls
            .as_array()
            .expect("a list of calls")
            .iter()
            .map(|c| DynamoCall {
                action: c["action"].as_str().unwrap_or_default().to_owned(),
                index: c["index"].as_str().map(str::to_owned),
                parts: c["parts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.as_str().map(str::to_owned))
                    .collect(),
            })
            .collect()
    }

    /// Every email sent from this account, as the raw MIME SES was given.
    pub fn emails(&self) -> Vec<String> {
        self.sent()["email"]
            .as_array()
            .expect("a list of emails")
            .iter()
            .filter_map(|e| e.as_str().map(str::to_owned))
            .collect()
    }

    /// Every SMS sent from this account: (number, text), in order.
    pub fn texts(&self) -> Vec<(String, String)> {
        self.sent()["sms"]
            .as_array()
            .expect("a list of texts")
            .iter()
            .map(|sms| {
                let field = |name: &str| sms[name].as_str().unwrap_or_default().to_owned();
                (field("to"), field("text"))
            })
            .collect()
    }

    fn sent(&self) -> Value {
        let sent = call(
            endpoint(),
            "GET",
            "/winback/sent",
            Some(&self.access_key_id),
        )
        .unwrap_or_else(|e| panic!("moto did not say what was sent: {e}"));
        assert_eq!(sent["account"], self.id.as_str(), "{sent}");
        sent
    }
}

/// One DynamoDB call as moto received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoCall {
    /// The API action: `Query`, `TransactWriteItems`, ...
    pub action: String,
    /// The index a `Query` or `Scan` read, if any.
    pub index: Option<String>,
    /// The kinds of item a transaction holds: `Put`, `Update`, `Delete`, `ConditionCheck`, `Get`.
    pub parts: Vec<String>,
}

/// A new, empty winback table in an account of its own, and a client for it.
pub async fn new_table() -> (aws_sdk_dynamodb::Client, String) {
    Account::fresh().new_table().await
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// A Python with moto installed: the venv's, made if missing.
fn python_with_moto() -> PathBuf {
    let venv = target_dir().join("moto-venv");
    let python = venv.join("bin/python");
    let ready = venv.join(".installed");
    if ready.exists() {
        return python;
    }
    std::fs::create_dir_all(target_dir()).expect("the target directory can be made");
    let lock = File::create(target_dir().join("moto-venv.lock")).expect("lock file");
    lock.lock().expect("lock the moto install");
    if !ready.exists() {
        let run = |command: &mut Command| {
            let status = command
                .status()
                .unwrap_or_else(|e| panic!("could not run {command:?}: {e}"));
            assert!(status.success(), "{command:?} failed: {status}");
        };
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            MOTO_REQUIREMENT,
        ]));
        File::create(&ready).expect("mark the venv ready");
    }
    python
}
