//! What the function logs: JSON lines with API Gateway's request id, storage
//! detail for failures, and never the caller's headers or token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use get_notes::{App, MemoryNotes, RepoError};
use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::EnvFilter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
    }
}

fn fixture(name: &str) -> ApiGatewayProxyRequest {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn logs_are_json_with_the_request_id_and_no_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    let _guard = tracing::subscriber::set_default(get_notes::json_logs(move || writer.clone(), EnvFilter::new("info")));

    let repo = MemoryNotes::new();
    repo.insert("user1", "note1", "Buy milk");
    let app = App::new(repo);
    let request = fixture("get-note.json");
    let token = request.headers.get("authorization").unwrap().to_str().unwrap().to_owned();
    assert_eq!(get_notes::handle(&app, request.clone()).await.status_code, 200);
    app.repo().fail_with(Some(RepoError::Unavailable("connection refused by 10.1.2.3".into())));
    let failed = get_notes::handle(&app, request).await;
    assert_eq!(failed.status_code, 503);

    let lines = captured.lines();
    assert!(!lines.is_empty());
    for line in &lines {
        let text = line.to_string();
        assert_eq!(line["span"]["api_request_id"], "0f3b2a4e-6c1d-4e8f-9a7b-5c2d1e0f9a8b", "{text}");
        assert_eq!(line["span"]["caller"], "user1", "{text}");
        for secret in [token.as_str(), "eyJhbGci", "Bearer", "Buy milk"] {
            assert!(!text.contains(secret), "log line leaks `{secret}`: {text}");
        }
        assert!(!text.to_lowercase().contains("authorization"), "{text}");
    }
    let answered: Vec<_> = lines.iter().filter_map(|l| l["fields"]["status"].as_i64()).collect();
    assert_eq!(answered, [200, 503]);
    // The failure's detail is in the log (and only there).
    assert!(lines.iter().any(|l| l.to_string().contains("connection refused by 10.1.2.3")));
    let Some(aws_lambda_events::encodings::Body::Text(body)) = failed.body else { panic!() };
    assert!(!body.contains("10.1.2.3"));
}
