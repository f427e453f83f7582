//! What API Gateway does with an authorizer's answer: 401 on `Unauthorized`,
//! 500 on anything malformed, otherwise a policy evaluated against each
//! request's method ARN (or, for an HTTP API with simple responses, a yes or
//! no), cached per identity for the TTL and applied on every route.

use authz_engine::iam::{IamDecision, evaluate};
use aws_lambda_events::apigw::{ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A Lambda function's error result, as the runtime reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionError {
    /// `errorType`.
    pub error_type: String,
    /// `errorMessage`.
    pub error_message: String,
}

/// A usable authorizer answer.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthorizerPolicy {
    /// `principalId` (simple responses have none).
    pub principal_id: Option<String>,
    /// What was decided.
    pub grant: Grant,
    /// The flat context handed to the integration.
    pub context: Map<String, Value>,
}

/// The decision part of an answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Grant {
    /// An IAM policy, evaluated per method ARN.
    Iam(ApiGatewayCustomAuthorizerPolicy),
    /// An HTTP API simple response's `isAuthorized`, the same for every route.
    Simple(bool),
}

/// What the gateway makes of an authorizer invocation.
#[derive(Clone, Debug, PartialEq)]
pub enum AuthorizerAnswer {
    /// The error `Unauthorized`: 401.
    Unauthorized,
    /// Crashed, timed out or answered something API Gateway rejects: 500.
    Invalid(String),
    /// A policy to evaluate.
    Policy(Arc<AuthorizerPolicy>),
}

/// Checks an authorizer's result the way API Gateway does: an IAM policy
/// response, or with `simple` (an HTTP API's `EnableSimpleResponses`) only
/// `{"isAuthorized": bool, "context": {...}}`.
pub fn interpret(result: Result<Value, FunctionError>, simple: bool) -> AuthorizerAnswer {
    let value = match result {
        Err(e) if e.error_message == "Unauthorized" => return AuthorizerAnswer::Unauthorized,
        Err(e) => {
            return AuthorizerAnswer::Invalid(format!("the authorizer failed: {}", e.error_type));
        }
        Ok(value) => value,
    };
    let (principal_id, grant, context) = if simple {
        let Some(is_authorized) = value.get("isAuthorized").and_then(Value::as_bool) else {
            return AuthorizerAnswer::Invalid("a simple response needs a boolean isAuthorized".to_owned());
        };
        (None, Grant::Simple(is_authorized), value.get("context").cloned().unwrap_or(Value::Null))
    } else {
        let response: ApiGatewayCustomAuthorizerResponse = match serde_json::from_value(value) {
            Ok(r) => r,
            Err(e) => return AuthorizerAnswer::Invalid(format!("not an authorizer response: {e}")),
        };
        let Some(principal_id) = response.principal_id.filter(|p| !p.is_empty()) else {
            return AuthorizerAnswer::Invalid("no principalId".to_owned());
        };
        if response.policy_document.statement.is_empty() {
            return AuthorizerAnswer::Invalid("the policy document has no statement".to_owned());
        }
        (Some(principal_id), Grant::Iam(response.policy_document), response.context)
    };
    let context = match context {
        Value::Null => Map::new(),
        Value::Object(map) => map,
        _ => return AuthorizerAnswer::Invalid("context is not an object".to_owned()),
    };
    if let Some((key, _)) = context.iter().find(|(_, v)| !(v.is_string() || v.is_number() || v.is_boolean())) {
        return AuthorizerAnswer::Invalid(format!("context value `{key}` is not a string, number or boolean"));
    }
    AuthorizerAnswer::Policy(Arc::new(AuthorizerPolicy { principal_id, grant, context }))
}

impl AuthorizerPolicy {
    /// Whether this answer lets the caller invoke `method_arn` (a simple
    /// `false` counts as an implicit deny: HTTP APIs answer both with 403).
    pub fn decide(&self, method_arn: &str) -> IamDecision {
        match &self.grant {
            Grant::Iam(document) => evaluate(document, method_arn),
            Grant::Simple(true) => IamDecision::Allow,
            Grant::Simple(false) => IamDecision::ImplicitDeny,
        }
    }
}

/// Upper bound on cached tokens; expired entries are pruned first.
const MAX_ENTRIES: usize = 10_000;

