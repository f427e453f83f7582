//! The policy registry and hot swap.
//!
//! Modules and configs live in S3, content-addressed by SHA-256; versions, the
//! active pointer and the audit log live in DynamoDB (see [`model`]). The CLI
//! publishes, activates and rolls back through [`Registry`]; the authorizer
//! follows the active pointer with a [`PolicyWatcher`]. Versions may be signed
//! with Ed25519 ([`signing`]); an authorizer configured with trusted keys never
//! activates a version they did not sign.
#![deny(missing_docs)]

mod client;
pub mod model;
pub mod signing;
mod watcher;

pub use client::{Fetched, Publication, Registry, RegistryConfig, RegistryError};
pub use watcher::{ActivePolicy, CheckOutcome, PolicyWatcher, WatchConfig};

/// The AWS SDK configuration loader with the timeouts and retries the
/// authorizer and CLI use: a registry or table that does not answer costs at
/// most a few seconds, never the SDK defaults' long waits. Region, credentials
/// and endpoints (`AWS_ENDPOINT_URL`) come from the environment as usual.
pub fn sdk_loader() -> aws_config::ConfigLoader {
    use std::time::Duration;
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(8))
                .build(),
        )
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
}

/// [`sdk_loader`], loaded; `endpoint_url` overrides the environment's endpoint.
pub async fn sdk_config(endpoint_url: Option<&str>) -> aws_config::SdkConfig {
    match endpoint_url {
        Some(url) => sdk_loader().endpoint_url(url).load().await,
        None => sdk_loader().load().await,
    }
}
