//! A local API Gateway for `authz dev`: the REST API and the HTTP API that
//! `template.yaml` declares, each with API Gateway's Lambda authorizer semantics
//! (see `shared/guide/apigateway.md` and the table in [`server`]), and the
//! template's functions run in-process through Lambda's JSON contract.
//!
//! It exists because `sam local` needs Docker and gets authorizer details
//! wrong; the point of this one is to be exact, so what passes locally passes
//! behind the real API Gateway.
#![deny(missing_docs)]

pub mod authorizer;
pub mod functions;
mod http_api;
pub mod server;
pub mod template;

pub use authorizer::{AuthorizerAnswer, AuthorizerPolicy, FunctionError, Grant, ResultCache, interpret};
pub use functions::{LocalFunction, PolicyAuthorizer};
pub use server::{Gateway, serve};
pub use template::{ApiKind, ApiSpec, AuthorizerPayload, AuthorizerSpec, IdentitySource, Route, TemplateError};
