//! `winback serve`: the same HTTP routes as the deployed API, on localhost, on the SQLite
//! store, so a booking-tool developer can integrate with no AWS account.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use shared::domain::config::BusinessConfig;
use shared::domain::ids::TenantId;
use shared::http::{Api, router};
use shared::ports::{Store, SystemClock};

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

pub async fn serve(port: u16, data: &Path) -> Result<(), ServeError> {
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
    println!("winback is listening on http://{bound} (Ctrl-C stops it)");
    let api = Api::new(store, Arc::new(SystemClock));
    axum::serve(listener, router(api))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(ServeError::Server)
}
