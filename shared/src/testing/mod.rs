//! Helpers for tests in other crates (the `test-support` feature): a moto server for the AWS
//! adapters and the store contract that every [`Store`](crate::ports::Store) must meet.

pub mod moto;
pub mod store_contract;
