//! The last active pointer a registry read confirmed, kept in the
//! compiled-code cache, so that a new process can make its first decision
//! without waiting for the registry.
//!
//! A running watcher serves the version it last confirmed until its next
//! check, up to `check_interval` later. A new process that finds a
//! confirmation younger than its own check interval does the same: its
//! decisions are no staler than a running process's would be, and its first
//! check is due when the interval since that confirmation runs out. Lambda
//! starts every execution environment with an empty `/tmp`, so there it helps
//! a runtime restarted in the same environment (after a crash or a timeout);
//! elsewhere, any process sharing the cache directory.
//!
//! Anything odd about the record (missing, unreadable, another registry's or
//! policy's, confirmed in the future or an interval ago or more) means no
//! lease: the process reads the registry first, as it would without one. A
//! check that finds no active version, or refuses the active one, removes
//! the record; one that cannot reach the registry leaves it to run out.

use crate::client::Registry;
use crate::model::PolicyVersion;
use authz_engine::{CodeCache, sha256_hex};
use std::time::Duration;

/// What the file holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    /// [`Registry::place`]: the file name is a digest, this is the check.
    place: String,
    #[serde(flatten)]
    lease: Lease,
}

/// A version the registry confirmed active less than a check interval ago.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lease {
    /// The version the registry named.
    pub version: PolicyVersion,
    /// When the read that named it started, in ms since the epoch.
    pub confirmed_at_ms: u64,
}

impl Lease {
    /// The lease `cache` holds for `policy` on `registry`, if its
    /// confirmation is less than `interval` before `now_ms`.
    pub fn read(
        cache: &CodeCache,
        registry: &Registry,
        policy: &str,
        interval: Duration,
        now_ms: u64,
    ) -> Option<Lease> {
        let name = file_name(registry.place(), policy);
        let bytes = match cache.read_file(&name) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(error = %e, policy, "cannot read the last confirmed pointer: reading the registry");
                return None;
            }
        };
        let record: Record = match serde_json::from_slice(&bytes) {
            Ok(record) => record,
            Err(e) => {
                tracing::warn!(error = %e, policy, "ignoring a malformed last confirmed pointer");
                return None;
            }
        };
        let Record { place, lease } = record;
        if place != registry.place() || lease.version.policy != policy {
            return None;
        }
        let age = Duration::from_millis(now_ms.checked_sub(lease.confirmed_at_ms)?);
        (age < interval).then_some(lease)
    }
}

/// Records that the registry named `active` as `active.policy`'s version in
/// a read started at `confirmed_at_ms`.
pub(crate) fn confirm(
    cache: &CodeCache,
    registry: &Registry,
    active: &PolicyVersion,
    confirmed_at_ms: u64,
) -> std::io::Result<()> {
    let lease = Lease { version: active.clone(), confirmed_at_ms };
    let record = Record { place: registry.place().to_owned(), lease };
    let bytes = serde_json::to_vec(&record).map_err(std::io::Error::other)?;
    cache.write_file(&file_name(registry.place(), &active.policy), &bytes)
}

/// Removes `policy`'s record: the registry no longer confirms what it names.
pub(crate) fn revoke(cache: &CodeCache, registry: &Registry, policy: &str) -> std::io::Result<()> {
    cache.remove_file(&file_name(registry.place(), policy))
}

fn file_name(place: &str, policy: &str) -> String {
    format!("{}.pointer", sha256_hex(format!("{place}\n{policy}").as_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::client::RegistryConfig;

    fn registry(endpoint: &str) -> Registry {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .build();
        Registry::new(&sdk, RegistryConfig { bucket: "b".to_owned(), table: "t".to_owned(), path_style: true })
    }

    fn version(policy: &str) -> PolicyVersion {
        PolicyVersion {
            policy: policy.to_owned(),
            version: 3,
            module_sha256: "m".repeat(64),
            config_sha256: "c".repeat(64),
            module_key: "modules/m.wasm".to_owned(),
            config_key: "configs/c.json".to_owned(),
            publisher: "test".to_owned(),
            published_at_ms: 1,
            signature: None,
            key_id: None,
            note: None,
            code: vec![],
        }
    }

    /// Only a record confirmed in `[now - interval, now]` for this very
    /// registry and policy is a lease; a malformed one is none.
    #[test]
    fn a_lease_is_a_confirmation_younger_than_the_interval_of_this_registry_and_policy() {
        let dir = std::env::temp_dir().join(format!("authz-lease-unit-{}", std::process::id()));
        let cache = CodeCache::new(&dir).unwrap();
        let (here, there) = (registry("http://127.0.0.1:1"), registry("http://127.0.0.1:2"));
        let interval = Duration::from_secs(30);
        let at = 1_000_000;
        confirm(&cache, &here, &version("p"), at).unwrap();
        let read =
            |registry: &Registry, policy: &str, now_ms: u64| Lease::read(&cache, registry, policy, interval, now_ms);

        let lease = Lease { version: version("p"), confirmed_at_ms: at };
        assert_eq!(read(&here, "p", at), Some(lease.clone()));
        assert_eq!(read(&here, "p", at + 29_999), Some(lease));
        assert_eq!(read(&here, "p", at + 30_000), None, "an interval old");
        assert_eq!(read(&here, "p", at - 1), None, "confirmed in the future: the clock moved back");
        assert_eq!(read(&there, "p", at), None, "another registry");
        assert_eq!(read(&here, "q", at), None, "another policy");

        // A record filed under another policy's name is still that policy's.
        let name = |policy| file_name(here.place(), policy);
        std::fs::copy(dir.join(name("p")), dir.join(name("q"))).unwrap();
        assert_eq!(read(&here, "q", at), None);

        std::fs::write(dir.join(name("p")), b"{\"place\":").unwrap();
        assert_eq!(read(&here, "p", at), None, "malformed");
        revoke(&cache, &here, "p").unwrap();
        revoke(&cache, &here, "p").unwrap();
        assert!(!dir.join(name("p")).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
