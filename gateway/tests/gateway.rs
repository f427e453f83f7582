//! The local gateway over real HTTP, serving the repository's template.yaml
//! with the real authorizer (engine + registry watcher) and the real getNotes
//! on a real local DynamoDB and S3 (moto, started and stopped here).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use authz_engine::ResponseFormat;
use authz_gateway::{ApiKind, IdentitySource};
use common::{Local, URL_PATH, publish, static_token_config};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn message(status: u16, body: &Value) -> (u16, &Value) {
    (status, &body["message"])
}

#[test]
fn the_tutorial_flow_with_api_gateway_answers() {
    let local = Local::start(300);
    // No token: 401 without asking the authorizer.
    let (status, body, headers) = local.get(URL_PATH, None);
    assert_eq!(message(status, &body), (401, &json!("Unauthorized")));
    assert_eq!(headers["x-amzn-errortype"], "UnauthorizedException");
    assert_eq!(
        message(local.get(URL_PATH, Some("")).0, &local.get(URL_PATH, Some("")).1),
        (401, &json!("Unauthorized"))
    );
    // A wrong token: the policy denies explicitly.
    let (status, body, _) = local.get(URL_PATH, Some("wrong"));
    assert_eq!(
        message(status, &body),
        (403, &json!("User is not authorized to access this resource with an explicit deny"))
    );
    // The tutorial's token reads user1's note; the function saw the principal.
    let (status, body, headers) = local.get(URL_PATH, Some("abc123"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"userId": "user1", "noteId": "note1", "note": "Buy milk"}));
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers.contains_key("x-amzn-requestid"));
    // The stage prefix of the deployed URL works too.
    assert_eq!(local.get(&format!("/prod{URL_PATH}"), Some("abc123")).0, 200);
    // Ownership: user1 may not read user2's notes; the admin may.
    let (status, body, _) = local.get("/notes?userId=user2", Some("abc123"));
    assert_eq!(status, 403, "{body}");
    let (status, body, _) = local.get("/notes?userId=user2", Some("admin-secret-456"));
    assert_eq!(status, 200, "{body}");
    assert!(!body["notes"].as_array().unwrap().is_empty());
    // Not found and bad input come from the function, as JSON.
    assert_eq!(local.get("/notes?userId=user1&noteId=nope", Some("abc123")).0, 404);
    assert_eq!(local.get("/notes?noteId=x", Some("abc123")).0, 400);
}

#[test]
fn routes_grants_and_malformed_requests() {
    let local = Local::start(300);
    // Unknown path or method: API Gateway's 403 before any authorizer.
    let (status, body, _) = local.get("/nothing-here", Some("abc123"));
    assert_eq!(message(status, &body), (403, &json!("Missing Authentication Token")));
    let (status, body, _) = local.request("DELETE", "/notes", Some("abc123"));
    assert_eq!(message(status, &body), (403, &json!("Missing Authentication Token")));
    // A query string the function cannot use.
    assert_eq!(local.get("/notes?userId=&noteId=", Some("abc123")).0, 400);
    assert_eq!(local.get("/notes?userId=user1&limit=-4", Some("abc123")).0, 400);
    assert_eq!(local.get("/notes?userId=user1&nextToken=%%%", Some("abc123")).0, 400);
    let long = "u".repeat(5000);
    assert_eq!(local.get(&format!("/notes?userId={long}"), Some("abc123")).0, 400);
}

#[test]
fn a_cached_result_applies_to_every_route_so_grants_must_cover_them() {
    let local = Local::start_with(ApiKind::Rest, 300, |spec| spec.routes.push(admin_route()), None);
    // The first call, on /admin, caches a policy whose grants cover GET /notes only.
    let (status, body, _) = local.get("/admin", Some("abc123"));
    assert_eq!(message(status, &body), (403, &json!("User is not authorized to access this resource")));
    // The same token on /notes is served from that cached policy, correctly.
    assert_eq!(local.get(URL_PATH, Some("abc123")).0, 200);
    // An explicit deny is cached too, and applies everywhere.
    let (status, body, _) = local.get("/admin", Some("wrong"));
    assert_eq!(
        message(status, &body),
        (403, &json!("User is not authorized to access this resource with an explicit deny"))
    );
    assert_eq!(local.get(URL_PATH, Some("wrong")).0, 403);
}

#[test]
fn cached_results_hold_until_the_ttl_ends() {
    const TTL: Duration = Duration::from_secs(4);
    let local = Local::start(TTL.as_secs());
    // The result is cached at some moment between these two.
    let before = Instant::now();
    assert_eq!(local.get(URL_PATH, Some("abc123")).0, 200);
    let after = Instant::now();
    // Revoke abc123 in a new version; the cached Allow still holds for the TTL.
    let revoked = static_token_config()
        .replace("\"user1\"", "\"revoked\"")
        .replace("\"GET\", \"path\": \"/notes\" }]", "\"GET\", \"path\": \"/elsewhere\" }]");
    assert!(revoked.contains("/elsewhere"), "the config format changed: {revoked}");
    local.runtime.block_on(publish(&local.registry, revoked));
    // Past the watcher's 300 ms check interval: the new version is the one it would use.
    std::thread::sleep(Duration::from_secs(1).saturating_sub(before.elapsed()));
    assert!(before.elapsed() < TTL, "publishing took longer than this test's TTL: {:?}", before.elapsed());
    let (status, body, _) = local.get(URL_PATH, Some("abc123"));
    assert_eq!(status, 200, "served from the cache within the TTL: {body}");
    // After the TTL the new version decides: principal `revoked` may only call /elsewhere.
    std::thread::sleep((TTL + Duration::from_millis(200)).saturating_sub(after.elapsed()));
    let (status, body, _) = local.get(URL_PATH, Some("abc123"));
    assert_eq!(message(status, &body), (403, &json!("User is not authorized to access this resource")));
}

