//! For `scripts/bench`: creates the registry's bucket and table on the local
//! stack at `AWS_ENDPOINT_URL` and publishes and activates the shipped
//! static-token and JWT policies as `bench-static-token` and `bench-jwt`, so
//! the authorizer's cold start can load them from the registry. Each version
//! carries native code for this machine, signed by a key made for the run and
//! printed as `code key: <base64>` (the authorizer's `AUTHZ_CODE_SIGNING_KEYS`).
#![allow(clippy::print_stdout, missing_docs)]

use authz_engine::{Engine, Limits, host_architecture};
use authz_registry::signing::SigningKeyPair;
use authz_registry::{Publication, Registry, RegistryConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("`{name}` is not set"));
    let sdk = authz_registry::sdk_config(None).await;
    let registry = Registry::new(
        &sdk,
        RegistryConfig { bucket: var("AUTHZ_REGISTRY_BUCKET")?, table: var("AUTHZ_REGISTRY_TABLE")?, path_style: true },
    );
    registry.ensure_storage().await?;
    let engine = Engine::new(Limits::default())?;
    let key = SigningKeyPair::generate()?;
    for (name, module, config) in [
        ("bench-static-token", policy_artifacts::STATIC_TOKEN, "static-token/config.json"),
        ("bench-jwt", policy_artifacts::JWT_POLICY, "jwt/config.json"),
    ] {
        let module = std::fs::read(module)?;
        let config = policy_artifacts::policy_file(config);
        let arch = host_architecture();
        let native = engine.precompile(&module, &config, &[arch])?.remove(0);
        let code = [key.sign_code(name, &module, config.as_bytes(), arch, native)];
        let publication = Publication {
            policy: name,
            module: &module,
            config: config.as_bytes(),
            publisher: "bench",
            signature: None,
            note: None,
            code: &code,
        };
        let version = registry.publish(&publication, true, authz_engine::now_ms()).await?;
        println!("{name}: version {} active", version.version);
    }
    println!("code key: {}", key.public().to_base64());
    Ok(())
}
