//! `authz dev` as a user runs it: the real binary serving the repository's
//! template on loopback, answered over real HTTP, stopped with Ctrl-C (SIGINT)
//! and leaving nothing running. Its whole log, at debug level, is checked for
//! the tokens it was sent: none may appear.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use policy_artifacts::{POLICIES_DIR, STATIC_TOKEN};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut request = agent.get(url);
    if let Some(token) = token {
        request = request.header("Authorization", token);
    }
    let mut response = request.call().unwrap();
    (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
}

#[test]
fn authz_dev_serves_the_notes_api_and_stops_cleanly() {
    let port = authz_local::free_port().unwrap();
    let log_path = std::env::temp_dir().join(format!("authz-dev-test-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).unwrap();
    let aws_port = authz_local::free_port().unwrap();
    let http_port = authz_local::free_port().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_authz"))
        .args([
            "dev",
            "--port",
            &port.to_string(),
            "--http-port",
            &http_port.to_string(),
            "--aws-port",
            &aws_port.to_string(),
        ])
        .args(["--module", STATIC_TOKEN])
        .args(["--config", &format!("{POLICIES_DIR}/static-token/config.json")])
        .args(["--cases", &format!("{POLICIES_DIR}/static-token/cases.json")])
        .env("AUTHZ_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut printed = Vec::new();
    while !printed.iter().any(|l: &String| l.starts_with("Ctrl-C stops")) {
        let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("authz dev did not become ready: {printed:#?}")
        });
        printed.push(line);
    }
    let text = printed.join("\n");
    assert!(text.contains(&format!("REST API NotesApi on http://127.0.0.1:{port}")), "{text}");
    assert!(text.contains(&format!("HTTP API NotesHttpApi on http://127.0.0.1:{http_port}")), "{text}");
    assert!(text.contains("curl -i -H 'Authorization: abc123'"), "ready-to-paste examples: {text}");

    let url = format!("http://127.0.0.1:{port}/notes?userId=user1&noteId=note1");
    assert_eq!(get(&url, None), (401, r#"{"message":"Unauthorized"}"#.to_owned()));
    assert_eq!(get(&url, Some("wrong")).0, 403);
    let (status, body) = get(&url, Some("abc123"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["note"], "Buy milk");
    assert_eq!(get(&format!("http://127.0.0.1:{port}/notes?userId=user2"), Some("admin-secret-456")).0, 200);
    let canary = "canary-token-4f9c2e1b";
    let (status, body) = get(&url, Some(canary));
    assert_eq!(status, 403);
    assert!(!body.contains(canary), "error bodies reveal nothing: {body}");

    // The same route behind the template's HTTP API: payload 2.0, simple responses.
    let http_url = format!("http://127.0.0.1:{http_port}/notes?userId=user1&noteId=note1");
    assert_eq!(get(&http_url, None), (401, r#"{"message":"Unauthorized"}"#.to_owned()));
    assert_eq!(get(&http_url, Some("wrong")), (403, r#"{"message":"Forbidden"}"#.to_owned()));
    let (status, body) = get(&http_url, Some("abc123"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["note"], "Buy milk");
    assert_eq!(
        get(&format!("http://127.0.0.1:{http_port}/notes?userId=user2"), Some("abc123")).0,
        403,
        "getNotes' ownership check"
    );
    assert_eq!(get(&format!("http://127.0.0.1:{http_port}/notes?userId=user2"), Some("admin-secret-456")).0, 200);
    assert_eq!(
        get(&format!("http://127.0.0.1:{http_port}/nowhere"), Some("abc123")),
        (404, r#"{"message":"Not Found"}"#.to_owned())
    );

    // Ctrl-C: the gateway and the moto it started both stop.
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let stopped = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(stopped.elapsed() < Duration::from_secs(20), "authz dev did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    }
    for p in [port, http_port, aws_port] {
        assert!(std::net::TcpStream::connect(("127.0.0.1", p)).is_err(), "port {p} still served after Ctrl-C");
    }

    let log = std::fs::read_to_string(&log_path).unwrap();
    std::fs::remove_file(&log_path).unwrap();
    assert!(log.contains("answered"), "the request log was captured: {log}");
    for secret in ["abc123", "admin-secret-456", canary] {
        assert!(!log.contains(secret), "`{secret}` leaked into the log:\n{log}");
    }
}
