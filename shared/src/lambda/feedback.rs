//! The feedback function's input: SNS deliveries (`Records[].Sns.Message`) of SES events
//! (a configuration set's bounce and complaint events, or an identity's notifications) and of
//! inbound SMS (two-way SMS publishes each reply to a topic). Read into the use case's terms.
//! An event that is not an SNS delivery is poison; a message this function does not act on is
//! a [`Notice::Other`], logged and passed over.

use aws_lambda_events::sns::SnsEvent;
use serde_json::Value;

use crate::app::feedback::{Feedback, FeedbackError};
use crate::lambda::HandlerError;

use crate::app::feedback::{InboundSms, MailFeedback, MailProblem};
use crate::domain::contact::{EmailAddress, PhoneNumber};
use crate::domain::ids::{ClientId, TenantId};

/// One notification, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Mail(MailFeedback),
    Sms(InboundSms),
    /// Something this function does not act on, and why (logged, never an error: SNS would
    /// only deliver it again).
    Other(String),
}

/// Acts on every notice of one SNS event, in order: what each came to.
pub async fn handle(feedback: &Feedback, payload: &Value) -> Result<Value, HandlerError> {
    let failed = |error: FeedbackError| {
        let retryable = error.is_retryable();
        HandlerError::classified(error, retryable)
    };
    let mut handled = Vec::new();
    for notice in notices(payload)? {
        let result = match &notice {
            Notice::Mail(mail) => feedback.mail(mail).await.map_err(failed)?,
            Notice::Sms(sms) => feedback.sms(sms).await.map_err(failed)?,
            Notice::Other(what) => {
                tracing::info!(notice = %what, "nothing to do");
                continue;
            }
        };
        handled.push(result);
    }
    Ok(serde_json::json!({ "handled": handled }))
}

/// The notices in one SNS event, in order.
pub fn notices(payload: &Value) -> Result<Vec<Notice>, HandlerError> {
    let event: SnsEvent = serde_json::from_value(payload.clone()).map_err(|e| {
        HandlerError::poison(format!(
            "not an SNS event ({e}); this function takes the email-events and inbound-SMS topics"
        ))
    })?;
    Ok(event
        .records
        .iter()
        .flat_map(
            |record| match serde_json::from_str::<Value>(&record.sns.message) {
                Ok(message) => notice(&message),
                Err(_) => vec![Notice::Other("an SNS message that is not JSON".into())],
            },
        )
        .collect())
}

