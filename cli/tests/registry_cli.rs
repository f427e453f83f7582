//! `authz keys`, `authz policy publish|activate|rollback|history` and
//! `authz notes seed` as a user runs them: the real binary against a local
//! S3 and DynamoDB (moto, started and stopped here).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use authz_local::Moto;
use policy_artifacts::{POLICIES_DIR, STATIC_TOKEN};
use std::path::PathBuf;
use std::process::{Command, Output};

const BUCKET: &str = "policies";
const TABLE: &str = "policyRegistry";

struct Local {
    moto: Moto,
    dir: PathBuf,
}

impl Local {
    fn start(name: &str) -> Local {
        let moto = Moto::start().expect("moto starts (scripts/test installs it)");
        let dir = std::env::temp_dir().join(format!("authz-registry-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Local { moto, dir }
    }

    /// Creates the bucket and table, as `authz dev` or the SAM stack does.
    fn create_registry(&self) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let sdk = authz_registry::sdk_loader()
                .endpoint_url(self.moto.endpoint())
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_s3::config::Credentials::new("t", "t", None, None, "t"))
                .load()
                .await;
            let config =
                authz_registry::RegistryConfig { bucket: BUCKET.into(), table: TABLE.into(), path_style: true };
            authz_registry::Registry::new(&sdk, config).ensure_storage().await.unwrap();
        });
    }

    fn authz(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_authz"))
            .args(args)
            .current_dir(&self.dir)
            .env("AWS_ENDPOINT_URL", self.moto.endpoint())
            .env("AUTHZ_REGISTRY_BUCKET", BUCKET)
            .env("AUTHZ_REGISTRY_TABLE", TABLE)
            .env("AUTHZ_PUBLISHER", "alice")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn static_token(file: &str) -> String {
    format!("{POLICIES_DIR}/static-token/{file}")
}

#[test]
fn publish_activate_rollback_and_history() {
    let local = Local::start("flow");
    local.create_registry();

    // Keys: two PEM files, the private one readable by its owner only, never replaced.
    let out = ok(local.authz(&["keys", "generate", "--out", "release"]));
    assert!(out.contains("AUTHZ_TRUSTED_KEYS="), "{out}");
    let private = local.dir.join("release.pem");
    assert!(std::fs::read_to_string(&private).unwrap().starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&private).unwrap().permissions()) & 0o777,
        0o600
    );
    let again = local.authz(&["keys", "generate", "--out", "release"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    let key_id = out.lines().find_map(|l| l.strip_prefix("key id:")).unwrap().trim().to_owned();

    let config = static_token("config.json");
    let cases = static_token("cases.json");
    let out = ok(local.authz(&[
        "policy",
        "publish",
        STATIC_TOKEN,
        "--name",
        "notes",
        "--config",
        &config,
        "--cases",
        &cases,
        "--sign-key",
        "release.pem",
        "--activate",
        "--note",
        "first",
    ]));
    assert!(out.contains("passed, 0 failed"), "the cases ran first: {out}");
    assert!(
        out.contains("published notes@1")
            && out.contains(&format!("signed by key {key_id}"))
            && out.contains("now active"),
        "{out}"
    );
    assert!(out.contains("precompiled for aarch64 (") && out.contains(", x86_64 ("), "signed: code for both: {out}");
    // Native code is only ever published signed.
    let out = local.authz(&[
        "policy",
        "publish",
        STATIC_TOKEN,
        "--name",
        "notes",
        "--config",
        &config,
        "--precompile",
        "x86_64",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--precompile needs --sign-key"), "{}", text(&out));

    // A module failing its cases is refused and nothing is stored.
    let strict = local.write(
        "strict-cases.json",
        &format!(
            r#"{{"cases": [{{"name": "abc123 must be denied", "event": "{}/events/token-abc123.json", "expect": {{"outcome": "deny"}}}}]}}"#,
            policy_artifacts::FIXTURES_DIR
        ),
    );
    let refused = local.authz(&[
        "policy",
        "publish",
        STATIC_TOKEN,
        "--name",
        "notes",
        "--config",
        &config,
        "--cases",
        &strict,
        "--activate",
    ]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("refusing to publish: 1 of 1 cases failed"), "{}", text(&refused));

    // Not a component of our world, or a config the policy rejects: one line, exit 2.
    let garbage = local.write("garbage.wasm", "not wasm");
    let out = local.authz(&["policy", "publish", &garbage, "--name", "notes", "--config", &config]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not a valid WebAssembly component"), "{}", text(&out));
    let bad_config = local.write("bad.json", r#"{"tokens": 3}"#);
    let out = local.authz(&["policy", "publish", STATIC_TOKEN, "--name", "notes", "--config", &bad_config]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // Version 2 published but not active until activated.
    let v2_config =
        local.write("v2.json", &std::fs::read_to_string(&config).unwrap().replace("\"user1\"", "\"user1-v2\""));
    let out = local.authz(&["policy", "publish", STATIC_TOKEN, "--name", "notes", "--config", &v2_config]);
    assert!(out.status.success(), "{}", text(&out));
    let out = text(&out);
    assert!(out.contains("published notes@2") && out.contains("authz policy activate"), "{out}");
    assert!(out.contains("no --sign-key: publishing no precompiled code") && !out.contains("precompiled for"), "{out}");
    assert!(ok(local.authz(&["policy", "activate", "--name", "notes", "2"])).contains("notes@2 is active"));
    assert!(ok(local.authz(&["policy", "rollback", "--name", "notes"])).contains("notes@1 is active"));
    let out = local.authz(&["policy", "rollback", "--name", "notes"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no earlier active version"), "{}", text(&out));
    let out = local.authz(&["policy", "activate", "--name", "notes", "7"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    let table = ok(local.authz(&["policy", "history", "--name", "notes"]));
    let row =
        |start: &str| table.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("no row {start}: {table}"));
    assert!(row("1 *").contains("alice") && row("1 *").contains(&key_id) && row("1 *").contains("first"), "{table}");
    assert!(row("2 ").ends_with(" -"), "version 2 is unsigned: {table}");
    for action in ["publish", "activate", "rollback"] {
        assert!(table.contains(action), "{action}: {table}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&ok(local.authz(&["policy", "history", "--name", "notes", "--json"]))).unwrap();
    assert_eq!(json["active"]["version"], 1);
    assert_eq!(json["versions"].as_array().unwrap().len(), 2);
    let arches = |v: usize| -> Vec<String> {
        json["versions"][v]["precompiled"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["arch"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!((arches(0), arches(1)), (vec!["aarch64".to_owned(), "x86_64".to_owned()], vec![]));
    assert_eq!(json["events"].as_array().unwrap().len(), 5, "{json}");
    let out = local.authz(&["policy", "history", "--name", "nobody"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn missing_registry_settings_and_an_unreachable_registry_are_clear_errors() {
    let mut local = Local::start("errors");
    let out = Command::new(env!("CARGO_BIN_EXE_authz"))
        .args(["policy", "history", "--name", "notes"])
        .env_remove("AUTHZ_REGISTRY_BUCKET")
        .env_remove("AUTHZ_REGISTRY_TABLE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--bucket"), "{}", text(&out));

    local.moto.stop();
    let started = std::time::Instant::now();
    let out = local.authz(&["policy", "history", "--name", "notes"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("DynamoDB Query"), "{}", text(&out));
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
}

#[test]
fn notes_seed_creates_the_table_once_and_loads_the_samples() {
    let local = Local::start("seed");
    let first = ok(local.authz(&["notes", "seed"]));
    assert!(first.starts_with("created `notesTable`"), "{first}");
    let again = ok(local.authz(&["notes", "seed"]));
    assert!(again.starts_with("found `notesTable`"), "{again}");
    assert!(again.contains("sample notes loaded"), "{again}");
}