#[test]
fn without_a_cache_a_hot_swap_shows_on_the_next_request_after_the_check() {
    let local = Local::start(0);
    assert_eq!(local.get(URL_PATH, Some("abc123")).0, 200);
    let locked = static_token_config().replace("\"user1\"", "\"user1-v2\"");
    local.runtime.block_on(publish(&local.registry, locked));
    // Within a few check intervals (0.3 s) the new version answers; the
    // principal changed, so user1's notes are no longer the caller's.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body, _) = local.get(URL_PATH, Some("abc123"));
        if status == 403 {
            assert_eq!(body["error"].as_str().map(|_| ()), Some(()), "getNotes' own ownership 403: {body}");
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert!(Instant::now() < deadline, "the new version never took effect");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn admin_route() -> authz_gateway::Route {
    authz_gateway::Route {
        method: "GET".into(),
        path: "/admin".into(),
        function: "GetNotesFunction".into(),
        authorized: true,
    }
}

#[test]
fn the_http_api_flow_with_http_api_answers() {
    let local = Local::start_with(ApiKind::Http, 300, |_| {}, None);
    let (status, body, headers) = local.get(URL_PATH, None);
    assert_eq!((status, &body), (401, &json!({"message": "Unauthorized"})));
    assert!(headers.contains_key("apigw-requestid") && !headers.contains_key("x-amzn-errortype"), "{headers:?}");
    // A wrong token: the simple answer is no, and HTTP APIs say only "Forbidden".
    assert_eq!(local.get(URL_PATH, Some("wrong")).1, json!({"message": "Forbidden"}));
    assert_eq!(local.get(URL_PATH, Some("wrong")).0, 403);
    // abc123 reads user1's note: the payload 2.0 integration got the principal from the context.
    let (status, body, headers) = local.get(URL_PATH, Some("abc123"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"userId": "user1", "noteId": "note1", "note": "Buy milk"}));
    assert!(headers.contains_key("apigw-requestid"));
    assert_eq!(local.get(&format!("/prod{URL_PATH}"), Some("abc123")).0, 200);
    assert_eq!(local.get("/notes?userId=user2", Some("abc123")).0, 403, "getNotes' ownership check");
    // The admin's context flag arrives as a JSON boolean and is honoured.
    let (status, body, _) = local.get("/notes?userId=user2", Some("admin-secret-456"));
    assert_eq!(status, 200, "{body}");
    // No route: 404, before any authorizer.
    let (status, body, _) = local.request("DELETE", "/notes", Some("abc123"));
    assert_eq!((status, body), (404, json!({"message": "Not Found"})));
}

#[test]
fn simple_answers_are_cached_per_route_only_with_the_route_in_the_key() {
    // The template keys the cache on the token and `$context.routeKey`.
    let local = Local::start_with(ApiKind::Http, 300, |spec| spec.routes.push(admin_route()), None);
    let (status, body, _) = local.get("/admin", Some("abc123"));
    assert_eq!((status, body), (403, json!({"message": "Forbidden"})), "abc123 is not granted /admin");
    assert_eq!(local.get(URL_PATH, Some("abc123")).0, 200, "the no for /admin is not reused on /notes");

    // Keyed on the token alone, a cached simple answer holds for every route:
    // the no for /admin shuts abc123 out of /notes until the TTL ends.
    let local = Local::start_with(
        ApiKind::Http,
        300,
        |spec| {
            spec.routes.push(admin_route());
            spec.authorizer.as_mut().unwrap().identity.retain(|s| *s != IdentitySource::RouteKey);
        },
        None,
    );
    assert_eq!(local.get("/admin", Some("abc123")).0, 403);
    assert_eq!(local.get(URL_PATH, Some("abc123")).0, 403);
    // And a yes cached on /notes opens /admin to the same token.
    assert_eq!(local.get("/notes?userId=user2", Some("admin-secret-456")).0, 200);
    assert_eq!(local.get("/admin?userId=user2", Some("admin-secret-456")).0, 200);
}

#[test]
fn an_http_api_with_payload_1_0_authorizer_events_is_served_too() {
    // Payload 1.0: a REST-like REQUEST event, answered with an IAM policy.
    let local = Local::start_with(
        ApiKind::Http,
        0,
        |spec| spec.authorizer.as_mut().unwrap().payload = authz_gateway::AuthorizerPayload::HttpV1,
        None,
    );
    let (status, body, _) = local.get(URL_PATH, Some("abc123"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["note"], "Buy milk");
    let (status, body, _) = local.get(URL_PATH, Some("wrong"));
    assert_eq!((status, body), (403, json!({"message": "Forbidden"})));
    assert_eq!(local.get(URL_PATH, None).0, 401);
}

#[test]
fn an_answer_in_the_wrong_format_is_a_500() {
    // The HTTP API expects simple responses; an authorizer set to answer with IAM policies fails every call.
    let local = Local::start_with(ApiKind::Http, 0, |_| {}, Some(ResponseFormat::Iam));
    let (status, body, _) = local.get(URL_PATH, Some("abc123"));
    assert_eq!((status, body), (500, json!({"message": "Internal Server Error"})));
}
