//! Arbitrary proxy events, query parameters and page tokens into getNotes
//! (in-memory notes): every answer is JSON with a 2xx/4xx status, never a
//! panic or a 5xx (the in-memory store cannot fail).
#![no_main]

use get_notes::{App, MemoryNotes};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn app() -> &'static (tokio::runtime::Runtime, App<MemoryNotes>) {
    static APP: OnceLock<(tokio::runtime::Runtime, App<MemoryNotes>)> = OnceLock::new();
    APP.get_or_init(|| {
        let notes = MemoryNotes::new();
        for i in 0..30 {
            notes.insert("user1", &format!("note{i:02}"), "text");
        }
        notes.insert("user2", "note1", "other");
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        (runtime, App::new(notes))
    })
}

fuzz_target!(|data: &[u8]| {
    let (runtime, app) = app();
    let text = String::from_utf8_lossy(data);
    // Either a whole event, or a query string on a well-formed one.
    let event = serde_json::from_slice::<serde_json::Value>(data).unwrap_or_else(|_| {
        let query: serde_json::Map<String, serde_json::Value> = text
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
            .collect();
        serde_json::json!({
            "resource": "/notes", "path": "/notes", "httpMethod": "GET",
            "queryStringParameters": query,
            "requestContext": {"httpMethod": "GET", "authorizer": {"principalId": "user1"}},
        })
    });
    let response = runtime.block_on(get_notes::handle_event(app, event));
    let content_type = response.headers.get("content-type").and_then(|v| v.to_str().ok());
    assert_eq!(content_type, Some("application/json"));
    let wellformed = serde_json::from_slice::<serde_json::Value>(data).is_err();
    if wellformed {
        assert!((200..500).contains(&response.status_code), "status {}", response.status_code);
    }
});
