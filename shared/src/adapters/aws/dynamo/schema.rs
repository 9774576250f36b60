//! The table's key schema and watch index, as the template declares them: used to create the
//! table where no template runs (tests against moto, a first local try).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

use super::keys::{
    CLIENT_ID, DUE_INDEX, DUE_PK, DUE_SK, ENROLLED_INDEX, ENROLLED_PK, ENROLLED_SK, OVERDUE_INDEX,
    OVERDUE_PK, OVERDUE_SK, PHONE_INDEX, PHONE_PK, PK, SK, WATCH_INDEX, WATCH_PK, WATCH_SK,
};
use crate::ports::StoreError;

/// The attributes the watch index copies: enough to list what is due without reading the
/// cadence items themselves.
pub const WATCH_PROJECTION: [&str; 4] = ["client_id", "category", "watch_on", "watch_stage"];
/// The attributes the overdue index copies.
pub const OVERDUE_PROJECTION: [&str; 3] = ["client_id", "category", "stage"];
/// The attribute the due index copies: the step itself.
pub const DUE_PROJECTION: [&str; 2] = ["record", "status"];
/// The phone index copies nothing but the keys: the client id is its sort key.
pub const PHONE_PROJECTION: [&str; 0] = [];
/// The enrolled index copies the enrollment record: the report reads nothing else.
pub const ENROLLED_PROJECTION: [&str; 1] = ["record"];

/// An index copying the keys and `projected` (only the keys when it is empty).
fn index(name: &str, pk: &str, sk: &str, projected: &[&str]) -> GlobalSecondaryIndex {
    let projection = match projected {
        [] => Projection::builder().projection_type(ProjectionType::KeysOnly),
        _ => Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(projected.iter().map(|s| s.to_string()).collect())),
    };
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(pk, KeyType::Hash))
        .key_schema(key(sk, KeyType::Range))
        .projection(projection.build())
        .build()
        .expect("index name, keys and projection are set")
}

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

/// Creates the table (on demand, with its indexes) and waits until it can be used.
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
        .attribute_definitions(string_attribute(OVERDUE_PK))
        .attribute_definitions(string_attribute(OVERDUE_SK))
        .attribute_definitions(string_attribute(DUE_PK))
        .attribute_definitions(string_attribute(DUE_SK))
        .attribute_definitions(string_attribute(PHONE_PK))
        .attribute_definitions(string_attribute(CLIENT_ID))
        .attribute_definitions(string_attribute(ENROLLED_PK))
        .attribute_definitions(string_attribute(ENROLLED_SK))
        .key_schema(key(PK, KeyType::Hash))
        .key_schema(key(SK, KeyType::Range))
        .global_secondary_indexes(index(WATCH_INDEX, WATCH_PK, WATCH_SK, &WATCH_PROJECTION))
        .global_secondary_indexes(index(
            OVERDUE_INDEX,
            OVERDUE_PK,
            OVERDUE_SK,
            &OVERDUE_PROJECTION,
        ))
        .global_secondary_indexes(index(DUE_INDEX, DUE_PK, DUE_SK, &DUE_PROJECTION))
        .global_secondary_indexes(index(PHONE_INDEX, PHONE_PK, CLIENT_ID, &PHONE_PROJECTION))
        .global_secondary_indexes(index(
            ENROLLED_INDEX,
            ENROLLED_PK,
            ENROLLED_SK,
            &ENROLLED_PROJECTION,
        ))
        .send()
        .await
        .map_err(|e| unavailable(Box::new(e.into_service_error())))?;
    Ok(())
}
