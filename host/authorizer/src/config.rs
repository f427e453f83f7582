//! The authorizer's configuration, read once from the environment at start-up.

use authz_engine::Limits;
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
}

/// Everything the authorizer is configured with.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the policy comes from.
    pub source: PolicySource,
    /// Header holding the caller's identity in REQUEST events.
    pub identity_header: String,
    /// Budgets for each decision.
    pub limits: Limits,
}

/// A configuration problem, reported at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("`{0}` is not set")]
    Missing(&'static str),
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
        Some(value) => value.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            value,
            expected: "a positive whole number",
        }),
    }
}

impl Config {
    /// Reads the configuration through `get` (the process environment in production).
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `AUTHZ_POLICY_FILE` | policy component (`.wasm`) | required |
    /// | `AUTHZ_POLICY_CONFIG_FILE` | its JSON config | required |
    /// | `AUTHZ_IDENTITY_HEADER` | identity header of REQUEST events | `Authorization` |
    /// | `AUTHZ_DECISION_TIMEOUT_MS` | wall-clock budget per decision | 100 |
    /// | `AUTHZ_MEMORY_LIMIT_MB` | memory cap per policy instance | 32 |
    /// | `AUTHZ_MAX_CONCURRENCY` | decisions at once (Lambda runs one) | 4 |
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let module = get("AUTHZ_POLICY_FILE").ok_or(ConfigError::Missing("AUTHZ_POLICY_FILE"))?;
        let config = get("AUTHZ_POLICY_CONFIG_FILE").ok_or(ConfigError::Missing("AUTHZ_POLICY_CONFIG_FILE"))?;
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
        Ok(Config {
            source: PolicySource::File { module: module.into(), config: config.into() },
            identity_header: get("AUTHZ_IDENTITY_HEADER").unwrap_or_else(|| "Authorization".to_owned()),
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
        let c = Config::from_env(env(&[("AUTHZ_POLICY_FILE", "/p.wasm"), ("AUTHZ_POLICY_CONFIG_FILE", "/c.json")])).unwrap();
        assert_eq!(c.identity_header, "Authorization");
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
}
