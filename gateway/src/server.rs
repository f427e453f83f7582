//! The HTTP side: routes, the authorizer step, the proxy integration.
//!
//! | situation | status | body |
//! |---|---|---|
//! | no route for the method and path | 403 | `{"message":"Missing Authentication Token"}` |
//! | identity header missing, empty or failing the validation expression (authorizer not invoked) | 401 | `{"message":"Unauthorized"}` |
//! | authorizer raised `Unauthorized` | 401 | `{"message":"Unauthorized"}` |
//! | the policy explicitly denies the method ARN | 403 | `{"message":"User is not authorized to access this resource with an explicit deny"}` |
//! | no Allow matches the method ARN | 403 | `{"message":"User is not authorized to access this resource"}` |
//! | authorizer failed or answered something malformed | 500 | `{"message":null}` |
//! | the integration failed or answered something malformed | 502 | `{"message":"Internal server error"}` |
//! | allowed | the function's response, its `requestContext.authorizer` holding `principalId` and the context |
//!
//! Policies are cached per token for the authorizer's TTL and applied to
//! every route, as API Gateway does.

use crate::authorizer::{AuthorizerAnswer, AuthorizerPolicy, ResultCache, interpret};
use crate::functions::LocalFunction;
use crate::template::ApiSpec;
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
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
/// The local API's id in method ARNs (API ids are ten lowercase characters).
pub const API_ID: &str = "authzlocal";

/// A local REST API.
pub struct Gateway {
    spec: ApiSpec,
    functions: HashMap<String, LocalFunction>,
    cache: ResultCache,
}

