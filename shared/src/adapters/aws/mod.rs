//! The AWS adapters (the `aws` feature): one folder or file per service.

pub mod dynamo;
pub mod env;
pub mod eventbridge;
pub mod ses;
pub mod sns;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_smithy_http_client::tls::Provider;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;

/// The HTTPS client every AWS client uses: hyper and rustls with ring.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The JSON log lines every function writes: one object per line, no ANSI, no timestamps
/// (CloudWatch adds them).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .init();
}

/// Timeouts short enough that a stuck call fails inside a function's own time limit.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(15))
        .build()
}

/// The SDK configuration of a command run by a person (`winback tenant ... --dynamodb-table`):
/// region, credentials and endpoint found the way the AWS CLI finds them (environment, profile
/// files, SSO, an instance role, ...).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeouts())
        .load()
        .await
}

/// The SDK configuration of a function on Lambda, from what Lambda sets on every function: the
/// region (`AWS_REGION`) and the execution role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`); `AWS_ENDPOINT_URL` when set (an emulator).
/// It reads no profile file and knows no other credential source, so the functions carry none
/// of their code (a third of a megabyte, the STS client among it).
pub fn function_sdk_config() -> Result<aws_config::SdkConfig, env::MissingSetting> {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_sdk_dynamodb::config::SharedCredentialsProvider;
    let region = env::required("AWS_REGION")?;
    let mut config = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(https_client())
        .timeout_config(timeouts());
    if let Some(url) = env::optional("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(url);
    }
    Ok(config.build())
}
