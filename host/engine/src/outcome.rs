//! Decisions as data: what the host concluded for one request, and the single
//! function that turns it into what API Gateway receives.
//!
//! Every failure is an [`Outcome::FailClosed`]; [`respond_for`] maps it to an
//! explicit Deny of the whole API, or `isAuthorized: false` in the HTTP API
//! simple format (`Unauthorized` when the event itself is unusable), never to
//! an Allow.

use crate::bindings::{self, ContextValue, Decision, Effect, Grant, RequestKind};
use crate::event::MethodArn;
use crate::iam::{IamDecision, evaluate};
use crate::limits::answer;
use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse,
    ApiGatewayV2CustomAuthorizerIamPolicyResponse, ApiGatewayV2CustomAuthorizerSimpleResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// The flat context handed to the integration.
pub type Context = Map<String, Value>;

/// The IAM policy response of REST and WebSocket APIs, and of HTTP API payload 1.0.
pub type PolicyResponse = ApiGatewayCustomAuthorizerResponse<Context>;

/// The IAM policy response of HTTP API payload 2.0 (no usage identifier key: HTTP APIs have no usage plans).
pub type HttpPolicyResponse = ApiGatewayV2CustomAuthorizerIamPolicyResponse<Context>;

/// The HTTP API payload 2.0 simple response: `{"isAuthorized": bool, "context": {...}}`.
pub type SimpleResponse = ApiGatewayV2CustomAuthorizerSimpleResponse<Context>;

/// How the authorizer answers HTTP API payload 2.0 events: the API's
/// authorizer is declared with simple responses enabled, or not. Every other
/// event kind can only be answered with an IAM policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResponseFormat {
    /// An IAM policy built from the grants: the only format REST, WebSocket and payload 1.0 accept.
    #[default]
    Iam,
    /// `{"isAuthorized": bool, "context": {...}}` (`EnableSimpleResponses: true`).
    Simple,
}

/// A response format name that is neither `iam` nor `simple`.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a response format, expected `iam` or `simple`")]
pub struct UnknownResponseFormat(String);

impl FromStr for ResponseFormat {
    type Err = UnknownResponseFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "iam" => Ok(ResponseFormat::Iam),
            "simple" => Ok(ResponseFormat::Simple),
            _ => Err(UnknownResponseFormat(s.to_owned())),
        }
    }
}

impl fmt::Display for ResponseFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResponseFormat::Iam => "iam",
            ResponseFormat::Simple => "simple",
        })
    }
}

/// Principal reported when the host denies because something failed.
pub const FAIL_CLOSED_PRINCIPAL: &str = "fail-closed";

/// An allow, checked against the answer limits.
#[derive(Clone, Debug, PartialEq)]
pub struct Allowed {
    /// Who the caller is.
    pub principal_id: String,
    /// What the caller may invoke across the API.
    pub grants: Vec<Grant>,
    /// Context for the integration.
    pub context: Context,
    /// API key for usage plans.
    pub usage_identifier_key: Option<String>,
}

/// What the host concluded for one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The policy allowed; its answer passed every check.
    Allow(Allowed),
    /// The policy denied.
    Deny {
        /// Who the caller is.
        principal_id: String,
        /// Context for logs and the (403) response.
        context: Context,
    },
    /// The policy found no valid credentials.
    Unauthorized,
    /// Something failed; the request is refused.
    FailClosed(Failure),
}

/// Why the host failed closed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Failure {
    /// No policy version is loaded (cold start with nothing good to serve).
    #[error("no policy is loaded")]
    NoPolicy,
    /// The event is not an authorizer event we understand.
    #[error("bad event: {0}")]
    BadEvent(String),
    /// The policy ran past its wall-clock budget.
    #[error("policy exceeded its {budget_ms} ms budget")]
    Timeout {
        /// The budget.
        budget_ms: u64,
    },
    /// The policy tried to grow its memory past the cap.
    #[error("policy exceeded its {limit_bytes}-byte memory cap")]
    MemoryExhausted {
        /// The cap.
        limit_bytes: usize,
    },
    /// The policy trapped (panic, stack overflow, out-of-bounds access...).
    #[error("policy trapped: {0}")]
    Trap(String),
    /// The policy returned a typed error.
    #[error("policy error: {0}")]
    Policy(PolicyFault),
    /// The policy's answer breaks the contract.
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// The policy's answer is larger than the limits allow.
    #[error("oversized answer: {0}")]
    Oversized(String),
    /// The host could not run the policy (instantiation, pool exhausted...).
    #[error("host error: {0}")]
    Host(String),
}

