//! The HTTP side: routes, the authorizer step, the integration.
//!
//! | situation | REST API | HTTP API |
//! |---|---|---|
//! | no route for the method and path | 403 `{"message":"Missing Authentication Token"}` | 404 `{"message":"Not Found"}` |
//! | an identity source missing or empty, or the token failing the validation expression (authorizer not invoked) | 401 `{"message":"Unauthorized"}` | 401 `{"message":"Unauthorized"}` |
//! | authorizer raised `Unauthorized` | 401 `{"message":"Unauthorized"}` | 401 `{"message":"Unauthorized"}` |
//! | the policy explicitly denies the method ARN | 403 `{"message":"User is not authorized to access this resource with an explicit deny"}` | 403 `{"message":"Forbidden"}` |
//! | no Allow matches the method ARN; simple `isAuthorized: false` | 403 `{"message":"User is not authorized to access this resource"}` | 403 `{"message":"Forbidden"}` |
//! | authorizer failed or answered something malformed | 500 `{"message":null}` | 500 `{"message":"Internal Server Error"}` |
//! | the integration failed or answered something malformed | 502 `{"message":"Internal server error"}` | 500 `{"message":"Internal Server Error"}` |
//! | allowed | the function's response; REST: `requestContext.authorizer` holds `principalId` and the context (as strings) | the function's payload 2.0 response; `requestContext.authorizer.lambda` holds the context |
//!
//! Answers are cached per identity (the token; for an HTTP API all identity
//! source values) for the authorizer's TTL and applied to every route, as API Gateway does.

use crate::authorizer::{AuthorizerAnswer, AuthorizerPolicy, ResultCache, interpret};
use crate::functions::LocalFunction;
use crate::template::{ApiKind, ApiSpec, AuthorizerPayload, AuthorizerSpec, IdentitySource, Route};
use authz_engine::HttpApiCall;
use authz_engine::iam::IamDecision;
use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyRequestContext, ApiGatewayProxyResponse, ApiGatewayRequestAuthorizer,
    ApiGatewayRequestIdentity,
};
use aws_lambda_events::encodings::Body;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// The account and region in local method ARNs.
pub(crate) const ACCOUNT: &str = "123456789012";
pub(crate) const REGION: &str = "us-east-1";
/// The local API's id in method ARNs (API ids are ten lowercase characters).
pub const API_ID: &str = "authzlocal";

/// A local API (REST or HTTP).
pub struct Gateway {
    spec: ApiSpec,
    functions: HashMap<String, Arc<LocalFunction>>,
    cache: ResultCache,
}

impl Gateway {
    /// A gateway serving `spec` with `functions` by logical id (shared with the
    /// gateways of the template's other APIs); a route whose function is
    /// missing answers as a failed integration.
    pub fn new(spec: ApiSpec, functions: HashMap<String, Arc<LocalFunction>>) -> Arc<Self> {
        Arc::new(Gateway { spec, functions, cache: ResultCache::default() })
    }

    /// What it serves.
    pub fn spec(&self) -> &ApiSpec {
        &self.spec
    }
}

/// Serves `gateway` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    gateway: Arc<Gateway>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().fallback(handle).with_state(gateway);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

fn request_id() -> String {
    let mut b = [0u8; 16];
    // Only an identifier: a failing random source still yields a usable (zero) id.
    let _ = getrandom::fill(&mut b);
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// Why the gateway answers instead of the integration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    NoRoute,
    Unauthorized,
    ExplicitDeny,
    ImplicitDeny,
    AuthorizerFailed,
    IntegrationFailed,
}

