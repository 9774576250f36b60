//! The AWS adapters (the `aws` feature): one folder or file per service.

pub mod dynamo;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;

/// The one SDK configuration a process builds at start: region, credentials and endpoint from
/// the environment (`AWS_ENDPOINT_URL` points it at an emulator), with explicit timeouts so a
/// stuck call fails inside the function's own time limit.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
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
