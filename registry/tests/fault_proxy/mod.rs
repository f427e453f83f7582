//! A loopback proxy in front of moto that injects faults into one step of a
//! swap at a time: reading the active pointer (DynamoDB), downloading the
//! module or the config (S3), or storing an object (a publish's upload).
//! Watchers and publishers that should see the faults talk to the proxy;
//! the rest go to moto directly.

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The largest body passed either way: above the registry's 32 MiB objects.
const MAX_BODY: usize = 64 << 20;

/// The step of a swap a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// DynamoDB: the active pointer.
    Pointer,
    /// S3: `modules/<sha256>.wasm`.
    Module,
    /// S3: `configs/<sha256>.json`.
    Config,
    /// S3: any object stored (PutObject), by a publish.
    Upload,
}

/// What goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Every attempt answers 500 with the service's error body.
    Error,
    /// The answer comes after this long (past the SDK's attempt timeout, or not).
    Slow(Duration),
    /// The answer's body is damaged: bytes flipped (S3) or cut short (DynamoDB).
    Corrupt,
}

struct Inner {
    upstream: String,
    fault: Mutex<Option<(Step, Fault)>>,
    agent: ureq::Agent,
}

/// The running proxy; stops with the test's runtime.
pub struct FaultProxy {
    inner: Arc<Inner>,
    endpoint: String,
}

impl FaultProxy {
    /// Starts on a free loopback port, forwarding to `upstream` (moto's endpoint).
    pub async fn start(upstream: String) -> FaultProxy {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
        let inner = Arc::new(Inner { upstream, fault: Mutex::new(None), agent });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let app =
            axum::Router::new().fallback(forward).layer(DefaultBodyLimit::max(MAX_BODY)).with_state(Arc::clone(&inner));
        tokio::spawn(async move { axum::serve(listener, app).await });
        FaultProxy { inner, endpoint }
    }

    /// Where the watcher's SDK should point.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sets (or clears) the fault.
    pub fn set(&self, fault: Option<(Step, Fault)>) {
        *self.inner.fault.lock().unwrap() = fault;
    }
}

fn step_of(method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Step> {
    if headers.contains_key("x-amz-target") {
        return Some(Step::Pointer);
    }
    if method == Method::PUT {
        return Some(Step::Upload);
    }
    let path = uri.path();
    if path.contains("/modules/") {
        Some(Step::Module)
    } else if path.contains("/configs/") {
        Some(Step::Config)
    } else {
        None
    }
}

async fn forward(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let step = step_of(&method, &uri, &headers);
    let fault = inner.fault.lock().unwrap().filter(|(s, _)| Some(*s) == step).map(|(_, f)| f);
    match fault {
        Some(Fault::Error) if step == Some(Step::Pointer) => {
            let body =
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected fault"}"#;
            return (StatusCode::INTERNAL_SERVER_ERROR, [("content-type", "application/x-amz-json-1.0")], body)
                .into_response();
        }
        Some(Fault::Error) => {
            let body =
                "<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>injected fault</Message></Error>";
            return (StatusCode::INTERNAL_SERVER_ERROR, [("content-type", "application/xml")], body).into_response();
        }
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Corrupt) | None => {}
    }
    let url = format!("{}{}", inner.upstream, uri.path_and_query().map_or("/", |p| p.as_str()));
    let agent = inner.agent.clone();
    let upstream = tokio::task::spawn_blocking(move || {
        let mut request = ureq::http::Request::builder().method(method.as_str()).uri(url);
        for (name, value) in &headers {
            if !matches!(name.as_str(), "host" | "content-length" | "transfer-encoding" | "connection") {
                request = request.header(name.as_str(), value.as_bytes());
            }
        }
        let mut response =
            agent.run(request.body(body.to_vec()).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers: Vec<(String, Vec<u8>)> =
            response.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec())).collect();
        let bytes =
            response.body_mut().with_config().limit(MAX_BODY as u64).read_to_vec().map_err(|e| e.to_string())?;
        Ok::<_, String>((status, headers, bytes))
    })
    .await;
    let Ok(Ok((status, headers, mut bytes))) = upstream else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    if fault == Some(Fault::Corrupt) {
        if step == Some(Step::Pointer) {
            bytes.truncate(bytes.len() / 2);
        } else {
            let middle = bytes.len() / 2;
            if let Some(b) = bytes.get_mut(middle) {
                *b ^= 0x5a;
            }
        }
    }
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        if !matches!(name.as_str(), "content-length" | "transfer-encoding" | "connection") {
            response = response.header(name, value);
        }
    }
    response.body(Body::from(bytes)).unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}
