//! `GET /notes`: from an API Gateway proxy event to a JSON response.
//!
//! Every outcome is a response with `Content-Type: application/json`; client
//! mistakes are 4xx with `{"error": "..."}` naming the problem, storage
//! failures are 500/503 with a generic message (the detail goes to the log).

use crate::repo::{NotesRepo, PageKey, RepoError};
use crate::token;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayV2httpRequest};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER};
use aws_lambda_events::http::{HeaderValue, Method};
use aws_lambda_events::query_map::QueryMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::Instrument as _;

/// Notes per page when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest `limit` accepted.
pub const MAX_LIMIT: u32 = 100;
/// Longest `userId` / `noteId` accepted, in characters.
pub const MAX_ID_CHARS: usize = 128;
/// Authorizer context key that lets a caller read every user's notes.
pub const READ_ANY_KEY: &str = "notesReadAny";

/// The function's state, built once per execution environment.
#[derive(Debug)]
pub struct App<R> {
    repo: R,
}

impl<R: NotesRepo> App<R> {
    /// Serves requests from `repo`.
    pub fn new(repo: R) -> Self {
        App { repo }
    }

    /// The store requests are served from.
    pub fn repo(&self) -> &R {
        &self.repo
    }
}

/// `GET /notes?userId=U&noteId=N`: one note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteResponse {
    /// Owner of the note.
    pub user_id: String,
    /// The note's id.
    pub note_id: String,
    /// Its text.
    pub note: String,
}

/// `GET /notes?userId=U`: one page of a user's notes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteList {
    /// Owner of the notes.
    pub user_id: String,
    /// The page, in `noteId` order.
    pub notes: Vec<ListedNote>,
    /// Pass as `nextToken` for the next page; `null` on the last page.
    pub next_token: Option<String>,
}

/// One note in a [`NoteList`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedNote {
    /// The note's id.
    pub note_id: String,
    /// Its text.
    pub note: String,
}

/// Every non-2xx body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for a human.
    pub error: String,
}