impl Refusal {
    /// API Gateway's status, body and error type for this refusal on an API of `kind`.
    fn response(self, kind: ApiKind, id: &str) -> Response {
        let (status, error_type, message) = match (kind, self) {
            (ApiKind::Rest, Refusal::NoRoute) => {
                (StatusCode::FORBIDDEN, "MissingAuthenticationTokenException", json!("Missing Authentication Token"))
            }
            (ApiKind::Http, Refusal::NoRoute) => (StatusCode::NOT_FOUND, "", json!("Not Found")),
            (ApiKind::Rest, Refusal::Unauthorized) => {
                (StatusCode::UNAUTHORIZED, "UnauthorizedException", json!("Unauthorized"))
            }
            (ApiKind::Http, Refusal::Unauthorized) => (StatusCode::UNAUTHORIZED, "", json!("Unauthorized")),
            (ApiKind::Rest, Refusal::ExplicitDeny) => (
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                json!("User is not authorized to access this resource with an explicit deny"),
            ),
            (ApiKind::Rest, Refusal::ImplicitDeny) => (
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                json!("User is not authorized to access this resource"),
            ),
            (ApiKind::Http, Refusal::ExplicitDeny | Refusal::ImplicitDeny) => {
                (StatusCode::FORBIDDEN, "", json!("Forbidden"))
            }
            (ApiKind::Rest, Refusal::AuthorizerFailed) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "AuthorizerConfigurationException", Value::Null)
            }
            (ApiKind::Rest, Refusal::IntegrationFailed) => {
                (StatusCode::BAD_GATEWAY, "InternalServerErrorException", json!("Internal server error"))
            }
            (ApiKind::Http, Refusal::AuthorizerFailed | Refusal::IntegrationFailed) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "", json!("Internal Server Error"))
            }
        };
        let mut response =
            (status, [("content-type", "application/json")], json!({ "message": message }).to_string()).into_response();
        let headers: &[(&str, &str)] = match kind {
            ApiKind::Rest => &[("x-amzn-errortype", error_type), ("x-amzn-requestid", id)],
            ApiKind::Http => &[("apigw-requestid", id)],
        };
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                response.headers_mut().insert(*name, value);
            }
        }
        response
    }
}

/// One request's parts, as the events are built from them.
pub(crate) struct Call<'a> {
    pub id: &'a str,
    pub peer: SocketAddr,
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub route: &'a Route,
    pub path_parameters: BTreeMap<String, String>,
    pub stage: &'a str,
    /// The path within the stage.
    pub path: &'a str,
}

impl Call<'_> {
    /// The method ARN API Gateway evaluates the policy against.
    fn method_arn(&self) -> String {
        format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{}/{}{}", self.stage, self.method, self.path)
    }

    /// All values of header `name` (any case), joined with commas as API Gateway does.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        (!values.is_empty()).then(|| values.join(","))
    }

    /// This call as the engine's HTTP API event builder takes it.
    pub(crate) fn http_api_call(&self, identity_source: Vec<String>) -> HttpApiCall {
        crate::http_api::call(self, identity_source)
    }
}

async fn handle(
    State(g): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let id = request_id();
    let path = uri.path().to_owned();
    let span = tracing::info_span!("request", request_id = %id, %method, %path);
    let _enter = span.enter();
    let (response, principal) = g.answer(&id, peer, &method, &uri, &headers, body).await;
    tracing::info!(
        status = response.status().as_u16(),
        principal,
        latency_us = started.elapsed().as_micros() as u64,
        "answered"
    );
    response
}

