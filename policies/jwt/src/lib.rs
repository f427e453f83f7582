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
use hmac::{Hmac, Mac as _};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use sha2::Sha256;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

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
    /// Every claim a decision reads, each once: [`ISS`], [`AUD`], [`EXP`],
    /// [`NBF`], then the configured ones. A token's other claims are skipped
    /// unparsed.
    claims: Vec<String>,
    /// Indices into `claims`.
    principal_claim: usize,
    scope_claims: Vec<usize>,
    context_claims: Vec<usize>,
    scopes: BTreeMap<String, Vec<Grant>>,
}

const ISS: usize = 0;
const AUD: usize = 1;
const EXP: usize = 2;
const NBF: usize = 3;

struct Key {
    kid: Option<String>,
    alg: Option<Algorithm>,
    verifier: Verifier,
}

/// A key ready to check signatures.
enum Verifier {
    /// The HMAC keyed once, at `init`: each token clones it instead of
    /// hashing the key's pads again (two of the seven SHA-256 blocks of a
    /// typical HS256 token).
    Hs256(Hmac<Sha256>),
    /// RSA and EC keys, checked by the library.
    Public(DecodingKey),
}

impl Verifier {
    /// Whether `signature` (base64url, as in the token) signs `message` with
    /// this key and `alg`. A key of another family never verifies.
    fn verifies(&self, alg: Algorithm, message: &[u8], signature: &str) -> bool {
        match self {
            Verifier::Hs256(mac) => {
                let mut tag = [0u8; 64];
                alg == Algorithm::HS256
                    && URL_SAFE_NO_PAD.decode_slice(signature, &mut tag).is_ok_and(|n| {
                        // verify_slice compares in constant time and checks the length.
                        tag.get(..n).is_some_and(|tag| mac.clone().chain_update(message).verify_slice(tag).is_ok())
                    })
            }
            Verifier::Public(key) => jsonwebtoken::crypto::verify(signature, message, key, alg) == Ok(true),
        }
    }
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
            let verifier = match &jwk.algorithm {
                AlgorithmParameters::OctetKey(_) => {
                    let secret = decoding.try_get_as_bytes().map_err(|e| format!("jwks key: {e}"))?;
                    Verifier::Hs256(Hmac::new_from_slice(secret).map_err(|e| format!("jwks key: {e}"))?)
                }
                _ => Verifier::Public(decoding),
            };
            keys.push(Key { kid: jwk.common.key_id.clone(), alg, verifier });
        }
        let mut claims: Vec<String> = ["iss", "aud", "exp", "nbf"].map(str::to_owned).into();
        let mut index = |name: String| match claims.iter().position(|c| *c == name) {
            Some(i) => i,
            None => {
                claims.push(name);
                claims.len() - 1
            }
        };
        let principal_claim = index(raw.principal_claim);
        let scope_claims = raw.scope_claims.into_iter().map(&mut index).collect();
        let context_claims = raw.context_claims.into_iter().map(&mut index).collect();
        Ok(Config {
            keys,
            algorithms: raw.algorithms,
            issuers: raw.issuers,
            audiences: raw.audiences,
            leeway_seconds: raw.leeway_seconds,
            claims,
            principal_claim,
            scope_claims,
            context_claims,
            scopes: raw.scopes,
        })
    }
}

/// The JOSE header fields the verification reads; the others are ignored.
#[derive(Deserialize)]
struct Header<'a> {
    alg: Algorithm,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
}

/// The token's claims that the configuration names, by their index in
/// `Config::claims`, parsed in one pass over the payload. A name given
/// twice keeps its last value (as a JSON map does).
struct Claims(Vec<Option<Value>>);

impl Claims {
    fn get(&self, index: usize) -> Option<&Value> {
        self.0.get(index)?.as_ref()
    }

    fn parse(names: &[String], payload: &[u8]) -> serde_json::Result<Claims> {
        let mut json = serde_json::Deserializer::from_slice(payload);
        let claims = ClaimsSeed(names).deserialize(&mut json)?;
        json.end()?;
        Ok(claims)
    }
}

