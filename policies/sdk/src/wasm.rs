//! The component side: WIT bindings and the conversions between them and the
//! plain types authors use. Only this module knows about the bindings.

use crate::{ContextValue, Decision, Effect, MethodArn, Policy, PolicyError, Request, RequestKind};
use std::sync::OnceLock;

#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/policy.wit",
        world: "authorizer-policy",
        pub_export_macro: true,
        export_macro_name: "export",
    });
}

use bindings::authz::policy::types as wit;

/// Parses the configuration once per instance.
pub fn init<P: Policy>(slot: &OnceLock<P::Config>, config: &str) -> Result<(), wit::PolicyError> {
    let parsed = crate::parse_config::<P>(config).map_err(to_wit_error)?;
    slot.set(parsed).map_err(|_| wit::PolicyError::Internal("init called twice".to_owned()))?;
    #[cfg(feature = "arena")]
    crate::arena::open();
    Ok(())
}

/// Runs the policy on one request.
pub fn evaluate<P: Policy>(
    slot: &OnceLock<P::Config>,
    request: wit::Request,
) -> Result<wit::Decision, wit::PolicyError> {
    let config = slot.get().ok_or_else(|| wit::PolicyError::InvalidConfig("init was not called".to_owned()))?;
    P::decide(config, &from_wit(request)?).map(to_wit).map_err(to_wit_error)
}

fn from_wit(r: wit::Request) -> Result<Request, wit::PolicyError> {
    // The host checked the ARN's shape; a host that did not is answered, not trusted.
    let method_arn = MethodArn::parse(&r.method_arn).ok_or_else(|| {
        wit::PolicyError::InvalidRequest(format!("`{}` is not an execute-api method ARN", r.method_arn))
    })?;
    Ok(Request {
        kind: match r.kind {
            wit::RequestKind::Token => RequestKind::Token,
            wit::RequestKind::Request => RequestKind::Request,
            wit::RequestKind::HttpV1 => RequestKind::HttpV1,
            wit::RequestKind::HttpV2 => RequestKind::HttpV2,
            wit::RequestKind::Websocket => RequestKind::Websocket,
        },
        identity: r.identity,
        method_arn,
        headers: r.headers.unwrap_or_default(),
        query: r.query.unwrap_or_default(),
        path_parameters: r.path_parameters.unwrap_or_default(),
        stage_variables: r.stage_variables.unwrap_or_default(),
        source_ip: r.source_ip,
        user_agent: r.user_agent,
        request_id: r.request_id,
        now_ms: r.now_ms,
    })
}

fn to_wit(d: Decision) -> wit::Decision {
    wit::Decision {
        effect: match d.effect {
            Effect::Allow => wit::Effect::Allow,
            Effect::Deny => wit::Effect::Deny,
            Effect::Unauthorized => wit::Effect::Unauthorized,
        },
        principal_id: d.principal_id,
        grants: d.grants.into_iter().map(|g| wit::Grant { method: g.method, path: g.path }).collect(),
        context: d
            .context
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    ContextValue::Text(s) => wit::ContextValue::Text(s),
                    ContextValue::Number(n) => wit::ContextValue::Number(n),
                    ContextValue::Boolean(b) => wit::ContextValue::Boolean(b),
                };
                (k, v)
            })
            .collect(),
        usage_identifier_key: d.usage_identifier_key,
    }
}

fn to_wit_error(e: PolicyError) -> wit::PolicyError {
    match e {
        PolicyError::InvalidConfig(m) => wit::PolicyError::InvalidConfig(m),
        PolicyError::InvalidRequest(m) => wit::PolicyError::InvalidRequest(m),
        PolicyError::Internal(m) => wit::PolicyError::Internal(m),
    }
}
