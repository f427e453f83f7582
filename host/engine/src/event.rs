//! Authorizer events in, policy requests out.
//!
//! Events are the `aws_lambda_events` types API Gateway sends; this module
//! tells them apart, parses the method ARN and normalises everything into one
//! [`Request`], which is lowered into the contract's request for whichever
//! contract version the policy speaks, so one policy serves every API type:
//!
//! | event | told apart by | type | ARN field |
//! |---|---|---|---|
//! | REST TOKEN | `"type": "TOKEN"` | [`ApiGatewayCustomAuthorizerRequest`] | `methodArn` |
//! | WebSocket `$connect` | `"type": "REQUEST"`, `requestContext.connectionId` or `eventType: CONNECT` | [`ApiGatewayWebsocketProxyRequest`] | `methodArn` |
//! | HTTP API, payload 2.0 | `"type": "REQUEST"`, `"version": "2.0"` | [`ApiGatewayV2CustomAuthorizerV2Request`] | `routeArn` |
//! | HTTP API, payload 1.0 | `"type": "REQUEST"`, `"version": "1.0"` | [`ApiGatewayV2CustomAuthorizerV1Request`] | `methodArn` |
//! | REST REQUEST | `"type": "REQUEST"`, anything else | [`ApiGatewayCustomAuthorizerRequestTypeRequest`] | `methodArn` |
//!
//! The identity is the configured identity header in every REQUEST-like event
//! (HTTP APIs and WebSockets included); policies that take a token from
//! elsewhere (a query parameter, a cookie) read it from the request.
//! HTTP API 2.0 sends cookies apart from the headers: they are handed to the
//! policy as `cookie` headers, one per cookie.

use crate::bindings::RequestKind;
use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV1Request, ApiGatewayV2CustomAuthorizerV2Request, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription, ApiGatewayWebsocketProxyRequest,
};
use aws_lambda_events::http::{HeaderMap, HeaderValue, Method, header};
use aws_lambda_events::query_map::QueryMap;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;

/// API Gateway's limit on a method ARN.
pub const MAX_METHOD_ARN_BYTES: usize = 1600;

/// One authorization request, normalised from any authorizer event kind: the
/// contract's request (`wit/policy.wit`) with the method ARN parsed, kept by
/// the host to answer with and borrowed for lowering.
#[derive(Clone, PartialEq)]
pub struct Request {
    /// Which kind of event it came from.
    pub kind: RequestKind,
    /// The caller's identity value. May be a secret: never log it.
    pub identity: Option<String>,
    /// The call being authorized.
    pub method_arn: MethodArn,
    /// Header names in lower case; repeated headers repeated.
    pub headers: Vec<(String, String)>,
    /// Query string parameters; repeated ones repeated.
    pub query: Vec<(String, String)>,
    /// Path parameters.
    pub path_parameters: Vec<(String, String)>,
    /// Stage variables.
    pub stage_variables: Vec<(String, String)>,
    /// The caller's IP address.
    pub source_ip: Option<String>,
    /// The caller's user agent.
    pub user_agent: Option<String>,
    /// API Gateway's request id.
    pub request_id: Option<String>,
    /// The host's clock at the start of the decision, ms since the Unix epoch.
    pub now_ms: u64,
}

/// Shows the identity only as present or absent and each list by its names:
/// any header may be the identity header (the deployment names it), and a
/// query parameter or cookie may be a token, so a `{:?}` of a request in a log
/// line or a panic message must not show a value.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Names<'a>(&'a [(String, String)]);
        impl std::fmt::Debug for Names<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_list().entries(self.0.iter().map(|(name, _)| name)).finish()
            }
        }
        f.debug_struct("Request")
            .field("kind", &self.kind)
            .field("identity", &self.identity.as_ref().map(|_| "<redacted>"))
            .field("method_arn", &self.method_arn.raw)
            .field("headers", &Names(&self.headers))
            .field("query", &Names(&self.query))
            .field("path_parameters", &Names(&self.path_parameters))
            .field("stage_variables", &Names(&self.stage_variables))
            .field("source_ip", &self.source_ip)
            .field("user_agent", &self.user_agent)
            .field("request_id", &self.request_id)
            .field("now_ms", &self.now_ms)
            .finish()
    }
}

impl Request {
    /// Headers, query, path parameters and stage variables.
    pub(crate) fn lists(&self) -> [&[(String, String)]; 4] {
        [&self.headers, &self.query, &self.path_parameters, &self.stage_variables]
    }
}

/// A checked method ARN,
/// `arn:<partition>:execute-api:<region>:<account>:<api>/<stage>/<method>[/<path>]`,
/// kept as API Gateway sent it with its parts as ranges of that one string:
/// one allocation per request instead of one per part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodArn {
    raw: String,
    /// Start and end of partition, region, account, api, stage and method in `raw`.
    parts: [(u16, u16); 6],
    /// Where the path's slash is in `raw`; `None` for an ARN without a path (the root).
    path_at: Option<u16>,
}

/// An authorizer event as API Gateway sends it, told apart as the module docs say.
pub enum AuthorizerEvent {
    /// REST API TOKEN authorizer.
    Token(ApiGatewayCustomAuthorizerRequest),
    /// REST API REQUEST authorizer.
    Request(Box<ApiGatewayCustomAuthorizerRequestTypeRequest>),
    /// HTTP API REQUEST authorizer, payload format 1.0.
    HttpV1(Box<ApiGatewayV2CustomAuthorizerV1Request>),
    /// HTTP API REQUEST authorizer, payload format 2.0.
    HttpV2(Box<ApiGatewayV2CustomAuthorizerV2Request>),
    /// WebSocket API REQUEST authorizer on `$connect`.
    Websocket {
        /// `methodArn`, which the proxy request type does not carry.
        method_arn: Option<String>,
        /// The rest of the event.
        event: Box<ApiGatewayWebsocketProxyRequest>,
    },
}

