//! Use cases: each file is one thing the product does, written against the domain (and, as the
//! system grows, against the ports), never against an outside system directly.

pub mod audit;
pub mod chunked;
pub mod deliver;
pub mod detect;
pub mod enqueue;
pub mod feedback;
pub mod ingest;
pub mod links;
pub mod report;
pub mod stop;
