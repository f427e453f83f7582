//! Cases files: real API Gateway events with the outcome a policy must give.
//!
//! ```json
//! {
//!   "now": "2026-01-01T00:00:00Z",
//!   "cases": [{
//!     "name": "the tutorial token reads notes",
//!     "event": "../../tests/fixtures/events/token-abc123.json",
//!     "expect": {
//!       "outcome": "allow",
//!       "principal": "user1",
//!       "context": { "role": "reader" },
//!       "authorized": true,
//!       "allows": ["GET /notes"],
//!       "denies": ["DELETE /notes", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/admin"]
//!     }
//!   }]
//! }
//! ```
//!
//! `event` is an inline event object or a path relative to the cases file:
//! any authorizer event (REST TOKEN or REQUEST, HTTP API 1.0 or 2.0,
//! WebSocket `$connect`). `authorized` is whether API Gateway lets this very
//! call through on the response. `allows`/`denies` are method ARNs, or
//! `METHOD /path` (or a route key such as `$connect`) in the event's stage,
//! that the IAM policy for the outcome must allow / must not allow: this is
//! what catches the cached-policy trap on other routes. `context` entries
//! must be present with those values. `now` (file-wide or per case) pins the
//! clock. Expectations do not depend on the response format, so one file
//! checks a policy answered both ways (`authz policy test --response-format`).

use super::parse_now;
use crate::error::{CliError, bad_input};
use authz_engine::iam::{IamDecision, evaluate};
use authz_engine::{AuthorizerEvent, AuthorizerResponse, Engine, MethodArn, Outcome, Policy, ResponseFormat, Settings};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// A parsed cases file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasesFile {
    /// Clock for every case that does not set its own.
    #[serde(default)]
    now: Option<Now>,
    /// Header holding the identity in REQUEST events.
    #[serde(default = "default_identity_header")]
    identity_header: String,
    /// The cases, run in order.
    pub cases: Vec<Case>,
    #[serde(skip)]
    base: PathBuf,
}

fn default_identity_header() -> String {
    "Authorization".to_owned()
}

/// Milliseconds since the epoch, or an RFC 3339 time.
#[derive(Clone, Deserialize)]
#[serde(untagged)]
enum Now {
    Ms(u64),
    Text(String),
}

impl Now {
    fn ms(&self) -> Result<u64, String> {
        match self {
            Now::Ms(ms) => Ok(*ms),
            Now::Text(text) => parse_now(text),
        }
    }
}

/// One case.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Shown in the report.
    pub name: String,
    event: EventRef,
    #[serde(default)]
    now: Option<Now>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EventRef {
    Path(String),
    Inline(Map<String, Value>),
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum ExpectedOutcome {
    Allow,
    Deny,
    Unauthorized,
    FailClosed,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    outcome: ExpectedOutcome,
    #[serde(default)]
    principal: Option<String>,
    #[serde(default)]
    context: Map<String, Value>,
    #[serde(default)]
    authorized: Option<bool>,
    #[serde(default)]
    allows: Vec<String>,
    #[serde(default)]
    denies: Vec<String>,
}

/// Reads and checks a cases file; any problem is a one-line [`CliError::BadInput`].
pub fn load(path: &Path) -> Result<CasesFile, CliError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| bad_input(format!("cannot read `{}`: {e}", path.display())))?;
    let mut file: CasesFile = serde_json::from_str(&text)
        .map_err(|e| bad_input(format!("`{}` is not a valid cases file: {e}", path.display())))?;
    if file.cases.is_empty() {
        return Err(bad_input(format!("`{}` has no cases", path.display())));
    }
    file.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    for case in &file.cases {
        file.event(case)?;
        if let Some(now) = case.now.as_ref().or(file.now.as_ref()) {
            now.ms().map_err(|e| bad_input(format!("case `{}`: {e}", case.name)))?;
        }
    }
    Ok(file)
}

