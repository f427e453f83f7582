//! The guest-side kit for authz policies.
//!
//! A policy is an ordinary Rust function from a [`Request`] (and its parsed
//! configuration) to a [`Decision`]. This crate owns the WIT bindings: on
//! `wasm32` the [`export_policy!`] macro turns a [`Policy`] implementation into
//! the component the authorizer host loads; on any other target the same code
//! compiles natively, so policies are unit-tested and benchmarked with plain
//! `cargo test`.
//!
//! ```ignore
//! struct MyPolicy;
//! impl authz_policy::Policy for MyPolicy {
//!     type Config = MyConfig; // any serde::Deserialize type
//!     fn decide(config: &MyConfig, request: &Request) -> Result<Decision, PolicyError> { ... }
//! }
//! authz_policy::export_policy!(MyPolicy);
//! ```
//!
//! Every API Gateway authorizer event arrives as the same [`Request`]: REST
//! TOKEN and REQUEST, HTTP API payload 1.0 and 2.0, WebSocket `$connect`
//! ([`RequestKind`] says which). `authz policy new` creates a crate using this
//! one; `docs/policy-authors.md` is the guide.
#![deny(missing_docs)]

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

#[cfg(all(target_arch = "wasm32", feature = "arena"))]
mod arena;
#[cfg(target_arch = "wasm32")]
mod wasm;

/// Re-exports used by [`export_policy!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    #[cfg(target_arch = "wasm32")]
    pub use crate::wasm::{bindings, evaluate, init};
}

/// The version of the `authz:policy` WIT contract this SDK builds components
/// for. A host runs the contract versions it keeps bindings for (a host of
/// 0.2.0 also runs 0.1.0 components) and refuses others when they are loaded.
pub const CONTRACT_VERSION: &str = "0.2.0";

/// Which kind of API Gateway authorizer event a request came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// REST API TOKEN authorizer: only the identity and method ARN are known.
    Token,
    /// REST API REQUEST authorizer.
    Request,
    /// HTTP API, payload format 1.0.
    HttpV1,
    /// HTTP API, payload format 2.0.
    HttpV2,
    /// WebSocket API `$connect`.
    Websocket,
}

impl RequestKind {
    /// Whether the event came from an HTTP API (payload 1.0 or 2.0).
    pub fn is_http_api(self) -> bool {
        matches!(self, RequestKind::HttpV1 | RequestKind::HttpV2)
    }
}

/// The method ARN of the call being authorized, split into its parts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MethodArn {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
    /// AWS region of the API.
    pub region: String,
    /// Account that owns the API.
    pub account_id: String,
    /// API Gateway API id.
    pub api_id: String,
    /// Deployment stage.
    pub stage: String,
    /// HTTP verb, or the route key of a WebSocket API.
    pub method: String,
    /// Resource path with a leading slash.
    pub path: String,
}

/// One authorization request, normalised from any authorizer event kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Event kind.
    pub kind: RequestKind,
    /// The caller's identity value (token). May be a secret: never log it.
    pub identity: Option<String>,
    /// The call being authorized.
    pub method_arn: MethodArn,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Query string parameters.
    pub query: Vec<(String, String)>,
    /// Path parameters.
    pub path_parameters: Vec<(String, String)>,
    /// Stage variables.
    pub stage_variables: Vec<(String, String)>,
    /// Caller's IP address.
    pub source_ip: Option<String>,
    /// Caller's user agent.
    pub user_agent: Option<String>,
    /// API Gateway request id.
    pub request_id: Option<String>,
    /// The host's clock at the start of the decision, ms since the Unix epoch.
    pub now_ms: u64,
}

