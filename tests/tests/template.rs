//! The SAM template and the workspace agree: every function the template deploys is a binary
//! crate under `functions/`, and every such crate is deployed. The template itself is checked
//! by cfn-lint in CI; this test needs nothing but the files.

use std::collections::BTreeSet;

use system_tests::{repo, template};
use yaml_rust2::Yaml;

/// The function crates under `functions/`: folders with a Cargo.toml.
fn function_crates() -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(repo().join("functions")) else {
        return BTreeSet::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// The functions the template deploys, by the folder their code is built from.
fn template_functions(template: &Yaml) -> BTreeSet<String> {
    let Some(resources) = template["Resources"].as_hash() else {
        return BTreeSet::new();
    };
    resources
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|r| {
            let code_uri = r["Properties"]["CodeUri"]
                .as_str()
                .expect("every function names its CodeUri");
            code_uri
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[test]
fn the_template_is_a_sam_template_with_the_business_parameters() {
    let template = template();
    assert_eq!(
        template["Transform"].as_str(),
        Some("AWS::Serverless-2016-10-31")
    );
    for parameter in ["BusinessName", "BusinessTimeZone", "Currency", "Industry"] {
        assert!(
            !template["Parameters"][parameter].is_badvalue(),
            "no parameter {parameter}"
        );
    }
}

#[test]
fn every_function_in_the_template_is_a_crate_in_the_workspace_and_the_other_way_round() {
    let deployed = template_functions(&template());
    let crates = function_crates();
    assert_eq!(
        deployed, crates,
        "template functions and functions/ crates differ"
    );
    let workspace = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let members: toml::Value = toml::from_str(&workspace).unwrap();
    let members: BTreeSet<String> = members["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str()?.strip_prefix("functions/").map(str::to_owned))
        .collect();
    // `functions/*` makes every crate there a member.
    let members = if members.contains("*") {
        crates.clone()
    } else {
        members
    };
    assert_eq!(
        members, crates,
        "every function crate is a workspace member"
    );
}

#[test]
fn every_function_is_built_by_cargo_lambda_for_arm64_on_the_al2023_runtime() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(globals["Architectures"][0].as_str(), Some("arm64"));
    for (name, resource) in template["Resources"].as_hash().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let folder = resource["Properties"]["CodeUri"].as_str().unwrap();
        let crate_name = folder.rsplit('/').next().unwrap();
        assert_eq!(
            resource["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{name:?}"
        );
        assert_eq!(
            resource["Metadata"]["BuildProperties"]["Binary"].as_str(),
            Some(crate_name),
            "{name:?} builds the binary of its own crate"
        );
    }
}

#[test]
fn the_industry_choices_match_the_presets_the_code_knows() {
    let template = template();
    let allowed: BTreeSet<&str> = template["Parameters"]["Industry"]["AllowedValues"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    let known: BTreeSet<&str> = shared::domain::industry::Industry::ALL
        .iter()
        .map(|i| i.name())
        .collect();
    assert_eq!(allowed, known);
}

/// The resource a `!Ref X` or `!GetAtt X.Attribute` names (short tags read as plain text).
fn resource_of(reference: &str) -> &str {
    reference.split('.').next().unwrap_or(reference)
}

/// The (method, path) of each HttpApi event of a function.
fn http_routes(template: &Yaml, function: &str) -> BTreeSet<(String, String)> {
    template["Resources"][function]["Properties"]["Events"]
        .as_hash()
        .into_iter()
        .flatten()
        .map(|(_, e)| e)
        .filter(|event| event["Type"].as_str() == Some("HttpApi"))
        .map(|event| {
            (
                event["Properties"]["Method"].as_str().unwrap().to_owned(),
                event["Properties"]["Path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn routes(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

#[test]
fn the_http_api_routes_in_the_template_are_the_routes_the_router_serves() {
    let template = template();
    assert_eq!(
        http_routes(&template, "IngestFunction"),
        routes(&shared::http::routes::ROUTES)
    );
    assert_eq!(
        http_routes(&template, "LinksFunction"),
        routes(&shared::http::links::LINK_ROUTES)
    );
    // No other function serves HTTP.
    let serving: Vec<&str> = template["Resources"]
        .as_hash()
        .unwrap()
        .keys()
        .filter_map(|k| k.as_str())
        .filter(|name| !http_routes(&template, name).is_empty())
        .collect();
    assert_eq!(serving, ["IngestFunction", "LinksFunction"]);
}

#[test]
fn the_table_s_indexes_are_the_ones_the_store_queries() {
    use shared::adapters::aws::dynamo::{keys, schema};
    let template = template();
    let indexes = template["Resources"]["Table"]["Properties"]["GlobalSecondaryIndexes"]
        .as_vec()
        .unwrap();
    let expected: [(&str, &str, &str, &[&str]); 5] = [
        (
            keys::WATCH_INDEX,
            keys::WATCH_PK,
            keys::WATCH_SK,
            &schema::WATCH_PROJECTION,
        ),
        (
            keys::OVERDUE_INDEX,
            keys::OVERDUE_PK,
            keys::OVERDUE_SK,
            &schema::OVERDUE_PROJECTION,
        ),
        (
            keys::DUE_INDEX,
            keys::DUE_PK,
            keys::DUE_SK,
            &schema::DUE_PROJECTION,
        ),
        (
            keys::PHONE_INDEX,
            keys::PHONE_PK,
            keys::CLIENT_ID,
            &schema::PHONE_PROJECTION,
        ),
        (
            keys::ENROLLED_INDEX,
            keys::ENROLLED_PK,
            keys::ENROLLED_SK,
            &schema::ENROLLED_PROJECTION,
        ),
    ];
    assert_eq!(indexes.len(), expected.len());
    for (name, pk, sk, projected) in expected {
        let index = indexes
            .iter()
            .find(|i| i["IndexName"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no index {name} in the template"));
        assert_eq!(index["KeySchema"][0]["AttributeName"].as_str(), Some(pk));
        assert_eq!(index["KeySchema"][1]["AttributeName"].as_str(), Some(sk));
        if projected.is_empty() {
            assert_eq!(
                index["Projection"]["ProjectionType"].as_str(),
                Some("KEYS_ONLY"),
                "{name}"
            );
            continue;
        }
        let attributes: BTreeSet<&str> = index["Projection"]["NonKeyAttributes"]
            .as_vec()
            .unwrap()
            .iter()
            .filter_map(Yaml::as_str)
            .collect();
        assert_eq!(attributes, projected.iter().copied().collect(), "{name}");
    }
}

#[test]
fn the_scheduled_functions_run_on_schedules_with_a_dead_letter_queue_and_the_bus_routes_by_channel()
{
    let template = template();
    let resources = &template["Resources"];
    for function in ["DetectLapsesFunction", "EnqueueStepsFunction"] {
        let properties = &resources[function]["Properties"];
        let events = properties["Events"].as_hash().unwrap();
        assert!(
            events
                .values()
                .any(|e| e["Type"].as_str() == Some("Schedule")),
            "{function} runs on an EventBridge schedule (the envelope it reads)"
        );
        assert_eq!(properties["DeadLetterQueue"]["Type"].as_str(), Some("SQS"));
    }
    assert_eq!(
        resources["DeadLetterAlarm"]["Type"].as_str(),
        Some("AWS::CloudWatch::Alarm")
    );
    use shared::domain::channel::Channel;
    for (rule, channel) in [
        ("EmailStepsRule", Channel::Email),
        ("SmsStepsRule", Channel::Sms),
    ] {
        let pattern = &resources[rule]["Properties"]["EventPattern"];
        assert_eq!(
            pattern["detail-type"][0].as_str(),
            Some(shared::ports::StepDue::DETAIL_TYPE)
        );
        assert_eq!(
            pattern["source"][0].as_str(),
            Some(shared::ports::StepDue::SOURCE)
        );
        // The rule matches the channel as the event's detail spells it.
        let spelled = serde_json::to_value(channel).unwrap();
        assert_eq!(pattern["detail"]["channel"][0].as_str(), spelled.as_str());
    }
}

#[test]
fn due_steps_go_to_their_delivery_function_and_failures_to_the_dead_letter_queue() {
    let template = template();
    let resources = &template["Resources"];
    for (rule, function) in [
        ("EmailStepsRule", "SendEmailFunction"),
        ("SmsStepsRule", "SendSmsFunction"),
    ] {
        let target = &resources[rule]["Properties"]["Targets"][0];
        assert_eq!(target["Arn"].as_str().map(resource_of), Some(function));
        assert_eq!(
            target["DeadLetterConfig"]["Arn"].as_str().map(resource_of),
            Some("DeadLetterQueue")
        );
        let invoke = &resources[function]["Properties"]["EventInvokeConfig"];
        assert_eq!(invoke["MaximumRetryAttempts"].as_i64(), Some(2));
        assert_eq!(
            invoke["DestinationConfig"]["OnFailure"]["Destination"]
                .as_str()
                .map(resource_of),
            Some("DeadLetterQueue")
        );
        // The function may be invoked by its rule.
        assert!(resources.as_hash().unwrap().values().any(|r| {
            r["Type"].as_str() == Some("AWS::Lambda::Permission")
                && r["Properties"]["FunctionName"].as_str() == Some(function)
                && r["Properties"]["SourceArn"].as_str().map(resource_of) == Some(rule)
        }));
        let variables = &resources[function]["Properties"]["Environment"]["Variables"];
        for name in [
            "TABLE_NAME",
            "LINK_SIGNING_KEYS",
            "LINKS_BASE_URL",
            "EMAIL_FROM",
        ] {
            assert!(!variables[name].is_badvalue(), "{function} lacks {name}");
        }
    }
    // Bounces and complaints come back through the configuration set to the feedback function.
    let destination = &resources["EmailFeedbackDestination"]["Properties"]["EventDestination"];
    let types: Vec<&str> = destination["MatchingEventTypes"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    assert_eq!(types, ["bounce", "complaint"]);
    let topic = destination["SnsDestination"]["TopicARN"].as_str().unwrap();
    let feedback_topics: BTreeSet<&str> = resources["FeedbackFunction"]["Properties"]["Events"]
        .as_hash()
        .unwrap()
        .values()
        .filter(|e| e["Type"].as_str() == Some("SNS"))
        .filter_map(|e| e["Properties"]["Topic"].as_str())
        .collect();
    assert_eq!(feedback_topics, BTreeSet::from([topic, "InboundSmsTopic"]));
    assert_eq!(
        resources["SendEmailFunction"]["Properties"]["Environment"]["Variables"]
            ["SES_CONFIGURATION_SET"]
            .as_str(),
        Some("EmailConfigurationSet")
    );
}

/// The parameter a `!Ref` names, with its default.
fn parameter_default<'a>(template: &'a Yaml, reference: &Yaml) -> &'a Yaml {
    let name = reference
        .as_str()
        .unwrap_or_else(|| panic!("{reference:?} is not a !Ref to a parameter"));
    let parameter = &template["Parameters"][name];
    assert!(!parameter.is_badvalue(), "no parameter {name}");
    &parameter["Default"]
}

#[test]
fn every_function_logs_to_a_group_with_a_retention_and_the_public_edges_are_throttled() {
    let template = template();
    let resources = template["Resources"].as_hash().unwrap();
    let mut functions = 0;
    for (name, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        functions += 1;
        let name = name.as_str().unwrap();
        let group = resource["Properties"]["LoggingConfig"]["LogGroup"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} names no log group of its own"));
        let group = &template["Resources"][group];
        assert_eq!(
            group["Type"].as_str(),
            Some("AWS::Logs::LogGroup"),
            "{name}"
        );
        let retention = parameter_default(&template, &group["Properties"]["RetentionInDays"]);
        assert!(retention.as_i64().is_some(), "{name}: {retention:?}");
    }
    assert_eq!(functions, 7);

    // The API's default route throttle and the unauthenticated links' concurrency are
    // parameters with defaults.
    let routes = &template["Resources"]["HttpApi"]["Properties"]["DefaultRouteSettings"];
    for limit in ["ThrottlingBurstLimit", "ThrottlingRateLimit"] {
        assert!(
            parameter_default(&template, &routes[limit])
                .as_i64()
                .is_some(),
            "{limit}"
        );
    }
    let links = &template["Resources"]["LinksFunction"]["Properties"];
    assert!(
        parameter_default(&template, &links["ReservedConcurrentExecutions"])
            .as_i64()
            .is_some()
    );
}