/// A policy's typed error, as it crossed the boundary.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicyFault {
    /// `invalid-config`.
    InvalidConfig(String),
    /// `invalid-request`.
    InvalidRequest(String),
    /// `internal`.
    Internal(String),
}

impl From<bindings::PolicyError> for PolicyFault {
    fn from(e: bindings::PolicyError) -> Self {
        match e {
            bindings::PolicyError::InvalidConfig(m) => PolicyFault::InvalidConfig(m),
            bindings::PolicyError::InvalidRequest(m) => PolicyFault::InvalidRequest(m),
            bindings::PolicyError::Internal(m) => PolicyFault::Internal(m),
        }
    }
}

impl fmt::Display for PolicyFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyFault::InvalidConfig(m) => write!(f, "invalid config: {m}"),
            PolicyFault::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            PolicyFault::Internal(m) => write!(f, "internal: {m}"),
        }
    }
}

impl Outcome {
    /// `allow`, `deny`, `unauthorized` or `fail_closed`: the decision log's vocabulary.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Allow(_) => "allow",
            Outcome::Deny { .. } => "deny",
            Outcome::Unauthorized => "unauthorized",
            Outcome::FailClosed(_) => "fail_closed",
        }
    }

    /// The principal the outcome names, if any.
    pub fn principal_id(&self) -> Option<&str> {
        match self {
            Outcome::Allow(a) => Some(&a.principal_id),
            Outcome::Deny { principal_id, .. } => Some(principal_id),
            Outcome::Unauthorized | Outcome::FailClosed(_) => None,
        }
    }
}

