//! The real handler and the real `DynamoNotes` repo against DynamoDB served
//! over HTTP by a moto server on loopback (started per test from the
//! project's venv, stopped on drop).
//!
//! The SDK is configured exactly as the binary does it, except for the
//! endpoint, region and credentials that the binary takes from the
//! environment: `get_notes::dynamodb_client` applies the same timeouts and
//! retries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use authz_local::Moto;
use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::encodings::Body;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use get_notes::seed::{self, SeedNote};
use get_notes::{App, Config, DynamoNotes};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// How long a request may take when DynamoDB is gone (the client's budget is 5 s).
const UNAVAILABLE_BUDGET: Duration = Duration::from_secs(10);

async fn client_for(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto-tests"))
        .load()
        .await;
    get_notes::dynamodb_client(&sdk)
}

/// The table the binary reads when `NOTES_TABLE` is not set.
fn table() -> String {
    Config::from_env(|_| None).unwrap().table
}

/// moto with the notes table created and seeded, and the app reading it.
struct Local {
    moto: Moto,
    client: aws_sdk_dynamodb::Client,
    app: App<DynamoNotes>,
}

async fn seeded() -> Local {
    let moto = Moto::start().expect("moto must be installed in the venv: run scripts/test once");
    let client = client_for(&moto.endpoint()).await;
    let table = table();
    assert!(seed::ensure_table(&client, &table).await.unwrap(), "the table is new");
    assert!(!seed::ensure_table(&client, &table).await.unwrap(), "ensure_table is idempotent");
    let written = seed::seed(&client, &table).await.unwrap();
    assert_eq!(written, seed::sample_notes().unwrap().len());
    assert_eq!(seed::seed(&client, &table).await.unwrap(), written, "seeding twice rewrites");
    let app = App::new(DynamoNotes::new(client.clone(), table));
    Local { moto, client, app }
}

fn event(query: &[(&str, &str)], authorizer: Value) -> ApiGatewayProxyRequest {
    let single: serde_json::Map<String, Value> = query.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
    let multi: serde_json::Map<String, Value> = query.iter().map(|(k, v)| ((*k).to_owned(), json!([v]))).collect();
    serde_json::from_value(json!({
        "resource": "/notes",
        "path": "/notes",
        "httpMethod": "GET",
        "headers": {"Authorization": "Bearer not-a-real-token"},
        "queryStringParameters": single,
        "multiValueQueryStringParameters": multi,
        "requestContext": {
            "resourcePath": "/notes",
            "httpMethod": "GET",
            "requestId": "moto-test-request",
            "authorizer": authorizer,
        },
        "isBase64Encoded": false,
    }))
    .unwrap()
}

fn as_user(user: &str) -> Value {
    json!({"principalId": user, "integrationLatency": 4})
}

