//! winback's library: everything that is not an entry point.
//!
//! - [`domain`] holds the product's rules as pure functions and types: no I/O, no clock, no AWS.
//! - [`ports`] holds the traits the use cases need from the outside world: the store, one
//!   capability per file, the senders, the event bus and the clock.
//! - [`app`] holds the use cases (ingest, detect, enqueue, deliver, links, feedback, reports,
//!   settings, access, the audit), each bound by the ports it uses.
//! - [`adapters`] talk to one outside system each: DynamoDB, SES, SNS and EventBridge (feature
//!   `aws`); SQLite, the outbox folder and the in-process bus (feature `sqlite`); the bookings
//!   export reader and the audit run over a file (feature `audit`).
//! - [`http`] holds the HTTP routes shared by the Lambda functions and `winback serve`
//!   (feature `http`).
//! - [`lambda`] holds what the event-driven functions share as Lambda handlers: their events
//!   typed, and a failure told retryable or poison (feature `lambda`).
//!
//! The dependency rule runs one way: `domain ← ports ← app ← adapters`, and `http` and
//! `lambda` on top of `app`. Entry points (the `winback` tool, the Lambda functions) only wire these together.

pub mod adapters;
pub mod app;
pub mod domain;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod ports;
#[cfg(feature = "test-support")]
pub mod testing;