const METHODS: [&str; 8] = ["*", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

fn valid_method(m: &str) -> bool {
    METHODS.contains(&m)
        || (m.len() > 1
            && m.starts_with('$')
            && m.bytes().skip(1).all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
}

fn valid_path(p: &str) -> bool {
    p.starts_with('/') && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/{}*?+%@:$!&=;'()".contains(&b))
}

fn valid_context_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= answer::MAX_CONTEXT_KEY_BYTES
        && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
}

/// The Resource pattern for `grant` in this API stage.
pub fn grant_resource(arn: &MethodArn, grant: &Grant) -> String {
    arn.arn_for(&grant.method, &grant.path)
}

fn convert_context(entries: Vec<(String, ContextValue)>) -> Result<Context, Failure> {
    if entries.len() > answer::MAX_CONTEXT_ENTRIES {
        return Err(Failure::Oversized(format!(
            "{} context entries, at most {}",
            entries.len(),
            answer::MAX_CONTEXT_ENTRIES
        )));
    }
    let mut context = Context::new();
    for (key, value) in entries {
        if !valid_context_key(&key) {
            return Err(Failure::Malformed(format!("context key `{}` is not allowed", truncate(&key))));
        }
        let value = match value {
            ContextValue::Text(s) => Value::String(s),
            ContextValue::Boolean(b) => Value::Bool(b),
            ContextValue::Number(n) => match serde_json::Number::from_f64(n) {
                Some(n) => Value::Number(n),
                None => {
                    return Err(Failure::Malformed(format!("context `{key}` is not a finite number")));
                }
            },
        };
        if context.insert(key.clone(), value).is_some() {
            return Err(Failure::Malformed(format!("context key `{key}` appears twice")));
        }
    }
    Ok(context)
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

fn check_principal(principal: &str) -> Result<(), Failure> {
    if principal.is_empty() {
        return Err(Failure::Malformed("empty principal id".to_owned()));
    }
    if principal.len() > answer::MAX_PRINCIPAL_BYTES {
        return Err(Failure::Oversized(format!(
            "principal id of {} bytes, at most {}",
            principal.len(),
            answer::MAX_PRINCIPAL_BYTES
        )));
    }
    Ok(())
}

/// Checks a policy's answer for `arn` and turns it into an outcome. Anything
/// outside the contract or the limits fails closed.
pub fn check_decision(decision: Decision, arn: &MethodArn) -> Outcome {
    match check(decision, arn) {
        Ok(outcome) => outcome,
        Err(failure) => Outcome::FailClosed(failure),
    }
}

fn check(d: Decision, arn: &MethodArn) -> Result<Outcome, Failure> {
    match d.effect {
        Effect::Unauthorized => Ok(Outcome::Unauthorized),
        Effect::Deny => {
            check_principal(&d.principal_id)?;
            Ok(Outcome::Deny { principal_id: d.principal_id, context: convert_context(d.context)? })
        }
        Effect::Allow => {
            check_principal(&d.principal_id)?;
            if d.grants.is_empty() {
                return Err(Failure::Malformed("allow without grants".to_owned()));
            }
            if d.grants.len() > answer::MAX_GRANTS {
                return Err(Failure::Oversized(format!("{} grants, at most {}", d.grants.len(), answer::MAX_GRANTS)));
            }
            // Grants are ASCII (checked below): only the stage prefix may hold wider characters.
            let prefix_chars = arn.stage_prefix_chars();
            let mut resources_bytes = 0;
            for g in &d.grants {
                if !valid_method(&g.method) || !valid_path(&g.path) {
                    return Err(Failure::Malformed(format!(
                        "grant `{} {}` is not a method and a path pattern",
                        truncate(&g.method),
                        truncate(&g.path)
                    )));
                }
                let len = prefix_chars + arn.resource_suffix_len(&g.method, &g.path);
                if len > answer::MAX_RESOURCE_ARN_CHARS {
                    return Err(Failure::Oversized(format!(
                        "grant resource of {len} characters, at most {}",
                        answer::MAX_RESOURCE_ARN_CHARS
                    )));
                }
                resources_bytes += len + 3;
            }
            if let Some(key) = &d.usage_identifier_key
                && (key.is_empty() || key.len() > answer::MAX_USAGE_KEY_BYTES)
            {
                return Err(Failure::Malformed("usage identifier key is empty or too long".to_owned()));
            }
            let allowed = Allowed {
                principal_id: d.principal_id,
                grants: d.grants,
                context: convert_context(d.context)?,
                usage_identifier_key: d.usage_identifier_key,
            };
            let size = response_size_bound(&allowed, resources_bytes);
            if size > answer::MAX_RESPONSE_BYTES {
                return Err(Failure::Oversized(format!(
                    "response of up to {size} bytes, at most {}",
                    answer::MAX_RESPONSE_BYTES
                )));
            }
            Ok(Outcome::Allow(allowed))
        }
    }
}

impl serde::Serialize for AuthorizerResponse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            AuthorizerResponse::Policy(p) => p.serialize(serializer),
            AuthorizerResponse::HttpPolicy(p) => p.serialize(serializer),
            AuthorizerResponse::Simple(s) => s.serialize(serializer),
            AuthorizerResponse::Unauthorized => {
                use serde::ser::SerializeMap as _;
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("errorType", "Unauthorized")?;
                map.serialize_entry("errorMessage", "Unauthorized")?;
                map.end()
            }
        }
    }
}

/// The JSON of an allow response without its variable parts, in its largest
/// shape (REST IAM policy with a usage identifier key), plus the
/// `"principalId":` context entry HTTP API answers add.
const ALLOW_SKELETON_BYTES: usize = 220;

/// An upper bound on the size of any response `allowed` may be answered
/// with (IAM policy for any API kind, or simple), computed without building
/// one: building and serializing it cost as much as the decision itself.
/// `resources_bytes` is the grants' resource ARNs with quotes and commas.
fn response_size_bound(allowed: &Allowed, resources_bytes: usize) -> usize {
    let key = allowed.usage_identifier_key.as_ref().map_or(0, json_len);
    ALLOW_SKELETON_BYTES + 2 * json_len(&allowed.principal_id) + resources_bytes + json_len(&allowed.context) + key
}

