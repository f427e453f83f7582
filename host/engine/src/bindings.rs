//! The host side of the WIT contract. The only place that runs `bindgen!`;
//! the rest of the workspace uses the types re-exported from here and calls
//! policies through [`Pre`] and [`Guest`], whichever contract version they
//! were built against.
//!
//! Requests are lowered from borrowed data (`ownership: Borrowing`): the
//! host's [`Request`] is never copied to be handed to a policy.

#![allow(missing_docs, reason = "generated from the documented WIT")]

use crate::event::Request;
use wasmtime::component::{Instance, InstancePre};
use wasmtime::{AsContextMut, Result as WasmResult};

/// `authz:policy@0.2.0` (`wit/policy.wit`): what the SDK builds.
mod current {
    wasmtime::component::bindgen!({
        path: "../../wit/policy.wit",
        world: "authorizer-policy",
        additional_derives: [PartialEq],
        ownership: Borrowing { duplicate_if_necessary: false },
    });
}

/// `authz:policy@0.1.0` (`wit/v0.1.0/policy.wit`): modules published before
/// 0.2.0 keep loading.
mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.1.0/policy.wit",
        world: "authorizer-policy",
        ownership: Borrowing { duplicate_if_necessary: false },
    });
}

pub use current::authz::policy::types::{ContextValue, Decision, Effect, Grant, PolicyError, RequestKind};

/// The package version this host builds against (`authz:policy@X.Y.Z`).
pub const CONTRACT_VERSION: &str = "0.2.0";

/// A contract version this host runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Contract {
    V0_1,
    V0_2,
}

/// Every version a module may be built against, newest first, each with the
/// WIT kept for it (`wit/`).
pub(crate) const CONTRACTS: [(&str, Contract); 2] =
    [(Contract::V0_2.version(), Contract::V0_2), (Contract::V0_1.version(), Contract::V0_1)];

impl Contract {
    /// The version this contract is kept at (`wit/`), as messages say it.
    pub(crate) const fn version(self) -> &'static str {
        match self {
            Contract::V0_1 => "0.1.0",
            Contract::V0_2 => CONTRACT_VERSION,
        }
    }
}

/// A component linked against the host, ready to instantiate.
pub(crate) enum Pre<T: 'static> {
    V0_1(v0_1::AuthorizerPolicyPre<T>),
    V0_2(current::AuthorizerPolicyPre<T>),
}

/// One instance of a policy.
pub(crate) enum Guest {
    V0_1(v0_1::AuthorizerPolicy),
    V0_2(current::AuthorizerPolicy),
}

impl<T: 'static> Pre<T> {
    pub(crate) fn new(pre: InstancePre<T>, contract: Contract) -> WasmResult<Self> {
        Ok(match contract {
            Contract::V0_1 => Pre::V0_1(v0_1::AuthorizerPolicyPre::new(pre)?),
            Contract::V0_2 => Pre::V0_2(current::AuthorizerPolicyPre::new(pre)?),
        })
    }

    pub(crate) fn contract(&self) -> Contract {
        match self {
            Pre::V0_1(_) => Contract::V0_1,
            Pre::V0_2(_) => Contract::V0_2,
        }
    }

    pub(crate) fn instance_pre(&self) -> &InstancePre<T> {
        match self {
            Pre::V0_1(pre) => pre.instance_pre(),
            Pre::V0_2(pre) => pre.instance_pre(),
        }
    }

    pub(crate) fn instantiate(&self, store: impl AsContextMut<Data = T>) -> WasmResult<Guest> {
        Ok(match self {
            Pre::V0_1(pre) => Guest::V0_1(pre.instantiate(store)?),
            Pre::V0_2(pre) => Guest::V0_2(pre.instantiate(store)?),
        })
    }
}

impl Guest {
    /// The typed exports of an instance made without a [`Pre`] (pre-initialization).
    pub(crate) fn new(store: impl AsContextMut, instance: &Instance, contract: Contract) -> WasmResult<Self> {
        Ok(match contract {
            Contract::V0_1 => Guest::V0_1(v0_1::AuthorizerPolicy::new(store, instance)?),
            Contract::V0_2 => Guest::V0_2(current::AuthorizerPolicy::new(store, instance)?),
        })
    }

    pub(crate) fn call_init<S: AsContextMut>(&self, store: S, config: &str) -> WasmResult<Result<(), PolicyError>>
    where
        S::Data: Send,
    {
        match self {
            Guest::V0_1(g) => Ok(g.authz_policy_policy().call_init(store, config)?.map_err(PolicyError::from)),
            Guest::V0_2(g) => g.authz_policy_policy().call_init(store, config),
        }
    }

