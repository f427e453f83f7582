//! Decisions as data: what the host concluded for one request, and the single
//! function that turns it into what API Gateway receives.
//!
//! Every failure is an [`Outcome::FailClosed`]; [`respond`] maps it to an
//! explicit Deny of the whole API (or `Unauthorized` when the event itself is
//! unusable), never to an Allow.

use crate::bindings::{self, ContextValue, Decision, Effect, Grant, MethodArn};
use crate::limits::answer;
use aws_lambda_events::apigw::{ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde_json::{Map, Value};
use std::fmt;

/// The flat context handed to the integration.
pub type Context = Map<String, Value>;

/// The authorizer response API Gateway receives for a REST API.
pub type PolicyResponse = ApiGatewayCustomAuthorizerResponse<Context>;

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
    p.starts_with('/')
        && p.bytes().all(|b| {
            b.is_ascii_alphanumeric() || b"-._~/{}*?+%@:$!&=;'()".contains(&b)
        })
}

fn valid_context_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= answer::MAX_CONTEXT_KEY_BYTES
        && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b))
}

/// The Resource pattern for `grant` in this API stage.
pub fn grant_resource(arn: &MethodArn, grant: &Grant) -> String {
    format!("{}{}/{}", arn.stage_prefix(), grant.method, grant.path.trim_start_matches('/'))
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
                None => return Err(Failure::Malformed(format!("context `{key}` is not a finite number"))),
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
                return Err(Failure::Oversized(format!(
                    "{} grants, at most {}",
                    d.grants.len(),
                    answer::MAX_GRANTS
                )));
            }
            for g in &d.grants {
                if !valid_method(&g.method) || !valid_path(&g.path) {
                    return Err(Failure::Malformed(format!(
                        "grant `{} {}` is not a method and a path pattern",
                        truncate(&g.method),
                        truncate(&g.path)
                    )));
                }
                let len = grant_resource(arn, g).chars().count();
                if len > answer::MAX_RESOURCE_ARN_CHARS {
                    return Err(Failure::Oversized(format!(
                        "grant resource of {len} characters, at most {}",
                        answer::MAX_RESOURCE_ARN_CHARS
                    )));
                }
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
            let size = serde_json::to_vec(&allow_response(&allowed, arn)).map_or(usize::MAX, |v| v.len());
            if size > answer::MAX_RESPONSE_BYTES {
                return Err(Failure::Oversized(format!(
                    "response of {size} bytes, at most {}",
                    answer::MAX_RESPONSE_BYTES
                )));
            }
            Ok(Outcome::Allow(allowed))
        }
    }
}

/// What the Lambda returns: a policy, or the `Unauthorized` error (401).
#[derive(Clone, Debug, PartialEq)]
pub enum AuthorizerResponse {
    /// An IAM policy response.
    Policy(Box<PolicyResponse>),
    /// Raise an error whose message is exactly `Unauthorized`.
    Unauthorized,
}

impl AuthorizerResponse {
    /// The JSON the Lambda runtime sends back: the policy, or the error document.
    pub fn to_json(&self) -> Value {
        match self {
            AuthorizerResponse::Policy(p) => serde_json::to_value(p).unwrap_or(Value::Null),
            AuthorizerResponse::Unauthorized => {
                serde_json::json!({ "errorType": "Unauthorized", "errorMessage": "Unauthorized" })
            }
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

/// Maps an outcome to the API Gateway response, for the request whose method
/// ARN is `arn` (absent when the event was unusable).
///
/// | outcome | response |
/// |---|---|
/// | allow | Allow on the grants' resources in this stage |
/// | deny | explicit Deny of every method and path of the stage |
/// | unauthorized | the `Unauthorized` error (401) |
/// | fail closed | explicit Deny of the stage as `fail-closed`; `Unauthorized` without an ARN |
pub fn respond(outcome: &Outcome, arn: Option<&MethodArn>) -> AuthorizerResponse {
    let Some(arn) = arn else {
        return AuthorizerResponse::Unauthorized;
    };
    let deny_all = || vec![format!("{}*", arn.stage_prefix())];
    let response = match outcome {
        Outcome::Allow(a) => allow_response(a, arn),
        Outcome::Deny { principal_id, context } => {
            policy(principal_id, IamPolicyEffect::Deny, deny_all(), context.clone())
        }
        Outcome::Unauthorized => return AuthorizerResponse::Unauthorized,
        Outcome::FailClosed(_) => policy(FAIL_CLOSED_PRINCIPAL, IamPolicyEffect::Deny, deny_all(), Context::new()),
    };
    AuthorizerResponse::Policy(Box::new(response))
}

#[cfg(test)]
mod tests;