/// Why a request was not answered with notes. The display text of every
/// variant but [`Failure::Repo`] is what the client reads.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("method `{0}` is not allowed, use GET")]
    Method(String),
    #[error("the request carries no caller identity")]
    NoPrincipal,
    #[error("you may only read your own notes")]
    NotOwner,
    #[error("query parameter `{0}` is required")]
    Missing(&'static str),
    #[error("query parameter `{0}` must not be empty")]
    Empty(&'static str),
    #[error("query parameter `{0}` is longer than {MAX_ID_CHARS} characters")]
    TooLong(&'static str),
    #[error("query parameter `{0}` is given more than once")]
    Repeated(&'static str),
    #[error("query parameter `limit` must be a whole number from 1 to {MAX_LIMIT}")]
    BadLimit,
    #[error("query parameter `nextToken` is not a token from this listing")]
    BadToken,
    #[error("query parameter `{0}` applies only to listing, not with `noteId`")]
    NotForOneNote(&'static str),
    #[error("note `{note_id}` of user `{user_id}` not found")]
    NotFound { user_id: String, note_id: String },
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl Failure {
    fn status(&self) -> u16 {
        match self {
            Failure::Method(_) => 405,
            Failure::NoPrincipal | Failure::NotOwner => 403,
            Failure::Missing(_)
            | Failure::Empty(_)
            | Failure::TooLong(_)
            | Failure::Repeated(_)
            | Failure::BadLimit
            | Failure::BadToken
            | Failure::NotForOneNote(_) => 400,
            Failure::NotFound { .. } => 404,
            Failure::Repo(RepoError::Throttled(_) | RepoError::Unavailable(_)) => 503,
            Failure::Repo(RepoError::Failed(_)) => 500,
        }
    }

    /// The client's view: never internal detail.
    fn public_message(&self) -> String {
        match self {
            Failure::Repo(RepoError::Throttled(_)) => "too many requests right now, try again shortly".to_owned(),
            Failure::Repo(RepoError::Unavailable(_)) => {
                "notes are temporarily unavailable, try again shortly".to_owned()
            }
            Failure::Repo(RepoError::Failed(_)) => "internal error".to_owned(),
            other => other.to_string(),
        }
    }

    fn into_response(self) -> ApiGatewayProxyResponse {
        let mut response = json_response(self.status(), &ErrorBody { error: self.public_message() });
        match self {
            Failure::Method(_) => {
                response.headers.insert(ALLOW, HeaderValue::from_static("GET"));
            }
            Failure::Repo(RepoError::Throttled(_) | RepoError::Unavailable(_)) => {
                response.headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

fn json_response(status: u16, body: &impl Serialize) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    match serde_json::to_string(body) {
        Ok(text) => {
            response.status_code = i64::from(status);
            response.body = Some(Body::Text(text));
        }
        Err(error) => {
            tracing::error!(%error, "cannot serialise a response body");
            response.status_code = 500;
            response.body = Some(Body::Text(r#"{"error":"internal error"}"#.to_owned()));
        }
    }
    response
}

/// The caller (`principalId`) and whether they may read anyone's notes,
/// from the authorizer's part of the request context.
struct Caller {
    principal: String,
    read_any: bool,
}

fn caller(request: &ApiGatewayProxyRequest) -> Option<Caller> {
    let fields = &request.request_context.authorizer.fields;
    let principal = match fields.get("principalId") {
        Some(Value::String(p)) if !p.is_empty() => p.clone(),
        _ => return None,
    };
    // REST proxy integrations receive authorizer context values as strings.
    let read_any = match fields.get(READ_ANY_KEY) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    Some(Caller { principal, read_any })
}

/// A query parameter given at most once.
fn param<'r>(request: &'r ApiGatewayProxyRequest, name: &'static str) -> Result<Option<&'r str>, Failure> {
    let many = request.multi_value_query_string_parameters.all(name).map_or(0, |v| v.len());
    if many > 1 {
        return Err(Failure::Repeated(name));
    }
    Ok(request.query_string_parameters.first(name))
}

fn id_param<'r>(request: &'r ApiGatewayProxyRequest, name: &'static str) -> Result<Option<&'r str>, Failure> {
    match param(request, name)? {
        None => Ok(None),
        Some("") => Err(Failure::Empty(name)),
        Some(v) if v.chars().count() > MAX_ID_CHARS => Err(Failure::TooLong(name)),
        Some(v) => Ok(Some(v)),
    }
}

fn limit_param(raw: Option<&str>) -> Result<u32, Failure> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(v) if !v.is_empty() && v.len() <= 3 && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or(Failure::BadLimit)
        }
        Some(_) => Err(Failure::BadLimit),
    }
}

/// What a request asks for, once checked.
enum Ask<'r> {
    One { user_id: &'r str, note_id: &'r str },
    List { user_id: &'r str, limit: u32, start: Option<PageKey> },
}

fn ask(request: &ApiGatewayProxyRequest) -> Result<Ask<'_>, Failure> {
    let user_id = id_param(request, "userId")?.ok_or(Failure::Missing("userId"))?;
    let note_id = id_param(request, "noteId")?;
    let limit = param(request, "limit")?;
    let next_token = param(request, "nextToken")?;
    match note_id {
        Some(note_id) => {
            if limit.is_some() {
                return Err(Failure::NotForOneNote("limit"));
            }
            if next_token.is_some() {
                return Err(Failure::NotForOneNote("nextToken"));
            }
            Ok(Ask::One { user_id, note_id })
        }
        None => {
            let limit = limit_param(limit)?;
            let start = match next_token {
                None => None,
                Some(t) => Some(token::decode(t, user_id).ok_or(Failure::BadToken)?),
            };
            Ok(Ask::List { user_id, limit, start })
        }
    }
}

async fn serve<R: NotesRepo>(
    app: &App<R>,
    request: &ApiGatewayProxyRequest,
) -> Result<ApiGatewayProxyResponse, Failure> {
    if request.http_method != Method::GET {
        return Err(Failure::Method(request.http_method.to_string()));
    }
    let caller = caller(request).ok_or(Failure::NoPrincipal)?;
    tracing::Span::current().record("caller", caller.principal.as_str());
    let ask = ask(request)?;
    let user_id = match &ask {
        Ask::One { user_id, .. } | Ask::List { user_id, .. } => *user_id,
    };
    if user_id != caller.principal {
        if !caller.read_any {
            return Err(Failure::NotOwner);
        }
        tracing::info!(user_id, "reading another user's notes under `{READ_ANY_KEY}`");
    }
    match ask {
        Ask::One { user_id, note_id } => match app.repo.get(user_id, note_id).await? {
            Some(note) => Ok(json_response(
                200,
                &NoteResponse { user_id: user_id.to_owned(), note_id: note.note_id, note: note.content },
            )),
            None => Err(Failure::NotFound { user_id: user_id.to_owned(), note_id: note_id.to_owned() }),
        },
        Ask::List { user_id, limit, start } => {
            let page = app.repo.list(user_id, limit, start.as_ref()).await?;
            let body = NoteList {
                user_id: user_id.to_owned(),
                notes: page.notes.into_iter().map(|n| ListedNote { note_id: n.note_id, note: n.content }).collect(),
                next_token: page.next.as_ref().map(token::encode),
            };
            Ok(json_response(200, &body))
        }
    }
}

/// Answers one `GET /notes` proxy request. Never fails: every problem becomes
/// a JSON error response, and storage failures are logged with their detail.
/// Logs carry API Gateway's request id, never headers or tokens.
pub async fn handle<R: NotesRepo>(app: &App<R>, request: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let span = tracing::info_span!(
        "get_notes",
        api_request_id = request.request_context.request_id.as_deref().unwrap_or("-"),
        caller = tracing::field::Empty,
    );
    async {
        let response = match serve(app, &request).await {
            Ok(response) => response,
            Err(failure) => {
                match &failure {
                    Failure::Repo(error) => tracing::error!(%error, "notes table call failed"),
                    other => tracing::info!(reason = %other, "request refused"),
                }
                failure.into_response()
            }
        };
        tracing::info!(status = response.status_code, "answered");
        response
    }
    .instrument(span)
    .await
}

/// [`handle`] for the raw event the runtime delivers: a REST API proxy
/// request, or an HTTP API payload 2.0 request (`"version": "2.0"`). Anything
/// else is a wiring mistake, not a client's: a 500.
pub async fn handle_event<R: NotesRepo>(app: &App<R>, event: Value) -> ApiGatewayProxyResponse {
    let request = if event.get("version").and_then(Value::as_str) == Some("2.0") {
        serde_json::from_value::<ApiGatewayV2httpRequest>(event).map(from_http_v2)
    } else {
        serde_json::from_value::<ApiGatewayProxyRequest>(event)
    };
    match request {
        Ok(request) => handle(app, request).await,
        Err(error) => {
            tracing::error!(%error, "the event is not an API Gateway proxy request (REST, or HTTP API payload 2.0)");
            Failure::Repo(RepoError::Failed(error.to_string())).into_response()
        }
    }
}

/// What this handler reads of an HTTP API payload 2.0 request, in the REST
/// shape: the method, the query (from the raw query string, so a repeated
/// parameter is still seen as repeated), the request id, and the authorizer's
/// context (`requestContext.authorizer.lambda`, where the host puts `principalId`).
fn from_http_v2(event: ApiGatewayV2httpRequest) -> ApiGatewayProxyRequest {
    let mut request = ApiGatewayProxyRequest::default();
    request.http_method = event.request_context.http.method.clone();
    let query: QueryMap = event.raw_query_string.as_deref().unwrap_or("").parse().unwrap_or_default();
    request.query_string_parameters = query.clone();
    request.multi_value_query_string_parameters = query;
    request.request_context.request_id = event.request_context.request_id;
    // The type reads `requestContext.authorizer.lambda` into `fields`.
    if let Some(authorizer) = event.request_context.authorizer {
        request.request_context.authorizer.fields = authorizer.fields;
    }
    request
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::MemoryNotes;
    use serde_json::json;

    fn app() -> App<MemoryNotes> {
        let repo = MemoryNotes::new();
        for (user, note, text) in [
            ("user1", "note1", "Buy milk"),
            ("user1", "note2", "Call mom"),
            ("user1", "note3", "Book the dentist"),
            ("user1", "note4", "Renew passport"),
            ("user1", "note5", "Water the plants"),
            ("user2", "note1", "Quarterly report"),
        ] {
            repo.insert(user, note, text);
        }
        App::new(repo)
    }

    /// A REST proxy event as API Gateway sends it (authorizer context values as strings).
    fn event(method: &str, query: &[(&str, &str)], authorizer: Value) -> ApiGatewayProxyRequest {
        let single: serde_json::Map<String, Value> = query.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
        let mut multi = serde_json::Map::new();
        for (k, v) in query {
            multi.entry((*k).to_owned()).or_insert_with(|| json!([])).as_array_mut().unwrap().push(json!(v));
        }
        serde_json::from_value(json!({
            "resource": "/notes",
            "path": "/notes",
            "httpMethod": method,
            "headers": {"Authorization": "Bearer secret"},
            "queryStringParameters": if single.is_empty() { Value::Null } else { Value::Object(single) },
            "multiValueQueryStringParameters": if multi.is_empty() { Value::Null } else { Value::Object(multi) },
            "pathParameters": null,
            "stageVariables": null,
            "requestContext": {
                "resourcePath": "/notes",
                "httpMethod": method,
                "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
                "authorizer": authorizer,
            },
            "body": null,
            "isBase64Encoded": false,
        }))
        .unwrap()
    }

    fn as_user(user: &str) -> Value {
        json!({"principalId": user, "integrationLatency": 3})
    }

    async fn get(app: &App<MemoryNotes>, query: &[(&str, &str)], authorizer: Value) -> (i64, Value) {
        call(app, event("GET", query, authorizer)).await
    }

    async fn call(app: &App<MemoryNotes>, request: ApiGatewayProxyRequest) -> (i64, Value) {
        let response = handle(app, request).await;
        assert_eq!(response.headers.get(CONTENT_TYPE).unwrap(), "application/json", "{response:?}");
        let Some(Body::Text(text)) = &response.body else { panic!("no text body: {response:?}") };
        (response.status_code, serde_json::from_str(text).unwrap())
    }

    fn error_of(body: &Value) -> &str {
        body["error"].as_str().unwrap()
    }

    #[tokio::test]
    async fn found() {
        let (status, body) = get(&app(), &[("userId", "user1"), ("noteId", "note1")], as_user("user1")).await;
        assert_eq!(status, 200);
        assert_eq!(body, json!({"userId": "user1", "noteId": "note1", "note": "Buy milk"}));
    }

    #[tokio::test]
    async fn not_found() {
        let (status, body) = get(&app(), &[("userId", "user1"), ("noteId", "nope")], as_user("user1")).await;
        assert_eq!(status, 404);
        assert_eq!(error_of(&body), "note `nope` of user `user1` not found");
    }

    #[tokio::test]
    async fn lists_with_default_limit() {
        let (status, body) = get(&app(), &[("userId", "user1")], as_user("user1")).await;
        assert_eq!(status, 200);
        assert_eq!(body["userId"], "user1");
        assert_eq!(body["notes"].as_array().unwrap().len(), 5);
        assert_eq!(body["notes"][0], json!({"noteId": "note1", "note": "Buy milk"}));
        assert_eq!(body["nextToken"], Value::Null);
    }

    #[tokio::test]
    async fn paginates_with_next_token() {
        let app = app();
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut query = vec![("userId", "user1"), ("limit", "2")];
            if let Some(t) = &token {
                query.push(("nextToken", t.as_str()));
            }
            let (status, body) = get(&app, &query, as_user("user1")).await;
            assert_eq!(status, 200, "{body}");
            pages += 1;
            let notes = body["notes"].as_array().unwrap();
            assert!(notes.len() <= 2);
            seen.extend(notes.iter().map(|n| n["noteId"].as_str().unwrap().to_owned()));
            match body["nextToken"].as_str() {
                Some(t) => token = Some(t.to_owned()),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, ["note1", "note2", "note3", "note4", "note5"]);
    }

    #[tokio::test]
    async fn exact_last_page_has_no_token() {
        let (_, body) = get(&app(), &[("userId", "user2"), ("limit", "1")], as_user("user2")).await;
        assert_eq!(body["notes"].as_array().unwrap().len(), 1);
        assert_eq!(body["nextToken"], Value::Null);
    }

    #[tokio::test]
    async fn list_of_unknown_user_is_empty() {
        let (status, body) = get(&app(), &[("userId", "ghost")], as_user("ghost")).await;
        assert_eq!(status, 200);
        assert_eq!(body, json!({"userId": "ghost", "notes": [], "nextToken": null}));
    }

    #[tokio::test]
    async fn other_users_notes_are_forbidden() {
        let app = app();
        for query in [&[("userId", "user1"), ("noteId", "note1")][..], &[("userId", "user1")][..]] {
            let (status, body) = get(&app, query, as_user("user2")).await;
            assert_eq!(status, 403);
            assert_eq!(error_of(&body), "you may only read your own notes");
        }
        // Anything but boolean true or the string "true" grants nothing.
        for flag in [json!("false"), json!("TRUE"), json!("1"), json!(1), json!(false), json!("yes")] {
            let authorizer = json!({"principalId": "user2", READ_ANY_KEY: flag});
            let (status, _) = get(&app, &[("userId", "user1"), ("noteId", "note1")], authorizer).await;
            assert_eq!(status, 403, "{flag}");
        }
    }

    #[tokio::test]
    async fn read_any_context_allows_other_users() {
        let app = app();
        for flag in [json!("true"), json!(true)] {
            let authorizer = json!({"principalId": "support", READ_ANY_KEY: flag});
            let (status, body) = get(&app, &[("userId", "user1"), ("noteId", "note2")], authorizer.clone()).await;
            assert_eq!(status, 200, "{flag}");
            assert_eq!(body["note"], "Call mom");
            let (status, body) = get(&app, &[("userId", "user2")], authorizer).await;
            assert_eq!(status, 200);
            assert_eq!(body["notes"][0]["note"], "Quarterly report");
        }
    }

    /// An HTTP API payload 2.0 event as API Gateway sends it to the integration.
    fn http_v2(query: &str, lambda: Value) -> Value {
        json!({
            "version": "2.0",
            "routeKey": "GET /notes",
            "rawPath": "/prod/notes",
            "rawQueryString": query,
            "headers": {"host": "h1t2p3a4p5.execute-api.us-east-1.amazonaws.com"},
            "requestContext": {
                "accountId": "123456789012", "apiId": "h1t2p3a4p5", "stage": "prod", "requestId": "r-1",
                "routeKey": "GET /notes", "timeEpoch": 1_700_000_000_000_i64,
                "http": {"method": "GET", "path": "/prod/notes", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
                "authorizer": {"lambda": lambda}
            },
            "isBase64Encoded": false
        })
    }

    #[tokio::test]
    async fn http_api_payload_2_events_are_served_alike() {
        let app = app();
        let status_of = |r: &ApiGatewayProxyResponse| r.status_code;
        let ok = handle_event(&app, http_v2("userId=user1&noteId=note1", json!({"principalId": "user1"}))).await;
        assert_eq!(status_of(&ok), 200);
        let Some(Body::Text(body)) = &ok.body else { panic!("no body") };
        assert!(body.contains("Buy milk"), "{body}");
        let not_owner = handle_event(&app, http_v2("userId=user2", json!({"principalId": "user1"}))).await;
        assert_eq!(status_of(&not_owner), 403);
        let read_any =
            handle_event(&app, http_v2("userId=user2", json!({"principalId": "support", READ_ANY_KEY: true}))).await;
        assert_eq!(status_of(&read_any), 200, "context values keep their JSON type in payload 2.0");
        let repeated = handle_event(&app, http_v2("userId=user1&userId=user2", json!({"principalId": "user1"}))).await;
        assert_eq!(status_of(&repeated), 400, "a repeated parameter is refused, as in REST");
        let anonymous = handle_event(&app, http_v2("userId=user1", Value::Null)).await;
        assert_eq!(status_of(&anonymous), 403);
    }

    #[tokio::test]
    async fn no_principal_is_forbidden() {
        let app = app();
        for authorizer in [Value::Null, json!({}), json!({"principalId": ""}), json!({"principalId": 7})] {
            let (status, body) = get(&app, &[("userId", "user1"), ("noteId", "note1")], authorizer).await;
            assert_eq!(status, 403);
            assert_eq!(error_of(&body), "the request carries no caller identity");
        }
    }

    #[tokio::test]
    async fn bad_parameters_are_400_with_a_reason() {
        let app = app();
        let long = "x".repeat(MAX_ID_CHARS + 1);
        let at_max = "é".repeat(MAX_ID_CHARS);
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![], "query parameter `userId` is required"),
            (vec![("noteId", "note1")], "query parameter `userId` is required"),
            (vec![("userId", "")], "query parameter `userId` must not be empty"),
            (vec![("userId", "user1"), ("noteId", "")], "query parameter `noteId` must not be empty"),
            (vec![("userId", &long)], "query parameter `userId` is longer than 128 characters"),
            (vec![("userId", "user1"), ("noteId", &long)], "query parameter `noteId` is longer than 128 characters"),
            (vec![("userId", "user1"), ("userId", "user2")], "query parameter `userId` is given more than once"),
            (vec![("userId", "user1"), ("limit", "0")], "query parameter `limit` must be a whole number from 1 to 100"),
            (
                vec![("userId", "user1"), ("limit", "101")],
                "query parameter `limit` must be a whole number from 1 to 100",
            ),
            (
                vec![("userId", "user1"), ("limit", "-1")],
                "query parameter `limit` must be a whole number from 1 to 100",
            ),
            (
                vec![("userId", "user1"), ("limit", "ten")],
                "query parameter `limit` must be a whole number from 1 to 100",
            ),
            (vec![("userId", "user1"), ("limit", "")], "query parameter `limit` must be a whole number from 1 to 100"),
            (
                vec![("userId", "user1"), ("limit", "99999999999")],
                "query parameter `limit` must be a whole number from 1 to 100",
            ),
            (
                vec![("userId", "user1"), ("nextToken", "garbage!")],
                "query parameter `nextToken` is not a token from this listing",
            ),
            (
                vec![("userId", "user1"), ("nextToken", "")],
                "query parameter `nextToken` is not a token from this listing",
            ),
            (
                vec![("userId", "user1"), ("noteId", "note1"), ("limit", "2")],
                "query parameter `limit` applies only to listing, not with `noteId`",
            ),
        ];
        for (query, message) in cases {
            let (status, body) = get(&app, &query, as_user("user1")).await;
            assert_eq!(status, 400, "{query:?}");
            assert_eq!(error_of(&body), message, "{query:?}");
        }
        // 128 characters (not bytes) is still fine.
        let (status, _) = get(&app, &[("userId", at_max.as_str())], as_user(&at_max)).await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn token_from_another_users_listing_is_rejected() {
        let app = app();
        let (_, body) = get(&app, &[("userId", "user1"), ("limit", "1")], as_user("user1")).await;
        let token = body["nextToken"].as_str().unwrap().to_owned();
        let authorizer = json!({"principalId": "support", READ_ANY_KEY: "true"});
        let (status, body) = get(&app, &[("userId", "user2"), ("nextToken", &token)], authorizer).await;
        assert_eq!(status, 400);
        assert_eq!(error_of(&body), "query parameter `nextToken` is not a token from this listing");
    }

    #[tokio::test]
    async fn only_get_is_allowed() {
        let app = app();
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"] {
            let response = handle(&app, event(method, &[("userId", "user1")], as_user("user1"))).await;
            assert_eq!(response.status_code, 405, "{method}");
            assert_eq!(response.headers.get(ALLOW).unwrap(), "GET");
            assert_eq!(response.headers.get(CONTENT_TYPE).unwrap(), "application/json");
            let (_, body) = call(&app, event(method, &[], Value::Null)).await;
            assert_eq!(error_of(&body), format!("method `{method}` is not allowed, use GET"));
        }
    }

    #[tokio::test]
    async fn storage_failures_hide_their_detail() {
        let app = app();
        for (failure, status, message) in [
            (RepoError::Throttled("secret-detail".into()), 503, "too many requests right now, try again shortly"),
            (
                RepoError::Unavailable("secret-detail".into()),
                503,
                "notes are temporarily unavailable, try again shortly",
            ),
            (RepoError::Failed("secret-detail".into()), 500, "internal error"),
        ] {
            app.repo().fail_with(Some(failure));
            for query in [&[("userId", "user1"), ("noteId", "note1")][..], &[("userId", "user1")][..]] {
                let request = event("GET", query, as_user("user1"));
                let response = handle(&app, request.clone()).await;
                assert_eq!(response.status_code, status);
                assert_eq!(response.headers.contains_key(RETRY_AFTER), status == 503);
                let (_, body) = call(&app, request).await;
                assert_eq!(body, json!({"error": message}));
            }
        }
        app.repo().fail_with(None);
        let (status, _) = get(&app, &[("userId", "user1"), ("noteId", "note1")], as_user("user1")).await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn raw_events_that_do_not_parse_are_500() {
        let response = handle_event(&app(), json!({"hello": "world"})).await;
        assert_eq!(response.status_code, 500);
        assert_eq!(response.headers.get(CONTENT_TYPE).unwrap(), "application/json");
        assert_eq!(response.body, Some(Body::Text(r#"{"error":"internal error"}"#.to_owned())));
    }

    #[test]
    fn limits_parse_strictly() {
        assert_eq!(limit_param(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(limit_param(Some("1")).unwrap(), 1);
        assert_eq!(limit_param(Some("100")).unwrap(), 100);
        assert_eq!(limit_param(Some("007")).unwrap(), 7);
        for bad in ["+5", " 5", "5 ", "1e2", "0x10", "000"] {
            assert!(limit_param(Some(bad)).is_err(), "{bad}");
        }
    }
}
