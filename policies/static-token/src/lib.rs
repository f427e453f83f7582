//! `static-token`: a fixed set of API tokens, each mapped to a principal and
//! what it may invoke.
//!
//! The configuration lists the SHA-256 digests of the tokens, never the tokens
//! themselves, so a leaked configuration does not leak credentials. Digests are
//! compared in constant time and every entry is visited on each request. They
//! are kept as four 64-bit words, OR-ed together as differences and compared to
//! zero once: `subtle` puts each comparison behind an optimisation barrier (a
//! call and a memory round trip in wasm), so one per entry instead of one per
//! byte makes the comparison 32x cheaper and no less constant-time.
//!
//! - no token or an empty token: unauthorized (401);
//! - a token whose digest is listed: allow, as its principal, with its grants and context;
//! - any other token: deny (403).

use authz_policy::{ContextValue, Decision, Grant, Policy, PolicyError, Request};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

/// Principal reported for a token that is not in the configuration.
pub const UNKNOWN_PRINCIPAL: &str = "anonymous";

/// The policy.
pub struct StaticToken;

/// Parsed configuration: digests decoded once, at `init`.
#[derive(Debug, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct Config {
    tokens: Vec<(Digest256, Entry)>,
}

/// A SHA-256 digest as little-endian 64-bit words.
type Digest256 = [u64; 4];

fn words(bytes: &[u8; 32]) -> Digest256 {
    let mut words = [0u64; 4];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        *word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
    }
    words
}

/// Whether two digests are equal, in constant time: one barrier, not four.
fn same(a: &Digest256, b: &Digest256) -> subtle::Choice {
    a.iter().zip(b).fold(0, |difference, (a, b)| difference | (a ^ b)).ct_eq(&0)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Lower-case hex SHA-256 digest of a token -> what that token may do.
    tokens: BTreeMap<String, Entry>,
}

/// What one token stands for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    principal: String,
    grants: Vec<Grant>,
    #[serde(default)]
    context: BTreeMap<String, ContextValue>,
}

impl TryFrom<RawConfig> for Config {
    type Error = String;

    fn try_from(raw: RawConfig) -> Result<Self, String> {
        let mut tokens = Vec::with_capacity(raw.tokens.len());
        for (digest, entry) in raw.tokens {
            let mut bytes = [0u8; 32];
            let valid = digest.len() == 64 && !digest.bytes().any(|b| b.is_ascii_uppercase());
            if !valid || hex::decode_to_slice(&digest, &mut bytes).is_err() {
                return Err(format!("token key `{digest}` is not a lower-case hex SHA-256 digest (64 characters)"));
            }
            if entry.principal.is_empty() {
                return Err(format!("token `{digest}` has an empty principal"));
            }
            if entry.grants.is_empty() {
                return Err(format!("token `{digest}` has no grants"));
            }
            tokens.push((words(&bytes), entry));
        }
        Ok(Config { tokens })
    }
}

impl Policy for StaticToken {
    type Config = Config;

    fn decide(config: &Config, request: &Request) -> Result<Decision, PolicyError> {
        let Some(token) = request.bearer_token() else {
            return Ok(Decision::unauthorized());
        };
        let digest = words(&Sha256::digest(token.as_bytes()).into());
        let mut found = None;
        for (candidate, entry) in &config.tokens {
            if bool::from(same(candidate, &digest)) {
                found = Some(entry);
            }
        }
        Ok(match found {
            Some(entry) => {
                let mut decision = Decision::allow(entry.principal.clone(), entry.grants.clone());
                decision.context = entry.context.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                decision
            }
            None => Decision::deny(UNKNOWN_PRINCIPAL),
        })
    }
}

authz_policy::export_policy!(StaticToken);

#[cfg(test)]
mod tests {
    use super::*;
    use authz_policy::{Effect, MethodArn, RequestKind, parse_config};

    const CONFIG: &str = include_str!("../config.json");

    fn decide(identity: Option<&str>) -> Decision {
        let config = parse_config::<StaticToken>(CONFIG).unwrap();
        let mut request = Request::new(RequestKind::Token, MethodArn::default());
        request.identity = identity.map(str::to_owned);
        StaticToken::decide(&config, &request).unwrap()
    }

    #[test]
    fn abc123_is_user1_with_get_notes() {
        let d = decide(Some("abc123"));
        assert_eq!(d.effect, Effect::Allow);
        assert_eq!(d.principal_id, "user1");
        assert_eq!(d.grants, vec![Grant::new("GET", "/notes")]);
    }

    #[test]
    fn digests_differing_in_any_bit_of_any_word_are_not_the_same() {
        let digest: Digest256 = [1, u64::MAX, 0, 0x0123_4567_89ab_cdef];
        assert!(bool::from(same(&digest, &digest)));
        for word in 0..4 {
            for bit in [0, 31, 63] {
                let mut other = digest;
                other[word] ^= 1 << bit;
                assert!(!bool::from(same(&digest, &other)), "word {word} bit {bit}");
            }
        }
    }

    #[test]
    fn bearer_prefix_is_accepted() {
        assert_eq!(decide(Some("Bearer abc123")).principal_id, "user1");
    }

    #[test]
    fn unknown_token_is_denied() {
        let d = decide(Some("abc1234"));
        assert_eq!(d.effect, Effect::Deny);
        assert!(d.grants.is_empty());
    }

    #[test]
    fn missing_or_empty_token_is_unauthorized() {
        assert_eq!(decide(None).effect, Effect::Unauthorized);
        assert_eq!(decide(Some("")).effect, Effect::Unauthorized);
    }

    #[test]
    fn admin_context_is_passed_on() {
        let d = decide(Some("admin-secret-456"));
        assert!(d.context.contains(&("notesReadAny".to_owned(), ContextValue::Boolean(true))));
    }

    #[test]
    fn bad_digests_are_rejected() {
        for key in ["abc123", &"A".repeat(64), &"zz".repeat(32)] {
            let json =
                format!(r#"{{"tokens":{{"{key}":{{"principal":"p","grants":[{{"method":"GET","path":"/"}}]}}}}}}"#);
            let err = parse_config::<StaticToken>(&json).unwrap_err();
            assert!(matches!(err, PolicyError::InvalidConfig(m) if m.contains("SHA-256")));
        }
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(parse_config::<StaticToken>(r#"{"tokens":{},"extra":1}"#).is_err());
    }
}