impl CasesFile {
    fn event(&self, case: &Case) -> Result<Value, CliError> {
        match &case.event {
            EventRef::Inline(map) => Ok(Value::Object(map.clone())),
            EventRef::Path(relative) => {
                let path = self.base.join(relative);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    bad_input(format!("case `{}`: cannot read event `{}`: {e}", case.name, path.display()))
                })?;
                serde_json::from_str(&text).map_err(|e| {
                    bad_input(format!("case `{}`: event `{}` is not valid JSON: {e}", case.name, path.display()))
                })
            }
        }
    }

    /// Runs one case, answering HTTP API 2.0 events in `format`; `Err` says why it failed.
    pub fn run(&self, engine: &Engine, policy: &Policy, case: &Case, format: ResponseFormat) -> Result<(), String> {
        let event = self.event(case).map_err(|e| e.to_string())?;
        let now = match case.now.as_ref().or(self.now.as_ref()) {
            Some(now) => now.ms()?,
            None => authz_engine::now_ms(),
        };
        let arn = AuthorizerEvent::from_value(event.clone()).and_then(|e| e.method_arn()).ok();
        let settings = Settings { identity_header: self.identity_header.clone(), response_format: format };
        let (verdict, response) = authz_engine::authorize_with(engine, Some(policy), event, &settings, now);
        check(&case.expect, &verdict.outcome, &response, arn.as_ref())
    }
}

fn label(outcome: &Outcome) -> String {
    match outcome {
        Outcome::FailClosed(failure) => format!("fail_closed ({failure})"),
        other => other.label().to_owned(),
    }
}

fn check(
    expect: &Expect,
    outcome: &Outcome,
    response: &AuthorizerResponse,
    arn: Option<&MethodArn>,
) -> Result<(), String> {
    let actual = match outcome {
        Outcome::Allow(_) => ExpectedOutcome::Allow,
        Outcome::Deny { .. } => ExpectedOutcome::Deny,
        Outcome::Unauthorized => ExpectedOutcome::Unauthorized,
        Outcome::FailClosed(_) => ExpectedOutcome::FailClosed,
    };
    if actual != expect.outcome {
        return Err(format!("expected {:?}, got {}", expect.outcome, label(outcome)).to_lowercase());
    }
    if let Some(want) = &expect.principal {
        let got = outcome.principal_id().unwrap_or("(none)");
        if got != want {
            return Err(format!("expected principal `{want}`, got `{got}`"));
        }
    }
    for (key, want) in &expect.context {
        let got = response.context().and_then(|c| c.get(key));
        if got != Some(want) {
            return Err(format!(
                "expected context `{key}` = {want}, got {}",
                got.map_or("nothing".to_owned(), Value::to_string)
            ));
        }
    }
    if let Some(want) = expect.authorized {
        let got = arn.is_some_and(|arn| response.authorizes(&arn.to_arn()));
        if got != want {
            let verb = if want { "let this call through" } else { "refuse this call" };
            return Err(format!("expected API Gateway to {verb} on the response, got {}", response.to_json()));
        }
    }
    // What the caller may do on other routes: the IAM policy for this outcome
    // (the one returned, or the one behind a simple answer).
    let document =
        response.policy_document().cloned().or_else(|| authz_engine::respond(outcome, arn).policy_document().cloned());
    let resolve = |route: &str| -> Result<String, String> {
        if route.starts_with("arn:") {
            return Ok(route.to_owned());
        }
        let arn = arn.ok_or("the event has no valid method ARN to resolve routes against")?;
        match route.split_once(' ') {
            Some((method, path)) => Ok(arn.arn_for(method, path)),
            None if route.starts_with('$') => Ok(arn.arn_for(route, "/")),
            None => Err(format!("`{route}` is neither an ARN, `METHOD /path` nor a route key")),
        }
    };
    for route in &expect.allows {
        let target = resolve(route)?;
        let decision = document.as_ref().map(|d| evaluate(d, &target));
        if decision != Some(IamDecision::Allow) {
            return Err(format!("expected the returned policy to allow `{route}`, got {}", describe(decision)));
        }
    }
    for route in &expect.denies {
        let target = resolve(route)?;
        let decision = document.as_ref().map(|d| evaluate(d, &target));
        if decision == Some(IamDecision::Allow) {
            return Err(format!("expected the returned policy not to allow `{route}`, but it does"));
        }
    }
    Ok(())
}

fn describe(decision: Option<IamDecision>) -> &'static str {
    match decision {
        None => "no policy (Unauthorized)",
        Some(IamDecision::Allow) => "allow",
        Some(IamDecision::ExplicitDeny) => "an explicit deny",
        Some(IamDecision::ImplicitDeny) => "an implicit deny (no statement matches)",
    }
}
