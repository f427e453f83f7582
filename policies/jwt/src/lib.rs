//! `jwt`: verifies a bearer JWT and maps its scopes to grants.
//!
//! - keys come from a JWKS document in the config (`oct` keys for HS256, `RSA`
//!   for RS256, `EC` P-256 for ES256); a key is chosen by the token's `kid`, and
//!   its family and `alg` (when the JWK states one) must match the token's;
//! - `exp` is required and, like `nbf`, checked against the host's clock with a
//!   configurable leeway; `iss` and `aud` must match the configured values;
//! - the principal is a claim (`sub` by default); the scope claims (`scope`
//!   and `scp` by default, a space-separated string or an array) select grants
//!   from the `scopes` map;
//! - selected claims are copied into the context.
//!
//! No token, a malformed token, a bad signature or failed claim checks are
//! unauthorized (401); a valid token whose scopes grant nothing is denied (403).

use authz_policy::{ContextValue, Decision, Grant, Policy, PolicyError, Request};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The policy.
pub struct Jwt;

fn default_algorithms() -> Vec<Algorithm> {
    vec![Algorithm::HS256, Algorithm::RS256, Algorithm::ES256]
}
fn default_leeway() -> u64 {
    60
}
fn default_principal_claim() -> String {
    "sub".to_owned()
}
fn default_scope_claims() -> Vec<String> {
    vec!["scope".to_owned(), "scp".to_owned()]
}

/// The configuration document, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Verification keys.
    jwks: JwkSet,
    /// Accepted `iss` values; required.
    issuers: Vec<String>,
    /// Accepted `aud` values; required.
    audiences: Vec<String>,
    /// Accepted signature algorithms.
    #[serde(default = "default_algorithms")]
    algorithms: Vec<Algorithm>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    leeway_seconds: u64,
    #[serde(default = "default_principal_claim")]
    principal_claim: String,
    /// Claims holding scopes, as a space-separated string or an array.
    #[serde(default = "default_scope_claims")]
    scope_claims: Vec<String>,
    /// Scope -> what it grants.
    #[serde(default)]
    scopes: BTreeMap<String, Vec<Grant>>,
    /// Claims copied into the context (string, number and boolean claims only).
    #[serde(default)]
    context_claims: Vec<String>,
}

/// The checked configuration, keys decoded once at `init`.
#[derive(Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct Config {
    keys: Vec<Key>,
    algorithms: Vec<Algorithm>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway_seconds: u64,
    principal_claim: String,
    scope_claims: Vec<String>,
    scopes: BTreeMap<String, Vec<Grant>>,
    context_claims: Vec<String>,
}

struct Key {
    kid: Option<String>,
    alg: Option<Algorithm>,
    decoding: DecodingKey,
}

const SUPPORTED: [Algorithm; 3] = [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256];

impl TryFrom<RawConfig> for Config {
    type Error = String;

    fn try_from(raw: RawConfig) -> Result<Self, String> {
        if raw.issuers.is_empty() || raw.audiences.is_empty() {
            return Err("`issuers` and `audiences` must each list at least one value".to_owned());
        }
        if let Some(alg) = raw.algorithms.iter().find(|a| !SUPPORTED.contains(a)) {
            return Err(format!("algorithm `{alg:?}` is not supported (HS256, RS256, ES256)"));
        }
        if raw.jwks.keys.is_empty() {
            return Err("`jwks` has no keys".to_owned());
        }
        let mut keys = Vec::with_capacity(raw.jwks.keys.len());
        for jwk in &raw.jwks.keys {
            let alg = match jwk.common.key_algorithm {
                Some(a) => Some(Algorithm::try_from(a).map_err(|e| format!("jwks key algorithm: {e}"))?),
                None => None,
            };
            if let AlgorithmParameters::EllipticCurve(p) = &jwk.algorithm
                && p.curve != EllipticCurve::P256
            {
                return Err("only P-256 elliptic-curve keys are supported".to_owned());
            }
            let decoding = DecodingKey::from_jwk(jwk).map_err(|e| format!("jwks key: {e}"))?;
            keys.push(Key { kid: jwk.common.key_id.clone(), alg, decoding });
        }
        // exp and nbf are checked against the request's clock, not the guest's.
        Ok(Config {
            keys,
            algorithms: raw.algorithms,
            issuers: raw.issuers,
            audiences: raw.audiences,
            leeway_seconds: raw.leeway_seconds,
            principal_claim: raw.principal_claim,
            scope_claims: raw.scope_claims,
            scopes: raw.scopes,
            context_claims: raw.context_claims,
        })
    }
}