impl Gateway {
    async fn answer(
        &self,
        id: &str,
        peer: SocketAddr,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> (Response, Option<String>) {
        let kind = self.spec.kind;
        let Some((route, path_parameters)) = self.spec.route(method.as_str(), uri.path()) else {
            return (Refusal::NoRoute.response(kind, id), None);
        };
        let stage = self.spec.stage.as_str();
        let stage_prefix = format!("/{stage}");
        let path = uri.path().strip_prefix(&stage_prefix).filter(|p| p.starts_with('/')).unwrap_or(uri.path());
        let call = Call { id, peer, method, uri, headers, route, path_parameters, stage, path };

        let authorized = match (&self.spec.authorizer, route.authorized) {
            (Some(spec), true) => match self.authorize(spec, &call).await {
                Ok(policy) => Some(policy),
                Err((refusal, principal)) => return (refusal.response(kind, id), principal),
            },
            _ => None,
        };
        let principal = authorized.as_ref().and_then(|p| p.principal_id.clone());
        let event = match kind {
            ApiKind::Rest => proxy_event(&call, body, authorized.as_deref()),
            ApiKind::Http => crate::http_api::integration_event(&call, body, authorized.as_deref()),
        };
        let result = match self.functions.get(&route.function) {
            Some(f) => f.invoke(event).await,
            None => {
                tracing::error!(function = %route.function, "the route's function cannot run locally");
                return (Refusal::IntegrationFailed.response(kind, id), principal);
            }
        };
        let response = result.map_err(|e| format!("function error {}", e.error_type)).and_then(|v| match kind {
            ApiKind::Rest => serde_json::from_value::<ApiGatewayProxyResponse>(v)
                .map_err(|e| format!("malformed proxy response: {e}"))
                .and_then(|r| to_http(r, id)),
            ApiKind::Http => crate::http_api::to_http(v, id),
        });
        match response {
            Ok(response) => (response, principal),
            Err(reason) => {
                tracing::error!(%reason, "integration failed");
                (Refusal::IntegrationFailed.response(kind, id), principal)
            }
        }
    }

    /// The authorizer step: the cached answer for this identity or a fresh
    /// one, judged for this call's method ARN.
    async fn authorize(
        &self,
        spec: &AuthorizerSpec,
        call: &Call<'_>,
    ) -> Result<Arc<AuthorizerPolicy>, (Refusal, Option<String>)> {
        let mut identity = Vec::with_capacity(spec.identity.len());
        for source in &spec.identity {
            let value = match source {
                IdentitySource::Header(name) => call.header(name),
                IdentitySource::Query(name) => form_urlencoded::parse(call.uri.query().unwrap_or("").as_bytes())
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
                    .reduce(|a, b| format!("{a},{b}")),
                IdentitySource::RouteKey => Some(crate::http_api::route_key(call.route)),
            };
            match value {
                Some(v) if !v.is_empty() => identity.push(v),
                _ => return Err((Refusal::Unauthorized, None)),
            }
        }
        if let (Some(re), Some(token)) = (&spec.validation, identity.first())
            && !re.is_match(token)
        {
            return Err((Refusal::Unauthorized, None));
        }
        let method_arn = call.method_arn();
        // One value (a token) is its own key; several are kept apart unambiguously.
        let key = match identity.as_slice() {
            [one] => one.clone(),
            many => serde_json::to_string(many).unwrap_or_default(),
        };
        let cached = if key.is_empty() { None } else { self.cache.get(&key) };
        let policy = match cached {
            Some(policy) => policy,
            None => {
                let event = match spec.payload {
                    AuthorizerPayload::Token => {
                        json!({ "type": "TOKEN", "authorizationToken": identity.first(), "methodArn": method_arn })
                    }
                    AuthorizerPayload::HttpV1 => crate::http_api::v1_authorizer_event(call, &identity, &method_arn),
                    AuthorizerPayload::HttpV2 { .. } => {
                        serde_json::to_value(call.http_api_call(identity.clone()).authorizer_event())
                            .unwrap_or(Value::Null)
                    }
                };
                let simple = spec.payload == AuthorizerPayload::HttpV2 { simple: true };
                let answer = match self.functions.get(&spec.function) {
                    Some(f) => interpret(f.invoke(event).await, simple),
                    None => AuthorizerAnswer::Invalid(format!("function {} cannot run locally", spec.function)),
                };
                match answer {
                    AuthorizerAnswer::Unauthorized => return Err((Refusal::Unauthorized, None)),
                    AuthorizerAnswer::Invalid(reason) => {
                        tracing::error!(%reason, "authorizer failed: 500");
                        return Err((Refusal::AuthorizerFailed, None));
                    }
                    AuthorizerAnswer::Policy(policy) => {
                        if !key.is_empty() {
                            self.cache.put(&key, Arc::clone(&policy), spec.ttl);
                        }
                        policy
                    }
                }
            }
        };
        match policy.decide(&method_arn) {
            IamDecision::Allow => Ok(policy),
            IamDecision::ExplicitDeny => Err((Refusal::ExplicitDeny, policy.principal_id.clone())),
            IamDecision::ImplicitDeny => Err((Refusal::ImplicitDeny, policy.principal_id.clone())),
        }
    }
}

/// The REST proxy integration's event.
fn proxy_event(call: &Call<'_>, body: Bytes, authorized: Option<&AuthorizerPolicy>) -> Value {
    let Call { id, peer, method, uri, headers, route, stage, path, .. } = *call;
    let mut single = HashMap::new();
    let mut multi: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        // API Gateway's single-value map keeps the last value.
        single.insert(k.to_string(), v.to_string());
        multi.entry(k.to_string()).or_default().push(v.to_string());
    }
    let mut request = ApiGatewayProxyRequest::default();
    request.resource = Some(route.path.clone());
    request.path = Some(path.to_owned());
    request.http_method = method.clone();
    request.headers = headers.clone();
    request.multi_value_headers = headers.clone();
    request.query_string_parameters = single.into();
    request.multi_value_query_string_parameters = multi.into();
    request.path_parameters = call.path_parameters.clone().into_iter().collect();
    (request.body, request.is_base64_encoded) = request_body(&body);
    let mut context = ApiGatewayProxyRequestContext::default();
    context.account_id = Some(ACCOUNT.to_owned());
    context.apiid = Some(API_ID.to_owned());
    context.stage = Some(stage.to_owned());
    context.request_id = Some(id.to_owned());
    context.resource_path = Some(route.path.clone());
    context.path = Some(format!("/{stage}{path}"));
    context.http_method = method.clone();
    context.protocol = Some("HTTP/1.1".to_owned());
    context.request_time_epoch = i64::try_from(authz_engine::now_ms()).unwrap_or(0);
    let mut identity = ApiGatewayRequestIdentity::default();
    identity.source_ip = Some(peer.ip().to_string());
    identity.user_agent = headers.get("user-agent").and_then(|v| v.to_str().ok()).map(str::to_owned);
    context.identity = identity;
    if let Some(policy) = authorized {
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        if let Some(principal) = &policy.principal_id {
            authorizer.fields.insert("principalId".to_owned(), Value::String(principal.clone()));
        }
        for (k, v) in &policy.context {
            // REST APIs hand context values to the integration as strings.
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            authorizer.fields.insert(k.clone(), Value::String(text));
        }
        context.authorizer = authorizer;
    }
    request.request_context = context;
    serde_json::to_value(request).unwrap_or(Value::Null)
}