/// Shows the kind only: the event types' own Debug prints the token and
/// every header (see [`Request`]'s).
impl std::fmt::Debug for AuthorizerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AuthorizerEvent").field(&self.kind()).finish_non_exhaustive()
    }
}

/// Why an event could not be turned into a request.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not JSON, not an object, or fields of the wrong shape for its kind.
    #[error("not an API Gateway authorizer event: {0}")]
    Shape(#[from] serde_json::Error),
    /// The `type` field is missing or names no authorizer kind.
    #[error("not an API Gateway authorizer event: `type` is {0}, expected `TOKEN` or `REQUEST`")]
    UnknownType(String),
    /// The event has no method ARN (`methodArn`, or `routeArn` for HTTP API 2.0).
    #[error("the event has no `{0}`")]
    MissingMethodArn(&'static str),
    /// The method ARN is not `arn:<partition>:execute-api:<region>:<account>:<api>/<stage>/<method>/<path>`.
    #[error("`{0}` is not an execute-api method ARN")]
    BadMethodArn(String),
    /// The method ARN is longer than API Gateway allows.
    #[error("the method ARN is {0} bytes, more than {MAX_METHOD_ARN_BYTES}")]
    MethodArnTooLong(usize),
}

impl<'de> Deserialize<'de> for AuthorizerEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        AuthorizerEvent::from_value(value).map_err(serde::de::Error::custom)
    }
}

/// The fields that tell the event kinds apart (see the module docs), read
/// before the event is parsed as the type of its kind: nodes of a JSON tree
/// ([`Value`]), or the fields' JSON text borrowed from the event
/// ([`RawValue`], no allocation: this runs on every invocation).
#[derive(Deserialize)]
struct Probe<F> {
    #[serde(rename = "type")]
    kind: Option<F>,
    version: Option<F>,
    #[serde(rename = "methodArn")]
    method_arn: Option<F>,
    /// All a TOKEN event holds besides the two above: it needs no second parse.
    #[serde(rename = "authorizationToken")]
    authorization_token: Option<F>,
    #[serde(rename = "requestContext")]
    request_context: Option<ProbeContext<F>>,
}

#[derive(Deserialize)]
struct ProbeContext<F> {
    #[serde(rename = "connectionId")]
    connection_id: Option<F>,
    #[serde(rename = "eventType")]
    event_type: Option<F>,
}

/// One probed field.
trait ProbeField {
    /// The field's value when it is a JSON string.
    fn text(&self) -> Option<Cow<'_, str>>;
    /// The field as JSON, for error messages.
    fn json(&self) -> String;
}

impl ProbeField for Value {
    fn text(&self) -> Option<Cow<'_, str>> {
        self.as_str().map(Cow::Borrowed)
    }

    fn json(&self) -> String {
        self.to_string()
    }
}

impl ProbeField for &RawValue {
    fn text(&self) -> Option<Cow<'_, str>> {
        // Borrowed unless the string has escapes.
        serde_json::from_str::<&str>(self.get())
            .map(Cow::Borrowed)
            .or_else(|_| serde_json::from_str::<String>(self.get()).map(Cow::Owned))
            .ok()
    }

    fn json(&self) -> String {
        self.get().to_owned()
    }
}

/// Where an event is parsed from: a JSON tree, or JSON text (no tree built).
trait EventSource {
    fn parse<T: serde::de::DeserializeOwned>(self) -> Result<T, serde_json::Error>;
}

impl EventSource for Value {
    fn parse<T: serde::de::DeserializeOwned>(self) -> Result<T, serde_json::Error> {
        serde_json::from_value(self)
    }
}

impl EventSource for &str {
    fn parse<T: serde::de::DeserializeOwned>(self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self)
    }
}

impl AuthorizerEvent {
    /// Tells the event's kind apart (see the module docs) and parses it as the
    /// `aws_lambda_events` type of that kind.
    pub fn from_value(event: Value) -> Result<Self, EventError> {
        if !event.is_object() {
            return Err(EventError::UnknownType("missing".to_owned()));
        }
        let probe = Probe::<Value>::deserialize(&event)?;
        Self::parse(probe, event)
    }

    /// [`AuthorizerEvent::from_value`] from JSON text: what the Lambda
    /// runtime receives, parsed once into the event's type, without a
    /// [`Value`] in between.
    pub fn from_json(json: &str) -> Result<Self, EventError> {
        let probe: Probe<&RawValue> = serde_json::from_str(json)?;
        Self::parse(probe, json)
    }

    fn parse<F: ProbeField>(probe: Probe<F>, event: impl EventSource) -> Result<Self, EventError> {
        let kind = match &probe.kind {
            Some(field) => match field.text() {
                Some(kind) => kind,
                None => return Err(EventError::UnknownType(format!("`{}`", truncate(&field.json())))),
            },
            None => return Err(EventError::UnknownType("missing".to_owned())),
        };
        let websocket = probe.request_context.as_ref().is_some_and(|context| {
            context.connection_id.is_some()
                || context.event_type.as_ref().and_then(F::text).as_deref() == Some("CONNECT")
        });
        match &*kind {
            "TOKEN" => {
                let mut token = ApiGatewayCustomAuthorizerRequest::default();
                token.type_ = Some("TOKEN".to_owned());
                token.authorization_token = string_field(probe.authorization_token.as_ref(), "authorizationToken")?;
                token.method_arn = string_field(probe.method_arn.as_ref(), "methodArn")?;
                Ok(AuthorizerEvent::Token(token))
            }
            "REQUEST" if websocket => {
                let method_arn = probe.method_arn.as_ref().and_then(F::text).map(Cow::into_owned);
                Ok(AuthorizerEvent::Websocket { method_arn, event: Box::new(event.parse()?) })
            }
            "REQUEST" => match probe.version.as_ref().and_then(F::text).as_deref() {
                Some("2.0") => Ok(AuthorizerEvent::HttpV2(Box::new(event.parse()?))),
                Some("1.0") => Ok(AuthorizerEvent::HttpV1(Box::new(event.parse()?))),
                _ => Ok(AuthorizerEvent::Request(Box::new(event.parse()?))),
            },
            other => Err(EventError::UnknownType(format!("`{}`", truncate(other)))),
        }
    }

