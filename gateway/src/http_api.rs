//! HTTP API (`AWS::Serverless::HttpApi`) specifics: the events its Lambda
//! authorizer (payload 1.0 or 2.0) and its payload 2.0 integrations receive,
//! and how an integration's answer becomes the HTTP response.
//!
//! The payload 2.0 authorizer event is built by the engine's
//! [`HttpApiCall`], the type the authorizer parses, so what the gateway sends
//! and what the authorizer expects cannot drift apart.

use crate::authorizer::AuthorizerPolicy;
use crate::server::{ACCOUNT, API_ID, Call, REGION};
use crate::template::Route;
use authz_engine::HttpApiCall;
use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequestIdentity, ApiGatewayRequestAuthorizer,
    ApiGatewayV2CustomAuthorizerV1Request, ApiGatewayV2CustomAuthorizerV1RequestTypeRequestContext,
    ApiGatewayV2httpRequest, ApiGatewayV2httpResponse,
};
use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;

/// The call as the engine's event builder takes it.
pub(crate) fn call(c: &Call<'_>, identity_source: Vec<String>) -> HttpApiCall {
    HttpApiCall {
        region: REGION.to_owned(),
        account_id: ACCOUNT.to_owned(),
        api_id: API_ID.to_owned(),
        stage: c.stage.to_owned(),
        route_key: route_key(c.route),
        method: c.method.clone(),
        path: c.path.to_owned(),
        raw_query: c.uri.query().unwrap_or("").to_owned(),
        headers: c.headers.clone(),
        path_parameters: c.path_parameters.clone().into_iter().collect(),
        stage_variables: HashMap::new(),
        identity_source,
        source_ip: c.peer.ip().to_string(),
        request_id: c.id.to_owned(),
        now_ms: authz_engine::now_ms(),
    }
}

/// `GET /notes/{id}`, `ANY /x`, or `$default`.
pub(crate) fn route_key(route: &Route) -> String {
    if route.path == "$default" { "$default".to_owned() } else { format!("{} {}", route.method, route.path) }
}

/// The payload 1.0 authorizer event: the REST REQUEST shape plus `version`
/// and the identity source values joined with commas.
pub(crate) fn v1_authorizer_event(c: &Call<'_>, identity: &[String], method_arn: &str) -> Value {
    let mut headers = axum::http::HeaderMap::new();
    for name in c.headers.keys() {
        if let Some(joined) = c.header(name.as_str()).and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name.clone(), joined);
        }
    }
    let mut identity_description = ApiGatewayCustomAuthorizerRequestTypeRequestIdentity::default();
    identity_description.source_ip = Some(c.peer.ip().to_string());
    let mut context = ApiGatewayV2CustomAuthorizerV1RequestTypeRequestContext::default();
    context.path = Some(format!("/{}{}", c.stage, c.path));
    context.account_id = Some(ACCOUNT.to_owned());
    context.stage = Some(c.stage.to_owned());
    context.request_id = Some(c.id.to_owned());
    context.identity = identity_description;
    context.resource_path = Some(c.route.path.clone());
    context.http_method = c.method.clone();
    context.apiid = Some(API_ID.to_owned());
    let mut event = ApiGatewayV2CustomAuthorizerV1Request::default();
    event.version = Some("1.0".to_owned());
    event.type_ = Some("REQUEST".to_owned());
    event.method_arn = Some(method_arn.to_owned());
    event.identity_source = Some(identity.join(","));
    event.authorization_token = Some(identity.join(","));
    event.resource = Some(c.route.path.clone());
    event.path = Some(c.path.to_owned());
    event.http_method = c.method.clone();
    event.headers = headers;
    // The single-value map keeps the last value of a repeated parameter.
    event.query_string_parameters = form_urlencoded::parse(c.uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    event.path_parameters = c.path_parameters.clone().into_iter().collect();
    event.request_context = context;
    serde_json::to_value(event).unwrap_or(Value::Null)
}

/// The payload 2.0 integration event, the authorizer's context under
/// `requestContext.authorizer.lambda` with its JSON types kept.
pub(crate) fn integration_event(c: &Call<'_>, body: Bytes, authorized: Option<&AuthorizerPolicy>) -> Value {
    // The integration sees the same request the authorizer saw.
    let seen = c.http_api_call(Vec::new()).authorizer_event();
    let mut request = ApiGatewayV2httpRequest::default();
    request.version = Some("2.0".to_owned());
    request.route_key = seen.route_key;
    request.raw_path = seen.raw_path;
    request.raw_query_string = seen.raw_query_string;
    request.cookies = (!seen.cookies.is_empty()).then_some(seen.cookies);
    request.headers = seen.headers;
    request.query_string_parameters = seen.query_string_parameters.into();
    request.path_parameters = seen.path_parameters;
    request.stage_variables = seen.stage_variables;
    let mut context = seen.request_context;
    if let Some(policy) = authorized {
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        // `fields` is what the type (de)serializes as `lambda`.
        authorizer.fields = policy.context.clone().into_iter().collect();
        context.authorizer = Some(authorizer);
    }
    request.request_context = context;
    (request.body, request.is_base64_encoded) = crate::server::request_body(&body);
    let mut event = serde_json::to_value(request).unwrap_or(Value::Null);
    if let Some(fields) = event.as_object_mut() {
        // Fields the type carries for other payloads; a payload 2.0 integration event has none of them.
        for key in ["httpMethod", "type", "methodArn", "identitySource", "authorizationToken", "resource"] {
            fields.remove(key);
        }
    }
    event
}

/// A payload 2.0 integration's answer as HTTP: an object with `statusCode`
/// is a response; any other JSON is a 200 `application/json` body.
pub(crate) fn to_http(mut value: Value, id: &str) -> Result<Response, String> {
    let mut response = if let Some(fields) = value.as_object_mut().filter(|o| o.contains_key("statusCode")) {
        // Optional for API Gateway, required by the type.
        fields.entry("cookies").or_insert_with(|| Value::Array(Vec::new()));
        let r: ApiGatewayV2httpResponse =
            serde_json::from_value(value).map_err(|e| format!("malformed response: {e}"))?;
        let status =
            u16::try_from(r.status_code).ok().and_then(|s| StatusCode::from_u16(s).ok()).ok_or("bad statusCode")?;
        let mut response = (status, crate::server::body_bytes(r.body, r.is_base64_encoded)?).into_response();
        let out = response.headers_mut();
        for (name, value) in r.headers.iter() {
            out.insert(name.clone(), value.clone());
        }
        for cookie in &r.cookies {
            let value = HeaderValue::from_str(cookie).map_err(|_| "a cookie is not a valid header value")?;
            out.append(header::SET_COOKIE, value);
        }
        response
    } else {
        (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
    };
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(HeaderName::from_static("apigw-requestid"), value);
    }
    Ok(response)
}
