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

/// An HS256 token over the header and claims exactly as written (JSON text,
/// so that duplicate names and escapes reach the parser), signed with the
/// test secret.
fn hs256(header: &str, claims: &str) -> String {
    let keys: BTreeMap<String, String> = serde_json::from_str(include_str!("../testdata/keys.json")).unwrap();
    let secret = URL_SAFE_NO_PAD.decode(&keys["hs256_secret"]).unwrap();
    let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let tag = Hmac::<Sha256>::new_from_slice(&secret).unwrap().chain_update(&message).finalize().into_bytes();
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(tag))
}

const HEADER: &str = r#"{"alg":"HS256","kid":"hs-1"}"#;
const CLAIMS: &str = r#""iss":"https://auth.example.com/","aud":"notes-api","exp":4102444800,"scope":"notes:read""#;

#[test]
fn a_minted_token_verifies() {
    let d = decide_at(Some(&hs256(HEADER, &format!(r#"{{{CLAIMS},"sub":"user1"}}"#))), NOW_MS);
    assert_eq!((d.effect, d.principal_id.as_str()), (Effect::Allow, "user1"));
}

#[test]
fn claims_are_read_as_json_reads_them() {
    let principal = |claims: &str| {
        let d = decide_at(Some(&hs256(HEADER, &format!("{{{CLAIMS},{claims}}}"))), NOW_MS);
        (d.effect, d.principal_id)
    };
    // A repeated name keeps its last value, as serde_json's and PyJWT's maps do.
    assert_eq!(principal(r#""sub":"admin","sub":"user1""#), (Effect::Allow, "user1".to_owned()));
    // Escapes in names and values are decoded before matching.
    assert_eq!(principal(r#""s\u0075b":"us\u0065r2""#), (Effect::Allow, "user2".to_owned()));
    // Claims the configuration does not name are skipped, whatever their shape.
    assert_eq!(principal(r#""x":{"y":[1,{"z":null}]},"sub":"user3""#), (Effect::Allow, "user3".to_owned()));
    // A claim of the wrong type is no claim.
    assert_eq!(principal(r#""sub":7"#).0, Effect::Unauthorized);
}

#[test]
fn malformed_payloads_and_headers_are_refused() {
    let config = parse_config::<Jwt>(CONFIG).unwrap();
    let reason = |token: &str| Jwt::verify(&config, token, NOW_MS / 1000).err();
    let sub = format!(r#"{{{CLAIMS},"sub":"user1"}}"#);
    for claims in ["[]", "\"sub\"", &format!("{sub} {{}}"), r#"{"sub":"user1""#] {
        assert_eq!(reason(&hs256(HEADER, claims)), Some(Reject::Malformed), "{claims}");
    }
    // Header fields the verification does not read are ignored; an escaped kid still matches.
    let header = r#"{"typ":"JWT","cty":{"nested":true},"alg":"HS256","kid":"hs\u002d1"}"#;
    assert_eq!(reason(&hs256(header, &sub)), None);
    assert_eq!(reason(&hs256(r#"{"alg":"none"}"#, &sub)), Some(Reject::Malformed));
    assert_eq!(reason(&hs256(r#"{"kid":"hs-1"}"#, &sub)), Some(Reject::Malformed));
    assert_eq!(reason(&hs256(r#"{"alg":"HS384","kid":"hs-1"}"#, &sub)), Some(Reject::Algorithm));
    // Four parts, or a signature of the wrong length, never verify.
    let good = hs256(HEADER, &sub);
    let (message, signature) = good.rsplit_once('.').unwrap();
    let (header, payload) = message.split_once('.').unwrap();
    assert_eq!(reason(&format!("{header}.{payload}.{payload}.{signature}")), Some(Reject::Malformed));
    assert_eq!(reason(&format!("{message}.{}", &signature[..20])), Some(Reject::Signature));
    assert_eq!(reason(&format!("{message}.{signature}{signature}")), Some(Reject::Signature));
    assert_eq!(reason(&format!("{message}.{signature}!")), Some(Reject::Signature));
}

#[test]
fn an_hmac_key_never_checks_another_algorithm() {
    // The oct key without `alg`: an RS256 or ES256 token naming it is not
    // checked as an HMAC over the message.
    let config = CONFIG.replace(r#""alg": "HS256","#, "");
    assert_ne!(config, CONFIG);
    let config = parse_config::<Jwt>(&config).unwrap();
    let sub = format!(r#"{{{CLAIMS},"sub":"user1"}}"#);
    for alg in ["RS256", "ES256"] {
        let token = hs256(&format!(r#"{{"alg":"{alg}","kid":"hs-1"}}"#), &sub);
        assert_eq!(Jwt::verify(&config, &token, NOW_MS / 1000).err(), Some(Reject::Signature), "{alg}");
    }
    assert!(Jwt::verify(&config, &hs256(HEADER, &sub), NOW_MS / 1000).is_ok());
}