fn notice(message: &Value) -> Vec<Notice> {
    if message.get("originationNumber").is_some() {
        return vec![inbound_sms(message)];
    }
    let kind = message
        .get("eventType")
        .or_else(|| message.get("notificationType"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "Bounce" => mail(message, "bounce", "bouncedRecipients"),
        "Complaint" => mail(message, "complaint", "complainedRecipients"),
        other => vec![Notice::Other(format!("an SES {other:?} event"))],
    }
}

fn inbound_sms(message: &Value) -> Notice {
    let text = |name: &str| {
        message
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match PhoneNumber::parse(&text("originationNumber")) {
        Ok(from) => Notice::Sms(InboundSms {
            from,
            to: text("destinationNumber"),
            body: text("messageBody"),
        }),
        Err(e) => Notice::Other(format!("an SMS from a number that is not E.164: {e}")),
    }
}

fn mail(message: &Value, section: &str, recipients: &str) -> Vec<Notice> {
    let tag = |name: &str| {
        message
            .pointer(&format!("/mail/tags/{name}/0"))
            .and_then(Value::as_str)
    };
    let Some(tenant) = tag("tenant").and_then(|t| TenantId::parse(t).ok()) else {
        return vec![Notice::Other(
            "an SES event for a message without a tenant tag (not sent by winback)".into(),
        )];
    };
    let client = tag("client").and_then(|c| ClientId::parse(c).ok());
    let details = &message[section];
    let problem = match section {
        "complaint" => MailProblem::Complaint,
        _ if details["bounceType"] == "Permanent" => MailProblem::PermanentBounce,
        _ => MailProblem::TransientBounce,
    };
    let detail = match problem {
        MailProblem::Complaint => format!(
            "complaint: {}",
            details["complaintFeedbackType"].as_str().unwrap_or("abuse")
        ),
        _ => format!(
            "{} bounce ({})",
            details["bounceType"].as_str().unwrap_or("unknown"),
            details["bounceSubType"].as_str().unwrap_or("unknown")
        ),
    };
    details[recipients]
        .as_array()
        .into_iter()
        .flatten()
        .map(|recipient| {
            let address = recipient["emailAddress"].as_str().unwrap_or_default();
            let diagnostic = recipient["diagnosticCode"].as_str();
            match EmailAddress::parse(address) {
                Ok(address) => Notice::Mail(MailFeedback {
                    tenant: tenant.clone(),
                    client: client.clone(),
                    address,
                    problem,
                    detail: match diagnostic {
                        Some(code) => format!("{detail}: {code}"),
                        None => detail.clone(),
                    },
                }),
                Err(_) => Notice::Other("a bounce for an address that is not one".into()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An SNS delivery of `message`, as Lambda receives it.
    fn sns(message: Value) -> Value {
        json!({"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:Topic:subscription",
            "Sns": {
                "Type": "Notification",
                "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:Topic",
                "Timestamp": "2026-06-01T10:00:00.000Z",
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/unsubscribe",
                "Message": message.to_string(),
                "MessageAttributes": {}
            }
        }]})
    }

    #[test]
    fn a_permanent_bounce_names_the_tenant_the_client_and_the_address() {
        let event = sns(json!({
            "eventType": "Bounce",
            "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": "ana@example.com",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]},
            "mail": {"tags": {"tenant": ["salon"], "client": ["c-1"]}}
        }));
        let notices = notices(&event).unwrap();
        let [Notice::Mail(mail)] = notices.as_slice() else {
            panic!("{notices:?}")
        };
        assert_eq!(mail.tenant.as_str(), "salon");
        assert_eq!(mail.client.as_ref().map(|c| c.as_str()), Some("c-1"));
        assert_eq!(mail.address.as_str(), "ana@example.com");
        assert_eq!(mail.problem, MailProblem::PermanentBounce);
        assert!(mail.detail.contains("550 5.1.1"), "{}", mail.detail);
    }

    #[test]
    fn complaints_transient_bounces_and_identity_notifications_are_told_apart() {
        let complaint = sns(json!({
            "notificationType": "Complaint",
            "complaint": {"complainedRecipients": [{"emailAddress": "bo@example.com"}],
                "complaintFeedbackType": "abuse"},
            "mail": {"tags": {"tenant": ["salon"]}}
        }));
        let found = notices(&complaint).unwrap();
        let [Notice::Mail(mail)] = found.as_slice() else {
            panic!()
        };
        assert_eq!(mail.problem, MailProblem::Complaint);
        assert_eq!(mail.client, None);
        let transient = sns(json!({
            "eventType": "Bounce",
            "bounce": {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "c@example.com"}]},
            "mail": {"tags": {"tenant": ["salon"]}}
        }));
        let found = notices(&transient).unwrap();
        let [Notice::Mail(mail)] = found.as_slice() else {
            panic!()
        };
        assert_eq!(mail.problem, MailProblem::TransientBounce);
        let untagged = sns(json!({"eventType": "Bounce", "bounce": {}, "mail": {}}));
        assert!(matches!(notices(&untagged).unwrap()[0], Notice::Other(_)));
    }

    #[test]
    fn an_inbound_sms_is_read_from_its_two_way_message() {
        let event = sns(json!({
            "originationNumber": "+447700900123",
            "destinationNumber": "+447700900999",
            "messageKeyword": "KEYWORD_123456789012",
            "messageBody": "Stop",
            "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84"
        }));
        let found = notices(&event).unwrap();
        let [Notice::Sms(sms)] = found.as_slice() else {
            panic!()
        };
        assert_eq!(sms.from.as_str(), "+447700900123");
        assert_eq!(sms.to, "+447700900999");
        assert_eq!(sms.body, "Stop");
        // Not an SNS delivery at all: poison, never retried.
        assert!(!notices(&json!({"not": "sns"})).unwrap_err().is_retryable());
        assert!(!notices(&json!("text")).unwrap_err().is_retryable());
    }
}
