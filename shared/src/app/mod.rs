//! Use cases: each file is one thing the product does, written against the domain and the
//! ports (each use case bound by the store capabilities it uses), never against an outside
//! system directly. A use case reads, asks the domain, and writes; the conditional writes and
//! their retries live here, the rules in `domain`.

pub mod access;
#[cfg(feature = "audit")]
pub mod audit;
pub mod deliver;
pub mod detect;
pub mod enqueue;
pub mod feedback;
pub mod ingest;
pub mod links;
pub mod report;
pub mod settings;
pub mod stop;
