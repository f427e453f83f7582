//! The authorizers the wasm host is benchmarked against (`scripts/bench`,
//! BENCHMARKS.md), deciding the same API Gateway TOKEN events with equivalent
//! rules: token `abc123` is `user1`, who may `GET /notes`; any other token is
//! denied.
//!
//! Each takes the event as the bytes Lambda receives and returns the response
//! bytes it sends back: parse, decide, serialize, like the wasm host's
//! "full path" row.
#![deny(missing_docs)]

pub mod cedar;
pub mod native;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};

/// Why an event could not be decided (API Gateway would answer 401 or 500).
#[derive(Debug)]
pub struct BadEvent(pub String);

/// The parts of a TOKEN event a rule looks at.
pub struct TokenRequest {
    /// The caller's token, as sent.
    pub token: Option<String>,
    /// The method ARN being invoked.
    pub method_arn: String,
    /// Offset in `method_arn` where `METHOD/path` starts.
    route_at: usize,
}

impl TokenRequest {
    /// Parses a TOKEN event.
    pub fn parse(event: &[u8]) -> Result<Self, BadEvent> {
        let request: ApiGatewayCustomAuthorizerRequest =
            serde_json::from_slice(event).map_err(|e| BadEvent(e.to_string()))?;
        let method_arn = request.method_arn.ok_or_else(|| BadEvent("no methodArn".to_owned()))?;
        // arn:aws:execute-api:region:account:api/stage/METHOD/path
        let resource_at = method_arn.match_indices(':').nth(4).map(|(i, _)| i + 1);
        let route_at = resource_at
            .and_then(|at| method_arn.get(at..)?.match_indices('/').nth(1).map(|(i, _)| at + i + 1))
            .ok_or_else(|| BadEvent(format!("malformed methodArn `{method_arn}`")))?;
        Ok(TokenRequest { token: request.authorization_token, method_arn, route_at })
    }

    /// `(method, path)` of the route, e.g. `("GET", "/notes")`.
    pub fn route(&self) -> (&str, &str) {
        let route = self.method_arn.get(self.route_at..).unwrap_or_default();
        match route.find('/') {
            Some(slash) => route.split_at(slash),
            None => (route, "/"),
        }
    }
}

/// The IAM policy response for one method ARN, serialized.
pub fn respond(principal: &str, allow: bool, method_arn: &str) -> Vec<u8> {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_owned()];
    statement.effect = if allow { IamPolicyEffect::Allow } else { IamPolicyEffect::Deny };
    statement.resource = vec![method_arn.to_owned()];
    let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some("2012-10-17".to_owned());
    policy.statement = vec![statement];
    let mut response: ApiGatewayCustomAuthorizerResponse = ApiGatewayCustomAuthorizerResponse::default();
    response.principal_id = Some(principal.to_owned());
    response.policy_document = policy;
    serde_json::to_vec(&response).unwrap_or_default()
}

/// The benchmark events: the repository's fixtures (`tests/fixtures/events`).
pub mod events {
    /// `abc123` invoking `GET /notes`: allowed as `user1`.
    pub const ALLOW: &[u8] = include_bytes!("../../../tests/fixtures/events/token-abc123.json");
    /// An unknown token invoking `GET /notes`: denied.
    pub const DENY: &[u8] = include_bytes!("../../../tests/fixtures/events/token-wrong.json");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn decide(authorize: impl Fn(&[u8]) -> Result<Vec<u8>, BadEvent>, event: &[u8]) -> (String, String) {
        let response: serde_json::Value = serde_json::from_slice(&authorize(event).unwrap()).unwrap();
        let statement = &response["policyDocument"]["Statement"][0];
        assert_eq!(statement["Resource"][0], "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes");
        (response["principalId"].as_str().unwrap().to_owned(), statement["Effect"].as_str().unwrap().to_owned())
    }

    #[test]
    fn routes_come_from_the_method_arn() {
        let r = TokenRequest::parse(events::ALLOW).unwrap();
        assert_eq!(r.route(), ("GET", "/notes"));
        assert_eq!(r.token.as_deref(), Some("abc123"));
    }

    #[test]
    fn every_alternative_decides_the_events_alike() {
        let cedar = cedar::CedarAuthorizer::new().unwrap();
        for (name, authorize) in [
            ("native", &native::authorize as &dyn Fn(&[u8]) -> Result<Vec<u8>, BadEvent>),
            ("cedar", &|e: &[u8]| cedar.authorize(e)),
        ] {
            assert_eq!(decide(authorize, events::ALLOW), ("user1".to_owned(), "Allow".to_owned()), "{name}");
            assert_eq!(decide(authorize, events::DENY).1, "Deny", "{name}");
        }
    }
}
