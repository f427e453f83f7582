//! Authorizer events in, policy requests out.
//!
//! Events are the `aws_lambda_events` types API Gateway sends; this module
//! tells them apart, parses the method ARN and normalises everything into the
//! contract's [`Request`].

use crate::bindings::{MethodArn, Request, RequestKind};
use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
};
use aws_lambda_events::http::HeaderMap;
use aws_lambda_events::query_map::QueryMap;
use serde::Deserialize;
use std::collections::HashMap;

/// API Gateway's limit on a method ARN.
pub const MAX_METHOD_ARN_BYTES: usize = 1600;

/// An authorizer event as API Gateway sends it, told apart by its `type`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
pub enum AuthorizerEvent {
    /// REST API TOKEN authorizer.
    #[serde(rename = "TOKEN")]
    Token(ApiGatewayCustomAuthorizerRequest),
    /// REST API REQUEST authorizer.
    #[serde(rename = "REQUEST")]
    Request(Box<ApiGatewayCustomAuthorizerRequestTypeRequest>),
}

/// Why an event could not be turned into a request.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not JSON, not an object, an unknown `type`, or fields of the wrong shape.
    #[error("not an API Gateway authorizer event: {0}")]
    Shape(#[from] serde_json::Error),
    /// The event has no `methodArn`.
    #[error("the event has no `methodArn`")]
    MissingMethodArn,
    /// The method ARN is not `arn:<partition>:execute-api:<region>:<account>:<api>/<stage>/<method>/<path>`.
    #[error("`{0}` is not an execute-api method ARN")]
    BadMethodArn(String),
    /// The method ARN is longer than API Gateway allows.
    #[error("the method ARN is {0} bytes, more than {MAX_METHOD_ARN_BYTES}")]
    MethodArnTooLong(usize),
}

impl AuthorizerEvent {
    /// The event's method ARN, parsed.
    pub fn method_arn(&self) -> Result<MethodArn, EventError> {
        let raw = match self {
            AuthorizerEvent::Token(e) => e.method_arn.as_deref(),
            AuthorizerEvent::Request(e) => e.method_arn.as_deref(),
        };
        parse_method_arn(raw.ok_or(EventError::MissingMethodArn)?)
    }

    /// Normalises the event into the contract's request. `identity_header` (any
    /// case) names the header holding the caller's identity in REQUEST events.
    pub fn into_request(self, identity_header: &str, now_ms: u64) -> Result<Request, EventError> {
        let method_arn = self.method_arn()?;
        let mut request = Request {
            kind: RequestKind::Token,
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
            AuthorizerEvent::Token(e) => request.identity = e.authorization_token,
            AuthorizerEvent::Request(e) => {
                let e = *e;
                request.kind = RequestKind::Request;
                let headers = if e.multi_value_headers.is_empty() {
                    &e.headers
                } else {
                    &e.multi_value_headers
                };
                request.headers = header_pairs(headers);
                let identity_header = identity_header.to_ascii_lowercase();
                request.identity = request
                    .headers
                    .iter()
                    .find(|(k, _)| *k == identity_header)
                    .map(|(_, v)| v.clone());
                request.user_agent = request
                    .headers
                    .iter()
                    .find(|(k, _)| k == "user-agent")
                    .map(|(_, v)| v.clone());
                request.query = if e.multi_value_query_string_parameters.is_empty() {
                    query_pairs(&e.query_string_parameters)
                } else {
                    query_pairs(&e.multi_value_query_string_parameters)
                };
                request.path_parameters = sorted_pairs(e.path_parameters);
                request.stage_variables = sorted_pairs(e.stage_variables);
                request.request_id = e.request_context.request_id;
                request.source_ip = e.request_context.identity.and_then(|i| i.source_ip);
            }
        }
        Ok(request)
    }
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect()
}

fn query_pairs(query: &QueryMap) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> =
        query.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    pairs.sort();
    pairs
}

fn sorted_pairs(map: HashMap<String, String>) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = map.into_iter().collect();
    pairs.sort();
    pairs
}

/// Parses `arn:<partition>:execute-api:<region>:<account>:<api>/<stage>/<method>[/<path>]`.
pub fn parse_method_arn(raw: &str) -> Result<MethodArn, EventError> {
    if raw.len() > MAX_METHOD_ARN_BYTES {
        return Err(EventError::MethodArnTooLong(raw.len()));
    }
    let bad = || EventError::BadMethodArn(raw.to_owned());
    let mut fields = raw.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("execute-api"), Some(region), Some(account_id), Some(rest)) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(bad());
    };
    let mut parts = rest.splitn(4, '/');
    let (Some(api_id), Some(stage), Some(method)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let path = format!("/{}", parts.next().unwrap_or(""));
    let plain = |s: &str| !s.is_empty() && !s.contains(['*', '?', '/', ':']) && !s.contains(char::is_whitespace);
    // The console's "test authorizer" sends `*` as the stage; nothing else may be a wildcard.
    let stage_ok = stage == "*" || plain(stage);
    if ![partition, region, account_id, api_id, method].into_iter().all(plain) || !stage_ok || path.contains(['*', '?'])
    {
        return Err(bad());
    }
    Ok(MethodArn {
        partition: partition.to_owned(),
        region: region.to_owned(),
        account_id: account_id.to_owned(),
        api_id: api_id.to_owned(),
        stage: stage.to_owned(),
        method: method.to_owned(),
        path,
    })
}

impl MethodArn {
    /// `arn:<partition>:execute-api:<region>:<account>:<api>/<stage>/`: what
    /// every resource in this API's policies starts with.
    pub fn stage_prefix(&self) -> String {
        format!(
            "arn:{}:execute-api:{}:{}:{}/{}/",
            self.partition, self.region, self.account_id, self.api_id, self.stage
        )
    }

    /// The ARN as API Gateway writes it.
    pub fn to_arn(&self) -> String {
        format!("{}{}/{}", self.stage_prefix(), self.method, self.path.trim_start_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_arns_parse_and_print_back() {
        for raw in [
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/notes",
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/",
            "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/v1/POST/notes/42/items",
        ] {
            let arn = parse_method_arn(raw).unwrap();
            assert_eq!(arn.to_arn(), raw);
        }
        let arn = parse_method_arn("arn:aws:execute-api:eu-west-1:1:api/dev/GET/notes/7").unwrap();
        assert_eq!((arn.method.as_str(), arn.path.as_str()), ("GET", "/notes/7"));
        let console = parse_method_arn("arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/").unwrap();
        assert_eq!((console.stage.as_str(), console.path.as_str()), ("*", "/"));
        let ws = parse_method_arn("arn:aws:execute-api:eu-west-1:1:api/dev/$connect").unwrap();
        assert_eq!((ws.method.as_str(), ws.path.as_str()), ("$connect", "/"));
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
}