fn to_http(r: ApiGatewayProxyResponse, id: &str) -> Result<Response, String> {
    let status =
        u16::try_from(r.status_code).ok().and_then(|s| StatusCode::from_u16(s).ok()).ok_or("bad statusCode")?;
    let mut response = (status, body_bytes(r.body, r.is_base64_encoded)?).into_response();
    let out = response.headers_mut();
    for (name, value) in r.multi_value_headers.iter().chain(r.headers.iter()) {
        out.insert(name.clone(), value.clone());
    }
    if let Ok(value) = HeaderValue::from_str(id) {
        out.insert(HeaderName::from_static("x-amzn-requestid"), value);
    }
    Ok(response)
}

/// An integration response's body as bytes (REST and HTTP API answers alike).
pub(crate) fn body_bytes(body: Option<Body>, is_base64_encoded: bool) -> Result<Vec<u8>, String> {
    Ok(match body {
        None | Some(Body::Empty) => Vec::new(),
        Some(Body::Text(text)) if is_base64_encoded => {
            base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| "isBase64Encoded body is not base64")?
        }
        Some(Body::Text(text)) => text.into_bytes(),
        Some(Body::Binary(bytes)) => bytes,
        Some(_) => return Err("unsupported body encoding".to_owned()),
    })
}

/// A request body as an event carries it: text as is, anything else in base64.
pub(crate) fn request_body(body: &[u8]) -> (Option<String>, bool) {
    match std::str::from_utf8(body) {
        _ if body.is_empty() => (None, false),
        Ok(text) => (Some(text.to_owned()), false),
        Err(_) => (Some(base64::engine::general_purpose::STANDARD.encode(body)), true),
    }
}
