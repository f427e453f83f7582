//! `authz policy new`: a policy crate ready to build, test and publish.
//!
//! The files come from `templates/`, embedded in the binary, so the command
//! works from any directory. The crate depends on the guest SDK by path and
//! starts from `policies/Cargo.lock`: the dependency versions this repository
//! builds and tests its own policies with (cargo drops what the crate does
//! not use), which also lets a shared target directory reuse their builds.

use crate::error::{CliError, bad_input};
use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct NewArgs {
    /// The crate's name: a cargo package name (letters, digits, `-`, `_`; starts with a letter).
    name: String,
    /// Where to create the crate's folder.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// The authz-policy SDK crate to depend on (default: `policies/sdk` of the
    /// checkout this CLI was built from).
    #[arg(long)]
    sdk: Option<PathBuf>,
}

/// The SDK of the checkout this binary was built from.
const DEFAULT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/sdk");

/// `(path in the new crate, contents)`; `{{name}}` and `{{sdk}}` are filled in.
const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("templates/Cargo.toml.tmpl")),
    ("Cargo.lock", include_str!("../../../policies/Cargo.lock")),
    ("src/lib.rs", include_str!("templates/lib.rs.tmpl")),
    ("config.json", include_str!("templates/config.json")),
    ("cases.json", include_str!("templates/cases.json")),
    ("README.md", include_str!("templates/README.md.tmpl")),
    (".gitignore", include_str!("templates/gitignore.tmpl")),
];

/// Rust keywords and names cargo refuses for a package.
const RESERVED: &[&str] = &[
    "abstract",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "alloc",
    "core",
    "std",
    "proc_macro",
    "proc-macro",
    "test",
    "build",
    "deps",
    "examples",
    "incremental",
    // The SDK's own name: the crate could not depend on it.
    "authz-policy",
    "authz_policy",
];

/// Why `name` cannot be the crate's name, if it cannot.
pub fn check_name(name: &str) -> Result<(), String> {
    let shown = name.chars().take(80).collect::<String>();
    if name.is_empty() || name.len() > 64 {
        return Err(format!("`{shown}` is not a crate name: it must have 1 to 64 characters"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(format!("`{shown}` is not a crate name: it must start with a letter"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        return Err(format!("`{shown}` is not a crate name: `{c}` is not a letter, digit, `-` or `_`"));
    }
    let ident = name.replace('-', "_");
    if RESERVED.contains(&name) || RESERVED.contains(&ident.as_str()) {
        return Err(format!("`{name}` is not a crate name: it is reserved"));
    }
    Ok(())
}

/// The SDK folder to depend on, checked: its manifest names `authz-policy`.
fn sdk_dir(explicit: Option<&Path>) -> Result<PathBuf, CliError> {
    let dir = explicit.unwrap_or(Path::new(DEFAULT_SDK));
    let hint = if explicit.is_some() { "" } else { " (pass --sdk <path to policies/sdk>)" };
    let dir =
        dir.canonicalize().map_err(|e| bad_input(format!("no authz-policy SDK at `{}`: {e}{hint}", dir.display())))?;
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
    if !manifest.lines().any(|l| l.trim() == r#"name = "authz-policy""#) {
        return Err(bad_input(format!("`{}` is not the authz-policy SDK crate{hint}", dir.display())));
    }
    Ok(dir)
}

/// Creates the crate `name` in `parent`; refuses to touch anything that exists.
pub fn create(name: &str, parent: &Path, sdk: Option<&Path>) -> Result<PathBuf, CliError> {
    check_name(name).map_err(bad_input)?;
    let sdk = sdk_dir(sdk)?;
    let sdk = sdk.to_str().ok_or_else(|| bad_input(format!("the SDK path `{}` is not UTF-8", sdk.display())))?;
    let root = parent.join(name);
    if root.exists() || root.is_symlink() {
        return Err(bad_input(format!("`{}` already exists: refusing to overwrite it", root.display())));
    }
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
    // `create_dir` (not `_all`) fails if the folder appeared meanwhile: nothing is ever overwritten.
    std::fs::create_dir(&root).map_err(|e| bad_input(format!("cannot create `{}`: {e}", root.display())))?;
    for (relative, template) in FILES {
        let path = root.join(relative);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).with_context(|| format!("cannot create `{}`", folder.display()))?;
        }
        let text = template.replace("{{name}}", name).replace("{{sdk}}", sdk);
        std::fs::write(&path, text).with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(root)
}

pub fn run(args: NewArgs) -> Result<ExitCode, CliError> {
    let root = create(&args.name, &args.dir, args.sdk.as_deref())?;
    let shown = root.display();
    println!("created the policy crate `{}` in `{shown}`", args.name);
    println!();
    println!("  cargo test --manifest-path {shown}/Cargo.toml   # the rule, natively");
    println!("  authz policy build {shown}                      # prints the component's path");
    println!("  authz policy test <path> --config {shown}/config.json --cases {shown}/cases.json");
    println!(
        "  authz policy publish <path> --name {} --config {shown}/config.json --cases {shown}/cases.json",
        args.name
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_cargo_rules() {
        for ok in ["my-policy", "tenant_rules", "p", "a1-b2"] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "1 to 64"),
            ("1policy", "start with a letter"),
            ("-x", "start with a letter"),
            ("my policy", "` ` is not"),
            ("my.policy", "`.` is not"),
            ("../escape", "start with a letter"),
            ("a/b", "`/` is not"),
            ("fn", "reserved"),
            ("test", "reserved"),
            ("authz-policy", "reserved"),
            ("self", "reserved"),
        ] {
            let err = check_name(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(check_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn every_template_names_the_crate_or_needs_no_name() {
        let cargo = FILES.iter().find(|(p, _)| *p == "Cargo.toml").map(|(_, t)| *t).unwrap_or_default();
        assert!(cargo.contains(r#"name = "{{name}}""#) && cargo.contains(r#"path = "{{sdk}}""#));
        let cases: serde_json::Value = serde_json::from_str(include_str!("templates/cases.json")).unwrap();
        assert!(cases["cases"].as_array().is_some_and(|c| c.len() >= 5));
        let _: serde_json::Value = serde_json::from_str(include_str!("templates/config.json")).unwrap();
    }
}
