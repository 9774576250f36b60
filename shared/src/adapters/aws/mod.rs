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

/// The one SDK configuration a process builds at start: region, credentials and endpoint from
/// the environment (`AWS_ENDPOINT_URL` points it at an emulator), with explicit timeouts so a
/// stuck call fails inside the function's own time limit.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(15))
                .build(),
        )
        .load()
        .await
}
