//! The conditions a write is made under, and what a failed condition means ([`Clash`]).

use aws_sdk_dynamodb::types::AttributeValue;

use crate::ports::StoreError;

use super::keys;

/// Why a conditional write did not happen.
pub(super) enum Clash {
    /// What was read changed before the write: read again and retry.
    Changed,
    Failed(StoreError),
}

impl From<StoreError> for Clash {
    fn from(error: StoreError) -> Clash {
        Clash::Failed(error)
    }
}

/// The condition a transactional write is made under.
pub(super) enum Condition {
    /// Whatever is stored.
    None,
    /// No item with this key exists.
    Absent,
    /// The item exists and this attribute still has the value that was read.
    Equals(&'static str, AttributeValue),
}

impl Condition {
    pub(super) fn apply_put(
        self,
        put: aws_sdk_dynamodb::types::builders::PutBuilder,
    ) -> aws_sdk_dynamodb::types::builders::PutBuilder {
        match self {
            Condition::None => put,
            Condition::Absent => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK),
            Condition::Equals(name, value) => put
                .condition_expression("#a = :a")
                .expression_attribute_names("#a", name)
                .expression_attribute_values(":a", value),
        }
    }

    pub(super) fn apply_delete(
        self,
        delete: aws_sdk_dynamodb::types::builders::DeleteBuilder,
    ) -> aws_sdk_dynamodb::types::builders::DeleteBuilder {
        match self {
            Condition::None => delete,
            Condition::Absent => delete
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK),
            Condition::Equals(name, value) => delete
                .condition_expression("#a = :a")
                .expression_attribute_names("#a", name)
                .expression_attribute_values(":a", value),
        }
    }
}
