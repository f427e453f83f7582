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
mod lease;
pub mod model;
pub mod signing;
mod watcher;

use std::time::Duration;

pub use client::{
    Fetched, FetchedCode, MAX_OBJECT_BYTES, Publication, Registry, RegistryConfig, RegistryError, check_size,
};
pub use lease::Lease;
pub use watcher::{ActivePolicy, CheckOutcome, PolicyWatcher, WatchConfig};

/// The AWS SDK configuration loader with the timeouts and retries the
/// authorizer and CLI use: a registry or table that does not answer costs at
/// most a few seconds, never the SDK defaults' long waits. Region, credentials
/// and endpoints (`AWS_ENDPOINT_URL`) come from the environment as usual.
pub fn sdk_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts(ATTEMPT))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
}

/// How long one attempt of a request may take: the authorizer's reads are
/// small, so an attempt that takes longer is a registry that is not answering.
const ATTEMPT: Duration = Duration::from_secs(3);

/// An upload is allowed to run this slowly (2 Mbit/s) before it counts as
/// stalled: a publisher's uplink sending a policy's compiled code (about 3 MB
/// for the JWT policy) needs longer than [`ATTEMPT`].
const SLOWEST_UPLOAD_BYTES_PER_SEC: u64 = 256 << 10;

/// The timeouts for an attempt of `attempt`, retried once.
fn timeouts(attempt: Duration) -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(attempt)
        .operation_timeout(attempt * 2 + Duration::from_secs(2))
        .build()
}

/// The timeouts for uploading `len` bytes: [`ATTEMPT`] plus the time the
/// bytes take at the slowest upload speed allowed.
fn upload_timeouts(len: usize) -> aws_config::timeout::TimeoutConfig {
    let len = u64::try_from(len).unwrap_or(u64::MAX);
    timeouts(ATTEMPT + Duration::from_millis(len.saturating_mul(1000) / SLOWEST_UPLOAD_BYTES_PER_SEC))
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
