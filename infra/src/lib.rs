//! The `winback` command-line tool: everything it does besides parsing its arguments, so that
//! tests and benchmarks call the same code the command runs.

pub mod backtest;
pub mod config_file;
pub mod demo;
pub mod preview;
pub mod render;
pub mod sample;
pub mod serve;
pub mod stores;
pub mod tenant_admin;
