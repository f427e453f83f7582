//! The outcome mapping, row by row: every effect and every failure, and the
//! exact JSON API Gateway receives.

use super::*;
use crate::event::parse_method_arn;
use serde_json::json;

fn arn() -> MethodArn {
    parse_method_arn("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes").unwrap()
}

fn decision(effect: Effect, principal: &str, grants: &[(&str, &str)]) -> Decision {
    Decision {
        effect,
        principal_id: principal.to_owned(),
        grants: grants.iter().map(|(m, p)| Grant { method: (*m).to_owned(), path: (*p).to_owned() }).collect(),
        context: Vec::new(),
        usage_identifier_key: None,
    }
}

fn json_of(outcome: &Outcome) -> Value {
    respond(outcome, Some(&arn())).to_json()
}

#[test]
fn allow_becomes_an_allow_on_every_grant_of_the_stage() {
    let mut d = decision(Effect::Allow, "user1", &[("GET", "/notes"), ("*", "/notes/*")]);
    d.context = vec![
        ("role".to_owned(), ContextValue::Text("reader".to_owned())),
        ("level".to_owned(), ContextValue::Number(3.0)),
        ("admin".to_owned(), ContextValue::Boolean(false)),
    ];
    d.usage_identifier_key = Some("usage-key-1".to_owned());
    assert_eq!(
        json_of(&check_decision(d, &arn())),
        json!({
            "principalId": "user1",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Action": ["execute-api:Invoke"],
                    "Effect": "Allow",
                    "Resource": [
                        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes",
                        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*/notes/*"
                    ]
                }]
            },
            "context": { "role": "reader", "level": 3.0, "admin": false },
            "usageIdentifierKey": "usage-key-1"
        })
    );
}

#[test]
fn deny_becomes_an_explicit_deny_of_the_whole_stage() {
    let outcome = check_decision(decision(Effect::Deny, "anonymous", &[]), &arn());
    assert_eq!(
        json_of(&outcome),
        json!({
            "principalId": "anonymous",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Action": ["execute-api:Invoke"],
                    "Effect": "Deny",
                    "Resource": ["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*"]
                }]
            },
            "context": {},
            "usageIdentifierKey": null
        })
    );
}

#[test]
fn unauthorized_becomes_the_unauthorized_error() {
    let outcome = check_decision(decision(Effect::Unauthorized, "", &[]), &arn());
    assert_eq!(outcome, Outcome::Unauthorized);
    assert_eq!(respond(&outcome, Some(&arn())), AuthorizerResponse::Unauthorized);
    assert_eq!(json_of(&outcome), json!({"errorType": "Unauthorized", "errorMessage": "Unauthorized"}));
}

#[test]
fn every_failure_denies_the_stage_and_never_allows() {
    let failures = [
        Failure::NoPolicy,
        Failure::BadEvent("x".to_owned()),
        Failure::Timeout { budget_ms: 100 },
        Failure::MemoryExhausted { limit_bytes: 1 },
        Failure::Trap("unreachable".to_owned()),
        Failure::Policy(PolicyFault::Internal("x".to_owned())),
        Failure::Malformed("x".to_owned()),
        Failure::Oversized("x".to_owned()),
        Failure::Host("x".to_owned()),
    ];
    for failure in failures {
        let response = json_of(&Outcome::FailClosed(failure.clone()));
        assert_eq!(response["principalId"], FAIL_CLOSED_PRINCIPAL, "{failure}");
        assert_eq!(response["policyDocument"]["Statement"][0]["Effect"], "Deny", "{failure}");
        assert_eq!(
            response["policyDocument"]["Statement"][0]["Resource"],
            json!(["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*"]),
            "{failure}"
        );
        assert_eq!(response["policyDocument"]["Statement"].as_array().map(Vec::len), Some(1));
    }
}

#[test]
fn without_a_method_arn_everything_is_unauthorized() {
    let allowed = check_decision(decision(Effect::Allow, "u", &[("GET", "/")]), &arn());
    for outcome in [allowed, Outcome::Unauthorized, Outcome::FailClosed(Failure::NoPolicy)] {
        assert_eq!(respond(&outcome, None), AuthorizerResponse::Unauthorized);
    }
}

fn failure_of(d: Decision) -> Failure {
    match check_decision(d, &arn()) {
        Outcome::FailClosed(f) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn malformed_answers_fail_closed() {
    let rows: Vec<(Decision, &str)> = vec![
        (decision(Effect::Allow, "u", &[]), "allow without grants"),
        (decision(Effect::Allow, "", &[("GET", "/")]), "empty principal"),
        (decision(Effect::Deny, "", &[]), "empty principal"),
        (decision(Effect::Allow, "u", &[("get", "/notes")]), "grant"),
        (decision(Effect::Allow, "u", &[("GET", "notes")]), "grant"),
        (decision(Effect::Allow, "u", &[("GET", "/notes /x")]), "grant"),
        (decision(Effect::Allow, "u", &[("GET", "/notes\n")]), "grant"),
        (decision(Effect::Allow, "u", &[("GET,POST", "/")]), "grant"),
        (decision(Effect::Allow, "u", &[("$", "/")]), "grant"),
    ];
    for (d, expected) in rows {
        let text = failure_of(d.clone()).to_string();
        assert!(text.contains(expected), "{d:?}: {text}");
    }
    let mut nan = decision(Effect::Allow, "u", &[("GET", "/")]);
    nan.context = vec![("n".to_owned(), ContextValue::Number(f64::NAN))];
    assert!(matches!(failure_of(nan), Failure::Malformed(m) if m.contains("finite")));
    let mut dup = decision(Effect::Allow, "u", &[("GET", "/")]);
    dup.context = vec![("k".to_owned(), true.into()), ("k".to_owned(), false.into())];
    assert!(matches!(failure_of(dup), Failure::Malformed(m) if m.contains("twice")));
    let mut bad_key = decision(Effect::Allow, "u", &[("GET", "/")]);
    bad_key.context = vec![("a b".to_owned(), true.into())];
    assert!(matches!(failure_of(bad_key), Failure::Malformed(_)));
}

impl From<bool> for ContextValue {
    fn from(b: bool) -> Self {
        ContextValue::Boolean(b)
    }
}

#[test]
fn oversized_answers_fail_closed() {
    let long_principal = decision(Effect::Allow, &"p".repeat(answer::MAX_PRINCIPAL_BYTES + 1), &[("GET", "/")]);
    assert!(matches!(failure_of(long_principal), Failure::Oversized(m) if m.contains("principal")));

    let paths: Vec<String> = (0..=answer::MAX_GRANTS).map(|i| format!("/r{i}")).collect();
    let grants: Vec<(&str, &str)> = paths.iter().map(|p| ("GET", p.as_str())).collect();
    assert!(matches!(failure_of(decision(Effect::Allow, "u", &grants)), Failure::Oversized(m) if m.contains("grants")));

    let long_path = format!("/{}", "a".repeat(answer::MAX_RESOURCE_ARN_CHARS));
    let long_grant = decision(Effect::Allow, "u", &[("GET", &long_path)]);
    assert!(matches!(failure_of(long_grant), Failure::Oversized(m) if m.contains("resource")));

    let mut many = decision(Effect::Allow, "u", &[("GET", "/")]);
    many.context = (0..=answer::MAX_CONTEXT_ENTRIES).map(|i| (format!("k{i}"), true.into())).collect();
    assert!(matches!(failure_of(many), Failure::Oversized(m) if m.contains("context")));

    let mut big = decision(Effect::Allow, "u", &[("GET", "/")]);
    big.context = vec![("k".to_owned(), ContextValue::Text("v".repeat(answer::MAX_RESPONSE_BYTES)))];
    assert!(matches!(failure_of(big), Failure::Oversized(m) if m.contains("response")));
}

#[test]
fn websocket_route_keys_and_wildcards_are_valid_grants() {
    let ok = decision(Effect::Allow, "u", &[("$connect", "/"), ("*", "/*"), ("GET", "/notes/{id}/?")]);
    assert!(matches!(check_decision(ok, &arn()), Outcome::Allow(_)));
}

#[test]
fn a_connect_grant_covers_exactly_the_websocket_connect_arn() {
    let ws = parse_method_arn("arn:aws:execute-api:us-east-1:123456789012:w1s2o3c4k5/prod/$connect").unwrap();
    let allowed = check_decision(decision(Effect::Allow, "u", &[("$connect", "/"), ("*", "/*")]), &ws);
    let response = respond_for(&allowed, Some(&ws), RequestKind::Websocket, ResponseFormat::Simple);
    assert_eq!(
        response.policy_document().unwrap().statement[0].resource,
        vec![
            "arn:aws:execute-api:us-east-1:123456789012:w1s2o3c4k5/prod/$connect".to_owned(),
            "arn:aws:execute-api:us-east-1:123456789012:w1s2o3c4k5/prod/*/*".to_owned(),
        ],
        "the simple format is for HTTP API 2.0 only"
    );
    assert!(response.authorizes(&ws.to_arn()));
    // `*/*` needs a path segment: it does not cover the route key.
    let http_only = check_decision(decision(Effect::Allow, "u", &[("*", "/*")]), &ws);
    assert!(!respond(&http_only, Some(&ws)).authorizes(&ws.to_arn()));
}

fn v2_arn() -> MethodArn {
    parse_method_arn("arn:aws:execute-api:us-east-1:123456789012:h1t2p3a4p5/prod/GET/notes").unwrap()
}

fn simple(outcome: &Outcome) -> Value {
    respond_for(outcome, Some(&v2_arn()), RequestKind::HttpV2, ResponseFormat::Simple).to_json()
}

#[test]
fn http_api_simple_responses_row_by_row() {
    let mut d = decision(Effect::Allow, "user1", &[("GET", "/notes")]);
    d.context = vec![("role".to_owned(), ContextValue::Text("reader".to_owned()))];
    let allowed = check_decision(d, &v2_arn());
    assert_eq!(simple(&allowed), json!({"isAuthorized": true, "context": {"role": "reader", "principalId": "user1"}}));
    // An allow whose grants do not cover this route is a no, as the IAM policy would be.
    let elsewhere = check_decision(decision(Effect::Allow, "user1", &[("DELETE", "/notes")]), &v2_arn());
    assert_eq!(simple(&elsewhere), json!({"isAuthorized": false, "context": {"principalId": "user1"}}));
    let mut denied = decision(Effect::Deny, "user1", &[]);
    denied.context = vec![("reason".to_owned(), ContextValue::Text("suspended".to_owned()))];
    assert_eq!(
        simple(&check_decision(denied, &v2_arn())),
        json!({"isAuthorized": false, "context": {"reason": "suspended", "principalId": "user1"}})
    );
    assert_eq!(simple(&Outcome::Unauthorized), json!({"errorType": "Unauthorized", "errorMessage": "Unauthorized"}));
    for failure in [Failure::NoPolicy, Failure::Timeout { budget_ms: 1 }, Failure::Trap("x".to_owned())] {
        assert_eq!(simple(&Outcome::FailClosed(failure)), json!({"isAuthorized": false, "context": {}}));
    }
    let unusable = respond_for(&allowed, None, RequestKind::HttpV2, ResponseFormat::Simple);
    assert_eq!(unusable, AuthorizerResponse::Unauthorized);
}

#[test]
fn http_api_iam_responses_have_no_usage_identifier_key() {
    let mut d = decision(Effect::Allow, "user1", &[("GET", "/notes")]);
    d.usage_identifier_key = Some("k".to_owned());
    let allowed = check_decision(d, &v2_arn());
    let response = respond_for(&allowed, Some(&v2_arn()), RequestKind::HttpV2, ResponseFormat::Iam);
    assert!(matches!(response, AuthorizerResponse::HttpPolicy(_)));
    assert_eq!(
        response.to_json(),
        json!({
            "principalId": "user1",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Action": ["execute-api:Invoke"],
                    "Effect": "Allow",
                    "Resource": ["arn:aws:execute-api:us-east-1:123456789012:h1t2p3a4p5/prod/GET/notes"]
                }]
            },
            "context": {"principalId": "user1"}
        })
    );
    let failed =
        respond_for(&Outcome::FailClosed(Failure::NoPolicy), Some(&v2_arn()), RequestKind::HttpV2, ResponseFormat::Iam);
    assert_eq!(failed.to_json()["principalId"], FAIL_CLOSED_PRINCIPAL);
    assert!(!failed.authorizes(&v2_arn().to_arn()));
    // Payload 1.0 is answered as REST is, whatever the format says.
    let v1 = respond_for(&allowed, Some(&v2_arn()), RequestKind::HttpV1, ResponseFormat::Simple);
    assert!(matches!(v1, AuthorizerResponse::Policy(_)));
    // An HTTP API integration reads the caller from the context; REST keeps the context as the policy gave it.
    assert_eq!(v1.to_json()["context"], json!({"principalId": "user1"}));
    assert_eq!(respond(&allowed, Some(&v2_arn())).to_json()["context"], json!({}));
}

