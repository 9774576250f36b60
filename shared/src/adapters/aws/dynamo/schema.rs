//! The table's key schema and watch index, as the template declares them: used to create the
//! table where no template runs (tests against moto, a first local try).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

use super::keys::{PK, SK, WATCH_INDEX, WATCH_PK, WATCH_SK};
use crate::ports::StoreError;

/// The attributes the watch index copies: enough to list what is due without reading the
/// cadence items themselves.
pub const WATCH_PROJECTION: [&str; 4] = ["client_id", "category", "watch_on", "watch_stage"];

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("name and type are set")
}

fn string_attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("name and type are set")
}

/// Creates the table (on demand, with the watch index) and waits until it can be used.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let unavailable = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Unavailable(e);
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attribute(PK))
        .attribute_definitions(string_attribute(SK))
        .attribute_definitions(string_attribute(WATCH_PK))
        .attribute_definitions(string_attribute(WATCH_SK))
        .key_schema(key(PK, KeyType::Hash))
        .key_schema(key(SK, KeyType::Range))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(WATCH_INDEX)
                .key_schema(key(WATCH_PK, KeyType::Hash))
                .key_schema(key(WATCH_SK, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .set_non_key_attributes(Some(
                            WATCH_PROJECTION.iter().map(|s| s.to_string()).collect(),
                        ))
                        .build(),
                )
                .build()
                .expect("index name, keys and projection are set"),
        )
        .send()
        .await
        .map_err(|e| unavailable(Box::new(e.into_service_error())))?;
    Ok(())
}
