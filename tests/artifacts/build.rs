//! Builds the `policies/` workspace for wasm32-wasip2 and writes the path of
//! every component into `$OUT_DIR/artifacts.rs`, so tests and benchmarks use
//! the real modules without hard-coding target paths.
//!
//! The nested cargo uses its own target directory (`<target>/policy-artifacts`)
//! so it never waits on the lock of the build that runs this script.
#![allow(clippy::indexing_slicing, reason = "indexing a serde_json::Value yields Null, it never panics")]

use std::collections::BTreeMap;
use std::env;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn fail(message: &str) -> ! {
    println!("cargo::error={message}");
    std::process::exit(1);
}

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest_dir.join("../..");
    let policies = root.join("policies");
    for watched in ["Cargo.toml", "Cargo.lock", "sdk", "static-token", "jwt", "hostile"] {
        println!("cargo::rerun-if-changed={}", policies.join(watched).display());
    }
    println!("cargo::rerun-if-changed={}", root.join("wit").display());
    println!("cargo::rerun-if-env-changed=CARGO_TARGET_DIR");

    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("policy-artifacts");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--message-format=json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(policies.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // Flags meant for the host build must not leak into the wasm build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot run cargo: {e}")));

    let mut artifacts = BTreeMap::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if message["reason"] != "compiler-artifact" {
                continue;
            }
            let Some(name) = message["target"]["name"].as_str() else {
                continue;
            };
            for file in message["filenames"].as_array().into_iter().flatten() {
                if let Some(path) = file.as_str().filter(|p| p.ends_with(".wasm")) {
                    artifacts.insert(name.to_owned(), path.to_owned());
                }
            }
        }
    }
    let status = child.wait().unwrap_or_else(|e| fail(&format!("cargo did not finish: {e}")));
    if !status.success() {
        fail(
            "building policies/ for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`)",
        );
    }

    let mut out = format!(
        "/// The target dir the components were built in (reuse it to skip a rebuild).\npub const TARGET_DIR: &str = {:?};\n",
        target_dir.display().to_string()
    );
    for (name, path) in &artifacts {
        let constant = name.to_uppercase().replace('-', "_");
        out.push_str(&format!("/// `{name}` component.\npub const {constant}: &str = {path:?};\n"));
    }
    let listed: Vec<String> =
        artifacts.keys().map(|n| format!("({n:?}, {})", n.to_uppercase().replace('-', "_"))).collect();
    out.push_str(&format!(
        "/// Every component, by crate name.\npub const ALL: &[(&str, &str)] = &[{}];\n",
        listed.join(", ")
    ));
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap_or_default());
    std::fs::write(Path::new(&out_dir).join("artifacts.rs"), out)
        .unwrap_or_else(|e| fail(&format!("cannot write artifacts.rs: {e}")));
}
