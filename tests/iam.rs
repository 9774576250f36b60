//! The template's IAM policies against what the functions really call: each function's
//! DynamoDB calls, as moto recorded them under the function's own access key, must be allowed
//! by the inline policy statements the template gives that function (the action on the table,
//! and a query's index ARN), as AWS would authorise them.

use std::collections::BTreeSet;

use shared::testing::moto::DynamoCall;
use yaml_rust2::Yaml;

/// What a function's policies allow on the table: IAM actions and resources.
#[derive(Debug, Default)]
pub struct Allowed {
    pub actions: BTreeSet<String>,
    pub resources: BTreeSet<String>,
}

/// The template's inline statements for the function built from binary `binary`.
pub fn allowed(binary: &str) -> Allowed {
    let template = crate::template();
    let resources = template["Resources"].as_hash().unwrap();
    let function = resources
        .values()
        .find(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
        .unwrap_or_else(|| panic!("the template deploys no function built from {binary}"));
    let mut allowed = Allowed::default();
    for policy in function["Properties"]["Policies"]
        .as_vec()
        .into_iter()
        .flatten()
    {
        for statement in policy["Statement"].as_vec().into_iter().flatten() {
            if statement["Effect"].as_str() != Some("Allow") {
                continue;
            }
            let strings = |value: &Yaml| -> Vec<String> {
                match value {
                    Yaml::Array(items) => items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect(),
                    other => other.as_str().map(str::to_owned).into_iter().collect(),
                }
            };
            allowed.actions.extend(strings(&statement["Action"]));
            allowed.resources.extend(strings(&statement["Resource"]));
        }
    }
    allowed
}

/// The IAM actions a call needs: a transaction is authorised by the kinds of item it holds.
fn needed_actions(call: &DynamoCall) -> Vec<String> {
    match call.action.as_str() {
        "TransactWriteItems" | "TransactGetItems" => call
            .parts
            .iter()
            .map(|part| match part.as_str() {
                "ConditionCheck" => "dynamodb:ConditionCheckItem".to_owned(),
                other => format!("dynamodb:{other}Item"),
            })
            .collect(),
        action => vec![format!("dynamodb:{action}")],
    }
}

/// Panics, naming each, if any of `calls` by the function built from `binary` is one the
/// template does not allow it.
pub fn assert_allowed(binary: &str, calls: &[DynamoCall]) {
    let allowed = allowed(binary);
    let mut refused = BTreeSet::new();
    for call in calls {
        for action in needed_actions(call) {
            if !allowed.actions.contains(&action) {
                refused.insert(format!("{action} (for {})", call.action));
            }
        }
        // The table's ARN is `Table.Arn` to the YAML reader (a !GetAtt); an index is the
        // `${Table.Arn}/index/<name>` of a !Sub.
        let resource = match &call.index {
            Some(index) => format!("${{Table.Arn}}/index/{index}"),
            None => "Table.Arn".to_owned(),
        };
        if !allowed.resources.contains(&resource) {
            refused.insert(format!("{} on {resource}", call.action));
        }
    }
    assert!(
        refused.is_empty(),
        "the template does not let {binary} do what it did on moto: {refused:?}"
    );
}