impl Gateway {
    /// A gateway serving `spec` with `functions` by logical id; a route whose
    /// function is missing answers 502.
    pub fn new(spec: ApiSpec, functions: HashMap<String, LocalFunction>) -> Arc<Self> {
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
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await
}

fn request_id() -> String {
    let mut b = [0u8; 16];
    // Only an identifier: a failing random source still yields a usable (zero) id.
    let _ = getrandom::fill(&mut b);
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

fn error(status: StatusCode, error_type: &str, message: Value, request_id: &str) -> Response {
    let mut response = (status, [("content-type", "application/json")], json!({ "message": message }).to_string()).into_response();
    for (name, value) in [("x-amzn-errortype", error_type), ("x-amzn-requestid", request_id)] {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
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
    tracing::info!(status = response.status().as_u16(), principal, latency_us = started.elapsed().as_micros() as u64, "answered");
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
        let Some((route, path_parameters)) = self.spec.route(method.as_str(), uri.path()) else {
            return (error(StatusCode::FORBIDDEN, "MissingAuthenticationTokenException", json!("Missing Authentication Token"), id), None);
        };
        let stage = self.spec.stage.as_str();
        let stage_prefix = format!("/{stage}");
        let path = uri.path().strip_prefix(&stage_prefix).filter(|p| p.starts_with('/')).unwrap_or(uri.path());

        let authorized = match (&self.spec.authorizer, route.authorized) {
            (Some(spec), true) => {
                let token = headers.get(spec.identity_header.as_str()).and_then(|v| v.to_str().ok()).unwrap_or("");
                if token.is_empty() || spec.validation.as_ref().is_some_and(|re| !re.is_match(token)) {
                    return (error(StatusCode::UNAUTHORIZED, "UnauthorizedException", json!("Unauthorized"), id), None);
                }
                let method_arn = format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{stage}/{method}{path}");
                let policy = match self.cache.get(token) {
                    Some(policy) => policy,
                    None => {
                        let event = json!({ "type": "TOKEN", "authorizationToken": token, "methodArn": method_arn });
                        let answer = match self.functions.get(&spec.function) {
                            Some(f) => interpret(f.invoke(event).await),
                            None => AuthorizerAnswer::Invalid(format!("function {} cannot run locally", spec.function)),
                        };
                        match answer {
                            AuthorizerAnswer::Unauthorized => {
                                return (error(StatusCode::UNAUTHORIZED, "UnauthorizedException", json!("Unauthorized"), id), None);
                            }
                            AuthorizerAnswer::Invalid(reason) => {
                                tracing::error!(%reason, "authorizer failed: 500 AuthorizerConfigurationException");
                                return (error(StatusCode::INTERNAL_SERVER_ERROR, "AuthorizerConfigurationException", Value::Null, id), None);
                            }
                            AuthorizerAnswer::Policy(policy) => {
                                self.cache.put(token, Arc::clone(&policy), spec.ttl);
                                policy
                            }
                        }
                    }
                };
                let principal = Some(policy.principal_id.clone());
                match policy.decide(&method_arn) {
                    IamDecision::Allow => Some(policy),
                    IamDecision::ExplicitDeny => {
                        let message = json!("User is not authorized to access this resource with an explicit deny");
                        return (error(StatusCode::FORBIDDEN, "AccessDeniedException", message, id), principal);
                    }
                    IamDecision::ImplicitDeny => {
                        let message = json!("User is not authorized to access this resource");
                        return (error(StatusCode::FORBIDDEN, "AccessDeniedException", message, id), principal);
                    }
                }
            }
            _ => None,
        };
        let principal = authorized.as_ref().map(|p| p.principal_id.clone());
        let event = proxy_event(id, peer, method, uri, headers, body, &route.path, path, stage, path_parameters, authorized.as_deref());
        let result = match self.functions.get(&route.function) {
            Some(f) => f.invoke(event).await,
            None => {
                tracing::error!(function = %route.function, "the route's function cannot run locally");
                return (error(StatusCode::BAD_GATEWAY, "InternalServerErrorException", json!("Internal server error"), id), principal);
            }
        };
        let response = result
            .map_err(|e| format!("function error {}", e.error_type))
            .and_then(|v| serde_json::from_value::<ApiGatewayProxyResponse>(v).map_err(|e| format!("malformed proxy response: {e}")))
            .and_then(|r| to_http(r, id));
        match response {
            Ok(response) => (response, principal),
            Err(reason) => {
                tracing::error!(%reason, "integration failed: 502");
                (error(StatusCode::BAD_GATEWAY, "InternalServerErrorException", json!("Internal server error"), id), principal)
            }
        }
    }
}

#[allow(clippy::too_many_arguments, reason = "one request's parts, assembled in one place")]
fn proxy_event(
    id: &str,
    peer: SocketAddr,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
    resource: &str,
    path: &str,
    stage: &str,
    path_parameters: BTreeMap<String, String>,
    authorized: Option<&AuthorizerPolicy>,
) -> Value {
    let mut single = HashMap::new();
    let mut multi: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        // API Gateway's single-value map keeps the last value.
        single.insert(k.to_string(), v.to_string());
        multi.entry(k.to_string()).or_default().push(v.to_string());
    }
    let mut request = ApiGatewayProxyRequest::default();
    request.resource = Some(resource.to_owned());
    request.path = Some(path.to_owned());
    request.http_method = method.clone();
    request.headers = headers.clone();
    request.multi_value_headers = headers.clone();
    request.query_string_parameters = single.into();
    request.multi_value_query_string_parameters = multi.into();
    request.path_parameters = path_parameters.into_iter().collect();
    (request.body, request.is_base64_encoded) = match std::str::from_utf8(&body) {
        _ if body.is_empty() => (None, false),
        Ok(text) => (Some(text.to_owned()), false),
        Err(_) => (Some(base64::engine::general_purpose::STANDARD.encode(&body)), true),
    };
    let mut context = ApiGatewayProxyRequestContext::default();
    context.account_id = Some(ACCOUNT.to_owned());
    context.apiid = Some(API_ID.to_owned());
    context.stage = Some(stage.to_owned());
    context.request_id = Some(id.to_owned());
    context.resource_path = Some(resource.to_owned());
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
        authorizer.fields.insert("principalId".to_owned(), Value::String(policy.principal_id.clone()));
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
    let status = u16::try_from(r.status_code).ok().and_then(|s| StatusCode::from_u16(s).ok()).ok_or("bad statusCode")?;
    let body: Vec<u8> = match r.body {
        None | Some(Body::Empty) => Vec::new(),
        Some(Body::Text(text)) if r.is_base64_encoded => {
            base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| "isBase64Encoded body is not base64")?
        }
        Some(Body::Text(text)) => text.into_bytes(),
        Some(Body::Binary(bytes)) => bytes,
        Some(_) => return Err("unsupported body encoding".to_owned()),
    };
    let mut response = (status, body).into_response();
    let out = response.headers_mut();
    for (name, value) in r.multi_value_headers.iter().chain(r.headers.iter()) {
        out.insert(name.clone(), value.clone());
    }
    if let Ok(value) = HeaderValue::from_str(id) {
        out.insert(HeaderName::from_static("x-amzn-requestid"), value);
    }
    Ok(response)
}