    pub(crate) fn call_evaluate<S: AsContextMut>(
        &self,
        store: S,
        request: &Request,
    ) -> WasmResult<Result<Decision, PolicyError>>
    where
        S::Data: Send,
    {
        let [headers, query, path_parameters, stage_variables] = request.lists().map(borrowed);
        match self {
            Guest::V0_1(g) => {
                let arn = &request.method_arn;
                let wire = v0_1::authz::policy::types::Request {
                    kind: request.kind.into(),
                    identity: request.identity.as_deref(),
                    method_arn: v0_1::authz::policy::types::MethodArn {
                        partition: arn.partition(),
                        region: arn.region(),
                        account_id: arn.account_id(),
                        api_id: arn.api_id(),
                        stage: arn.stage(),
                        method: arn.method(),
                        path: arn.path(),
                    },
                    headers: &headers,
                    query: &query,
                    path_parameters: &path_parameters,
                    stage_variables: &stage_variables,
                    source_ip: request.source_ip.as_deref(),
                    user_agent: request.user_agent.as_deref(),
                    request_id: request.request_id.as_deref(),
                    now_ms: request.now_ms,
                };
                let result = g.authz_policy_policy().call_evaluate(store, wire)?;
                Ok(result.map(Decision::from).map_err(PolicyError::from))
            }
            Guest::V0_2(g) => {
                let wire = current::authz::policy::types::Request {
                    kind: request.kind,
                    identity: request.identity.as_deref(),
                    method_arn: request.method_arn.as_str(),
                    headers: present(&headers),
                    query: present(&query),
                    path_parameters: present(&path_parameters),
                    stage_variables: present(&stage_variables),
                    source_ip: request.source_ip.as_deref(),
                    user_agent: request.user_agent.as_deref(),
                    request_id: request.request_id.as_deref(),
                    now_ms: request.now_ms,
                };
                g.authz_policy_policy().call_evaluate(store, wire)
            }
        }
    }
}

/// A list 0.2.0 leaves absent when it is empty.
fn present<T>(list: &[T]) -> Option<&[T]> {
    (!list.is_empty()).then_some(list)
}

/// A list of pairs as the bindings lower it (no allocation when empty).
fn borrowed(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// 0.1.0 modules: the same request kinds, decision and errors as 0.2.0, under
/// the older package's names.
mod from_v0_1 {
    use super::current::authz::policy::types as now;
    use super::v0_1::authz::policy::types as old;

    impl From<now::RequestKind> for old::RequestKind {
        fn from(kind: now::RequestKind) -> Self {
            match kind {
                now::RequestKind::Token => old::RequestKind::Token,
                now::RequestKind::Request => old::RequestKind::Request,
                now::RequestKind::HttpV1 => old::RequestKind::HttpV1,
                now::RequestKind::HttpV2 => old::RequestKind::HttpV2,
                now::RequestKind::Websocket => old::RequestKind::Websocket,
            }
        }
    }

    impl From<old::Decision> for now::Decision {
        fn from(d: old::Decision) -> Self {
            now::Decision {
                effect: match d.effect {
                    old::Effect::Allow => now::Effect::Allow,
                    old::Effect::Deny => now::Effect::Deny,
                    old::Effect::Unauthorized => now::Effect::Unauthorized,
                },
                principal_id: d.principal_id,
                grants: d.grants.into_iter().map(|g| now::Grant { method: g.method, path: g.path }).collect(),
                context: d
                    .context
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            old::ContextValue::Text(s) => now::ContextValue::Text(s),
                            old::ContextValue::Number(n) => now::ContextValue::Number(n),
                            old::ContextValue::Boolean(b) => now::ContextValue::Boolean(b),
                        };
                        (k, v)
                    })
                    .collect(),
                usage_identifier_key: d.usage_identifier_key,
            }
        }
    }

    impl From<old::PolicyError> for now::PolicyError {
        fn from(e: old::PolicyError) -> Self {
            match e {
                old::PolicyError::InvalidConfig(m) => now::PolicyError::InvalidConfig(m),
                old::PolicyError::InvalidRequest(m) => now::PolicyError::InvalidRequest(m),
                old::PolicyError::Internal(m) => now::PolicyError::Internal(m),
            }
        }
    }
}