/// Authorizer results per token, for the TTL.
#[derive(Debug, Default)]
pub struct ResultCache {
    entries: Mutex<HashMap<String, (Instant, Arc<AuthorizerPolicy>)>>,
}

impl ResultCache {
    /// The cached policy for `token`, if still fresh.
    pub fn get(&self, token: &str) -> Option<Arc<AuthorizerPolicy>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(token).filter(|(expires, _)| *expires > Instant::now()).map(|(_, p)| Arc::clone(p))
    }

    /// Caches `policy` for `token` during `ttl` (nothing when `ttl` is zero).
    pub fn put(&self, token: &str, policy: Arc<AuthorizerPolicy>, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (expires, _)| *expires > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(token.to_owned(), (now + ttl, policy));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(value: Value) -> AuthorizerAnswer {
        interpret(Ok(value), false)
    }

    fn allow(resource: &str, context: Value) -> Value {
        json!({
            "principalId": "user1",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [resource]}
            ]},
            "context": context,
        })
    }

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/notes";

    #[test]
    fn errors_and_malformed_answers() {
        let err = |m: &str| interpret(Err(FunctionError { error_type: "X".into(), error_message: m.into() }), false);
        assert_eq!(err("Unauthorized"), AuthorizerAnswer::Unauthorized);
        assert!(matches!(err("unauthorized"), AuthorizerAnswer::Invalid(_)), "exact message only");
        assert!(matches!(err("boom"), AuthorizerAnswer::Invalid(_)));
        assert!(matches!(answer(json!("Allow")), AuthorizerAnswer::Invalid(_)));
        assert!(matches!(answer(json!({"policyDocument": {"Statement": []}})), AuthorizerAnswer::Invalid(_)));
        let mut no_principal = allow("*", json!({}));
        no_principal["principalId"] = json!("");
        assert!(matches!(answer(no_principal), AuthorizerAnswer::Invalid(_)));
        assert!(matches!(answer(allow("*", json!({"nested": {"a": 1}}))), AuthorizerAnswer::Invalid(_)));
        assert!(matches!(answer(allow("*", json!({"list": [1]}))), AuthorizerAnswer::Invalid(_)));
        assert!(matches!(answer(allow("*", json!("ctx"))), AuthorizerAnswer::Invalid(_)));
    }

    #[test]
    fn policies_are_evaluated_per_method_arn() {
        let AuthorizerAnswer::Policy(p) = answer(allow(
            "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/notes",
            json!({"role": "reader", "n": 2, "b": true}),
        )) else {
            panic!("valid answer refused")
        };
        assert_eq!(p.context.len(), 3);
        assert_eq!(p.decide(ARN), IamDecision::Allow);
        assert_eq!(p.decide(&ARN.replace("GET", "DELETE")), IamDecision::ImplicitDeny);
    }

    #[test]
    fn simple_responses_only_when_enabled() {
        let simple = |v: Value| interpret(Ok(v), true);
        let AuthorizerAnswer::Policy(yes) = simple(json!({"isAuthorized": true, "context": {"principalId": "user1"}}))
        else {
            panic!()
        };
        assert_eq!((yes.decide(ARN), yes.context["principalId"].as_str()), (IamDecision::Allow, Some("user1")));
        let AuthorizerAnswer::Policy(no) = simple(json!({"isAuthorized": false})) else { panic!() };
        assert_eq!(no.decide(ARN), IamDecision::ImplicitDeny);
        for bad in [
            json!({"isAuthorized": "true"}),
            json!({}),
            allow(ARN, Value::Null),
            json!({"isAuthorized": true, "context": {"a": [1]}}),
        ] {
            assert!(matches!(simple(bad), AuthorizerAnswer::Invalid(_)));
        }
        assert!(
            matches!(answer(json!({"isAuthorized": true})), AuthorizerAnswer::Invalid(_)),
            "a simple answer where a policy is expected is a 500"
        );
    }

    #[test]
    fn the_cache_keeps_results_for_the_ttl_only() {
        let AuthorizerAnswer::Policy(p) = answer(allow("*", Value::Null)) else { panic!() };
        let cache = ResultCache::default();
        cache.put("t0", Arc::clone(&p), Duration::ZERO);
        assert!(cache.get("t0").is_none(), "TTL 0 disables caching");
        cache.put("t1", Arc::clone(&p), Duration::from_millis(50));
        assert!(cache.get("t1").is_some());
        assert!(cache.get("t2").is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("t1").is_none());
    }
}
