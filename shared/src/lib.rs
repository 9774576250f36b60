//! winback's library: everything that is not an entry point.
//!
//! - [`domain`] holds the product's rules as pure functions and types: no I/O, no clock, no AWS.
//! - [`app`] holds the use cases, written against the domain (and, later, the ports).
//! - [`adapters`] talk to one outside system each: for now the bookings-export reader.
//!
//! The dependency rule runs one way: `domain ← app ← adapters`. Entry points (the `winback`
//! tool, the Lambda functions) only wire these together.

pub mod adapters;
pub mod app;
pub mod domain;
#[cfg(feature = "http")]
pub mod http;
pub mod ports;
#[cfg(feature = "test-support")]
pub mod testing;
