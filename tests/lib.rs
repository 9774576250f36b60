//! Checks that span the whole repository rather than one crate: the SAM template against the
//! workspace, the store contract on both stores, and the function binaries driven end to end
//! through [`runtime_api`] against moto.

pub mod api_gateway;
pub mod iam;
pub mod runtime_api;

use std::path::{Path, PathBuf};

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}