async fn get<R: get_notes::NotesRepo>(app: &App<R>, query: &[(&str, &str)], authorizer: Value) -> (i64, Value) {
    let response = get_notes::handle(app, event(query, authorizer)).await;
    assert_eq!(response.headers.get("content-type").unwrap(), "application/json");
    let Some(Body::Text(text)) = response.body else { panic!("no text body: {response:?}") };
    (response.status_code, serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn reads_own_notes_and_refuses_others() {
    let local = seeded().await;
    let app = &local.app;

    let (status, body) = get(app, &[("userId", "user1"), ("noteId", "note1")], as_user("user1")).await;
    assert_eq!((status, body), (200, json!({"userId": "user1", "noteId": "note1", "note": "Buy milk"})));
    let (status, body) = get(app, &[("userId", "user2"), ("noteId", "note2")], as_user("user2")).await;
    assert_eq!((status, &body["note"]), (200, &json!("Pick up the dry cleaning")));

    let (status, body) = get(app, &[("userId", "user1"), ("noteId", "note99")], as_user("user1")).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "note `note99` of user `user1` not found");

    // user2 may not read user1's notes, one by one or as a list.
    let (status, body) = get(app, &[("userId", "user1"), ("noteId", "note1")], as_user("user2")).await;
    assert_eq!((status, body), (403, json!({"error": "you may only read your own notes"})));
    let (status, _) = get(app, &[("userId", "user1")], as_user("user2")).await;
    assert_eq!(status, 403);
    let (status, _) = get(app, &[("userId", "user1")], json!({})).await;
    assert_eq!(status, 403);

    // The authorizer's context grants reading anyone's notes.
    let support = json!({"principalId": "support-agent", "notesReadAny": "true"});
    let (status, body) = get(app, &[("userId", "user1"), ("noteId", "note2")], support.clone()).await;
    assert_eq!((status, &body["note"]), (200, &json!("Call mom")));
    let (status, body) = get(app, &[("userId", "user2")], support).await;
    assert_eq!(status, 200);
    assert_eq!(body["notes"].as_array().unwrap().len(), 2);

    for query in [
        &[("noteId", "note1")][..],
        &[("userId", ""), ("noteId", "note1")][..],
        &[("userId", "user1"), ("noteId", &"n".repeat(129))][..],
        &[("userId", "user1"), ("limit", "0")][..],
        &[("userId", "user1"), ("limit", "abc")][..],
        &[("userId", "user1"), ("nextToken", "bm90IGEgdG9rZW4")][..],
    ] {
        let (status, body) = get(app, query, as_user("user1")).await;
        assert_eq!(status, 400, "{query:?}: {body}");
        assert!(body["error"].as_str().unwrap().starts_with("query parameter `"), "{body}");
    }
    drop(local.moto);
}

/// Follows `nextToken` to the end; returns the note ids and the page sizes.
async fn list_all(app: &App<DynamoNotes>, user: &str, limit: Option<&str>) -> (Vec<String>, Vec<usize>) {
    let (mut ids, mut sizes) = (Vec::new(), Vec::new());
    let mut token: Option<String> = None;
    loop {
        let mut query = vec![("userId", user)];
        if let Some(limit) = limit {
            query.push(("limit", limit));
        }
        if let Some(token) = &token {
            query.push(("nextToken", token));
        }
        let (status, body) = get(app, &query, as_user(user)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["userId"], user);
        let notes = body["notes"].as_array().unwrap();
        sizes.push(notes.len());
        ids.extend(notes.iter().map(|n| n["noteId"].as_str().unwrap().to_owned()));
        match &body["nextToken"] {
            Value::String(next) => token = Some(next.clone()),
            Value::Null => return (ids, sizes),
            other => panic!("nextToken is {other}"),
        }
        assert!(sizes.len() < 20, "pagination does not end");
    }
}

#[tokio::test]
async fn lists_across_pages() {
    let local = seeded().await;

    let (ids, sizes) = list_all(&local.app, "user1", Some("2")).await;
    assert_eq!(ids, ["note1", "note2", "note3", "note4", "note5"]);
    assert_eq!(sizes, [2, 2, 1]);

    // More notes than the default page of 20.
    let busy: Vec<SeedNote> = (0..25)
        .map(|i| SeedNote { user_id: "busy".into(), note_id: format!("n{i:02}"), note: format!("note number {i}") })
        .collect();
    assert_eq!(seed::put_notes(&local.client, &table(), &busy).await.unwrap(), 25);
    let (ids, sizes) = list_all(&local.app, "busy", None).await;
    assert_eq!(sizes, [20, 5]);
    assert_eq!(ids, busy.iter().map(|n| n.note_id.clone()).collect::<Vec<_>>());
    // A page that ends exactly at the last note carries no token.
    let (_, sizes) = list_all(&local.app, "busy", Some("25")).await;
    assert_eq!(sizes, [25]);

    // A token from busy's listing does not page through user1's.
    let (_, first) = get(&local.app, &[("userId", "busy"), ("limit", "3")], as_user("busy")).await;
    let token = first["nextToken"].as_str().unwrap();
    let support = json!({"principalId": "support-agent", "notesReadAny": true});
    let (status, body) = get(&local.app, &[("userId", "user1"), ("nextToken", token)], support).await;
    assert_eq!(status, 400, "{body}");

    let (status, body) = get(&local.app, &[("userId", "nobody")], as_user("nobody")).await;
    assert_eq!((status, body), (200, json!({"userId": "nobody", "notes": [], "nextToken": null})));
}

#[tokio::test]
async fn missing_table_is_a_clean_500() {
    let moto = Moto::start().unwrap();
    let client = client_for(&moto.endpoint()).await;
    let app = App::new(DynamoNotes::new(client, "noSuchTable"));
    for query in [&[("userId", "user1"), ("noteId", "note1")][..], &[("userId", "user1")][..]] {
        let (status, body) = get(&app, query, as_user("user1")).await;
        assert_eq!((status, body), (500, json!({"error": "internal error"})));
    }
}

/// The body of a 5xx must not leak what went wrong inside.
fn assert_generic(body: &Value) {
    assert_eq!(body, &json!({"error": "notes are temporarily unavailable, try again shortly"}));
}

#[tokio::test]
async fn unreachable_dynamodb_is_a_quick_clean_503() {
    let mut local = seeded().await;
    local.moto.stop();
    for query in [&[("userId", "user1"), ("noteId", "note1")][..], &[("userId", "user1")][..]] {
        let started = Instant::now();
        let response = get_notes::handle(&local.app, event(query, as_user("user1"))).await;
        let elapsed = started.elapsed();
        assert!(elapsed < UNAVAILABLE_BUDGET, "took {elapsed:?}");
        assert_eq!(response.status_code, 503);
        assert_eq!(response.headers.get("content-type").unwrap(), "application/json");
        assert_eq!(response.headers.get("retry-after").unwrap(), "1");
        let Some(Body::Text(text)) = response.body else { panic!("no body") };
        assert_generic(&serde_json::from_str(&text).unwrap());
    }
}

#[tokio::test]
async fn dynamodb_that_never_answers_times_out_as_503() {
    // Accepts connections (the kernel does) but never answers a request.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let app = App::new(DynamoNotes::new(client_for(&endpoint).await, table()));
    let started = Instant::now();
    let (status, body) = get(&app, &[("userId", "user1"), ("noteId", "note1")], as_user("user1")).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 503);
    assert_generic(&body);
    assert!(elapsed < UNAVAILABLE_BUDGET, "took {elapsed:?}");
    assert!(elapsed >= get_notes::ATTEMPT_TIMEOUT, "answered before any timeout: {elapsed:?}");
    drop(silent);
}
