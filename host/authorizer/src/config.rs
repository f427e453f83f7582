//! The authorizer's configuration, read once from the environment at start-up.

use authz_engine::{Limits, ResponseFormat, Settings};
use authz_registry::signing::TrustedKey;
use std::path::PathBuf;
use std::time::Duration;

/// Where the policy comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicySource {
    /// A component and its config on the filesystem (e.g. packaged with the function).
    File {
        /// The `.wasm` component.
        module: PathBuf,
        /// Its JSON configuration document.
        config: PathBuf,
    },
    /// The active version of a policy in the registry, followed without redeploying.
    Registry(RegistrySource),
}

/// How the authorizer follows a policy in the registry.
#[derive(Clone, Debug, PartialEq)]
pub struct RegistrySource {
    /// S3 bucket of modules and configs.
    pub bucket: String,
    /// DynamoDB table of versions and active pointers.
    pub table: String,
    /// Policy name.
    pub policy: String,
    /// Minimum time between two reads of the active pointer.
    pub check_interval: Duration,
    /// Only versions signed by one of these are activated (when non-empty).
    pub trusted_keys: Vec<TrustedKey>,
    /// Native code compiled at publish is loaded only when one of these signed it.
    pub code_keys: Vec<TrustedKey>,
    /// Where compiled code is cached (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
    /// Path-style S3 addressing (local stand-ins).
    pub path_style: bool,
    /// The AWS endpoint of every service (`AWS_ENDPOINT_URL`: a local stack).
    pub endpoint_url: Option<String>,
}

/// Everything the authorizer is configured with.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the policy comes from.
    pub source: PolicySource,
    /// The identity header and the HTTP API 2.0 response format.
    pub settings: Settings,
    /// Budgets for each decision.
    pub limits: Limits,
}

/// A configuration problem, reported at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("`{0}` is not set")]
    Missing(&'static str),
    /// Two variables that exclude each other are both set.
    #[error("both `{0}` and `{1}` are set: choose a policy file or a registry policy")]
    Conflicting(&'static str, &'static str),
    /// A variable does not parse.
    #[error("`{name}` is `{value}`, expected {expected}")]
    Invalid {
        /// Variable name.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
}

fn number<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(value) => {
            value.trim().parse().map_err(|_| ConfigError::Invalid { name, value, expected: "a positive whole number" })
        }
    }
}