    /// The contract's name for this event's kind.
    pub fn kind(&self) -> RequestKind {
        match self {
            AuthorizerEvent::Token(_) => RequestKind::Token,
            AuthorizerEvent::Request(_) => RequestKind::Request,
            AuthorizerEvent::HttpV1(_) => RequestKind::HttpV1,
            AuthorizerEvent::HttpV2(_) => RequestKind::HttpV2,
            AuthorizerEvent::Websocket { .. } => RequestKind::Websocket,
        }
    }

    /// The event's method ARN (`routeArn` for HTTP API 2.0), parsed.
    pub fn method_arn(&self) -> Result<MethodArn, EventError> {
        let (raw, field) = match self {
            AuthorizerEvent::Token(e) => (e.method_arn.as_deref(), "methodArn"),
            AuthorizerEvent::Request(e) => (e.method_arn.as_deref(), "methodArn"),
            AuthorizerEvent::HttpV1(e) => (e.method_arn.as_deref(), "methodArn"),
            AuthorizerEvent::HttpV2(e) => (e.route_arn.as_deref(), "routeArn"),
            AuthorizerEvent::Websocket { method_arn, .. } => (method_arn.as_deref(), "methodArn"),
        };
        parse_method_arn(raw.ok_or(EventError::MissingMethodArn(field))?)
    }

    /// Normalises the event into the contract's request. `identity_header` (any
    /// case) names the header holding the caller's identity in every event but TOKEN.
    pub fn into_request(self, identity_header: &str, now_ms: u64) -> Result<Request, EventError> {
        let method_arn = self.method_arn()?;
        let mut request = Request {
            kind: self.kind(),
            identity: None,
            method_arn,
            headers: Vec::new(),
            query: Vec::new(),
            path_parameters: Vec::new(),
            stage_variables: Vec::new(),
            source_ip: None,
            user_agent: None,
            request_id: None,
            now_ms,
        };
        match self {
            AuthorizerEvent::Token(e) => {
                request.identity = e.authorization_token;
                return Ok(request);
            }
            AuthorizerEvent::Request(e) => {
                let e = *e;
                request.headers = headers_of(&e.multi_value_headers, &e.headers);
                request.query = query_of(&e.multi_value_query_string_parameters, &e.query_string_parameters);
                request.path_parameters = sorted_pairs(e.path_parameters);
                request.stage_variables = sorted_pairs(e.stage_variables);
                request.request_id = e.request_context.request_id;
                request.source_ip = e.request_context.identity.and_then(|i| i.source_ip);
            }
            AuthorizerEvent::HttpV1(e) => {
                let e = *e;
                request.headers = header_pairs(&e.headers);
                request.query = sorted_pairs(e.query_string_parameters);
                request.path_parameters = sorted_pairs(e.path_parameters);
                request.stage_variables = sorted_pairs(e.stage_variables);
                request.request_id = e.request_context.request_id;
                request.source_ip = e.request_context.identity.source_ip;
            }
            AuthorizerEvent::HttpV2(e) => {
                let e = *e;
                request.headers = header_pairs(&e.headers);
                request.headers.extend(e.cookies.into_iter().map(|c| ("cookie".to_owned(), c)));
                // `queryStringParameters` joins a repeated parameter's values
                // with commas; the raw query string keeps them apart.
                request.query = match e.raw_query_string.as_deref().filter(|q| !q.is_empty()) {
                    Some(raw) => raw.parse::<QueryMap>().map(|q| query_pairs(&q)).unwrap_or_default(),
                    None => sorted_pairs(e.query_string_parameters),
                };
                request.path_parameters = sorted_pairs(e.path_parameters);
                request.stage_variables = sorted_pairs(e.stage_variables);
                request.request_id = e.request_context.request_id;
                request.source_ip = e.request_context.http.source_ip;
                request.user_agent = e.request_context.http.user_agent;
            }
            AuthorizerEvent::Websocket { event, .. } => {
                let e = *event;
                request.headers = headers_of(&e.multi_value_headers, &e.headers);
                request.query = query_of(&e.multi_value_query_string_parameters, &e.query_string_parameters);
                request.stage_variables = sorted_pairs(e.stage_variables);
                request.request_id = e.request_context.request_id;
                request.source_ip = e.request_context.identity.source_ip;
                request.user_agent = e.request_context.identity.user_agent;
            }
        }
        let identity_header = identity_header.to_ascii_lowercase();
        request.identity = header(&request.headers, &identity_header);
        if request.user_agent.is_none() {
            request.user_agent = header(&request.headers, "user-agent");
        }
        Ok(request)
    }
}

/// The multi-value headers when API Gateway sent them (they keep repeated values), else the single-value ones.
fn headers_of(multi: &HeaderMap, single: &HeaderMap) -> Vec<(String, String)> {
    header_pairs(if multi.is_empty() { single } else { multi })
}

