use super::*;
use authz_policy::{Effect, MethodArn, RequestKind, parse_config};

const CONFIG: &str = include_str!("../config.json");
const TOKENS: &str = include_str!("../testdata/tokens.json");
/// 2026-01-01: after every test token's `iat`, before their `exp`.
const NOW_MS: u64 = 1_767_225_600_000;

fn token(name: &str) -> String {
    let tokens: BTreeMap<String, String> = serde_json::from_str(TOKENS).unwrap();
    tokens[name].clone()
}

fn decide_at(identity: Option<&str>, now_ms: u64) -> Decision {
    let config = parse_config::<Jwt>(CONFIG).unwrap();
    let mut request = Request::new(RequestKind::Token, MethodArn::default());
    request.identity = identity.map(str::to_owned);
    request.now_ms = now_ms;
    Jwt::decide(&config, &request).unwrap()
}

fn decide(name: &str) -> Decision {
    decide_at(Some(&format!("Bearer {}", token(name))), NOW_MS)
}

#[test]
fn each_algorithm_verifies() {
    let hs = decide("hs256_user1");
    assert_eq!((hs.effect, hs.principal_id.as_str()), (Effect::Allow, "user1"));
    assert_eq!(hs.grants, vec![Grant::new("GET", "/notes")]);
    assert!(hs.context.contains(&("email".to_owned(), "user1@example.com".into())));

    let rs = decide("rs256_user2");
    assert_eq!((rs.effect, rs.principal_id.as_str()), (Effect::Allow, "user2"));

    let es = decide("es256_admin");
    assert_eq!((es.effect, es.principal_id.as_str()), (Effect::Allow, "admin"));
    assert_eq!(es.grants.len(), 3, "union of both scopes' grants: {:?}", es.grants);
    assert!(es.context.contains(&("notesReadAny".to_owned(), true.into())));
    assert!(es.context.contains(&("tenant".to_owned(), "acme".into())));
}

#[test]
fn scope_array_and_missing_kid_work() {
    assert_eq!(decide("scope_array").effect, Effect::Allow);
    assert_eq!(decide("no_kid").effect, Effect::Allow);
}

#[test]
fn valid_token_without_granting_scope_is_denied() {
    let d = decide("no_grants");
    assert_eq!((d.effect, d.principal_id.as_str()), (Effect::Deny, "user1"));
}

#[test]
fn bad_tokens_are_unauthorized() {
    for name in [
        "expired",
        "not_yet_valid",
        "wrong_issuer",
        "wrong_audience",
        "no_exp",
        "no_sub",
        "tampered",
        "alg_none",
        "unknown_kid",
        "wrong_hs_secret",
        "alg_confusion_rsa_pub_as_hmac",
        "garbage",
    ] {
        assert_eq!(decide(name).effect, Effect::Unauthorized, "{name}");
    }
    assert_eq!(decide_at(None, NOW_MS).effect, Effect::Unauthorized);
    assert_eq!(decide_at(Some("Bearer "), NOW_MS).effect, Effect::Unauthorized);
}

#[test]
fn expiry_uses_the_request_clock_with_leeway() {
    let expired = token("expired"); // exp = 1_700_000_000
    let at = |secs: u64| decide_at(Some(&expired), secs * 1000).effect;
    assert_eq!(at(1_700_000_000 + 60), Effect::Allow, "inside the 60 s leeway");
    assert_eq!(at(1_700_000_000 + 61), Effect::Unauthorized);
    let future = token("not_yet_valid"); // nbf = 4_000_000_000
    assert_eq!(decide_at(Some(&future), (4_000_000_000 - 60) * 1000).effect, Effect::Allow);
    assert_eq!(decide_at(Some(&future), (4_000_000_000 - 61) * 1000).effect, Effect::Unauthorized);
}

#[test]
fn reject_reasons_are_precise() {
    let config = parse_config::<Jwt>(CONFIG).unwrap();
    let now = NOW_MS / 1000;
    let reason = |name: &str| Jwt::verify(&config, &token(name), now).err();
    assert_eq!(reason("hs256_user1"), None);
    assert_eq!(reason("tampered"), Some(Reject::Signature));
    assert_eq!(reason("alg_none"), Some(Reject::Malformed));
    assert_eq!(reason("unknown_kid"), Some(Reject::NoKey));
    assert_eq!(reason("expired"), Some(Reject::Expired));
    assert_eq!(reason("not_yet_valid"), Some(Reject::NotYetValid));
    assert_eq!(reason("wrong_issuer"), Some(Reject::Claims));
}

#[test]
fn config_errors_are_reported() {
    let bad = [
        (r#"{"jwks":{"keys":[]},"issuers":["i"],"audiences":["a"]}"#, "no keys"),
        (r#"{"jwks":{"keys":[{"kty":"oct","k":"c2VjcmV0"}]},"issuers":[],"audiences":["a"]}"#, "issuers"),
        (
            r#"{"jwks":{"keys":[{"kty":"oct","k":"c2VjcmV0"}]},"issuers":["i"],"audiences":["a"],"algorithms":["PS256"]}"#,
            "not supported",
        ),
        (r#"{"jwks":{"keys":[]},"issuers":["i"],"audiences":["a"],"typo":1}"#, "unknown field"),
    ];
    for (json, expected) in bad {
        match parse_config::<Jwt>(json) {
            Err(PolicyError::InvalidConfig(m)) => assert!(m.contains(expected), "{m}"),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("accepted {json}"),
        }
    }
}
