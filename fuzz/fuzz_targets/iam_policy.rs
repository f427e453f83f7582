//! The IAM evaluator the local gateway applies to cached policies: the
//! wildcard matcher against a simple reference implementation, and
//! arbitrary policy documents evaluated without panicking.
#![no_main]

use authz_engine::iam::{evaluate, wildcard_match};
use libfuzzer_sys::fuzz_target;

/// Reference: dynamic programming over (pattern, text) prefixes.
fn reference(pattern: &[char], text: &[char]) -> bool {
    let mut row = vec![false; text.len() + 1];
    row[0] = true;
    for p in pattern {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            next[j] = match p {
                '*' => row[j] || (j > 0 && next[j - 1]),
                '?' => j > 0 && row[j - 1],
                c => j > 0 && row[j - 1] && text[j - 1] == *c,
            };
        }
        row = next;
    }
    row[text.len()]
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some((pattern, subject)) = text.split_once('\n') {
        let p: Vec<char> = pattern.chars().take(64).collect();
        let t: Vec<char> = subject.chars().take(64).collect();
        let (ps, ts): (String, String) = (p.iter().collect(), t.iter().collect());
        assert_eq!(wildcard_match(&ps, &ts), reference(&p, &t), "pattern {ps:?} text {ts:?}");
    }
    if let Ok(policy) = serde_json::from_slice::<aws_lambda_events::apigw::ApiGatewayCustomAuthorizerPolicy>(data) {
        let _ = evaluate(&policy, "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes");
    }
});