/// The multi-value query when API Gateway sent one, else the single-value one.
fn query_of(multi: &QueryMap, single: &QueryMap) -> Vec<(String, String)> {
    query_pairs(if multi.is_empty() { single } else { multi })
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// A probed field that must be a string when present, as the event type's parse would require.
fn string_field<F: ProbeField>(field: Option<&F>, name: &str) -> Result<Option<String>, EventError> {
    field
        .map(|f| {
            f.text().map(Cow::into_owned).ok_or_else(|| serde::de::Error::custom(format!("`{name}` is not a string")))
        })
        .transpose()
        .map_err(EventError::Shape)
}

fn truncate(s: &str) -> String {
    s.chars().take(32).collect()
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers.iter().map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect()
}

fn query_pairs(query: &QueryMap) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = query.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    pairs.sort();
    pairs
}

fn sorted_pairs(map: HashMap<String, String>) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = map.into_iter().collect();
    pairs.sort();
    pairs
}

/// One HTTP API call as a local gateway sees it: what it takes to build the
/// payload 2.0 authorizer event API Gateway would send for it, so a gateway
/// standing in for API Gateway sends what this module parses.
#[derive(Clone, Debug, Default)]
pub struct HttpApiCall {
    /// AWS region of the API.
    pub region: String,
    /// Account that owns the API.
    pub account_id: String,
    /// API id.
    pub api_id: String,
    /// Stage name; `$default` serves at the root of the URL.
    pub stage: String,
    /// The matched route: `GET /notes/{id}`, or `$default`.
    pub route_key: String,
    /// The request's method.
    pub method: Method,
    /// The request's path within the stage (`/notes/42`).
    pub path: String,
    /// The query string, without `?`.
    pub raw_query: String,
    /// The request's headers; `cookie` headers become the event's `cookies`.
    pub headers: HeaderMap,
    /// Values captured by the route's path variables.
    pub path_parameters: HashMap<String, String>,
    /// The stage's variables.
    pub stage_variables: HashMap<String, String>,
    /// The values of the authorizer's identity sources, in their order.
    pub identity_source: Vec<String>,
    /// The caller's address.
    pub source_ip: String,
    /// The request id.
    pub request_id: String,
    /// When the request arrived, ms since the Unix epoch.
    pub now_ms: u64,
}

impl HttpApiCall {
    /// `arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>`.
    pub fn route_arn(&self) -> String {
        format!(
            "arn:aws:execute-api:{}:{}:{}/{}/{}/{}",
            self.region,
            self.account_id,
            self.api_id,
            self.stage,
            self.method,
            self.path.trim_start_matches('/')
        )
    }

    /// The payload 2.0 authorizer event: as API Gateway sends it, header
    /// values of a repeated header joined with commas, cookies apart, the
    /// query both raw and as a map whose repeated values are joined.
    pub fn authorizer_event(&self) -> ApiGatewayV2CustomAuthorizerV2Request {
        let raw_path =
            if self.stage == "$default" { self.path.clone() } else { format!("/{}{}", self.stage, self.path) };
        let mut headers = HeaderMap::new();
        let mut cookies = Vec::new();
        for name in self.headers.keys() {
            let values: Vec<String> =
                self.headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect();
            if name == header::COOKIE {
                cookies.extend(
                    values.iter().flat_map(|v| v.split(';')).map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()),
                );
            } else if let Ok(joined) = HeaderValue::from_str(&values.join(",")) {
                headers.insert(name.clone(), joined);
            }
        }
        let mut query: Vec<(String, Vec<String>)> = Vec::new();
        let parsed = self.raw_query.parse::<QueryMap>().unwrap_or_default();
        for (k, v) in parsed.iter() {
            // A key's values keep the order they were sent in.
            match query.iter_mut().find(|(key, _)| key == k) {
                Some((_, values)) => values.push(v.to_owned()),
                None => query.push((k.to_owned(), vec![v.to_owned()])),
            }
        }
        let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
        http.method = self.method.clone();
        http.path = Some(raw_path.clone());
        http.protocol = Some("HTTP/1.1".to_owned());
        http.source_ip = Some(self.source_ip.clone());
        http.user_agent = self.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.route_key = Some(self.route_key.clone());
        context.account_id = Some(self.account_id.clone());
        context.stage = Some(self.stage.clone());
        context.request_id = Some(self.request_id.clone());
        context.apiid = Some(self.api_id.clone());
        context.time_epoch = i64::try_from(self.now_ms).unwrap_or(i64::MAX);
        context.http = http;
        let mut event = ApiGatewayV2CustomAuthorizerV2Request::default();
        event.version = Some("2.0".to_owned());
        event.type_ = Some("REQUEST".to_owned());
        event.route_arn = Some(self.route_arn());
        event.identity_source = Some(self.identity_source.clone());
        event.route_key = Some(self.route_key.clone());
        event.raw_path = Some(raw_path);
        event.raw_query_string = Some(self.raw_query.clone());
        event.cookies = cookies;
        event.headers = headers;
        event.query_string_parameters = query.into_iter().map(|(k, v)| (k, v.join(","))).collect();
        event.request_context = context;
        event.path_parameters = self.path_parameters.clone();
        event.stage_variables = self.stage_variables.clone();
        event
    }
}

