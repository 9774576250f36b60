//! `winback serve`: the same HTTP routes as the deployed API, on localhost, on the SQLite
//! store, so a booking-tool developer can integrate with no AWS account.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use shared::adapters::local::InProcessBus;
use shared::adapters::local::scheduler::run_schedules;
use shared::domain::config::BusinessConfig;
use shared::domain::ids::TenantId;
use shared::http::{Api, router};
use shared::ports::{Clock, StepDue, Store, SystemClock};

use crate::stores::{DATABASE_FILE, open_local};
use crate::tenant_admin;

/// The tenant made on the first start of an empty data folder.
pub const DEMO_TENANT: &str = "demo";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Open(#[from] crate::stores::OpenError),
    #[error(transparent)]
    Admin(#[from] tenant_admin::AdminError),
    #[error("cannot listen on port {port}: {source}; choose another with --port")]
    Listen { port: u16, source: std::io::Error },
    #[error("the server stopped: {0}")]
    Server(std::io::Error),
}

/// Where due steps wait, one JSON line each, until delivery picks them up.
pub const DUE_STEPS_FILE: &str = "outbox/due-steps.jsonl";

pub async fn serve(port: u16, data: &Path, tick: Duration) -> Result<(), ServeError> {
    let fresh = !data.join(DATABASE_FILE).exists();
    let store: Arc<dyn Store> = Arc::new(open_local(data)?);
    if fresh {
        let id = TenantId::parse(DEMO_TENANT).expect("a valid id");
        tenant_admin::create_tenant(
            &*store,
            id.clone(),
            "Demo Salon".into(),
            BusinessConfig::default(),
        )
        .await?;
        let key = tenant_admin::create_key(&*store, &id).await?;
        println!(
            "Created the demo tenant \"{DEMO_TENANT}\" in {}.",
            data.display()
        );
        println!("Its API key (shown once, keep it): {}", key.expose());
    }
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Listen { port, source })?;
    let bound = listener.local_addr().map_err(ServeError::Server)?;
    println!(
        "Lapse detection and the step queue run every {} s; due steps go to {}",
        tick.as_secs(),
        data.join(DUE_STEPS_FILE).display()
    );
    println!("winback is listening on http://{bound} (Ctrl-C stops it)");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (bus, mut due) = InProcessBus::new();
    let outbox = data.join(DUE_STEPS_FILE);
    if let Some(folder) = outbox.parent() {
        std::fs::create_dir_all(folder).map_err(ServeError::Server)?;
    }
    tokio::spawn(async move {
        while let Some(event) = due.recv().await {
            if let Err(error) = append_line(&outbox, &event) {
                tracing::error!(%error, "a due step could not be written to the outbox");
            }
        }
    });
    tokio::spawn(run_schedules(
        Arc::clone(&store),
        Arc::new(bus),
        Arc::clone(&clock),
        tick,
    ));
    let api = Api::new(store, clock);
    axum::serve(listener, router(api))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(ServeError::Server)
}

fn append_line(path: &Path, event: &StepDue) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(event).map_err(std::io::Error::other)?;
    line.push(b'\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(&line)
}