#[test]
fn response_formats_parse_from_configuration() {
    assert_eq!("iam".parse::<ResponseFormat>().unwrap(), ResponseFormat::Iam);
    assert_eq!(" Simple ".parse::<ResponseFormat>().unwrap(), ResponseFormat::Simple);
    assert_eq!(ResponseFormat::default(), ResponseFormat::Iam);
    let err = "boolean".parse::<ResponseFormat>().unwrap_err();
    assert_eq!(err.to_string(), "`boolean` is not a response format, expected `iam` or `simple`");
}

/// The size check counts instead of building the response: its bound must
/// hold for every shape the allow can be answered in, with escapes, wide
/// characters, a usage key and HTTP API's extra `principalId`.
#[test]
fn the_response_size_bound_covers_every_response_shape() {
    let mut rich = decision(Effect::Allow, "ü\"ser\n1", &[("GET", "/notes"), ("*", "/*"), ("$connect", "/")]);
    rich.context = vec![
        ("role".to_owned(), ContextValue::Text("a \"quoted\"\t\u{1}é value".to_owned())),
        ("n".to_owned(), ContextValue::Number(-1.5e300)),
        ("principalId".to_owned(), true.into()),
    ];
    rich.usage_identifier_key = Some("k\\ey".to_owned());
    let plain = decision(Effect::Allow, "u", &[("GET", "/")]);
    for (d, stage) in [(rich, "prod"), (plain, "*")] {
        let arn = parse_method_arn(&format!("arn:aws:execute-api:eu-west-1:123456789012:abc/{stage}/GET/")).unwrap();
        let Outcome::Allow(allowed) = check_decision(d, &arn) else { panic!("not an allow") };
        let prefix = arn.stage_prefix().len();
        let resources: usize =
            allowed.grants.iter().map(|g| prefix + arn.resource_suffix_len(&g.method, &g.path) + 3).sum();
        let bound = response_size_bound(&allowed, resources);
        for kind in
            [RequestKind::Token, RequestKind::Request, RequestKind::HttpV1, RequestKind::HttpV2, RequestKind::Websocket]
        {
            for format in [ResponseFormat::Iam, ResponseFormat::Simple] {
                let outcome = Outcome::Allow(allowed.clone());
                let size = serde_json::to_vec(&respond_for(&outcome, Some(&arn), kind, format)).unwrap().len();
                assert!(size <= bound, "{kind:?} {format:?}: {size} bytes, bound {bound}");
            }
        }
    }
}

