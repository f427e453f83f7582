//! A local API Gateway for `authz dev`: one REST API, as `template.yaml`
//! declares it, with API Gateway's Lambda authorizer semantics
//! (see `shared/guide/apigateway.md` and the table in [`server`]), and the
//! template's functions run in-process through Lambda's JSON contract.
//!
//! It exists because `sam local` needs Docker and gets authorizer details
//! wrong; the point of this one is to be exact, so what passes locally passes
//! behind the real API Gateway.
#![deny(missing_docs)]

pub mod authorizer;
pub mod functions;
pub mod server;
pub mod template;

pub use authorizer::{AuthorizerAnswer, AuthorizerPolicy, FunctionError, ResultCache, interpret};
pub use functions::{LocalFunction, PolicyAuthorizer};
pub use server::{Gateway, serve};
pub use template::{ApiSpec, AuthorizerSpec, Route, TemplateError};
