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

/// The shipped cases cover every authorizer kind (REST TOKEN and REQUEST,
/// HTTP API 1.0 and 2.0, WebSocket `$connect`) and hold in both answer formats.
#[test]
fn shipped_policies_pass_their_cases() {
    for (module, name) in [(STATIC_TOKEN, "static-token"), (JWT_POLICY, "jwt")] {
        for format in ["iam", "simple"] {
            let out = authz(&[
                "policy",
                "test",
                module,
                "--config",
                &policy(&format!("{name}/config.json")),
                "--cases",
                &policy(&format!("{name}/cases.json")),
                "--response-format",
                format,
            ]);
            let text = stdout(&out);
            assert!(out.status.success(), "{name} {format}: {text}{}", stderr(&out));
            assert!(text.trim_end().ends_with("passed, 0 failed"), "{text}");
            assert!(!text.contains("FAIL"), "{text}");
        }
    }
    let cases: serde_json::Value =
        serde_json::from_str(&policy_artifacts::policy_file("static-token/cases.json")).unwrap();
    let events: Vec<String> = cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| match &c["event"] {
            serde_json::Value::String(path) => policy_artifacts::policy_file(&format!("static-token/{path}")),
            inline => inline.to_string(),
        })
        .collect();
    for needle in [r#""TOKEN""#, r#""httpMethod""#, r#""version": "1.0""#, r#""version": "2.0""#, r#""$connect""#] {
        assert!(events.iter().any(|e| e.contains(needle)), "no static-token case has {needle}");
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
        "policy",
        "test",
        STATIC_TOKEN,
        "--config",
        &policy("static-token/config.json"),
        "--cases",
        cases.to_str().unwrap(),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("ok    good"), "{text}");
    assert!(
        text.contains(
            "FAIL  claims too much: expected the returned policy to allow `DELETE /notes`, got an implicit deny"
        ),
        "{text}"
    );
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
    let out =
        authz(&["policy", "eval", STATIC_TOKEN, "--config", &policy("static-token/config.json"), "--event", &event]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["principalId"], "user1");
    assert_eq!(
        json["policyDocument"]["Statement"][0]["Resource"][0],
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes"
    );
    let empty = format!("{}/events/token-empty.json", policy_artifacts::FIXTURES_DIR);
    let out =
        authz(&["policy", "eval", STATIC_TOKEN, "--config", &policy("static-token/config.json"), "--event", &empty]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json, serde_json::json!({"errorType": "Unauthorized", "errorMessage": "Unauthorized"}));
}

#[test]
fn eval_answers_http_api_2_0_in_the_configured_format() {
    let event = format!("{}/events/http-v2-abc123.json", policy_artifacts::FIXTURES_DIR);
    let eval = |format: &str| {
        let out = authz(&[
            "policy",
            "eval",
            STATIC_TOKEN,
            "--config",
            &policy("static-token/config.json"),
            "--event",
            &event,
            "--response-format",
            format,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    assert_eq!(eval("simple"), serde_json::json!({"isAuthorized": true, "context": {"principalId": "user1"}}));
    let iam = eval("iam");
    assert_eq!(iam["principalId"], "user1");
    assert_eq!(iam["policyDocument"]["Statement"][0]["Effect"], "Allow");
    let out = authz(&[
        "policy",
        "eval",
        STATIC_TOKEN,
        "--config",
        &policy("static-token/config.json"),
        "--event",
        &event,
        "--response-format",
        "bool",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`bool` is not a response format"), "{}", stderr(&out));
}

#[test]
fn a_module_of_another_contract_version_is_refused_at_test_and_publish() {
    let module = temp_file("contract-0.3.0.wasm", &policy_artifacts::component_for_contract("0.3.0"));
    let module = module.to_str().unwrap();
    let config = policy("static-token/config.json");
    let expected = "built against authz:policy@0.3.0, this host runs authz:policy@0.2.0 or 0.1.0";
    let test = authz(&["policy", "test", module, "--config", &config, "--cases", &policy("static-token/cases.json")]);
    assert_bad_input(&test, expected);
    // Refused before anything reaches the registry (there is none here).
    let publish = authz(&[
        "policy", "publish", module, "--name", "notes", "--config", &config, "--bucket", "nowhere", "--table",
        "nowhere",
    ]);
    assert_bad_input(&publish, expected);
    let eval = authz(&[
        "policy",
        "eval",
        module,
        "--config",
        &config,
        "--event",
        &format!("{}/events/token-abc123.json", policy_artifacts::FIXTURES_DIR),
    ]);
    assert_bad_input(&eval, expected);
}

#[test]
fn a_config_over_the_registrys_limit_is_refused_before_anything_is_stored() {
    let big = temp_file("big-config.json", &vec![b' '; authz_registry::MAX_OBJECT_BYTES + 1]);
    let publish = authz(&[
        "policy",
        "publish",
        STATIC_TOKEN,
        "--name",
        "notes",
        "--config",
        big.to_str().unwrap(),
        "--bucket",
        "nowhere",
        "--table",
        "nowhere",
    ]);
    std::fs::remove_file(&big).unwrap();
    let expected = format!("config `{}` is 33554433 bytes, over the registry's limit of 33554432 bytes", big.display());
    assert_bad_input(&publish, &expected);
}

/// `authz policy new`, then the crate through build, its unit tests and its
/// cases, as an author would. Slow the first time: the crate's dependencies
/// build into the shared policy target dir, and are reused after.
#[test]
fn a_new_policy_crate_builds_and_passes_its_own_tests_and_cases() {
    let parent = std::env::temp_dir().join(format!("authz-policy-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&parent);
    let out = authz(&["policy", "new", "tenant-rules", "--dir", parent.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let root = parent.join("tenant-rules");
    for file in ["Cargo.toml", "Cargo.lock", "src/lib.rs", "config.json", "cases.json", "README.md", ".gitignore"] {
        assert!(root.join(file).is_file(), "{file} missing");
    }
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains(r#"name = "tenant-rules""#), "{manifest}");

    // Never over an existing folder, and only with a cargo package name.
    assert_bad_input(&authz(&["policy", "new", "tenant-rules", "--dir", parent.to_str().unwrap()]), "already exists");
    assert_bad_input(&authz(&["policy", "new", "9lives", "--dir", parent.to_str().unwrap()]), "not a crate name");
    assert_bad_input(&authz(&["policy", "new", "fn", "--dir", parent.to_str().unwrap()]), "reserved");
    assert!(!parent.join("9lives").exists());

    let built = authz(&["policy", "build", root.to_str().unwrap()]);
    let text = stdout(&built);
    assert!(built.status.success(), "{text}{}", stderr(&built));
    let wasm = text.lines().find_map(|l| l.strip_prefix("path")).unwrap().trim().to_owned();
    let config = root.join("config.json");
    let cases = root.join("cases.json");
    for format in ["iam", "simple"] {
        let out = authz(&[
            "policy",
            "test",
            &wasm,
            "--config",
            config.to_str().unwrap(),
            "--cases",
            cases.to_str().unwrap(),
            "--response-format",
            format,
        ]);
        let text = stdout(&out);
        assert!(out.status.success(), "{format}: {text}{}", stderr(&out));
        assert!(text.trim_end().ends_with("8 passed, 0 failed"), "{text}");
    }

    let unit = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["test", "--quiet", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", TARGET_DIR)
        .output()
        .unwrap();
    assert!(unit.status.success(), "{}{}", stdout(&unit), stderr(&unit));
    assert!(stdout(&unit).contains("5 passed"), "{}", stdout(&unit));
    std::fs::remove_dir_all(&parent).unwrap();
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
