//! `winback serve`: the same HTTP routes as the deployed API, on localhost, on the SQLite
//! store, so a booking-tool developer can integrate with no AWS account.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use shared::adapters::clock::{self, ClockStartError};
use shared::adapters::local::InProcessBus;
use shared::adapters::local::delivery::{RETRY_WAITS, deliver_with_retries};
use shared::adapters::local::outbox::Outbox;
use shared::adapters::local::scheduler::run_schedules;
use shared::app::deliver::{Deliverer, DeliverySettings, Senders};
use shared::app::links::Links;
use shared::domain::config::BusinessConfig;
use shared::domain::ids::TenantId;
use shared::domain::link_token::{LinkKey, LinkKeys};
use shared::http::{Api, links_router, router};
use shared::ports::{Clock, Store};

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
    #[error(transparent)]
    Clock(#[from] ClockStartError),
    #[error(
        "cannot read or make the link-signing key {}: {source}; check the data folder's permissions (the key must stay, or links already sent stop working)",
        path.display()
    )]
    Key {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// Where messages go: `.eml` files and `sms.jsonl`.
pub const OUTBOX: &str = "outbox";
/// The key that signs the links in local messages.
const LINK_KEY_FILE: &str = "link-signing.key";

pub async fn serve(port: u16, data: &Path, tick: Duration) -> Result<(), ServeError> {
    let clock: Arc<dyn Clock> = clock::from_env()?;
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
        "Lapse detection and the step queue run every {} s; messages go to {}",
        tick.as_secs(),
        data.join(OUTBOX).display()
    );
    println!("winback is listening on http://{bound} (Ctrl-C stops it)");
    let (bus, mut due) = InProcessBus::new();
    let outbox = Arc::new(Outbox::new(data.join(OUTBOX)).map_err(ServeError::Server)?);
    let keys = link_keys(data)?;
    let deliverer = Deliverer::new(
        Arc::clone(&store),
        Senders::both(outbox.clone(), outbox),
        keys.clone(),
        Arc::clone(&clock),
        DeliverySettings {
            links_base: format!("http://{bound}"),
            email_from: "winback <winback@localhost>".into(),
            unsubscribe_mailto: None,
        },
    );
    let deliverer = Arc::new(deliverer);
    tokio::spawn(async move {
        while let Some(event) = due.recv().await {
            let deliverer = Arc::clone(&deliverer);
            tokio::spawn(async move {
                deliver_with_retries(&deliverer, &event, &RETRY_WAITS).await;
            });
        }
    });
    tokio::spawn(run_schedules(
        Arc::clone(&store),
        Arc::new(bus),
        Arc::clone(&clock),
        tick,
    ));
    let links = Arc::new(Links::new(Arc::clone(&store), Arc::clone(&clock), keys));
    let api = Api::new(store, clock);
    axum::serve(listener, router(api).merge(links_router(links)))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(ServeError::Server)
}

/// The local link-signing key: made once, kept in the data folder.
pub fn link_keys(data: &Path) -> Result<LinkKeys, ServeError> {
    let path = data.join(LINK_KEY_FILE);
    let secret = match std::fs::read(&path) {
        Ok(secret) => secret,
        // Only a key that is not there is made anew: any other error stops the start, since a
        // new key would break every link already sent.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use std::io::Write;
            let secret: [u8; 32] = rand::random();
            let mut file =
                crate::stores::create_private(&path).map_err(|source| ServeError::Key {
                    path: path.clone(),
                    source,
                })?;
            file.write_all(&secret)
                .and_then(|()| file.sync_all())
                .map_err(|source| ServeError::Key {
                    path: path.clone(),
                    source,
                })?;
            secret.to_vec()
        }
        Err(source) => return Err(ServeError::Key { path, source }),
    };
    let key =
        LinkKey::new("local", secret).map_err(|e| ServeError::Server(std::io::Error::other(e)))?;
    LinkKeys::new(vec![key]).map_err(|e| ServeError::Server(std::io::Error::other(e)))
}