/// Length of `value` as JSON, counted without writing it anywhere.
fn json_len<T: serde::Serialize + ?Sized>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).map_or(usize::MAX, |()| count.0)
}

/// What the Lambda returns: a policy, a simple answer, or the `Unauthorized` error (401).
#[derive(Clone, Debug, PartialEq)]
pub enum AuthorizerResponse {
    /// An IAM policy response (REST, WebSocket, HTTP API payload 1.0).
    Policy(Box<PolicyResponse>),
    /// An IAM policy response to an HTTP API payload 2.0 event.
    HttpPolicy(Box<HttpPolicyResponse>),
    /// A simple response to an HTTP API payload 2.0 event.
    Simple(SimpleResponse),
    /// Raise an error whose message is exactly `Unauthorized`.
    Unauthorized,
}

impl AuthorizerResponse {
    /// The document the Lambda returns, or `None` when it must raise `Unauthorized` instead.
    pub fn document(&self) -> Option<Value> {
        let json = match self {
            AuthorizerResponse::Policy(p) => serde_json::to_value(p),
            AuthorizerResponse::HttpPolicy(p) => serde_json::to_value(p),
            AuthorizerResponse::Simple(s) => serde_json::to_value(s),
            AuthorizerResponse::Unauthorized => return None,
        };
        // These types always serialize; `Null` would be a malformed answer (500), never an allow.
        Some(json.unwrap_or(Value::Null))
    }

    /// The JSON the Lambda runtime sends back: the document, or the error document.
    /// Its [`Serialize`](serde::Serialize) writes the same without a [`Value`] in between.
    pub fn to_json(&self) -> Value {
        self.document()
            .unwrap_or_else(|| serde_json::json!({ "errorType": "Unauthorized", "errorMessage": "Unauthorized" }))
    }

    /// The IAM policy, for the policy responses.
    pub fn policy_document(&self) -> Option<&ApiGatewayCustomAuthorizerPolicy> {
        match self {
            AuthorizerResponse::Policy(p) => Some(&p.policy_document),
            AuthorizerResponse::HttpPolicy(p) => Some(&p.policy_document),
            AuthorizerResponse::Simple(_) | AuthorizerResponse::Unauthorized => None,
        }
    }

    /// The context handed to the integration, if there is a document.
    pub fn context(&self) -> Option<&Context> {
        match self {
            AuthorizerResponse::Policy(p) => Some(&p.context),
            AuthorizerResponse::HttpPolicy(p) => Some(&p.context),
            AuthorizerResponse::Simple(s) => Some(&s.context),
            AuthorizerResponse::Unauthorized => None,
        }
    }

    /// Whether API Gateway lets a call to `method_arn` through on this answer:
    /// a policy is evaluated for it; a simple answer says the same for every
    /// route (so does a cached one); `Unauthorized` lets nothing through.
    pub fn authorizes(&self, method_arn: &str) -> bool {
        match self {
            AuthorizerResponse::Simple(s) => s.is_authorized,
            AuthorizerResponse::Unauthorized => false,
            _ => self.policy_document().is_some_and(|doc| evaluate(doc, method_arn) == IamDecision::Allow),
        }
    }
}

fn policy(principal: &str, effect: IamPolicyEffect, resources: Vec<String>, context: Context) -> PolicyResponse {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_owned()];
    statement.effect = effect;
    statement.resource = resources;
    let mut document = ApiGatewayCustomAuthorizerPolicy::default();
    document.version = Some("2012-10-17".to_owned());
    document.statement = vec![statement];
    let mut response = PolicyResponse::default();
    response.principal_id = Some(principal.to_owned());
    response.policy_document = document;
    response.context = context;
    response
}

fn allow_response(a: &Allowed, arn: &MethodArn) -> PolicyResponse {
    let resources = a.grants.iter().map(|g| grant_resource(arn, g)).collect();
    let mut response = policy(&a.principal_id, IamPolicyEffect::Allow, resources, a.context.clone());
    response.usage_identifier_key = a.usage_identifier_key.clone();
    response
}