impl MethodArn {
    /// Parses `arn:<partition>:execute-api:<region>:<account>:<api>/<stage>/<method>[/<path>]`,
    /// splitting it as the host does: how the SDK reads the contract's
    /// method ARN (one string since 0.2.0), and how native tests build requests.
    pub fn parse(raw: &str) -> Option<MethodArn> {
        // One pass over the bytes, no formatting machinery: in the sandbox
        // `str::splitn` (a memchr per field, without SIMD) and `format!` made
        // this split half of a static-token decision's guest time
        // (BENCHMARKS.md). Every separator is ASCII, so each cut is on a
        // character boundary.
        let rest = raw.strip_prefix("arn:")?;
        let (partition, rest) = cut(rest, b':')?;
        let rest = rest.strip_prefix("execute-api:")?;
        let (region, rest) = cut(rest, b':')?;
        let (account_id, rest) = cut(rest, b':')?;
        let (api_id, rest) = cut(rest, b'/')?;
        let (stage, rest) = cut(rest, b'/')?;
        let (method, path) = cut(rest, b'/').unwrap_or((rest, ""));
        if [partition, region, account_id, api_id, stage, method].iter().any(|s| s.is_empty()) {
            return None;
        }
        let mut full_path = String::with_capacity(path.len() + 1);
        full_path.push('/');
        full_path.push_str(path);
        Some(MethodArn {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            api_id: api_id.to_owned(),
            stage: stage.to_owned(),
            method: method.to_owned(),
            path: full_path,
        })
    }
}

/// `s` split around the first `separator` (an ASCII byte), which neither side keeps.
fn cut(s: &str, separator: u8) -> Option<(&str, &str)> {
    let at = s.bytes().position(|b| b == separator)?;
    Some((s.get(..at)?, s.get(at + 1..)?))
}

fn lookup<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn all<'a>(pairs: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    pairs.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
}

impl Request {
    /// A request of `kind` for `method_arn`, everything else empty: handy in tests.
    pub fn new(kind: RequestKind, method_arn: MethodArn) -> Self {
        Request {
            kind,
            identity: None,
            method_arn,
            headers: Vec::new(),
            query: Vec::new(),
            path_parameters: Vec::new(),
            stage_variables: Vec::new(),
            source_ip: None,
            user_agent: None,
            request_id: None,
            now_ms: 0,
        }
    }

    /// First value of a header; `name` must be lower case.
    pub fn header(&self, name: &str) -> Option<&str> {
        lookup(&self.headers, name)
    }

    /// Every value of a header, in order; `name` must be lower case.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        all(&self.headers, name)
    }

    /// First value of a query string parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        lookup(&self.query, name)
    }

    /// Every value of a query string parameter (`?tag=a&tag=b`).
    pub fn query_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        all(&self.query, name)
    }

    /// A path parameter (`{id}` in the resource path), for REST and HTTP APIs.
    pub fn path_parameter(&self, name: &str) -> Option<&str> {
        lookup(&self.path_parameters, name)
    }

    /// A stage variable.
    pub fn stage_variable(&self, name: &str) -> Option<&str> {
        lookup(&self.stage_variables, name)
    }

    /// A cookie's value, from the `cookie` headers (HTTP API 2.0 cookies arrive
    /// as one `cookie` header each).
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.header_values("cookie")
            .flat_map(|header| header.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// The identity with a leading `Bearer ` (any case) removed, if non-empty.
    pub fn bearer_token(&self) -> Option<&str> {
        let identity = self.identity.as_deref()?.trim();
        let token = match (identity.get(..6), identity.get(6..)) {
            (Some(scheme), Some(rest))
                if scheme.eq_ignore_ascii_case("bearer")
                    && (rest.is_empty() || rest.starts_with(char::is_whitespace)) =>
            {
                rest.trim_start()
            }
            _ => identity,
        };
        (!token.is_empty()).then_some(token)
    }

    /// Seconds since the Unix epoch at the start of the decision.
    pub fn now_seconds(&self) -> u64 {
        self.now_ms / 1000
    }
}

/// The policy's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The caller may invoke what the grants list.
    Allow,
    /// The caller is refused (403).
    Deny,
    /// The caller presented no valid credentials (401).
    Unauthorized,
}

