//! Which versions of the `authz:policy` contract this host runs.
//!
//! A component names the contract's package version in its exports and
//! imports (`authz:policy/policy@0.1.0`). The rule is semver's, as wasmtime
//! applies it when linking: same major version, or before 1.0 the same minor
//! version. A module built against another version is rejected by name, with
//! both versions in the message, before any type is compared.

use crate::bindings::CONTRACT_VERSION;

/// The contract's WIT package name.
pub const PACKAGE: &str = "authz:policy";

/// `(major, minor, patch)`, pre-release and build metadata ignored.
fn parse(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

/// Whether a component built against `version` runs on this host.
pub fn is_compatible(version: &str) -> bool {
    let (Some(found), Some(host)) = (parse(version), parse(CONTRACT_VERSION)) else {
        return false;
    };
    match host {
        (0, 0, patch) => found == (0, 0, patch),
        (0, minor, _) => found.0 == 0 && found.1 == minor,
        (major, _, _) => found.0 == major,
    }
}

/// The contract a component was built against, as the message should say it,
/// when one of its import or export `names` is an `authz:policy` interface of
/// a version this host does not run.
pub(crate) fn incompatible<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    names.into_iter().find_map(|name| {
        let interface = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
        match interface.split_once('@') {
            Some((_, version)) if is_compatible(version) => None,
            Some((_, version)) => Some(format!("{PACKAGE}@{version}")),
            None => Some(format!("an unversioned {PACKAGE}")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_minor_before_1_0_is_compatible() {
        assert!(is_compatible(CONTRACT_VERSION));
        assert!(is_compatible("0.1.7"));
        assert!(is_compatible("0.1.0-rc.1"));
        for other in ["0.2.0", "1.0.0", "0.0.1", "0.1", "x.y.z", "", "0.1.0.0"] {
            assert!(!is_compatible(other), "{other}");
        }
    }

    #[test]
    fn the_constant_is_the_wit_package_version() {
        let wit = include_str!("../../../wit/policy.wit");
        let line = format!("package {PACKAGE}@{CONTRACT_VERSION};");
        assert!(wit.lines().any(|l| l == line), "wit/policy.wit does not declare `{line}`");
    }

    #[test]
    fn names_outside_the_package_are_ignored() {
        let ok = [
            "wasi:cli/environment@0.2.6",
            "authz:policy/policy@0.1.0",
            "authz:policy/types@0.1.3",
            "authz:policyx/y@9.0.0",
        ];
        assert_eq!(incompatible(ok), None);
        assert_eq!(incompatible(["authz:policy/policy@0.2.0"]).as_deref(), Some("authz:policy@0.2.0"));
        assert_eq!(incompatible(["authz:policy/policy"]).as_deref(), Some("an unversioned authz:policy"));
    }
}