/// Why a token was refused; kept for unit tests, reported to nobody.
#[derive(Debug, PartialEq)]
enum Reject {
    Malformed,
    Algorithm,
    NoKey,
    Signature,
    Expired,
    NotYetValid,
    Claims,
}

impl Jwt {
    /// Verifies the signature with the library's crypto, then parses the claims
    /// once and checks them against the request's clock. (`jsonwebtoken::decode`
    /// would parse the header and the claims twice each and check times against
    /// the guest's clock.)
    fn verify(config: &Config, token: &str, now: u64) -> Result<Map<String, Value>, Reject> {
        let (message, signature) = token.rsplit_once('.').ok_or(Reject::Malformed)?;
        let (_, payload) = message.split_once('.').ok_or(Reject::Malformed)?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| Reject::Malformed)?;
        if !config.algorithms.contains(&header.alg) {
            return Err(Reject::Algorithm);
        }
        let mut candidates = config.keys.iter().filter(|k| {
            let kid_ok = match (&header.kid, &k.kid) {
                (Some(want), Some(have)) => want == have,
                (Some(_), None) => false,
                (None, _) => true,
            };
            kid_ok && k.alg.is_none_or(|a| a == header.alg)
        });
        let mut outcome = Err(Reject::NoKey);
        if let Some(first) = candidates.next() {
            outcome = Err(Reject::Signature);
            for key in std::iter::once(first).chain(candidates) {
                // A key of another family is an error, not a match: keep looking.
                if jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.decoding, header.alg) == Ok(true) {
                    outcome = Ok(());
                    break;
                }
            }
        }
        outcome?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| Reject::Malformed)?;
        let claims: Map<String, Value> = serde_json::from_slice(&payload).map_err(|_| Reject::Malformed)?;

        match claims.get("iss") {
            Some(Value::String(iss)) if config.issuers.contains(iss) => {}
            _ => return Err(Reject::Claims),
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => config.audiences.contains(aud),
            Some(Value::Array(auds)) => {
                auds.iter().any(|a| a.as_str().is_some_and(|a| config.audiences.iter().any(|c| c == a)))
            }
            _ => false,
        };
        if !audience_ok {
            return Err(Reject::Claims);
        }
        let leeway = config.leeway_seconds;
        match claims.get("exp").and_then(Value::as_u64) {
            Some(exp) if now <= exp.saturating_add(leeway) => {}
            Some(_) => return Err(Reject::Expired),
            None => return Err(Reject::Claims),
        }
        match claims.get("nbf") {
            None => {}
            Some(v) => match v.as_u64() {
                Some(nbf) if nbf <= now.saturating_add(leeway) => {}
                Some(_) => return Err(Reject::NotYetValid),
                None => return Err(Reject::Claims),
            },
        }
        Ok(claims)
    }
}

fn scopes(claim: Option<&Value>) -> Vec<&str> {
    match claim {
        Some(Value::String(s)) => s.split_ascii_whitespace().collect(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

impl Policy for Jwt {
    type Config = Config;

    fn decide(config: &Config, request: &Request) -> Result<Decision, PolicyError> {
        let Some(token) = request.bearer_token() else {
            return Ok(Decision::unauthorized());
        };
        let Ok(claims) = Jwt::verify(config, token, request.now_seconds()) else {
            return Ok(Decision::unauthorized());
        };
        let principal = match claims.get(&config.principal_claim) {
            Some(Value::String(p)) if !p.is_empty() => p.clone(),
            _ => return Ok(Decision::unauthorized()),
        };
        let mut grants: Vec<Grant> = Vec::new();
        let granted = config.scope_claims.iter().flat_map(|c| scopes(claims.get(c)));
        for scope in granted {
            for grant in config.scopes.get(scope).into_iter().flatten() {
                if !grants.contains(grant) {
                    grants.push(grant.clone());
                }
            }
        }
        let mut decision =
            if grants.is_empty() { Decision::deny(principal) } else { Decision::allow(principal, grants) };
        for name in &config.context_claims {
            let value = match claims.get(name) {
                Some(Value::String(s)) => ContextValue::Text(s.clone()),
                Some(Value::Bool(b)) => ContextValue::Boolean(*b),
                Some(Value::Number(n)) => match n.as_f64() {
                    Some(f) => ContextValue::Number(f),
                    None => continue,
                },
                _ => continue,
            };
            decision.context.push((name.clone(), value));
        }
        Ok(decision)
    }
}

authz_policy::export_policy!(Jwt);

#[cfg(test)]
mod tests;
