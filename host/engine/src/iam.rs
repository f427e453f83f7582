//! How API Gateway applies an authorizer's IAM policy to a method ARN:
//! `*` matches any run of characters, `?` exactly one, an explicit Deny that
//! matches wins over any Allow, and nothing matching is an implicit deny.

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerPolicy;
use aws_lambda_events::iam::IamPolicyEffect;

/// The result of evaluating a policy document for one method ARN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IamDecision {
    /// An Allow statement matches and no Deny does.
    Allow,
    /// A Deny statement matches (403, "explicit deny").
    ExplicitDeny,
    /// No statement matches (403).
    ImplicitDeny,
}

fn action_matches(action: &str) -> bool {
    ["execute-api:Invoke", "execute-api:*", "*"].iter().any(|a| a.eq_ignore_ascii_case(action))
}

/// Evaluates `policy` for `method_arn`.
pub fn evaluate(policy: &ApiGatewayCustomAuthorizerPolicy, method_arn: &str) -> IamDecision {
    let mut allowed = false;
    for statement in &policy.statement {
        let applies = statement.action.iter().any(|a| action_matches(a))
            && statement.resource.iter().any(|r| wildcard_match(r, method_arn));
        if !applies {
            continue;
        }
        match statement.effect {
            IamPolicyEffect::Deny => return IamDecision::ExplicitDeny,
            IamPolicyEffect::Allow => allowed = true,
            _ => {}
        }
    }
    if allowed { IamDecision::Allow } else { IamDecision::ImplicitDeny }
}

/// Glob match with `*` (any run, including none) and `?` (one character),
/// in linear time for the common case and without recursion.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::iam::IamPolicyStatement;

    fn statement(effect: IamPolicyEffect, resources: &[&str]) -> IamPolicyStatement {
        let mut s = IamPolicyStatement::default();
        s.action = vec!["execute-api:Invoke".to_owned()];
        s.effect = effect;
        s.resource = resources.iter().map(|r| (*r).to_owned()).collect();
        s
    }

    fn doc(statements: Vec<IamPolicyStatement>) -> ApiGatewayCustomAuthorizerPolicy {
        let mut d = ApiGatewayCustomAuthorizerPolicy::default();
        d.statement = statements;
        d
    }

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/notes";

    #[test]
    fn wildcards() {
        let cases = [
            ("*", "", true),
            ("*", "anything/at/all", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("GET/notes", "GET/notes", true),
            ("GET/notes", "GET/notes/1", false),
            ("GET/notes/*", "GET/notes/1/x", true),
            ("GET/notes/*", "GET/notes", false),
            ("*/notes", "POST/notes", true),
            ("**a", "xya", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("é?", "éü", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(wildcard_match(pattern, text), expected, "{pattern} vs {text}");
        }
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let text = "a".repeat(2000);
        let pattern = format!("{}b", "*a".repeat(200));
        let started = std::time::Instant::now();
        assert!(!wildcard_match(&pattern, &text));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn explicit_deny_wins_and_nothing_matching_is_implicit() {
        let allow = statement(IamPolicyEffect::Allow, &["arn:aws:execute-api:us-east-1:123456789012:api/prod/*"]);
        let deny = statement(IamPolicyEffect::Deny, &["arn:aws:execute-api:*:*:api/prod/GET/notes"]);
        assert_eq!(evaluate(&doc(vec![allow.clone()]), ARN), IamDecision::Allow);
        assert_eq!(evaluate(&doc(vec![allow.clone(), deny.clone()]), ARN), IamDecision::ExplicitDeny);
        assert_eq!(evaluate(&doc(vec![deny, allow]), ARN), IamDecision::ExplicitDeny);
        let other = statement(IamPolicyEffect::Allow, &["arn:aws:execute-api:us-east-1:123456789012:api/prod/POST/*"]);
        assert_eq!(evaluate(&doc(vec![other]), ARN), IamDecision::ImplicitDeny);
        assert_eq!(evaluate(&doc(vec![]), ARN), IamDecision::ImplicitDeny);
    }

    #[test]
    fn other_actions_do_not_apply() {
        let mut s = statement(IamPolicyEffect::Allow, &["*"]);
        s.action = vec!["s3:GetObject".to_owned()];
        assert_eq!(evaluate(&doc(vec![s]), ARN), IamDecision::ImplicitDeny);
    }
}
