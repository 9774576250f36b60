//! Email through SES v2, as Raw MIME (so `List-Unsubscribe` and `List-Unsubscribe-Post` reach
//! the inbox), in the stack's configuration set (bounce and complaint events), tagged with
//! tenant, sequence and step.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};

use crate::adapters::mime::email_bytes;
use crate::ports::{EmailSender, OutgoingEmail, SendError};

pub struct SesSender {
    client: Client,
    configuration_set: Option<String>,
}

impl SesSender {
    pub fn new(client: Client, configuration_set: Option<String>) -> SesSender {
        SesSender {
            client,
            configuration_set,
        }
    }
}

#[async_trait]
impl EmailSender for SesSender {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<String, SendError> {
        let local_id = format!("{}@winback", jiff::Timestamp::now().as_nanosecond());
        let bytes = email_bytes(email, &local_id)?;
        let build = |e: aws_sdk_sesv2::error::BuildError| SendError::Unavailable(Box::new(e));
        let mut request = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(
                EmailContent::builder()
                    .raw(
                        RawMessage::builder()
                            .data(Blob::new(bytes))
                            .build()
                            .map_err(build)?,
                    )
                    .build(),
            )
            .set_configuration_set_name(self.configuration_set.clone());
        for (name, value) in &email.tags {
            request = request.email_tags(
                MessageTag::builder()
                    .name(name)
                    .value(value)
                    .build()
                    .map_err(build)?,
            );
        }
        match request.send().await {
            Ok(output) => Ok(output.message_id.unwrap_or(local_id)),
            Err(error) => Err(classify(error)),
        }
    }
}

/// Throttling, limits, 5xx and network trouble are worth retrying; anything else SES says
/// about this message (rejected, an unverified sender, a bad address) is final.
fn classify<E>(error: SdkError<E, HttpResponse>) -> SendError
where
    E: aws_sdk_sesv2::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = error
        .as_service_error()
        .and_then(|e| e.code())
        .unwrap_or("");
    let retry = matches!(
        error,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    ) || matches!(
        code,
        "TooManyRequestsException"
            | "LimitExceededException"
            | "InternalFailure"
            | "ServiceUnavailable"
    ) || error
        .raw_response()
        .is_some_and(|r| r.status().is_server_error());
    if retry {
        SendError::Unavailable(Box::new(error))
    } else {
        let message = error
            .as_service_error()
            .and_then(|e| e.message())
            .unwrap_or(code)
            .to_owned();
        SendError::Refused(format!("{code}: {message}"))
    }
}