/// A method/path pattern the caller may invoke anywhere on the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// Upper-case HTTP verb, or `*`.
    pub method: String,
    /// Path pattern with a leading slash; `*` any run of characters, `?` one character.
    pub path: String,
}

impl Grant {
    /// A grant of `method` on `path`.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Grant { method: method.into(), path: path.into() }
    }

    /// Whether this grant lets the caller invoke `method` on `path`, matched
    /// as API Gateway matches the policy the host builds from it (`*` any run
    /// of characters, `/` included; `?` one character). A route key on the
    /// root (`$connect`) has no path in its ARN, so `* /*` does not cover it.
    /// For native tests.
    pub fn covers(&self, method: &str, path: &str) -> bool {
        wildcard_match(route(&self.method, &self.path).as_bytes(), route(method, path).as_bytes())
    }
}

/// `<method>/<path>` as the tail of an execute-api ARN (see [`Grant::covers`]).
fn route(method: &str, path: &str) -> String {
    let path = path.trim_start_matches('/');
    if method.starts_with('$') && path.is_empty() { method.to_owned() } else { format!("{method}/{path}") }
}

/// `*` matches any run of bytes, `?` one byte (paths are ASCII).
fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t, mut star) = (0, 0, None);
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern.get(p..).is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// A value of the flat context handed to the integration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ContextValue {
    /// A string.
    Text(String),
    /// A number.
    Number(f64),
    /// A boolean.
    Boolean(bool),
}

impl From<&str> for ContextValue {
    fn from(v: &str) -> Self {
        ContextValue::Text(v.to_owned())
    }
}
impl From<String> for ContextValue {
    fn from(v: String) -> Self {
        ContextValue::Text(v)
    }
}
impl From<f64> for ContextValue {
    fn from(v: f64) -> Self {
        ContextValue::Number(v)
    }
}
impl From<bool> for ContextValue {
    fn from(v: bool) -> Self {
        ContextValue::Boolean(v)
    }
}

/// The policy's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// Allow, deny or unauthorized.
    pub effect: Effect,
    /// Who the caller is.
    pub principal_id: String,
    /// What the caller may invoke; required for allow.
    pub grants: Vec<Grant>,
    /// Flat context for the integration.
    pub context: Vec<(String, ContextValue)>,
    /// API key for usage plans.
    pub usage_identifier_key: Option<String>,
}

impl Decision {
    /// Allow `principal` to invoke `grants`.
    pub fn allow(principal: impl Into<String>, grants: Vec<Grant>) -> Self {
        Decision {
            effect: Effect::Allow,
            principal_id: principal.into(),
            grants,
            context: Vec::new(),
            usage_identifier_key: None,
        }
    }

    /// Refuse `principal` (403).
    pub fn deny(principal: impl Into<String>) -> Self {
        Decision { effect: Effect::Deny, ..Decision::allow(principal, Vec::new()) }
    }

    /// The caller has no valid credentials (401).
    pub fn unauthorized() -> Self {
        Decision { effect: Effect::Unauthorized, ..Decision::allow("", Vec::new()) }
    }

    /// Adds a context entry.
    pub fn with_context(mut self, key: impl Into<String>, value: impl Into<ContextValue>) -> Self {
        self.context.push((key.into(), value.into()));
        self
    }

    /// Sets the API key for usage plans (REST APIs).
    pub fn with_usage_identifier_key(mut self, key: impl Into<String>) -> Self {
        self.usage_identifier_key = Some(key.into());
        self
    }

    /// Whether one of the grants covers `method` on `path` (see [`Grant::covers`]).
    pub fn grants_cover(&self, method: &str, path: &str) -> bool {
        self.grants.iter().any(|g| g.covers(method, path))
    }
}

/// Why a policy could not decide. The host fails closed on each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyError {
    /// The configuration is not what the policy expects.
    InvalidConfig(String),
    /// The request cannot be evaluated.
    InvalidRequest(String),
    /// Anything else.
    Internal(String),
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::InvalidConfig(m) => write!(f, "invalid config: {m}"),
            PolicyError::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            PolicyError::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for PolicyError {}

