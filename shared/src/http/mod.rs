//! The HTTP API, shared by the `ingest` Lambda function (behind API Gateway) and by
//! `winback serve` (on localhost): routing, authentication, request bodies and problem+json
//! errors. Handlers parse, call one use case, and encode the result.

pub mod auth;
pub mod links;
pub mod problem;
pub mod routes;
pub mod wire;

use std::sync::Arc;

use crate::app::detect::Detector;
use crate::app::ingest::Ingest;
use crate::ports::{Clock, Store};

pub use links::links_router;
pub use routes::router;

/// What the routes need: the use cases and the store (for credentials).
pub struct Api {
    pub ingest: Ingest,
    pub detector: Detector,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl Api {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Arc<Api> {
        Arc::new(Api {
            ingest: Ingest::new(Arc::clone(&store), Arc::clone(&clock)),
            detector: Detector::new(Arc::clone(&store), Arc::clone(&clock)),
            store,
            clock,
        })
    }
}
