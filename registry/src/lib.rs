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

pub use client::{
    Fetched, FetchedCode, MAX_OBJECT_BYTES, Publication, Registry, RegistryConfig, RegistryError, check_size,
};
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

/// [`sdk_loader`] with an endpoint override (a local stack), if any.
///
/// A plain `http://` endpoint gets an HTTP client with no trusted CA roots:
/// it never reads the system's certificates, which costs 1.5-4 ms of every
/// cold start, and it cannot make an `https://` connection succeed: an
/// endpoint that turns out to need TLS fails (closed), with the TLS error in
/// the log, rather than trusting anything.
pub fn sdk_loader_for(endpoint_url: Option<&str>) -> aws_config::ConfigLoader {
    use aws_smithy_http_client::tls;
    let loader = sdk_loader();
    match endpoint_url {
        None => loader,
        Some(url) if url.get(..7).is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://")) => {
            let loader = loader.endpoint_url(url);
            match tls::TlsContext::builder().with_trust_store(tls::TrustStore::empty()).build() {
                Ok(no_roots) => loader.http_client(
                    aws_smithy_http_client::Builder::new()
                        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
                        .tls_context(no_roots)
                        .build_https(),
                ),
                // The SDK's own client: slower to start, otherwise the same.
                Err(_) => loader,
            }
        }
        Some(url) => loader.endpoint_url(url),
    }
}

/// [`sdk_loader_for`], loaded.
pub async fn sdk_config(endpoint_url: Option<&str>) -> aws_config::SdkConfig {
    sdk_loader_for(endpoint_url).load().await
}
