//! A small Lambda runtime API, enough to run a real function binary outside AWS: it serves
//! `GET /2018-06-01/runtime/invocation/next` (handing out the events given to
//! [`Harness::invoke`]) and collects what the binary posts back to `.../response` and
//! `.../error`. The binary is started with the environment the Lambda service gives it and is
//! killed when the harness is dropped.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// What an invocation returned.
#[derive(Debug)]
pub enum Outcome {
    Response(Value),
    /// The function reported an error (`/error`): its JSON error document.
    Error(Value),
}

struct Shared {
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    first_poll: OnceLock<Instant>,
    init_error: Mutex<Option<Value>>,
}

pub struct Harness {
    /// What the function wrote to standard output (its logs), line by line.
    logs: Arc<Mutex<Vec<String>>>,
    sender: mpsc::UnboundedSender<(String, Value)>,
    shared: Arc<Shared>,
    child: Child,
    started: Instant,
    next_id: std::sync::atomic::AtomicU64,
}

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    shared.first_poll.get_or_init(Instant::now);
    let mut events = shared.events.lock().await;
    let Some((id, event)) = events.recv().await else {
        return (StatusCode::GONE, HeaderMap::new(), Vec::new());
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 30_000;
    let mut headers = HeaderMap::new();
    let set = |headers: &mut HeaderMap, name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    };
    set(&mut headers, "lambda-runtime-aws-request-id", id);
    set(
        &mut headers,
        "lambda-runtime-deadline-ms",
        deadline.to_string(),
    );
    set(
        &mut headers,
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:test".into(),
    );
    set(
        &mut headers,
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000".into(),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, serde_json::to_vec(&event).unwrap())
}

fn deliver(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match shared.waiting.lock().unwrap().remove(id) {
        Some(sender) => {
            let _ = sender.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn json_or_text(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    deliver(&shared, &id, Outcome::Response(json_or_text(&body)))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    deliver(&shared, &id, Outcome::Error(json_or_text(&body)))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().unwrap() = Some(json_or_text(&body));
    StatusCode::ACCEPTED
}

impl Harness {
    /// Starts the runtime API on a free port and the function binary against it.
    pub async fn start(binary: &Path, env: &[(&str, &str)]) -> Harness {
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: tokio::sync::Mutex::new(receiver),
            waiting: Mutex::new(HashMap::new()),
            first_poll: OnceLock::new(),
            init_error: Mutex::new(None),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let started = Instant::now();
        // `WINBACK_FUNCTION_RUNNER` runs the binary through another program: an emulator for
        // the arm64 builds that ship (`qemu-aarch64-static -L /usr/aarch64-linux-gnu`).
        let runner = std::env::var("WINBACK_FUNCTION_RUNNER").unwrap_or_default();
        let mut runner = runner.split_whitespace();
        let mut command = match runner.next() {
            Some(program) => {
                let mut command = Command::new(program);
                command.args(runner).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        let child = command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", binary.display()));
        let mut child = child;
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                sink.lock().unwrap().push(line);
            }
        });
        Harness {
            logs,
            sender,
            shared,
            child,
            started,
            next_id: std::sync::atomic::AtomicU64::new(1),
        }
    }

    /// Sends one event and waits for the function's answer.
    pub async fn invoke(&self, event: Value) -> Outcome {
        let id = format!(
            "req-{}",
            self.next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().unwrap().insert(id.clone(), tx);
        self.sender.send((id, event)).unwrap();
        match tokio::time::timeout(Duration::from_secs(30), rx).await {
            Ok(Ok(outcome)) => outcome,
            _ => panic!(
                "the function did not answer in 30 s (init error: {:?}); its last log lines: {:#?}",
                self.shared.init_error.lock().unwrap(),
                self.logs
                    .lock()
                    .unwrap()
                    .iter()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
            ),
        }
    }

    /// Waits until the binary first asks for an event, and returns how long after its start.
    pub async fn wait_until_polling(&self) -> Duration {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(at) = self.shared.first_poll.get() {
                return *at - self.started;
            }
            if let Some(error) = self.shared.init_error.lock().unwrap().as_ref() {
                panic!("the function failed to start: {error}");
            }
            assert!(
                Instant::now() < deadline,
                "the function never polled for an event"
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }

    /// The lines the function has logged so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    pub fn init_error(&self) -> Option<Value> {
        self.shared.init_error.lock().unwrap().clone()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds a workspace binary and returns its path: the test crates cannot name other
/// packages' binaries, so they build them the way `cargo build -p` would: every function at
/// once, the first time any is asked for in a test process, so the shared library is compiled
/// for them once. With `WINBACK_FUNCTIONS_DIR` set, it is taken from there as built for Lambda
/// instead (`{dir}/{package}/bootstrap`, as `cargo lambda build --lambda-dir` leaves it).
pub fn build_binary(package: &str) -> std::path::PathBuf {
    prebuilt(package).unwrap_or_else(|| built(false).join(package))
}

/// The same, built with the release profile (what ships), for benchmarks.
pub fn build_release_binary(package: &str) -> std::path::PathBuf {
    prebuilt(package).unwrap_or_else(|| built(true).join(package))
}

fn prebuilt(package: &str) -> Option<std::path::PathBuf> {
    let dir = std::path::PathBuf::from(std::env::var_os("WINBACK_FUNCTIONS_DIR")?);
    let binary = dir.join(package).join("bootstrap");
    assert!(
        binary.is_file(),
        "WINBACK_FUNCTIONS_DIR is set but {} is missing: build it with cargo lambda build --lambda-dir",
        binary.display()
    );
    Some(binary)
}

/// The function packages: every folder of `functions/` with a `Cargo.toml`.
fn function_packages() -> Vec<String> {
    let mut packages: Vec<String> = std::fs::read_dir(crate::repo().join("functions"))
        .expect("the functions folder")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    packages.sort();
    packages
}

/// The folder of the function binaries, built (once per process and profile) in one cargo
/// call.
fn built(release: bool) -> std::path::PathBuf {
    static DEBUG: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    static RELEASE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let once = if release { &RELEASE } else { &DEBUG };
    once.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| crate::repo().join("target"));
        // A target folder of their own: built alone, the functions resolve their dependencies'
        // features otherwise than the test build does, and in one folder each build would
        // undo the other's artifacts, so every run would compile both again.
        let target = target.join("functions");
        let mut command = Command::new(cargo);
        command.args(["build", "--quiet", "--target-dir"]);
        command.arg(&target);
        for package in function_packages() {
            command.args(["-p", &package]);
        }
        if release {
            command.arg("--release");
        }
        let status = command
            .current_dir(crate::repo())
            .status()
            .expect("cargo runs");
        assert!(
            status.success(),
            "building the functions failed: {command:?}"
        );
        target.join(if release { "release" } else { "debug" })
    })
    .clone()
}
