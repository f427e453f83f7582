//! The template's functions, run in-process with Lambda's contract: a JSON
//! event in, a JSON result or an error (`errorType`, `errorMessage`) out, so
//! the gateway checks their answers exactly as it would a remote Lambda's.

use crate::authorizer::FunctionError;
use authz_engine::{AuthorizerResponse, Engine, Settings};
use authz_registry::PolicyWatcher;
use serde_json::Value;
use std::sync::Arc;

/// The authorizer Lambda's logic: the engine deciding on the registry's active version.
pub struct PolicyAuthorizer {
    engine: Arc<Engine>,
    watcher: Arc<PolicyWatcher>,
    settings: Settings,
}

impl PolicyAuthorizer {
    /// An authorizer following `watcher`'s policy, which it polls in the
    /// background (call from within a tokio runtime): a long-running server
    /// is never frozen, so no request waits for a check, a download or a
    /// compile, and a new version serves within one check interval.
    /// `settings` are what the deployed function's environment says.
    pub fn new(watcher: Arc<PolicyWatcher>, settings: Settings) -> Self {
        watcher.poll();
        PolicyAuthorizer { engine: Arc::clone(watcher.engine()), watcher, settings }
    }

    /// The watcher, for status and tests.
    pub fn watcher(&self) -> &Arc<PolicyWatcher> {
        &self.watcher
    }

    fn invoke(&self, event: Value) -> Result<Value, FunctionError> {
        let serving = self.watcher.current();
        let policy = serving.as_ref().map(|s| &*s.policy);
        let (_, response) =
            authz_engine::authorize_with(&self.engine, policy, event, &self.settings, authz_engine::now_ms());
        if let Some(serving) = serving {
            // As the Lambda runtime does once a response is posted: make the
            // next decision's instance while this answer goes on its way.
            let engine = Arc::clone(&self.engine);
            tokio::spawn(async move { engine.tidy(&serving.policy) });
        }
        match response {
            AuthorizerResponse::Unauthorized => {
                Err(FunctionError { error_type: "Unauthorized".to_owned(), error_message: "Unauthorized".to_owned() })
            }
            policy => Ok(policy.to_json()),
        }
    }
}

/// A function the gateway can run.
pub enum LocalFunction {
    /// The policy authorizer.
    Authorizer(PolicyAuthorizer),
    /// getNotes on its DynamoDB table.
    GetNotes(get_notes::App<get_notes::DynamoNotes>),
}

impl LocalFunction {
    /// Invokes the function with `event`.
    pub async fn invoke(&self, event: Value) -> Result<Value, FunctionError> {
        match self {
            LocalFunction::Authorizer(a) => a.invoke(event),
            LocalFunction::GetNotes(app) => {
                serde_json::to_value(get_notes::handle_event(app, event).await).map_err(|e| FunctionError {
                    error_type: "Runtime.SerializationError".to_owned(),
                    error_message: e.to_string(),
                })
            }
        }
    }
}
