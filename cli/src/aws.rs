//! Where the AWS-backed commands reach AWS: real AWS by default, or a local
//! stack (moto, `authz dev`) with `--endpoint-url` / `AWS_ENDPOINT_URL`.

use crate::error::{CliError, bad_input};
use authz_registry::{Registry, RegistryConfig, RegistryError};
use clap::Args;

/// AWS connection options shared by every AWS-backed command.
#[derive(Args, Clone, Debug)]
pub struct AwsArgs {
    /// Endpoint of every AWS service (a local stack); real AWS when unset.
    #[arg(long, env = "AWS_ENDPOINT_URL", global = true)]
    pub endpoint_url: Option<String>,
}

/// Where the policy registry lives.
#[derive(Args, Clone, Debug)]
pub struct RegistryArgs {
    /// S3 bucket holding policy modules and configs.
    #[arg(long, env = "AUTHZ_REGISTRY_BUCKET")]
    pub bucket: String,
    /// DynamoDB table holding versions, active pointers and the audit log.
    #[arg(long, env = "AUTHZ_REGISTRY_TABLE")]
    pub table: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Runs an async command body on a small runtime.
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, CliError> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| CliError::Failed(e.into()))?;
    Ok(runtime.block_on(future))
}

fn is_loopback(url: &str) -> bool {
    let host = url.split("://").nth(1).unwrap_or(url);
    ["127.0.0.1", "localhost", "[::1]"].iter().any(|h| host.starts_with(h))
}

impl AwsArgs {
    /// The SDK configuration (bounded timeouts and retries). A loopback
    /// endpoint without credentials in the environment gets throwaway ones:
    /// local stacks accept any, and nothing real can be reached with them.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = authz_registry::sdk_loader_for(self.endpoint_url.as_deref());
        if let Some(url) = &self.endpoint_url
            && is_loopback(url)
            && std::env::var_os("AWS_ACCESS_KEY_ID").is_none()
            && std::env::var_os("AWS_PROFILE").is_none()
        {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                "local",
                "local",
                None,
                None,
                "authz-local",
            ));
            if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
                loader = loader.region(aws_config::Region::new("us-east-1"));
            }
        }
        loader.load().await
    }
}

impl RegistryArgs {
    /// The registry client.
    pub async fn registry(&self) -> Registry {
        let sdk = self.aws.sdk_config().await;
        let config = RegistryConfig {
            bucket: self.bucket.clone(),
            table: self.table.clone(),
            // Local stacks serve buckets by path, not by virtual host.
            path_style: self.aws.endpoint_url.is_some(),
        };
        Registry::new(&sdk, config)
    }
}

/// Maps registry errors: a wrong name or version is the user's input (exit 2),
/// conflicts and AWS failures are failures (exit 1).
pub fn registry_error(e: RegistryError) -> CliError {
    match e {
        RegistryError::NoSuchVersion { .. } | RegistryError::NoActive(_) | RegistryError::NoPrevious(_) => {
            bad_input(e.to_string())
        }
        other => CliError::Failed(other.into()),
    }
}