/// A comma-separated list of base64 Ed25519 public keys (empty when unset).
fn keys(get: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<Vec<TrustedKey>, ConfigError> {
    get(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| {
            TrustedKey::parse(k).map_err(|_| ConfigError::Invalid {
                name,
                value: k.to_owned(),
                expected: "base64 Ed25519 public keys separated by commas",
            })
        })
        .collect()
}

fn registry_source(get: &impl Fn(&str) -> Option<String>, policy: String) -> Result<RegistrySource, ConfigError> {
    let required = |name: &'static str| get(name).filter(|v| !v.is_empty()).ok_or(ConfigError::Missing(name));
    let trusted_keys = keys(get, "AUTHZ_TRUSTED_KEYS")?;
    let code_keys = keys(get, "AUTHZ_CODE_SIGNING_KEYS")?;
    let cache_dir = match get("AUTHZ_CODE_CACHE_DIR") {
        Some(dir) if dir == "off" => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => Some(PathBuf::from("/tmp/authz-code-cache")),
    };
    let endpoint_url = get("AWS_ENDPOINT_URL");
    let path_style = match get("AUTHZ_S3_PATH_STYLE") {
        Some(v) => v.parse().map_err(|_| ConfigError::Invalid {
            name: "AUTHZ_S3_PATH_STYLE",
            value: v,
            expected: "true or false",
        })?,
        None => endpoint_url.is_some(),
    };
    Ok(RegistrySource {
        bucket: required("AUTHZ_REGISTRY_BUCKET")?,
        table: required("AUTHZ_REGISTRY_TABLE")?,
        policy,
        check_interval: Duration::from_secs(number(get, "AUTHZ_CHECK_INTERVAL_SECS", 30)?),
        trusted_keys,
        code_keys,
        cache_dir,
        path_style,
        endpoint_url,
    })
}

impl Config {
    /// Reads the configuration through `get` (the process environment in production).
    ///
    /// The policy comes from the registry when `AUTHZ_POLICY_NAME` is set,
    /// else from files.
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `AUTHZ_POLICY_FILE` | policy component (`.wasm`) | required for files |
    /// | `AUTHZ_POLICY_CONFIG_FILE` | its JSON config | required for files |
    /// | `AUTHZ_POLICY_NAME` | policy name in the registry | - |
    /// | `AUTHZ_REGISTRY_BUCKET` | registry S3 bucket | required for the registry |
    /// | `AUTHZ_REGISTRY_TABLE` | registry DynamoDB table | required for the registry |
    /// | `AUTHZ_CHECK_INTERVAL_SECS` | seconds between checks of the active version; also the age under which a new process starts from the pointer the last check confirmed (kept in the code cache) instead of reading the registry first | 30 |
    /// | `AUTHZ_TRUSTED_KEYS` | comma-separated base64 Ed25519 public keys | none (no signature required) |
    /// | `AUTHZ_CODE_SIGNING_KEYS` | keys trusted to sign native code compiled at publish (whoever holds one runs code outside the sandbox) | none (every version is compiled here) |
    /// | `AUTHZ_CODE_CACHE_DIR` | compiled-code cache and last confirmed pointers, `off` to disable | `/tmp/authz-code-cache` |
    /// | `AUTHZ_S3_PATH_STYLE` | path-style S3 URLs | `true` when `AWS_ENDPOINT_URL` is set |
    /// | `AWS_ENDPOINT_URL` | one endpoint for S3 and DynamoDB (a local stack; `http://` skips loading CA certificates) | the AWS endpoints |
    /// | `AUTHZ_IDENTITY_HEADER` | identity header of every event but TOKEN | `Authorization` |
    /// | `AUTHZ_RESPONSE_FORMAT` | HTTP API 2.0 answers: `iam`, or `simple` when the authorizer has `EnableSimpleResponses` | `iam` |
    /// | `AUTHZ_DECISION_TIMEOUT_MS` | wall-clock budget per decision | 100 |
    /// | `AUTHZ_MEMORY_LIMIT_MB` | memory cap per policy instance | 32 |
    /// | `AUTHZ_MAX_CONCURRENCY` | decisions at once (Lambda runs one) | 4 |
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let source = match get("AUTHZ_POLICY_NAME") {
            Some(_) if get("AUTHZ_POLICY_FILE").is_some() => {
                return Err(ConfigError::Conflicting("AUTHZ_POLICY_NAME", "AUTHZ_POLICY_FILE"));
            }
            Some(policy) => PolicySource::Registry(registry_source(&get, policy)?),
            None => PolicySource::File {
                module: get("AUTHZ_POLICY_FILE").ok_or(ConfigError::Missing("AUTHZ_POLICY_FILE"))?.into(),
                config: get("AUTHZ_POLICY_CONFIG_FILE").ok_or(ConfigError::Missing("AUTHZ_POLICY_CONFIG_FILE"))?.into(),
            },
        };
        let timeout_ms: u64 = number(&get, "AUTHZ_DECISION_TIMEOUT_MS", 100)?;
        let memory_mb: usize = number(&get, "AUTHZ_MEMORY_LIMIT_MB", 32)?;
        let concurrency: u32 = number(&get, "AUTHZ_MAX_CONCURRENCY", 4)?;
        if timeout_ms == 0 || memory_mb == 0 || concurrency == 0 {
            return Err(ConfigError::Invalid {
                name: "AUTHZ_DECISION_TIMEOUT_MS/AUTHZ_MEMORY_LIMIT_MB/AUTHZ_MAX_CONCURRENCY",
                value: "0".to_owned(),
                expected: "a positive whole number",
            });
        }
        let response_format = match get("AUTHZ_RESPONSE_FORMAT") {
            None => ResponseFormat::default(),
            Some(value) => value.parse().map_err(|_| ConfigError::Invalid {
                name: "AUTHZ_RESPONSE_FORMAT",
                value,
                expected: "`iam` or `simple`",
            })?,
        };
        Ok(Config {
            source,
            settings: Settings {
                identity_header: get("AUTHZ_IDENTITY_HEADER").unwrap_or_else(|| "Authorization".to_owned()),
                response_format,
            },
            limits: Limits {
                decision_timeout: Duration::from_millis(timeout_ms),
                max_memory_bytes: memory_mb << 20,
                max_concurrent_decisions: concurrency,
                ..Limits::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_apply() {
        let c = Config::from_env(env(&[("AUTHZ_POLICY_FILE", "/p.wasm"), ("AUTHZ_POLICY_CONFIG_FILE", "/c.json")]))
            .unwrap();
        assert_eq!(c.settings.identity_header, "Authorization");
        assert_eq!(c.settings.response_format, ResponseFormat::Iam);
        assert_eq!(c.limits.decision_timeout, Duration::from_millis(100));
        assert_eq!(c.limits.max_memory_bytes, 32 << 20);
        assert_eq!(c.source, PolicySource::File { module: "/p.wasm".into(), config: "/c.json".into() });
    }

    #[test]
    fn bad_values_are_reported_by_name() {
        let e = Config::from_env(env(&[
            ("AUTHZ_POLICY_FILE", "/p.wasm"),
            ("AUTHZ_POLICY_CONFIG_FILE", "/c.json"),
            ("AUTHZ_DECISION_TIMEOUT_MS", "fast"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("AUTHZ_DECISION_TIMEOUT_MS"), "{e}");
        assert!(matches!(Config::from_env(env(&[])), Err(ConfigError::Missing("AUTHZ_POLICY_FILE"))));
    }

    #[test]
    fn the_http_api_response_format_is_configurable() {
        let files = [("AUTHZ_POLICY_FILE", "/p.wasm"), ("AUTHZ_POLICY_CONFIG_FILE", "/c.json")];
        let with = |format: &str| Config::from_env(env(&[files[0], files[1], ("AUTHZ_RESPONSE_FORMAT", format)]));
        assert_eq!(with("simple").unwrap().settings.response_format, ResponseFormat::Simple);
        assert_eq!(with("IAM").unwrap().settings.response_format, ResponseFormat::Iam);
        let e = with("bool").unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { name: "AUTHZ_RESPONSE_FORMAT", .. }), "{e}");
        assert_eq!(e.to_string(), "`AUTHZ_RESPONSE_FORMAT` is `bool`, expected `iam` or `simple`");
    }

    #[test]
    fn a_policy_name_selects_the_registry() {
        let key = authz_registry::signing::SigningKeyPair::generate().unwrap().public();
        let keys = format!("{}, {}", key.to_base64(), key.to_base64());
        let code_key = authz_registry::signing::SigningKeyPair::generate().unwrap().public();
        let c = Config::from_env(env(&[
            ("AUTHZ_POLICY_NAME", "notes"),
            ("AUTHZ_REGISTRY_BUCKET", "b"),
            ("AUTHZ_REGISTRY_TABLE", "t"),
            ("AUTHZ_CHECK_INTERVAL_SECS", "5"),
            ("AUTHZ_TRUSTED_KEYS", &keys),
            ("AUTHZ_CODE_SIGNING_KEYS", &code_key.to_base64()),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]))
        .unwrap();
        let PolicySource::Registry(r) = c.source else { panic!("expected the registry") };
        assert_eq!((r.bucket.as_str(), r.table.as_str(), r.policy.as_str()), ("b", "t", "notes"));
        assert_eq!(r.check_interval, Duration::from_secs(5));
        assert_eq!(r.trusted_keys, vec![key.clone(), key]);
        assert_eq!(r.code_keys, vec![code_key]);
        assert_eq!(r.cache_dir, Some(PathBuf::from("/tmp/authz-code-cache")));
        assert!(r.path_style);
        assert_eq!(r.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));

        let missing = Config::from_env(env(&[("AUTHZ_POLICY_NAME", "notes"), ("AUTHZ_REGISTRY_BUCKET", "b")]));
        assert!(matches!(missing, Err(ConfigError::Missing("AUTHZ_REGISTRY_TABLE"))));
        for keys in ["AUTHZ_TRUSTED_KEYS", "AUTHZ_CODE_SIGNING_KEYS"] {
            let bad_key = Config::from_env(env(&[
                ("AUTHZ_POLICY_NAME", "notes"),
                ("AUTHZ_REGISTRY_BUCKET", "b"),
                ("AUTHZ_REGISTRY_TABLE", "t"),
                (keys, "c2hvcnQ="),
            ]));
            assert!(matches!(bad_key, Err(ConfigError::Invalid { name, .. }) if name == keys), "{keys}");
        }
        let both = Config::from_env(env(&[("AUTHZ_POLICY_NAME", "notes"), ("AUTHZ_POLICY_FILE", "/p.wasm")]));
        assert!(matches!(both, Err(ConfigError::Conflicting(..))));
    }
}
