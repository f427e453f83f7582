//! `authz policy build|eval|test` as a user runs them: the real binary, real
//! components, real files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use policy_artifacts::{JWT_POLICY, POLICIES_DIR, STATIC_TOKEN, TARGET_DIR};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn authz(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_authz"))
        .args(args)
        // Reuse the components policy-artifacts already built.
        .env("CARGO_TARGET_DIR", TARGET_DIR)
        .output()
        .expect("run authz")
}

fn policy(path: &str) -> String {
    format!("{POLICIES_DIR}/{path}")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("authz-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn shipped_policies_pass_their_cases() {
    for (module, name) in [(STATIC_TOKEN, "static-token"), (JWT_POLICY, "jwt")] {
        let out = authz(&[
            "policy", "test", module,
            "--config", &policy(&format!("{name}/config.json")),
            "--cases", &policy(&format!("{name}/cases.json")),
        ]);
        let text = stdout(&out);
        assert!(out.status.success(), "{name}: {text}{}", stderr(&out));
        assert!(text.trim_end().ends_with("passed, 0 failed"), "{text}");
        assert!(!text.contains("FAIL"), "{text}");
    }
}

#[test]
fn a_failing_case_is_reported_with_its_reason_and_exit_code_1() {
    let cases = temp_file(
        "failing-cases.json",
        format!(
            r#"{{"cases": [
                {{"name": "good", "event": "{fixtures}/events/token-abc123.json", "expect": {{"outcome": "allow"}}}},
                {{"name": "claims too much", "event": "{fixtures}/events/token-abc123.json",
                  "expect": {{"outcome": "allow", "allows": ["DELETE /notes"]}}}},
                {{"name": "wrong principal", "event": "{fixtures}/events/token-abc123.json",
                  "expect": {{"outcome": "allow", "principal": "user2"}}}},
                {{"name": "wrong outcome", "event": "{fixtures}/events/token-wrong.json", "expect": {{"outcome": "allow"}}}}
            ]}}"#,
            fixtures = policy_artifacts::FIXTURES_DIR
        )
        .as_bytes(),
    );
    let out = authz(&[
        "policy", "test", STATIC_TOKEN,
        "--config", &policy("static-token/config.json"),
        "--cases", cases.to_str().unwrap(),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("ok    good"), "{text}");
    assert!(text.contains("FAIL  claims too much: expected the returned policy to allow `DELETE /notes`, got an implicit deny"), "{text}");
    assert!(text.contains("FAIL  wrong principal: expected principal `user2`, got `user1`"), "{text}");
    assert!(text.contains("FAIL  wrong outcome: expected allow, got deny"), "{text}");
    assert!(text.trim_end().ends_with("1 passed, 3 failed"), "{text}");
}

fn assert_bad_input(out: &Output, expected: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(expected), "{err}");
}

#[test]
fn bad_files_get_one_line_and_exit_code_2() {
    let config = policy("static-token/config.json");
    let cases = policy("static-token/cases.json");
    let garbage = temp_file("garbage.wasm", b"definitely not wasm");
    let other_world = temp_file("other-world.wasm", &wat::parse_str("(component)").unwrap());
    let not_json = temp_file("not-json.json", b"{ nope");
    let bad_config = temp_file("bad-config.json", br#"{"tokens": {"abc": {"principal": "p", "grants": []}}}"#);
    let no_cases = temp_file("no-cases.json", br#"{"cases": []}"#);
    let run = |module: &Path, config: &str, cases: &str| {
        authz(&["policy", "test", module.to_str().unwrap(), "--config", config, "--cases", cases])
    };
    assert_bad_input(&run(&garbage, &config, &cases), "not a valid WebAssembly component");
    assert_bad_input(&run(&other_world, &config, &cases), "is not an authz policy");
    assert_bad_input(&run(Path::new(STATIC_TOKEN), not_json.to_str().unwrap(), &cases), "is not valid JSON");
    assert_bad_input(&run(Path::new(STATIC_TOKEN), bad_config.to_str().unwrap(), &cases), "rejected its configuration");
    assert_bad_input(&run(Path::new(STATIC_TOKEN), &config, not_json.to_str().unwrap()), "not a valid cases file");
    assert_bad_input(&run(Path::new(STATIC_TOKEN), &config, no_cases.to_str().unwrap()), "has no cases");
    assert_bad_input(&run(Path::new("/nonexistent.wasm"), &config, &cases), "cannot read");
}

#[test]
fn eval_prints_what_the_lambda_returns() {
    let event = format!("{}/events/token-abc123.json", policy_artifacts::FIXTURES_DIR);
    let out = authz(&["policy", "eval", STATIC_TOKEN, "--config", &policy("static-token/config.json"), "--event", &event]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["principalId"], "user1");
    assert_eq!(
        json["policyDocument"]["Statement"][0]["Resource"][0],
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes"
    );
    let empty = format!("{}/events/token-empty.json", policy_artifacts::FIXTURES_DIR);
    let out = authz(&["policy", "eval", STATIC_TOKEN, "--config", &policy("static-token/config.json"), "--event", &empty]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json, serde_json::json!({"errorType": "Unauthorized", "errorMessage": "Unauthorized"}));
}

#[test]
fn build_prints_path_size_and_sha256_of_a_checked_component() {
    let out = authz(&["policy", "build", &policy("static-token")]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    let path = field("path");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(field("size"), format!("{} bytes", bytes.len()));
    assert_eq!(field("sha256"), authz_engine::sha256_hex(&bytes));
    assert_bad_input(&authz(&["policy", "build", "/nonexistent"]), "is not a crate folder");
}
