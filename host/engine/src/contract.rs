//! Which versions of the `authz:policy` contract this host runs.
//!
//! A component names the contract's package version in its exports and
//! imports (`authz:policy/policy@0.2.0`). The host runs the current version
//! and the earlier ones it keeps bindings for ([`CONTRACTS`]); a version
//! matches one of them by semver's rule, as wasmtime applies it when linking:
//! same major version, or before 1.0 the same minor version. A module built
//! against any other version is rejected by name, with the versions in the
//! message, before any type is compared.

use crate::bindings::{CONTRACTS, Contract};

/// The contract's WIT package name.
pub const PACKAGE: &str = "authz:policy";

/// `(major, minor, patch)`, pre-release and build metadata ignored.
fn parse(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

/// The contract a component built against `version` runs as, if any.
pub(crate) fn contract_of(version: &str) -> Option<Contract> {
    let found = parse(version)?;
    CONTRACTS.into_iter().find_map(|(kept, contract)| {
        let compatible = match parse(kept)? {
            (0, 0, patch) => found == (0, 0, patch),
            (0, minor, _) => found.0 == 0 && found.1 == minor,
            (major, _, _) => found.0 == major,
        };
        compatible.then_some(contract)
    })
}

/// Whether a component built against `version` runs on this host.
pub fn is_compatible(version: &str) -> bool {
    contract_of(version).is_some()
}

/// The versions this host runs, as messages say them: `0.2.0 or 0.1.0`.
pub fn supported() -> String {
    CONTRACTS.map(|(version, _)| version).join(" or ")
}

/// The contract a component was built against, from its import and export
/// `names`: the current one when no name is an `authz:policy` interface (it
/// then fails to link as the wrong world), else the version its
/// `authz:policy` names give, or that version as the message should say it
/// when this host does not run it.
pub(crate) fn contract<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Contract, String> {
    let mut found = Contract::V0_2;
    for name in names {
        let Some(interface) = name.strip_prefix(PACKAGE).and_then(|n| n.strip_prefix('/')) else {
            continue;
        };
        found = match interface.split_once('@') {
            Some((_, version)) => contract_of(version).ok_or_else(|| format!("{PACKAGE}@{version}"))?,
            None => return Err(format!("an unversioned {PACKAGE}")),
        };
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::CONTRACT_VERSION;

    #[test]
    fn each_kept_minor_before_1_0_is_compatible() {
        assert_eq!(contract_of(CONTRACT_VERSION), Some(Contract::V0_2));
        assert_eq!(contract_of("0.2.3"), Some(Contract::V0_2));
        assert_eq!(contract_of("0.1.0"), Some(Contract::V0_1));
        assert_eq!(contract_of("0.1.7"), Some(Contract::V0_1));
        assert_eq!(contract_of("0.1.0-rc.1"), Some(Contract::V0_1));
        for other in ["0.3.0", "1.0.0", "0.0.1", "0.1", "x.y.z", "", "0.1.0.0"] {
            assert!(!is_compatible(other), "{other}");
        }
        assert_eq!(supported(), "0.2.0 or 0.1.0");
    }

    #[test]
    fn each_kept_version_has_its_wit() {
        let current = include_str!("../../../wit/policy.wit");
        let line = format!("package {PACKAGE}@{CONTRACT_VERSION};");
        assert!(current.lines().any(|l| l == line), "wit/policy.wit does not declare `{line}`");
        let old = include_str!("../../../wit/v0.1.0/policy.wit");
        assert!(old.lines().any(|l| l == "package authz:policy@0.1.0;"), "wit/v0.1.0/policy.wit");
    }

    #[test]
    fn names_outside_the_package_are_ignored() {
        let current = ["wasi:cli/environment@0.2.6", "authz:policy/policy@0.2.0", "authz:policyx/y@9.0.0"];
        assert_eq!(contract(current), Ok(Contract::V0_2));
        assert_eq!(contract(["wasi:cli/environment@0.2.6", "authz:policy/types@0.1.3"]), Ok(Contract::V0_1));
        assert_eq!(contract(["wasi:cli/environment@0.2.6"]), Ok(Contract::V0_2));
        assert_eq!(contract(["authz:policy/policy@0.3.0"]), Err("authz:policy@0.3.0".to_owned()));
        assert_eq!(contract(["authz:policy/policy"]), Err("an unversioned authz:policy".to_owned()));
    }
}