/// Parses `arn:<partition>:execute-api:<region>:<account>:<api>/<stage>/<method>[/<path>]`.
pub fn parse_method_arn(raw: &str) -> Result<MethodArn, EventError> {
    if raw.len() > MAX_METHOD_ARN_BYTES {
        return Err(EventError::MethodArnTooLong(raw.len()));
    }
    let bad = || EventError::BadMethodArn(raw.to_owned());
    // Cut at each ASCII separator in turn and check bytes, falling back to
    // characters only for non-ASCII text: this runs on every request, and
    // `splitn` plus a `chars()` check per field were a tenth of the host's
    // share of a decision (BENCHMARKS.md).
    let (partition, rest) = raw.strip_prefix("arn:").and_then(|rest| cut(rest, b':')).ok_or_else(bad)?;
    let (region, rest) = rest.strip_prefix("execute-api:").and_then(|rest| cut(rest, b':')).ok_or_else(bad)?;
    let (account_id, rest) = cut(rest, b':').ok_or_else(bad)?;
    let (api_id, rest) = cut(rest, b'/').ok_or_else(bad)?;
    let (stage, rest) = cut(rest, b'/').ok_or_else(bad)?;
    let (method, path) = cut(rest, b'/').map_or((rest, None), |(method, path)| (method, Some(path)));
    // The console's "test authorizer" sends `*` as the stage; nothing else may be a wildcard.
    let stage_ok = stage == "*" || plain(stage);
    if ![partition, region, account_id, api_id, method].into_iter().all(plain)
        || !stage_ok
        || path.is_some_and(|p| p.bytes().any(|b| b == b'*' || b == b'?'))
    {
        return Err(bad());
    }
    // Every part is a slice of `raw`, which is at most MAX_METHOD_ARN_BYTES long.
    let start = raw.as_ptr() as usize;
    let at = |part: &str| u16::try_from(part.as_ptr() as usize - start).unwrap_or(u16::MAX);
    let range = |part: &str| (at(part), at(part).saturating_add(u16::try_from(part.len()).unwrap_or(u16::MAX)));
    Ok(MethodArn {
        raw: raw.to_owned(),
        parts: [partition, region, account_id, api_id, stage, method].map(range),
        // The path starts one byte before its first segment, at the slash.
        path_at: path.map(|p| at(p).saturating_sub(1)),
    })
}

/// `s` split around the first `separator` (an ASCII byte), which neither side keeps.
fn cut(s: &str, separator: u8) -> Option<(&str, &str)> {
    let at = s.bytes().position(|b| b == separator)?;
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// A non-empty ARN field without wildcards, separators or whitespace. An
/// ASCII byte in UTF-8 is always that character, so bytes are checked first.
fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| !matches!(b, b'*' | b'?' | b'/' | b':' | b'\t'..=b'\r' | b' '))
        && (s.is_ascii() || !s.chars().any(char::is_whitespace))
}

impl MethodArn {
    fn part(&self, index: usize) -> &str {
        let (start, end) = self.parts.get(index).copied().unwrap_or_default();
        self.raw.get(usize::from(start)..usize::from(end)).unwrap_or_default()
    }

