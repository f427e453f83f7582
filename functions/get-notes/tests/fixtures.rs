//! The fixture events in `tests/fixtures/` (see its README) through the real
//! handler, against the sample notes held in memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::encodings::Body;
use get_notes::{App, MemoryNotes, seed};
use serde_json::{Value, json};

fn fixture(name: &str) -> ApiGatewayProxyRequest {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let request: ApiGatewayProxyRequest = serde_json::from_str(&text).unwrap();
    // Serde round trip, as aws_lambda_events checks its own fixtures.
    let again: ApiGatewayProxyRequest = serde_json::from_value(serde_json::to_value(&request).unwrap()).unwrap();
    assert_eq!(request, again, "{name} does not survive a serde round trip");
    request
}

fn sample_app() -> App<MemoryNotes> {
    let repo = MemoryNotes::new();
    for note in seed::sample_notes().unwrap() {
        repo.insert(&note.user_id, &note.note_id, &note.note);
    }
    App::new(repo)
}

async fn run(name: &str) -> (i64, Value) {
    let response = get_notes::handle(&sample_app(), fixture(name)).await;
    assert_eq!(response.headers.get("content-type").unwrap(), "application/json", "{name}");
    let Some(Body::Text(text)) = response.body else { panic!("{name}: no text body") };
    (response.status_code, serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn own_note_is_returned() {
    let (status, body) = run("get-note.json").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"userId": "user1", "noteId": "note1", "note": "Buy milk"}));
}

#[tokio::test]
async fn read_any_caller_lists_another_user() {
    let (status, body) = run("list-notes-admin.json").await;
    assert_eq!(status, 200);
    assert_eq!(body["userId"], "user2");
    assert_eq!(body["notes"], json!([{"noteId": "note1", "note": "Finish the quarterly report"}]));
    assert!(body["nextToken"].is_string());
}

#[tokio::test]
async fn bad_fixtures_are_refused() {
    for (name, status) in [
        ("get-note-other-user_bad.json", 403),
        ("no-authorizer_bad.json", 403),
        ("post-notes_bad.json", 405),
        ("list-notes-bad-limit_bad.json", 400),
    ] {
        let (got, body) = run(name).await;
        assert_eq!(got, status, "{name}: {body}");
        assert!(body["error"].is_string(), "{name}: {body}");
    }
}

#[tokio::test]
async fn raw_event_path_matches_typed_path() {
    let text = std::fs::read_to_string(format!("{}/tests/fixtures/get-note.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let raw: Value = serde_json::from_str(&text).unwrap();
    let app = sample_app();
    let via_raw = get_notes::handle_event(&app, raw).await;
    let typed = get_notes::handle(&app, fixture("get-note.json")).await;
    assert_eq!(via_raw, typed);
}
