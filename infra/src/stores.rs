//! Which store a command works on: the local SQLite file (`--data DIR`, the default) or the
//! deployed DynamoDB table (`--dynamodb-table T`, with AWS credentials from the environment).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use shared::adapters::aws::dynamo::DynamoStore;
use shared::adapters::aws::sdk_config;
use shared::adapters::local::SqliteStore;
use shared::ports::{Store, StoreError};

/// The file name of the local store inside the data folder.
pub const DATABASE_FILE: &str = "winback.sqlite3";

#[derive(Args, Clone)]
pub struct StoreArgs {
    /// The folder of the local store (made if missing).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "winback-data",
        conflicts_with = "dynamodb_table"
    )]
    pub data: PathBuf,
    /// Work on this DynamoDB table instead (the stack's TableName output); AWS credentials
    /// and region come from the environment.
    #[arg(long, value_name = "TABLE")]
    pub dynamodb_table: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot make the data folder {0}: {1}")]
    Folder(PathBuf, std::io::Error),
    #[error("cannot open the local store in {0}: {1}")]
    Store(PathBuf, StoreError),
}

impl StoreArgs {
    pub async fn open(&self) -> Result<Arc<dyn Store>, OpenError> {
        match &self.dynamodb_table {
            Some(table) => {
                let sdk = sdk_config().await;
                Ok(Arc::new(DynamoStore::new(
                    aws_sdk_dynamodb::Client::new(&sdk),
                    table.clone(),
                )))
            }
            None => Ok(Arc::new(open_local(&self.data)?)),
        }
    }
}

pub fn open_local(folder: &Path) -> Result<SqliteStore, OpenError> {
    std::fs::create_dir_all(folder).map_err(|e| OpenError::Folder(folder.to_owned(), e))?;
    let database = folder.join(DATABASE_FILE);
    // Made readable by its owner alone before SQLite first opens it (its journal files take
    // the database's permissions): it holds clients' names, addresses and numbers.
    private_file(&database).map_err(|e| OpenError::Folder(folder.to_owned(), e))?;
    SqliteStore::open(&database).map_err(|e| OpenError::Store(folder.to_owned(), e))
}

/// Creates `path` empty, readable and writable by its owner alone, unless it exists.
pub fn private_file(path: &Path) -> std::io::Result<()> {
    match create_private(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates a new file at `path` (an error if one is there) that only its owner can read.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}
