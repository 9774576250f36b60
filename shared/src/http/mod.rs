//! The HTTP API, shared by the `ingest` Lambda function (behind API Gateway) and by
//! `winback serve` (on localhost): routing, authentication, request bodies and problem+json
//! errors. Handlers parse, call one use case, and encode the result.

pub mod auth;
pub mod links;
pub mod problem;
pub mod routes;
pub mod wire;

use std::sync::Arc;

use crate::app::access::Access;
use crate::app::detect::Detector;
use crate::app::ingest::Ingest;
use crate::app::report::Reports;
use crate::app::settings::Settings;
use crate::ports::{Clock, Store};

pub use links::links_router;
pub use routes::router;

/// What the routes need: the use cases, and the clock (for signature timestamps).
pub struct Api {
    pub access: Access,
    pub ingest: Ingest,
    pub detector: Detector,
    pub settings: Settings,
    pub reports: Reports,
    pub clock: Arc<dyn Clock>,
}

impl Api {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Arc<Api> {
        Api::sending_from(store, clock, None)
    }

    /// The API of a deployment that sends email from `domain` only: a business's own sender
    /// address must be at it.
    pub fn sending_from(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        domain: Option<String>,
    ) -> Arc<Api> {
        Arc::new(Api {
            access: Access::new(Arc::clone(&store), Arc::clone(&clock)),
            ingest: Ingest::new(Arc::clone(&store), Arc::clone(&clock)),
            detector: Detector::new(Arc::clone(&store), Arc::clone(&clock)),
            settings: Settings::new(Arc::clone(&store), Arc::clone(&clock)).sending_from(domain),
            reports: Reports::new(store),
            clock,
        })
    }
}