    /// The ARN as API Gateway sent it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub fn partition(&self) -> &str {
        self.part(0)
    }

    /// The API's region.
    pub fn region(&self) -> &str {
        self.part(1)
    }

    /// The account that owns the API.
    pub fn account_id(&self) -> &str {
        self.part(2)
    }

    /// The API's id.
    pub fn api_id(&self) -> &str {
        self.part(3)
    }

    /// The stage (`*` from the console's test button).
    pub fn stage(&self) -> &str {
        self.part(4)
    }

    /// The HTTP verb, or a WebSocket route key (`$connect`).
    pub fn method(&self) -> &str {
        self.part(5)
    }

    /// The resource path with its leading slash; `/` for the root.
    pub fn path(&self) -> &str {
        self.path_at.and_then(|at| self.raw.get(usize::from(at)..)).unwrap_or("/")
    }

    /// `arn:<partition>:execute-api:<region>:<account>:<api>/<stage>/`: what
    /// every resource in this API's policies starts with.
    pub fn stage_prefix(&self) -> &str {
        // The method follows the stage's slash, so the slash is in `raw`.
        let (_, stage_end) = self.parts[4];
        self.raw.get(..=usize::from(stage_end)).unwrap_or_default()
    }

    /// Characters in [`MethodArn::stage_prefix`].
    pub fn stage_prefix_chars(&self) -> usize {
        self.stage_prefix().chars().count()
    }

    /// The stage prefix followed by `suffix`, in one allocation.
    pub(crate) fn with_suffix(&self, suffix: &[&str]) -> String {
        let prefix = self.stage_prefix();
        let mut arn = String::with_capacity(prefix.len() + suffix.iter().map(|part| part.len()).sum::<usize>());
        arn.push_str(prefix);
        suffix.iter().for_each(|part| arn.push_str(part));
        arn
    }

    /// The ARN of `method` on `path` in this API stage (either may be a
    /// pattern). A route key (`$connect`) on the root is written without a
    /// path, as API Gateway writes WebSocket ARNs (`.../prod/$connect`); an
    /// HTTP verb on the root keeps its slash (`.../prod/GET/`).
    pub fn arn_for(&self, method: &str, path: &str) -> String {
        let path = path.trim_start_matches('/');
        if method.starts_with('$') && path.is_empty() {
            self.with_suffix(&[method])
        } else {
            self.with_suffix(&[method, "/", path])
        }
    }

    /// The length of `arn_for(method, path)` past its `stage_prefix()`.
    pub fn resource_suffix_len(&self, method: &str, path: &str) -> usize {
        let path = path.trim_start_matches('/');
        if method.starts_with('$') && path.is_empty() { method.len() } else { method.len() + 1 + path.len() }
    }

    /// The ARN as API Gateway writes it.
    pub fn to_arn(&self) -> String {
        self.arn_for(self.method(), self.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../../tests/fixtures/events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    fn request(name: &str) -> Request {
        AuthorizerEvent::from_value(fixture(name)).unwrap().into_request("Authorization", 7).unwrap()
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn every_aws_docs_fixture_is_told_apart() {
        for (name, kind) in [
            ("rest-token-aws-docs.json", RequestKind::Token),
            ("rest-request-aws-docs.json", RequestKind::Request),
            ("http-v1-aws-docs.json", RequestKind::HttpV1),
            ("http-v2-aws-docs.json", RequestKind::HttpV2),
            ("websocket-connect-aws-docs.json", RequestKind::Websocket),
            ("websocket-authorizer-aws-docs.json", RequestKind::Websocket),
            ("token-abc123.json", RequestKind::Token),
            ("request-abc123.json", RequestKind::Request),
            ("http-v1-abc123.json", RequestKind::HttpV1),
            ("http-v2-abc123.json", RequestKind::HttpV2),
            ("websocket-connect-abc123.json", RequestKind::Websocket),
        ] {
            let event = AuthorizerEvent::from_value(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(event.kind(), kind, "{name}");
            let request = event.into_request("Authorization", 7).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((request.kind, request.now_ms), (kind, 7), "{name}");
            // The Lambda binary parses the text, without a tree: the same request.
            let text = fixture(name).to_string();
            let from_text = AuthorizerEvent::from_json(&text).and_then(|e| e.into_request("Authorization", 7));
            assert_eq!(from_text.unwrap_or_else(|e| panic!("{name}: {e}")), request, "{name}");
        }
    }

    #[test]
    fn a_request_or_event_debugs_without_its_identity_or_any_value_of_its_lists() {
        let mut r = request("request-abc123.json");
        assert_eq!(r.identity.as_deref(), Some("abc123"));
        r.headers.push(pair("cookie", "session=secret-1"));
        r.query.push(pair("token", "secret-2"));
        r.path_parameters.push(pair("key", "secret-3"));
        r.stage_variables.push(pair("apiKey", "secret-4"));
        let shown = format!("{r:?}");
        assert!(!shown.contains("abc123") && !shown.contains("secret"), "{shown}");
        assert!(shown.contains(r#"identity: Some("<redacted>")"#), "{shown}");
        for (name, _) in r.lists().into_iter().flatten() {
            assert!(shown.contains(&format!("{name:?}")), "{name}: {shown}");
        }
        let event = format!("{:?}", AuthorizerEvent::from_value(fixture("request-abc123.json")).unwrap());
        assert_eq!(event, "AuthorizerEvent(RequestKind::Request, ..)");
    }

    #[test]
    fn http_api_v1_events_carry_the_identity_header_and_request_details() {
        let r = request("http-v1-abc123.json");
        assert_eq!(r.identity.as_deref(), Some("abc123"));
        assert_eq!(r.method_arn.to_arn(), "arn:aws:execute-api:us-east-1:123456789012:h1t2p3a4p5/prod/GET/notes");
        assert_eq!(r.query, vec![pair("limit", "10")]);
        assert_eq!((r.source_ip.as_deref(), r.user_agent.as_deref()), (Some("203.0.113.7"), Some("curl/8.5.0")));
        assert_eq!(r.request_id.as_deref(), Some("Lt0Y5gXhoAMEbFw="));
        // AWS's example has no Authorization header: no identity, whatever `authorizationToken` says.
        let docs = request("http-v1-aws-docs.json");
        assert_eq!(docs.identity, None);
        assert_eq!(docs.stage_variables, vec![pair("StageVar1", "stageValue1")]);
        assert!(docs.headers.contains(&pair("headerauth1", "headerValue1")));
    }

    #[test]
    fn http_api_v2_events_use_the_route_arn_raw_query_and_cookies() {
        let r = request("http-v2-abc123.json");
        assert_eq!(r.identity.as_deref(), Some("abc123"));
        assert_eq!((r.method_arn.method(), r.method_arn.path()), ("GET", "/notes"));
        assert_eq!(r.query, vec![pair("limit", "10"), pair("tag", "home"), pair("tag", "work")]);
        assert!(
            r.headers.contains(&pair("cookie", "theme=dark")) && r.headers.contains(&pair("cookie", "session=s-42"))
        );
        assert_eq!((r.source_ip.as_deref(), r.user_agent.as_deref()), (Some("203.0.113.7"), Some("curl/8.5.0")));
        let docs = request("http-v2-aws-docs.json");
        assert_eq!(docs.identity, None);
        assert_eq!(
            docs.query,
            vec![pair("parameter1", "value1"), pair("parameter1", "value2"), pair("parameter2", "value")]
        );
        assert_eq!(docs.path_parameters, vec![pair("parameter1", "value1")]);
        // Without a raw query string, the comma-joined map is all there is.
        let mut event = fixture("http-v2-aws-docs.json");
        event["rawQueryString"] = Value::String(String::new());
        let r = AuthorizerEvent::from_value(event).unwrap().into_request("Header1", 0).unwrap();
        assert_eq!(r.query, vec![pair("parameter1", "value1,value2"), pair("parameter2", "value")]);
        assert_eq!(r.identity.as_deref(), Some("value1"), "the identity header is configurable, in any case");
        let mut no_route = fixture("http-v2-abc123.json");
        no_route.as_object_mut().unwrap().remove("routeArn");
        let err = AuthorizerEvent::from_value(no_route).unwrap().into_request("Authorization", 0).unwrap_err();
        assert_eq!(err.to_string(), "the event has no `routeArn`");
    }

    #[test]
    fn websocket_connect_events_name_the_route_key() {
        let r = request("websocket-connect-abc123.json");
        assert_eq!(r.identity.as_deref(), Some("abc123"));
        assert_eq!((r.method_arn.method(), r.method_arn.path()), ("$connect", "/"));
        assert_eq!(r.method_arn.to_arn(), "arn:aws:execute-api:us-east-1:123456789012:w1s2o3c4k5/prod/$connect");
        assert_eq!(r.query, vec![pair("room", "general")]);
        assert_eq!(r.source_ip.as_deref(), Some("203.0.113.7"));
        assert!(r.path_parameters.is_empty());
        let docs = request("websocket-authorizer-aws-docs.json");
        assert_eq!(docs.identity, None);
        assert!(docs.headers.contains(&pair("headerauth1", "headerValue1")));
        assert_eq!(docs.request_id.as_deref(), Some("..."));
    }

    #[test]
    fn a_gateway_built_http_api_event_parses_back() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("abc123"));
        headers.append("x-tag", HeaderValue::from_static("a"));
        headers.append("x-tag", HeaderValue::from_static("b"));
        headers.insert("cookie", HeaderValue::from_static("theme=dark; session=s-42"));
        headers.insert("user-agent", HeaderValue::from_static("curl/8.5.0"));
        let call = HttpApiCall {
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
            api_id: "h1t2p3a4p5".to_owned(),
            stage: "prod".to_owned(),
            route_key: "GET /notes/{id}".to_owned(),
            method: Method::GET,
            path: "/notes/42".to_owned(),
            raw_query: "tag=work&tag=home&limit=10".to_owned(),
            headers,
            path_parameters: HashMap::from([("id".to_owned(), "42".to_owned())]),
            identity_source: vec!["abc123".to_owned()],
            source_ip: "203.0.113.7".to_owned(),
            request_id: "r-1".to_owned(),
            now_ms: 1_767_225_600_000,
            ..HttpApiCall::default()
        };
        let json = serde_json::to_value(call.authorizer_event()).unwrap();
        assert_eq!(json["routeArn"], "arn:aws:execute-api:us-east-1:123456789012:h1t2p3a4p5/prod/GET/notes/42");
        assert_eq!(json["rawPath"], "/prod/notes/42");
        assert_eq!(json["cookies"], serde_json::json!(["theme=dark", "session=s-42"]));
        assert_eq!(json["queryStringParameters"]["tag"], "work,home");
        assert_eq!(json["headers"]["x-tag"], "a,b");
        let r = AuthorizerEvent::from_value(json).unwrap().into_request("Authorization", 0).unwrap();
        assert_eq!(r.kind, RequestKind::HttpV2);
        assert_eq!((r.identity.as_deref(), r.method_arn.path()), (Some("abc123"), "/notes/42"));
        assert!(r.headers.contains(&pair("cookie", "session=s-42")));
        assert_eq!(r.query, vec![pair("limit", "10"), pair("tag", "home"), pair("tag", "work")]);
        assert_eq!((r.source_ip.as_deref(), r.user_agent.as_deref()), (Some("203.0.113.7"), Some("curl/8.5.0")));
        assert_eq!(r.path_parameters, vec![pair("id", "42")]);
        let root = HttpApiCall { stage: "$default".to_owned(), path: "/".to_owned(), ..call };
        assert_eq!(root.route_arn(), "arn:aws:execute-api:us-east-1:123456789012:h1t2p3a4p5/$default/GET/");
        assert_eq!(serde_json::to_value(root.authorizer_event()).unwrap()["rawPath"], "/");
    }

    #[test]
    fn unknown_kinds_are_refused() {
        for (event, message) in [
            (serde_json::json!({"methodArn": "arn:aws:execute-api:us-east-1:1:a/prod/GET/x"}), "`type` is missing"),
            (serde_json::json!({"type": "COGNITO"}), "`type` is `COGNITO`"),
            (serde_json::json!({"type": 1}), "`type` is `1`"),
            (serde_json::json!([]), "`type` is missing"),
        ] {
            if event.is_object() {
                let err = AuthorizerEvent::from_json(&event.to_string()).unwrap_err();
                assert!(err.to_string().contains(message), "{err}");
            }
            let err = AuthorizerEvent::from_value(event).unwrap_err();
            assert!(err.to_string().contains(message), "{err}");
        }
        assert!(AuthorizerEvent::from_json("[]").is_err());
        // A 2.0 event without its request context is not one.
        let err = AuthorizerEvent::from_value(serde_json::json!({"type": "REQUEST", "version": "2.0"})).unwrap_err();
        assert!(matches!(err, EventError::Shape(_)), "{err}");
    }

    #[test]
    fn token_events_need_string_fields() {
        let arn = "arn:aws:execute-api:us-east-1:1:a/prod/GET/x";
        for event in [
            serde_json::json!({"type": "TOKEN", "authorizationToken": 5, "methodArn": arn}),
            serde_json::json!({"type": "TOKEN", "authorizationToken": "t", "methodArn": ["x"]}),
        ] {
            let err = AuthorizerEvent::from_json(&event.to_string()).unwrap_err();
            assert!(matches!(err, EventError::Shape(_)), "{err}");
            assert!(matches!(AuthorizerEvent::from_value(event).unwrap_err(), EventError::Shape(_)));
        }
        // Escapes are decoded; null is absent.
        let escaped = format!(r#"{{"type":"TOKEN","authorizationToken":"Bearer a\"b\u00e9","methodArn":"{arn}"}}"#);
        let request = AuthorizerEvent::from_json(&escaped).unwrap().into_request("Authorization", 1).unwrap();
        assert_eq!(request.identity.as_deref(), Some("Bearer a\"bé"));
        let null = serde_json::json!({"type": "TOKEN", "authorizationToken": null, "methodArn": arn});
        let request = AuthorizerEvent::from_json(&null.to_string()).unwrap().into_request("Authorization", 1).unwrap();
        assert_eq!((request.identity, request.method_arn.to_arn()), (None, arn.to_owned()));
        let err = AuthorizerEvent::from_json(r#"{"type":"TOKEN"}"#).unwrap().into_request("Authorization", 1);
        assert!(matches!(err, Err(EventError::MissingMethodArn("methodArn"))));
    }

    #[test]
    fn method_arns_parse_and_print_back() {
        for raw in [
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/notes",
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/",
            "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/v1/POST/notes/42/items",
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/$connect",
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/notes",
        ] {
            let arn = parse_method_arn(raw).unwrap();
            assert_eq!(arn.to_arn(), raw);
        }
        let raw = "arn:aws-cn:execute-api:eu-west-1:1:api/dev/GET/notes/7";
        let arn = parse_method_arn(raw).unwrap();
        let parts = [arn.partition(), arn.region(), arn.account_id(), arn.api_id(), arn.stage(), arn.method()];
        assert_eq!(parts, ["aws-cn", "eu-west-1", "1", "api", "dev", "GET"]);
        assert_eq!((arn.path(), arn.as_str()), ("/notes/7", raw));
        assert_eq!(arn.stage_prefix(), "arn:aws-cn:execute-api:eu-west-1:1:api/dev/");
        let root = parse_method_arn("arn:aws:execute-api:eu-west-1:1:api/dev/GET").unwrap();
        assert_eq!((root.method(), root.path()), ("GET", "/"));
        let console = parse_method_arn("arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/").unwrap();
        assert_eq!((console.stage(), console.path()), ("*", "/"));
        let ws = parse_method_arn("arn:aws:execute-api:eu-west-1:1:api/dev/$connect").unwrap();
        assert_eq!((ws.method(), ws.path()), ("$connect", "/"));
    }

    #[test]
    fn malformed_method_arns_are_rejected() {
        for raw in [
            "",
            "arn:aws:lambda:us-east-1:1:function/x",
            "arn:aws:execute-api:us-east-1:1:api",
            "arn:aws:execute-api:us-east-1:1:api/prod",
            "arn:aws:execute-api:us-east-1:*:api/prod/GET/x",
            "arn:aws:execute-api:us-east-1:1:api/prod/GET/x*",
            "arn:aws:execute-api:us-east-1:1:api/pr od/GET/x",
        ] {
            assert!(parse_method_arn(raw).is_err(), "{raw}");
        }
        let long = format!("arn:aws:execute-api:us-east-1:1:api/prod/GET/{}", "a".repeat(1600));
        assert!(matches!(parse_method_arn(&long), Err(EventError::MethodArnTooLong(_))));
    }

    /// The parser as it was written first, on `splitn` and `chars()`: the
    /// reference the one-pass parser must agree with on every input.
    fn parse_by_splitn(raw: &str) -> Option<(Vec<&str>, Option<&str>)> {
        let mut fields = raw.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("execute-api"), Some(region), Some(account_id), Some(rest)) =
            (fields.next(), fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return None;
        };
        let mut parts = rest.splitn(4, '/');
        let (Some(api_id), Some(stage), Some(method)) = (parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        let path = parts.next();
        let plain =
            |s: &str| !s.is_empty() && s.chars().all(|c| !matches!(c, '*' | '?' | '/' | ':') && !c.is_whitespace());
        let ok = [partition, region, account_id, api_id, method].into_iter().all(plain)
            && (stage == "*" || plain(stage))
            && !path.is_some_and(|p| p.contains(['*', '?']));
        ok.then(|| (vec![partition, region, account_id, api_id, stage, method], path))
    }

    /// Every single-character insertion, replacement and deletion of a few
    /// ARNs, with the characters that matter (separators, wildcards, ASCII and
    /// Unicode whitespace, multi-byte letters), plus pseudo-random strings of
    /// them: the one-pass parser accepts exactly what the reference accepts,
    /// with the same parts.
    #[test]
    fn the_one_pass_parser_agrees_with_splitn_on_every_input() {
        let chars = [
            ':', '/', '*', '?', ' ', '\t', '\u{b}', '\r', '\u{85}', '\u{a0}', '\u{2028}', '\u{3000}', 'a', 'é', '$',
            '-',
        ];
        let bases = [
            "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/notes/7",
            "arn:aws:execute-api:eu-west-1:1:api/*/GET/",
            "arn:aws:execute-api:r:a:i/s/$connect",
        ];
        let mut inputs: Vec<String> = Vec::new();
        for base in bases {
            let at: Vec<usize> = base.char_indices().map(|(i, _)| i).chain([base.len()]).collect();
            for (n, &i) in at.iter().enumerate() {
                for c in chars {
                    inputs.push(format!("{}{c}{}", &base[..i], &base[i..]));
                    if let Some(&next) = at.get(n + 1) {
                        inputs.push(format!("{}{c}{}", &base[..i], &base[next..]));
                    }
                }
                if let Some(&next) = at.get(n + 1) {
                    inputs.push(format!("{}{}", &base[..i], &base[next..]));
                }
            }
        }
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut s = String::from("arn:aws:execute-api:");
            for _ in 0..(seed % 24) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push(chars[(seed % chars.len() as u64) as usize]);
            }
            inputs.push(s);
        }
        let mut accepted = 0;
        for raw in &inputs {
            let ours = parse_method_arn(raw).ok().map(|arn| {
                let parts =
                    vec![arn.partition(), arn.region(), arn.account_id(), arn.api_id(), arn.stage(), arn.method()]
                        .into_iter()
                        .map(str::to_owned)
                        .collect::<Vec<_>>();
                let path = arn.path_at.map(|at| raw[usize::from(at) + 1..].to_owned());
                (parts, path)
            });
            let reference = parse_by_splitn(raw)
                .map(|(parts, path)| (parts.into_iter().map(str::to_owned).collect(), path.map(str::to_owned)));
            assert_eq!(ours, reference, "{raw:?}");
            accepted += usize::from(ours.is_some());
        }
        assert!(accepted > 100, "only {accepted} of {} inputs were valid ARNs", inputs.len());
    }
}