/// Reads a claims object, keeping the values of `names` only.
struct ClaimsSeed<'c>(&'c [String]);

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_> {
    type Value = Claims;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Claims, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaimsSeed<'_> {
    type Value = Claims;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims, A::Error> {
        let mut values = vec![None; self.0.len()];
        while let Some(index) = map.next_key_seed(NameSeed(self.0))? {
            match index.and_then(|i| values.get_mut(i)) {
                Some(slot) => *slot = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Claims(values))
    }
}

/// A claim's name, read as its index in the names wanted, without copying it.
struct NameSeed<'c>(&'c [String]);

impl<'de> DeserializeSeed<'de> for NameSeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for NameSeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a claim name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|n| n == name))
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
    /// Verifies the signature, then parses the claims the configuration reads
    /// and checks them against the request's clock. (`jsonwebtoken::decode`
    /// would parse the header and every claim twice each, and check times
    /// against the guest's clock.)
    fn verify(config: &Config, token: &str, now: u64) -> Result<Claims, Reject> {
        let (message, signature) = token.rsplit_once('.').ok_or(Reject::Malformed)?;
        let (header, payload) = message.split_once('.').ok_or(Reject::Malformed)?;
        if payload.contains('.') {
            return Err(Reject::Malformed);
        }
        let header = URL_SAFE_NO_PAD.decode(header).map_err(|_| Reject::Malformed)?;
        let header: Header<'_> = serde_json::from_slice(&header).map_err(|_| Reject::Malformed)?;
        if !config.algorithms.contains(&header.alg) {
            return Err(Reject::Algorithm);
        }
        let mut candidates = config
            .keys
            .iter()
            .filter(|k| {
                let kid_ok = match (&header.kid, &k.kid) {
                    (Some(want), Some(have)) => want == have,
                    (Some(_), None) => false,
                    (None, _) => true,
                };
                kid_ok && k.alg.is_none_or(|a| a == header.alg)
            })
            .peekable();
        if candidates.peek().is_none() {
            return Err(Reject::NoKey);
        }
        // A key of another family is not a match: keep looking.
        if !candidates.any(|k| k.verifier.verifies(header.alg, message.as_bytes(), signature)) {
            return Err(Reject::Signature);
        }
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| Reject::Malformed)?;
        let claims = Claims::parse(&config.claims, &payload).map_err(|_| Reject::Malformed)?;

        match claims.get(ISS) {
            Some(Value::String(iss)) if config.issuers.contains(iss) => {}
            _ => return Err(Reject::Claims),
        }
        let audience_ok = match claims.get(AUD) {
            Some(Value::String(aud)) => config.audiences.contains(aud),
            Some(Value::Array(auds)) => {
                auds.iter().any(|a| a.as_str().is_some_and(|a| config.audiences.iter().any(|c| c == a)))
            }
            _ => false,
        };
        if !audience_ok {
            return Err(Reject::Claims);
        }
        // Against the request's clock (`now`, the host's), not the guest's.
        let leeway = config.leeway_seconds;
        match claims.get(EXP).and_then(Value::as_u64) {
            Some(exp) if now <= exp.saturating_add(leeway) => {}
            Some(_) => return Err(Reject::Expired),
            None => return Err(Reject::Claims),
        }
        match claims.get(NBF) {
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
        let principal = match claims.get(config.principal_claim) {
            Some(Value::String(p)) if !p.is_empty() => p.clone(),
            _ => return Ok(Decision::unauthorized()),
        };
        let mut grants: Vec<Grant> = Vec::new();
        let granted = config.scope_claims.iter().flat_map(|&c| scopes(claims.get(c)));
        for scope in granted {
            for grant in config.scopes.get(scope).into_iter().flatten() {
                if !grants.contains(grant) {
                    grants.push(grant.clone());
                }
            }
        }
        let mut decision =
            if grants.is_empty() { Decision::deny(principal) } else { Decision::allow(principal, grants) };
        for &index in &config.context_claims {
            let Some(name) = config.claims.get(index) else { continue };
            let value = match claims.get(index) {
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