/// A policy: a configuration type and a decision function.
pub trait Policy {
    /// The policy's configuration, parsed from the JSON document published with
    /// it. Checks beyond serde's belong in the type's `Deserialize` (for example
    /// `#[serde(try_from = "Raw")]`), so a bad document fails at `init`.
    type Config: DeserializeOwned + Send + Sync + 'static;

    /// Decides one request.
    fn decide(config: &Self::Config, request: &Request) -> Result<Decision, PolicyError>;
}

/// Parses a policy's configuration document.
pub fn parse_config<P: Policy>(json: &str) -> Result<P::Config, PolicyError> {
    serde_json::from_str(json).map_err(|e| PolicyError::InvalidConfig(e.to_string()))
}

/// Exports a [`Policy`] implementation as the component's `authz:policy/policy`
/// interface. Does nothing on targets other than `wasm32`.
#[macro_export]
macro_rules! export_policy {
    ($policy:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::__private::bindings::exports::authz::policy::policy as __wit;

            static CONFIG: ::std::sync::OnceLock<<$policy as $crate::Policy>::Config> = ::std::sync::OnceLock::new();

            struct __AuthzPolicyComponent;

            impl __wit::Guest for __AuthzPolicyComponent {
                fn init(config: ::std::string::String) -> ::std::result::Result<(), __wit::PolicyError> {
                    $crate::__private::init::<$policy>(&CONFIG, &config)
                }

                fn evaluate(request: __wit::Request) -> ::std::result::Result<__wit::Decision, __wit::PolicyError> {
                    $crate::__private::evaluate::<$policy>(&CONFIG, request)
                }
            }

    $crate::__private::bindings::export!(__AuthzPolicyComponent with_types_in $crate::__private::bindings);
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_identity(identity: &str) -> Request {
        let mut r = Request::new(RequestKind::Token, MethodArn::default());
        r.identity = Some(identity.to_owned());
        r
    }

    #[test]
    fn bearer_prefix_is_stripped_in_any_case() {
        assert_eq!(with_identity("Bearer abc").bearer_token(), Some("abc"));
        assert_eq!(with_identity("bearer  abc").bearer_token(), Some("abc"));
        assert_eq!(with_identity("abc").bearer_token(), Some("abc"));
        assert_eq!(with_identity("Bearer ").bearer_token(), None);
        assert_eq!(with_identity("  ").bearer_token(), None);
    }

    #[test]
    fn contract_version_is_the_wit_package_version() {
        let wit = include_str!("../../../wit/policy.wit");
        assert!(wit.lines().any(|l| l == format!("package authz:policy@{CONTRACT_VERSION};")));
    }

    #[test]
    fn grants_cover_routes_as_api_gateway_matches_them() {
        let d = Decision::allow(
            "u",
            vec![Grant::new("GET", "/notes"), Grant::new("*", "/notes/*"), Grant::new("$connect", "/")],
        );
        assert!(d.grants_cover("GET", "/notes"));
        assert!(d.grants_cover("DELETE", "/notes/7"));
        assert!(d.grants_cover("GET", "/notes/7/items"), "`*` spans slashes");
        assert!(!d.grants_cover("POST", "/notes"));
        assert!(d.grants_cover("$connect", "/"));
        assert!(!Grant::new("*", "/*").covers("$connect", "/"), "as API Gateway: `*/*` needs a path");
        assert!(Grant::new("GET", "/notes/?").covers("GET", "/notes/7"));
        assert!(!Grant::new("GET", "/notes/?").covers("GET", "/notes/77"));
    }

    #[test]
    fn request_helpers_read_every_kind_of_input() {
        let arn = MethodArn::parse("arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/notes/7").unwrap();
        assert_eq!((arn.stage.as_str(), arn.method.as_str(), arn.path.as_str()), ("prod", "GET", "/notes/7"));
        assert_eq!(MethodArn::parse("arn:aws:execute-api:eu-west-1:1:api/dev/$connect").unwrap().path, "/");
        assert!(MethodArn::parse("arn:aws:s3:::bucket").is_none());
        let mut r = Request::new(RequestKind::HttpV2, arn);
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        r.headers = vec![
            pair("cookie", "theme=dark"),
            pair("cookie", "session=s-42; lang=en"),
            pair("x-a", "1"),
            pair("x-a", "2"),
        ];
        r.query = vec![pair("tag", "a"), pair("tag", "b")];
        r.path_parameters = vec![pair("id", "7")];
        r.stage_variables = vec![pair("table", "notes")];
        assert_eq!(r.cookie("session"), Some("s-42"));
        assert_eq!(r.cookie("lang"), Some("en"));
        assert_eq!(r.cookie("missing"), None);
        assert_eq!(r.header_values("x-a").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(r.query_values("tag").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!((r.path_parameter("id"), r.stage_variable("table")), (Some("7"), Some("notes")));
        assert!(r.kind.is_http_api() && !RequestKind::Websocket.is_http_api());
    }

    /// The one-pass split reads every ARN as `splitn` on its separators
    /// does (how the host splits it too), malformed ones included.
    #[test]
    fn method_arns_split_as_splitn_reads_them() {
        fn by_splitn(raw: &str) -> Option<MethodArn> {
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
            let path = format!("/{}", parts.next().unwrap_or(""));
            let non_empty = [partition, region, account_id, api_id, stage, method].iter().all(|s| !s.is_empty());
            non_empty.then(|| MethodArn {
                partition: partition.to_owned(),
                region: region.to_owned(),
                account_id: account_id.to_owned(),
                api_id: api_id.to_owned(),
                stage: stage.to_owned(),
                method: method.to_owned(),
                path,
            })
        }
        let arns = [
            "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes",
            "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/",
            "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET",
            "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes/7/items//x",
            "arn:aws-cn:execute-api:cn-north-1:1:api/dev/$connect",
            "arn:aws:execute-api:us-east-1:1:api/dev/GET/a:b:c",
            "arn:aws:execute-api:us-east-1:1:api:x/dev/GET/p",
            "arn:aws:execute-api:ünï:1:api/stäge/GET/nötes",
            "arn:aws:execute-api:us-east-1:1:api/prod",
            "arn:aws:execute-api:us-east-1:1:api/prod/",
            "arn:aws:execute-api:us-east-1:1:/prod/GET",
            "arn:aws:execute-api:us-east-1::api/prod/GET",
            "arn::execute-api:us-east-1:1:api/prod/GET",
            "arn:aws:execute-api::1:api/prod/GET",
            "arn:aws:execute-api:us-east-1:1:api//GET",
            "arn:aws:execute-api:us-east-1:1",
            "arn:aws:execute-api:us-east-1",
            "arn:aws:lambda:us-east-1:1:api/prod/GET",
            "arn:aws:execute-api",
            "arn:aws",
            "arn",
            "ARN:aws:execute-api:us-east-1:1:api/prod/GET",
            "xarn:aws:execute-api:us-east-1:1:api/prod/GET",
            "",
            ":::::",
            "arn:aws:execute-api:::/",
            "arn:aws:execute-api:r:a:i/s/m",
        ];
        for arn in arns {
            assert_eq!(MethodArn::parse(arn), by_splitn(arn), "{arn}");
        }
        assert!(arns.iter().filter(|a| MethodArn::parse(a).is_some()).count() >= 8);
    }

    #[test]
    fn context_values_deserialize_untagged() {
        let v: Vec<ContextValue> = serde_json::from_str(r#"["a", 1.5, true]"#).unwrap();
        assert_eq!(v, vec!["a".into(), 1.5.into(), true.into()]);
    }
}