#[test]
fn resource_suffix_len_is_the_length_arn_for_adds() {
    let wide = parse_method_arn("arn:aws:execute-api:ü-1:123456789012:ä/prod/GET/notes").unwrap();
    for arn in [arn(), wide] {
        assert_eq!(arn.stage_prefix_chars(), arn.stage_prefix().chars().count());
    }
    let arn = arn();
    for (method, path) in
        [("GET", "/notes"), ("*", "/*"), ("$connect", "/"), ("$connect", "/x"), ("GET", "/"), ("GET", "//a")]
    {
        assert_eq!(
            arn.stage_prefix().len() + arn.resource_suffix_len(method, path),
            arn.arn_for(method, path).len(),
            "{method} {path}"
        );
    }
}

#[test]
fn serializing_a_response_writes_its_json() {
    let allowed = check_decision(decision(Effect::Allow, "user1", &[("GET", "/notes")]), &arn());
    let denied = check_decision(decision(Effect::Deny, "user1", &[]), &arn());
    for outcome in [allowed, denied, Outcome::Unauthorized, Outcome::FailClosed(Failure::NoPolicy)] {
        for kind in [RequestKind::Token, RequestKind::HttpV2] {
            for format in [ResponseFormat::Iam, ResponseFormat::Simple] {
                let response = respond_for(&outcome, Some(&arn()), kind, format);
                assert_eq!(serde_json::to_value(&response).unwrap(), response.to_json(), "{outcome:?} {kind:?}");
            }
        }
    }
}
