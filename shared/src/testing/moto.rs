//! A moto server (a local emulator of the AWS APIs) for the tests of the AWS adapters.
//!
//! Each test process starts its own server on a free port the first time one is asked for,
//! and the server exits when the process does. Moto comes from a Python virtual environment
//! under the workspace's `target/` directory, made (with a lock, since several test processes
//! start at once) the first time it is missing, so `cargo test` needs nothing installed by hand
//! beyond Python 3. `WINBACK_MOTO_ENDPOINT` points the tests at a server started elsewhere.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

const MOTO_REQUIREMENT: &str = "moto[server]==5.2.1";

/// The endpoint URL of this process's moto server, starting it on first use.
pub fn endpoint() -> &'static str {
    /// The server process is kept for the life of the test process; it exits by itself after.
    static SERVER: OnceLock<(String, Option<Child>)> = OnceLock::new();
    &SERVER
        .get_or_init(|| {
            if let Ok(endpoint) = std::env::var("WINBACK_MOTO_ENDPOINT") {
                return (endpoint, None);
            }
            start()
        })
        .0
}

fn start() -> (String, Option<Child>) {
    let python = python_with_moto();
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(include_str!("moto_server.py"))
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
    (format!("http://127.0.0.1:{port}"), Some(child))
}

/// An SDK configuration for this process's moto server: fixed test credentials, us-east-1.
/// Moto's server is not thread-safe under heavy concurrent writes (it answers some with a 500
/// that real DynamoDB never gives), so the SDK retries more than its default three attempts.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::adapters::aws::https_client())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(10))
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::for_tests())
        .load()
        .await
}

/// A new, empty winback table on this process's moto server (a unique name per call, so
/// tests running at once never share one), and a client for it.
pub async fn new_table() -> (aws_sdk_dynamodb::Client, String) {
    static TABLES: AtomicU32 = AtomicU32::new(0);
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let table = format!(
        "winback-{}-{}",
        std::process::id(),
        TABLES.fetch_add(1, Ordering::Relaxed)
    );
    crate::adapters::aws::dynamo::create_table(&client, &table)
        .await
        .expect("moto creates the table");
    (client, table)
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
