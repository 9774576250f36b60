//! Checks that span the whole repository rather than one crate: the SAM template against the
//! workspace, the store contract on both stores, and the function binaries driven end to end
//! through [`runtime_api`] against moto.

pub mod api_gateway;
pub mod iam;
pub mod runtime_api;

use std::path::{Path, PathBuf};

/// The SAM template, as YAML (CloudFormation's short tags such as `!Ref` and `!Sub` are plain
/// tagged scalars to a YAML reader).
pub fn template() -> yaml_rust2::Yaml {
    let text = std::fs::read_to_string(repo().join("template.yaml")).expect("template.yaml exists");
    yaml_rust2::YamlLoader::load_from_str(&text)
        .expect("template.yaml is YAML")
        .remove(0)
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}