/// Maps an outcome to the REST API response ([`respond_for`] a TOKEN event).
pub fn respond(outcome: &Outcome, arn: Option<&MethodArn>) -> AuthorizerResponse {
    respond_for(outcome, arn, RequestKind::Token, ResponseFormat::Iam)
}

/// Maps an outcome to the API Gateway response, for a request of `kind` whose
/// method ARN is `arn` (absent when the event was unusable). `format` applies
/// to HTTP API payload 2.0 only; every other kind gets an IAM policy.
///
/// | outcome | IAM policy | simple (HTTP API 2.0) |
/// |---|---|---|
/// | allow | Allow on the grants' resources in this stage | `isAuthorized` when a grant covers this route, with the context |
/// | deny | explicit Deny of every method and path of the stage | `isAuthorized: false`, with the context |
/// | unauthorized | the `Unauthorized` error (401) | the `Unauthorized` error (401) |
/// | fail closed | explicit Deny of the stage as `fail-closed` | `isAuthorized: false` |
/// | no usable event (`arn` absent) | the `Unauthorized` error | the `Unauthorized` error |
pub fn respond_for(
    outcome: &Outcome,
    arn: Option<&MethodArn>,
    kind: RequestKind,
    format: ResponseFormat,
) -> AuthorizerResponse {
    let Some(arn) = arn else {
        return AuthorizerResponse::Unauthorized;
    };
    if matches!(outcome, Outcome::Unauthorized) {
        return AuthorizerResponse::Unauthorized;
    }
    if kind == RequestKind::HttpV2 && format == ResponseFormat::Simple {
        return AuthorizerResponse::Simple(simple_response(outcome, arn));
    }
    let deny_all = || vec![arn.with_suffix(&["*"])];
    let mut response = match outcome {
        Outcome::Allow(a) => allow_response(a, arn),
        Outcome::Deny { principal_id, context } => {
            policy(principal_id, IamPolicyEffect::Deny, deny_all(), context.clone())
        }
        Outcome::Unauthorized => return AuthorizerResponse::Unauthorized,
        Outcome::FailClosed(_) => policy(FAIL_CLOSED_PRINCIPAL, IamPolicyEffect::Deny, deny_all(), Context::new()),
    };
    if matches!(kind, RequestKind::HttpV1 | RequestKind::HttpV2)
        && matches!(outcome, Outcome::Allow(_) | Outcome::Deny { .. })
    {
        response.context = with_principal(response.context, response.principal_id.as_deref());
    }
    if kind == RequestKind::HttpV2 {
        let mut http = HttpPolicyResponse::default();
        http.context = response.context;
        http.principal_id = response.principal_id;
        http.policy_document = response.policy_document;
        return AuthorizerResponse::HttpPolicy(Box::new(http));
    }
    AuthorizerResponse::Policy(Box::new(response))
}

/// Answers to HTTP API events also carry the principal in the context as
/// `principalId` (overriding a policy's own key of that name): a simple
/// response has no `principalId` field, and an HTTP API integration reads
/// the caller from `requestContext.authorizer.lambda`, which is the context.
fn with_principal(mut context: Context, principal: Option<&str>) -> Context {
    if let Some(principal) = principal {
        context.insert("principalId".to_owned(), Value::String(principal.to_owned()));
    }
    context
}

/// The simple answer: a yes/no for this route only. An allow is a yes when
/// one of its grants covers the route, judged exactly as the IAM policy would be.
fn simple_response(outcome: &Outcome, arn: &MethodArn) -> SimpleResponse {
    let mut response = SimpleResponse::default();
    match outcome {
        Outcome::Allow(a) => {
            let document = allow_response(a, arn).policy_document;
            response.is_authorized = evaluate(&document, &arn.to_arn()) == IamDecision::Allow;
            response.context = with_principal(a.context.clone(), Some(&a.principal_id));
        }
        Outcome::Deny { principal_id, context } => {
            response.context = with_principal(context.clone(), Some(principal_id))
        }
        Outcome::Unauthorized | Outcome::FailClosed(_) => {}
    }
    response
}

#[cfg(test)]
mod tests;
