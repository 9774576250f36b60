//! SMS through SNS: promotional type, E.164 numbers only, the business's sender id or
//! origination number, and SNS's own opted-out list checked before each send.

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::SdkError;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::domain::contact::PhoneNumber;
use crate::ports::{OutgoingSms, SendError, SmsSender};

pub struct SnsSender {
    client: Client,
}

impl SnsSender {
    pub fn new(client: Client) -> SnsSender {
        SnsSender { client }
    }
}

fn attribute(value: &str) -> Result<MessageAttributeValue, SendError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| SendError::Unavailable(Box::new(e)))
}

fn unavailable<E, R>(error: SdkError<E, R>) -> SendError
where
    E: aws_sdk_sns::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = error
        .as_service_error()
        .and_then(|e| e.code())
        .unwrap_or("");
    if matches!(
        code,
        "InvalidParameter" | "InvalidParameterValue" | "OptedOut"
    ) {
        SendError::Refused(code.to_owned())
    } else {
        SendError::Unavailable(Box::new(error))
    }
}

#[async_trait]
impl SmsSender for SnsSender {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<String, SendError> {
        // SNS (and local emulators) take more than E.164; winback sends nothing else.
        let number = PhoneNumber::parse(&sms.to)
            .map_err(|e| SendError::Refused(format!("not an E.164 number: {e}")))?;
        let opted_out = self
            .client
            .check_if_phone_number_is_opted_out()
            .phone_number(number.as_str())
            .send()
            .await
            .map_err(unavailable)?
            .is_opted_out;
        if opted_out {
            return Err(SendError::Refused("the number opted out of SMS".into()));
        }
        let mut request = self
            .client
            .publish()
            .phone_number(number.as_str())
            .message(&sms.text)
            .message_attributes("AWS.SNS.SMS.SMSType", attribute("Promotional")?);
        if sms.sender.starts_with('+') {
            request =
                request.message_attributes("AWS.MM.SMS.OriginationNumber", attribute(&sms.sender)?);
        } else if !sms.sender.is_empty() {
            request = request.message_attributes("AWS.SNS.SMS.SenderID", attribute(&sms.sender)?);
        }
        let output = request.send().await.map_err(unavailable)?;
        Ok(output.message_id.unwrap_or_default())
    }
}
