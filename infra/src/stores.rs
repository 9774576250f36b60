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
    SqliteStore::open(&folder.join(DATABASE_FILE))
        .map_err(|e| OpenError::Store(folder.to_owned(), e))
}
