//! The deployment's security rules, read from `template.yaml` so that an edit
//! cannot widen them quietly: least privilege for both functions (exact
//! grants, no wildcards, no SAM policy templates), the policy bucket locked
//! down (no public access, TLS only, encrypted, versioned), the tables
//! encrypted with point-in-time recovery, the authorizer as the API's default
//! with a parameterised cache TTL (default 300 s), and logs with retention.
//!
//! Every rule is a function that returns the violations it finds; the first
//! test asserts the template has none, the others break the template on
//! purpose and assert the rule notices. To change a rule deliberately, change
//! it here in the same commit as the template, and say why.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_norway::{Mapping, Value};
use std::collections::BTreeSet;
use std::path::Path;

fn template_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn template() -> Value {
    serde_norway::from_str(&template_text()).expect("template.yaml is YAML")
}

// ------------------------------------------------------------------ reading

/// A value as one canonical string: literals as themselves, intrinsics in
/// either YAML form (`!Ref X` or `{Ref: X}`) as `Ref(X)`, `GetAtt(X.Arn)`,
/// `Sub(...)`, so rules compare references without caring how they are spelled.
fn expr(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Tagged(t) => {
            let tag = t.tag.to_string();
            intrinsic(tag.trim_start_matches('!'), &t.value)
        }
        Value::Mapping(m) if m.len() == 1 => {
            let (k, inner) = m.iter().next().unwrap();
            match k.as_str() {
                Some(name @ ("Ref" | "Condition")) => intrinsic(name, inner),
                Some(name) if name.starts_with("Fn::") => intrinsic(name.trim_start_matches("Fn::"), inner),
                _ => format!("{v:?}"),
            }
        }
        _ => format!("{v:?}"),
    }
}

fn intrinsic(name: &str, arg: &Value) -> String {
    let arg = match (name, arg) {
        // `!GetAtt X.Arn` and `Fn::GetAtt: [X, Arn]` are the same thing.
        ("GetAtt", Value::Sequence(parts)) => parts.iter().map(expr).collect::<Vec<_>>().join("."),
        // `Fn::Sub: [text, {vars}]`: the text is what matters here.
        ("Sub", Value::Sequence(parts)) => parts.first().map(expr).unwrap_or_default(),
        (_, Value::Sequence(parts)) => parts.iter().map(expr).collect::<Vec<_>>().join(", "),
        (_, other) => expr(other),
    };
    format!("{name}({arg})")
}

/// IAM lets `Action` and `Resource` be one value or a list.
fn one_or_many(v: Option<&Value>) -> Vec<&Value> {
    match v {
        None => vec![],
        Some(Value::Sequence(items)) => items.iter().collect(),
        Some(one) => vec![one],
    }
}

fn resources(t: &Value) -> &Mapping {
    t["Resources"].as_mapping().expect("Resources is a mapping")
}

fn resource<'a>(t: &'a Value, name: &str) -> &'a Value {
    t["Resources"].get(name).unwrap_or_else(|| panic!("no resource `{name}`"))
}

fn props<'a>(t: &'a Value, name: &str) -> &'a Value {
    &resource(t, name)["Properties"]
}

fn of_type<'a>(t: &'a Value, ty: &'a str) -> impl Iterator<Item = (String, &'a Value)> + 'a {
    resources(t)
        .iter()
        .filter(move |(_, r)| r["Type"].as_str() == Some(ty))
        .map(|(k, r)| (k.as_str().unwrap_or_default().to_owned(), r))
}

fn is_true(v: &Value) -> bool {
    v.as_bool() == Some(true) || v.as_str() == Some("true")
}

/// Every IAM policy document anywhere in the template (anything holding a
/// `Statement`), with where it was found.
fn policy_documents<'a>(v: &'a Value, at: &str, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Mapping(m) => {
            if m.contains_key("Statement") {
                out.push((at.to_owned(), v));
            }
            for (k, child) in m {
                policy_documents(child, &format!("{at}.{}", expr(k)), out);
            }
        }
        Value::Sequence(items) => {
            for (i, child) in items.iter().enumerate() {
                policy_documents(child, &format!("{at}[{i}]"), out);
            }
        }
        Value::Tagged(t) => policy_documents(&t.value, at, out),
        _ => {}
    }
}

/// The (action, resource) pairs a role's inline policies allow, actions in
/// lower case (IAM compares them case-insensitively).
fn role_grants(t: &Value, role: &str) -> BTreeSet<(String, String)> {
    let mut grants = BTreeSet::new();
    for policy in props(t, role)["Policies"].as_sequence().into_iter().flatten() {
        for statement in one_or_many(policy["PolicyDocument"].get("Statement")) {
            if statement["Effect"].as_str() != Some("Allow") {
                continue;
            }
            for action in one_or_many(statement.get("Action")) {
                for resource in one_or_many(statement.get("Resource")) {
                    grants.insert((expr(action).to_lowercase(), expr(resource)));
                }
            }
        }
    }
    grants
}

fn grants(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs.iter().map(|(a, r)| (a.to_lowercase(), (*r).to_owned())).collect()
}

/// The logical name of the role a function runs with (`Role: !GetAtt R.Arn`).
fn function_role(t: &Value, function: &str) -> Option<String> {
    let role = expr(props(t, function).get("Role")?);
    role.strip_prefix("GetAtt(")?.strip_suffix(".Arn)").map(str::to_owned)
}

// ------------------------------------------------------------------ rules

/// Whether an IAM resource names a resource of this template: `!GetAtt X.Arn`,
/// `!Ref X`, or a `!Sub` that starts from `${X...}` (e.g. an object prefix of a
/// bucket). So never `*`, and never an ARN typed in by hand.
fn scoped_to_template_resource(t: &Value, r: &str) -> bool {
    let name = r
        .strip_prefix("GetAtt(")
        .and_then(|s| s.split('.').next())
        .or_else(|| r.strip_prefix("Ref(").and_then(|s| s.strip_suffix(')')))
        .or_else(|| r.strip_prefix("Sub(${").and_then(|s| s.split(['.', '}']).next()));
    name.is_some_and(|n| resources(t).contains_key(n))
}

/// No Allow statement anywhere grants a wildcard action, a resource that is
/// not one of the template's own, or anything to any principal; none uses
/// NotAction/NotResource/NotPrincipal.
fn no_wildcard_allows(t: &Value) -> Vec<String> {
    let mut docs = Vec::new();
    policy_documents(&t["Resources"], "Resources", &mut docs);
    let mut bad = Vec::new();
    for (at, doc) in docs {
        for statement in one_or_many(doc.get("Statement")) {
            if statement["Effect"].as_str() != Some("Allow") {
                continue;
            }
            for key in ["NotAction", "NotResource", "NotPrincipal"] {
                if statement.get(key).is_some() {
                    bad.push(format!("{at}: an Allow with {key}"));
                }
            }
            for action in one_or_many(statement.get("Action")) {
                if expr(action).contains('*') {
                    bad.push(format!("{at}: Allow of wildcard action `{}`", expr(action)));
                }
            }
            for resource in one_or_many(statement.get("Resource")) {
                let r = expr(resource);
                if !scoped_to_template_resource(t, &r) {
                    bad.push(format!("{at}: Allow on `{r}`, not on a resource of this template"));
                }
            }
            if let Some(principal) = statement.get("Principal") {
                let p = expr(principal);
                if p == "*" || principal.get("AWS").is_some_and(|a| expr(a) == "*") {
                    bad.push(format!("{at}: Allow to any principal"));
                }
            }
        }
    }
    bad
}

/// Functions get their permissions only from a role of this template, never
/// from SAM's `Policies` (policy templates such as DynamoDBReadPolicy grant
/// Scan, BatchGetItem and more) nor from managed policies on their role.
fn functions_use_own_roles(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for (name, f) in of_type(t, "AWS::Serverless::Function").chain(of_type(t, "AWS::Lambda::Function")) {
        let p = &f["Properties"];
        if p.get("Policies").is_some() {
            bad.push(format!("{name}: uses SAM `Policies`; give it explicit statements on its own role"));
        }
        match function_role(t, &name) {
            None => bad.push(format!("{name}: has no `Role: !GetAtt <role in this template>.Arn`")),
            Some(role) => {
                let rp = props(t, &role);
                if rp.get("ManagedPolicyArns").is_some() {
                    bad.push(format!("{role} (role of {name}): attaches managed policies"));
                }
                let trust = one_or_many(rp["AssumeRolePolicyDocument"].get("Statement"));
                let principals: Vec<String> = trust.iter().map(|s| expr(&s["Principal"]["Service"])).collect();
                if principals != ["lambda.amazonaws.com"] {
                    bad.push(format!("{role}: trusted by {principals:?}, expected only lambda.amazonaws.com"));
                }
            }
        }
    }
    // Roles and policies that are not a function's: only API Gateway's
    // account-wide logging role, with the one AWS policy made for it.
    for (name, _) in of_type(t, "AWS::IAM::Policy").chain(of_type(t, "AWS::IAM::ManagedPolicy")) {
        bad.push(format!("{name}: a separate IAM policy can widen a role out of sight of these rules"));
    }
    let function_roles: BTreeSet<String> =
        of_type(t, "AWS::Serverless::Function").filter_map(|(name, _)| function_role(t, &name)).collect();
    for (name, role) in of_type(t, "AWS::IAM::Role") {
        if function_roles.contains(&name) {
            continue;
        }
        let p = &role["Properties"];
        let managed: Vec<String> = one_or_many(p.get("ManagedPolicyArns")).into_iter().map(expr).collect();
        let trust: Vec<String> = one_or_many(p["AssumeRolePolicyDocument"].get("Statement"))
            .iter()
            .map(|s| expr(&s["Principal"]["Service"]))
            .collect();
        let pushes_logs = managed.len() == 1
            && managed[0].ends_with(":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs)")
            && p.get("Policies").is_none()
            && trust == ["apigateway.amazonaws.com"];
        if !pushes_logs {
            bad.push(format!("{name}: a role that is neither a function's nor API Gateway's logging role"));
        }
    }
    bad
}

fn exact_grants(t: &Value, function: &str, expected: &BTreeSet<(String, String)>) -> Vec<String> {
    let Some(role) = function_role(t, function) else {
        return vec![format!("{function}: no role of its own")];
    };
    let actual = role_grants(t, &role);
    let mut bad = Vec::new();
    for extra in actual.difference(expected) {
        bad.push(format!("{function} may {} on {}: not in its least-privilege set", extra.0, extra.1));
    }
    for missing in expected.difference(&actual) {
        bad.push(format!("{function} lacks {} on {}: it needs it to work", missing.0, missing.1));
    }
    bad
}

/// getNotes: GetItem and Query on the notes table, its own log streams; nothing else.
fn get_notes_reads_only_notes(t: &Value) -> Vec<String> {
    exact_grants(
        t,
        "GetNotesFunction",
        &grants(&[
            ("dynamodb:GetItem", "GetAtt(NotesTable.Arn)"),
            ("dynamodb:Query", "GetAtt(NotesTable.Arn)"),
            ("logs:CreateLogStream", "GetAtt(GetNotesLogGroup.Arn)"),
            ("logs:PutLogEvents", "GetAtt(GetNotesLogGroup.Arn)"),
        ]),
    )
}

/// The authorizer: GetObject on the registry bucket's module, config and
/// native code prefixes, GetItem (the active pointer) on the registry table, its own log
/// streams; nothing else.
fn authorizer_reads_only_the_registry(t: &Value) -> Vec<String> {
    exact_grants(
        t,
        "AuthorizerFunction",
        &grants(&[
            ("s3:GetObject", "Sub(${PolicyBucket.Arn}/modules/*)"),
            ("s3:GetObject", "Sub(${PolicyBucket.Arn}/configs/*)"),
            ("s3:GetObject", "Sub(${PolicyBucket.Arn}/code/*)"),
            ("dynamodb:GetItem", "GetAtt(PolicyRegistryTable.Arn)"),
            ("logs:CreateLogStream", "GetAtt(AuthorizerLogGroup.Arn)"),
            ("logs:PutLogEvents", "GetAtt(AuthorizerLogGroup.Arn)"),
        ]),
    )
}

/// The policy bucket: versioned, encrypted, every public-access block on,
/// ownership enforced, and a bucket policy that only denies, including every
/// request without TLS on the bucket and its objects.
fn policy_bucket_locked_down(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let p = props(t, "PolicyBucket");
    if p["VersioningConfiguration"]["Status"].as_str() != Some("Enabled") {
        bad.push("PolicyBucket: versioning is not enabled".to_owned());
    }
    let sse = one_or_many(p["BucketEncryption"].get("ServerSideEncryptionConfiguration"));
    let algorithms: Vec<&str> =
        sse.iter().filter_map(|r| r["ServerSideEncryptionByDefault"]["SSEAlgorithm"].as_str()).collect();
    if algorithms.is_empty() || !algorithms.iter().all(|a| ["AES256", "aws:kms", "aws:kms:dsse"].contains(a)) {
        bad.push(format!("PolicyBucket: default encryption is {algorithms:?}"));
    }
    for key in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        if !is_true(&p["PublicAccessBlockConfiguration"][key]) {
            bad.push(format!("PolicyBucket: PublicAccessBlockConfiguration.{key} is not true"));
        }
    }
    if p.get("AccessControl").is_some() || p.get("WebsiteConfiguration").is_some() {
        bad.push("PolicyBucket: ACLs or website hosting are set".to_owned());
    }

    let policies: Vec<(String, &Value)> = of_type(t, "AWS::S3::BucketPolicy")
        .filter(|(_, r)| expr(&r["Properties"]["Bucket"]) == "Ref(PolicyBucket)")
        .collect();
    let [(name, policy)] = policies.as_slice() else {
        bad.push(format!("PolicyBucket: expected one bucket policy, found {}", policies.len()));
        return bad;
    };
    let statements = one_or_many(policy["Properties"]["PolicyDocument"].get("Statement"));
    if statements.iter().any(|s| s["Effect"].as_str() != Some("Deny")) {
        bad.push(format!("{name}: has a statement that is not a Deny"));
    }
    let tls_only = statements.iter().any(|s| {
        let resources: BTreeSet<String> = one_or_many(s.get("Resource")).into_iter().map(expr).collect();
        s["Effect"].as_str() == Some("Deny")
            && expr(&s["Principal"]) == "*"
            && one_or_many(s.get("Action")).iter().any(|a| ["s3:*", "*"].contains(&expr(a).as_str()))
            && expr(&s["Condition"]["Bool"]["aws:SecureTransport"]) == "false"
            && resources.contains("GetAtt(PolicyBucket.Arn)")
            && resources.contains("Sub(${PolicyBucket.Arn}/*)")
    });
    if !tls_only {
        bad.push(format!(
            "{name}: no Deny of every s3 action without aws:SecureTransport on the bucket and its objects"
        ));
    }
    bad
}

/// Both tables: on-demand, point-in-time recovery, encryption at rest, and
/// the key schema the code reads.
fn tables_protected(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for (table, hash, range) in [("NotesTable", "userId", "noteId"), ("PolicyRegistryTable", "pk", "sk")] {
        let p = props(t, table);
        if p["BillingMode"].as_str() != Some("PAY_PER_REQUEST") {
            bad.push(format!("{table}: not on-demand (PAY_PER_REQUEST)"));
        }
        if !is_true(&p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]) {
            bad.push(format!("{table}: point-in-time recovery is off"));
        }
        if !is_true(&p["SSESpecification"]["SSEEnabled"]) {
            bad.push(format!("{table}: SSESpecification.SSEEnabled is not true"));
        }
        let keys: Vec<(String, String)> =
            one_or_many(p.get("KeySchema")).iter().map(|k| (expr(&k["AttributeName"]), expr(&k["KeyType"]))).collect();
        let want = vec![(hash.to_owned(), "HASH".to_owned()), (range.to_owned(), "RANGE".to_owned())];
        if keys != want {
            bad.push(format!("{table}: key schema {keys:?}, expected {want:?}"));
        }
    }
    bad
}

/// The API: the policy authorizer is the default for every route, a TOKEN
/// authorizer on the identity header, its cache TTL the AuthorizerTtlSeconds
/// parameter (default 300, 0..=3600); the stage writes an access log to a log
/// group with retention.
fn api_guarded_and_logged(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let params = &t["Parameters"];
    let ttl = &params["AuthorizerTtlSeconds"];
    if ttl["Default"].as_u64() != Some(300)
        || ttl["MinValue"].as_u64() != Some(0)
        || ttl["MaxValue"].as_u64() != Some(3600)
    {
        bad.push(format!("AuthorizerTtlSeconds: expected default 300 in 0..=3600, found {ttl:?}"));
    }
    if params["IdentityHeader"]["Default"].as_str() != Some("Authorization") {
        bad.push("IdentityHeader: default is not `Authorization`".to_owned());
    }

    let api = props(t, "NotesApi");
    let auth = &api["Auth"];
    let default = auth["DefaultAuthorizer"].as_str().unwrap_or_default();
    if default != "PolicyAuthorizer" {
        bad.push(format!("NotesApi: default authorizer is `{default}`"));
    }
    let authorizer = &auth["Authorizers"]["PolicyAuthorizer"];
    if expr(&authorizer["FunctionArn"]) != "GetAtt(AuthorizerFunction.Arn)" {
        bad.push("PolicyAuthorizer: does not run AuthorizerFunction".to_owned());
    }
    if authorizer.get("FunctionPayloadType").is_some_and(|v| v.as_str() != Some("TOKEN")) {
        bad.push("PolicyAuthorizer: not a TOKEN authorizer".to_owned());
    }
    if expr(&authorizer["Identity"]["Header"]) != "Ref(IdentityHeader)" {
        bad.push("PolicyAuthorizer: identity header is not the IdentityHeader parameter".to_owned());
    }
    if expr(&authorizer["Identity"]["ReauthorizeEvery"]) != "Ref(AuthorizerTtlSeconds)" {
        bad.push("PolicyAuthorizer: cache TTL is not the AuthorizerTtlSeconds parameter".to_owned());
    }
    if auth.get("AddDefaultAuthorizerToCorsPreflight").is_some_and(|v| !is_true(v))
        || auth.get("ApiKeyRequired").is_some()
    {
        bad.push("NotesApi: Auth has options that change who is checked".to_owned());
    }
    // No route opts out of the authorizer.
    for (name, f) in of_type(t, "AWS::Serverless::Function") {
        for (event, e) in f["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if let Some(a) = e["Properties"].get("Auth").and_then(|a| a.get("Authorizer"))
                && expr(a) != "PolicyAuthorizer"
            {
                bad.push(format!("{name}.{}: route uses authorizer `{}`", expr(event), expr(a)));
            }
        }
    }

    let log = &api["AccessLogSetting"];
    let destination = expr(&log["DestinationArn"]);
    let group = of_type(t, "AWS::Logs::LogGroup").map(|(n, _)| n).find(|n| {
        destination.contains(&format!("${{{n}}}"))
            || destination.contains(&format!("${{{n}.Arn}}"))
            || destination == format!("GetAtt({n}.Arn)")
    });
    match group {
        None => {
            bad.push(format!("NotesApi: access log destination `{destination}` is not a log group of this template"))
        }
        Some(group) => {
            if !log["Format"]
                .as_str()
                .is_some_and(|f| f.contains("$context.requestId") && f.contains("$context.authorizer"))
            {
                bad.push("NotesApi: access log format lacks the request id or the authorizer's fields".to_owned());
            }
            if props(t, &group).get("RetentionInDays").is_none() {
                bad.push(format!("{group}: access log kept forever"));
            }
        }
    }
    bad
}

/// Every HTTP API is guarded like the REST API: the policy authorizer by
/// default, payload 2.0, the same identity header and TTL parameters (and
/// the route, when answers are simple), an answer format the authorizer function is configured to give
/// (`EnableSimpleResponses` if and only if `AUTHZ_RESPONSE_FORMAT` is
/// `simple`: a mismatch is a 500 on every request), and an access log.
fn http_apis_guarded_and_logged(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let format = expr(&props(t, "AuthorizerFunction")["Environment"]["Variables"]["AUTHZ_RESPONSE_FORMAT"]);
    for (name, api) in of_type(t, "AWS::Serverless::HttpApi") {
        let auth = &api["Properties"]["Auth"];
        let default = expr(&auth["DefaultAuthorizer"]);
        let authorizer = &auth["Authorizers"][default.as_str()];
        if default != "PolicyAuthorizer" || expr(&authorizer["FunctionArn"]) != "GetAtt(AuthorizerFunction.Arn)" {
            bad.push(format!("{name}: the default authorizer is not PolicyAuthorizer running AuthorizerFunction"));
        }
        if expr(&authorizer["AuthorizerPayloadFormatVersion"]) != "2.0" {
            bad.push(format!("{name}: authorizer payload is not 2.0"));
        }
        let identity = &authorizer["Identity"];
        // SAM takes only literals here; a rule of the template ties IdentityHeader to it.
        let headers: Vec<String> = one_or_many(identity.get("Headers")).into_iter().map(expr).collect();
        let tie = format!("Equals(Ref(IdentityHeader), {})", headers.join(", "));
        let tied = t["Rules"]
            .as_mapping()
            .into_iter()
            .flatten()
            .flat_map(|(_, rule)| rule["Assertions"].as_sequence().into_iter().flatten())
            .any(|a| expr(&a["Assert"]) == tie);
        if headers.len() != 1 || !tied || identity.get("QueryStrings").is_some() {
            bad.push(format!("{name}: identity is not one header that a template rule ties to IdentityHeader"));
        }
        let context: Vec<String> = one_or_many(identity.get("Context")).into_iter().map(expr).collect();
        let simple = authorizer.get("EnableSimpleResponses").is_some_and(is_true);
        if simple && context != ["routeKey"] {
            bad.push(format!("{name}: simple answers are cached for every route unless routeKey is in the identity"));
        }
        if expr(&identity["ReauthorizeEvery"]) != "Ref(AuthorizerTtlSeconds)" {
            bad.push(format!("{name}: cache TTL is not the AuthorizerTtlSeconds parameter"));
        }
        if simple != (format == "simple") {
            bad.push(format!("{name}: EnableSimpleResponses is {simple} but AUTHZ_RESPONSE_FORMAT is `{format}`"));
        }
        let log = &api["Properties"]["AccessLogSettings"];
        if !expr(&log["DestinationArn"]).contains("${ApiAccessLogGroup}")
            || !log["Format"]
                .as_str()
                .is_some_and(|f| f.contains("$context.requestId") && f.contains("$context.authorizer"))
        {
            bad.push(format!(
                "{name}: no access log with the request id and the authorizer's fields in ApiAccessLogGroup"
            ));
        }
    }
    bad
}

/// Every log group has a retention, and each function's default log group
/// (`/aws/lambda/<function name>`) is one of them, so nothing logs into a
/// group created on the fly without retention.
fn logs_expire(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let groups: Vec<(String, String)> =
        of_type(t, "AWS::Logs::LogGroup").map(|(n, g)| (n, expr(&g["Properties"]["LogGroupName"]))).collect();
    for (name, g) in of_type(t, "AWS::Logs::LogGroup") {
        if g["Properties"].get("RetentionInDays").is_none() {
            bad.push(format!("{name}: no RetentionInDays"));
        }
    }
    for (name, f) in of_type(t, "AWS::Serverless::Function") {
        let function_name = expr(&f["Properties"]["FunctionName"]);
        let Some(fname) = function_name.strip_prefix("Sub(").and_then(|s| s.strip_suffix(')')) else {
            bad.push(format!("{name}: FunctionName is not a `!Sub` its log group can repeat"));
            continue;
        };
        let want = format!("Sub(/aws/lambda/{fname})");
        if !groups.iter().any(|(_, g)| *g == want) {
            bad.push(format!("{name}: no log group named {want}"));
        }
    }
    bad
}

/// Both functions: arm64 on provided.al2023, built by cargo lambda from the
/// named binary.
fn functions_built_for_arm64(t: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    for (function, binary) in [("AuthorizerFunction", "authorizer"), ("GetNotesFunction", "get-notes")] {
        let r = resource(t, function);
        let p = &r["Properties"];
        if expr(&p["Runtime"]) != "provided.al2023" || expr(&p["Handler"]) != "bootstrap" {
            bad.push(format!("{function}: not provided.al2023 with handler bootstrap"));
        }
        if one_or_many(p.get("Architectures")).iter().map(|a| expr(a)).collect::<Vec<_>>() != ["arm64"] {
            bad.push(format!("{function}: not arm64"));
        }
        if r["Metadata"]["BuildMethod"].as_str() != Some("rust-cargolambda")
            || r["Metadata"]["BuildProperties"]["Binary"].as_str() != Some(binary)
        {
            bad.push(format!("{function}: not built by rust-cargolambda from binary `{binary}`"));
        }
    }
    bad
}

fn all_rules(t: &Value) -> Vec<String> {
    [
        no_wildcard_allows,
        functions_use_own_roles,
        get_notes_reads_only_notes,
        authorizer_reads_only_the_registry,
        policy_bucket_locked_down,
        tables_protected,
        api_guarded_and_logged,
        http_apis_guarded_and_logged,
        logs_expire,
        functions_built_for_arm64,
    ]
    .iter()
    .flat_map(|rule| rule(t))
    .collect()
}

// ------------------------------------------------------------------ tests

#[test]
fn the_template_keeps_every_rule() {
    let violations = all_rules(&template());
    assert!(violations.is_empty(), "template.yaml breaks its security rules:\n  {}", violations.join("\n  "));
}

#[test]
fn the_template_uses_the_agreed_names() {
    // `authz dev` and docs/deploy.md rely on these.
    let t = template();
    for p in [
        "StageName",
        "IdentityHeader",
        "AuthorizerTtlSeconds",
        "PolicyName",
        "TrustedKeys",
        "CodeSigningKeys",
        "PolicyCheckIntervalSeconds",
    ] {
        assert!(t["Parameters"].get(p).is_some(), "parameter {p}");
    }
    for o in ["ApiUrl", "NotesTableName", "PolicyBucketName", "PolicyRegistryTableName", "AuthzEnv"] {
        assert!(t["Outputs"].get(o).is_some(), "output {o}");
    }
    let env = expr(&t["Outputs"]["AuthzEnv"]["Value"]);
    for var in [
        "AUTHZ_REGISTRY_BUCKET=${PolicyBucket}",
        "AUTHZ_REGISTRY_TABLE=${PolicyRegistryTable}",
        "NOTES_TABLE=${NotesTable}",
    ] {
        assert!(env.contains(var), "AuthzEnv sets {var}: {env}");
    }
    let vars = &props(&t, "AuthorizerFunction")["Environment"]["Variables"];
    for (var, value) in [
        ("AUTHZ_POLICY_NAME", "Ref(PolicyName)"),
        ("AUTHZ_REGISTRY_BUCKET", "Ref(PolicyBucket)"),
        ("AUTHZ_REGISTRY_TABLE", "Ref(PolicyRegistryTable)"),
        ("AUTHZ_TRUSTED_KEYS", "Ref(TrustedKeys)"),
        ("AUTHZ_CODE_SIGNING_KEYS", "Ref(CodeSigningKeys)"),
        ("AUTHZ_CHECK_INTERVAL_SECS", "Ref(PolicyCheckIntervalSeconds)"),
    ] {
        assert_eq!(expr(&vars[var]), value, "AuthorizerFunction {var}");
    }
    assert_eq!(expr(&props(&t, "GetNotesFunction")["Environment"]["Variables"]["NOTES_TABLE"]), "Ref(NotesTable)");
    let event = &props(&t, "GetNotesFunction")["Events"]["GetNotes"];
    assert_eq!(expr(&event["Type"]), "Api");
    assert_eq!(expr(&event["Properties"]["RestApiId"]), "Ref(NotesApi)");
    assert_eq!(expr(&event["Properties"]["Path"]), "/notes");
    assert_eq!(expr(&event["Properties"]["Method"]).to_lowercase(), "get");
    let http = &props(&t, "GetNotesFunction")["Events"]["GetNotesHttp"];
    assert_eq!(expr(&http["Type"]), "HttpApi");
    assert_eq!(expr(&http["Properties"]["ApiId"]), "Ref(NotesHttpApi)");
    assert_eq!(expr(&http["Properties"]["Path"]), "/notes");
}

#[test]
fn a_response_format_mismatch_is_caught() {
    let mut t = template();
    t["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]["AUTHZ_RESPONSE_FORMAT"] =
        Value::from("iam");
    assert_caught(&t, "EnableSimpleResponses is true but AUTHZ_RESPONSE_FORMAT is `iam`");
}

// The rules notice what they are for: each test widens the template the way
// a careless edit would and expects the matching complaint.

fn role_statements<'a>(t: &'a mut Value, role: &str, policy: usize) -> &'a mut Vec<Value> {
    t["Resources"][role]["Properties"]["Policies"][policy]["PolicyDocument"]["Statement"]
        .as_sequence_mut()
        .expect("a list of statements")
}

fn statement(yaml: &str) -> Value {
    serde_norway::from_str(yaml).unwrap()
}

fn assert_caught(t: &Value, needle: &str) {
    let violations = all_rules(t);
    assert!(
        violations.iter().any(|v| v.contains(needle)),
        "expected a violation mentioning `{needle}`, got {violations:#?}"
    );
}

#[test]
fn an_extra_action_on_the_notes_table_is_caught() {
    let mut t = template();
    role_statements(&mut t, "GetNotesRole", 0)
        .push(statement("{Effect: Allow, Action: dynamodb:Scan, Resource: !GetAtt NotesTable.Arn}"));
    assert_caught(&t, "GetNotesFunction may dynamodb:scan");
}

#[test]
fn wildcards_are_caught() {
    let mut t = template();
    role_statements(&mut t, "AuthorizerRole", 0).push(statement("{Effect: Allow, Action: 's3:Get*', Resource: '*'}"));
    assert_caught(&t, "wildcard action `s3:Get*`");
    assert_caught(&t, "Allow on `*`, not on a resource of this template");
}

#[test]
fn the_authorizer_reaching_the_whole_bucket_or_writing_is_caught() {
    let mut t = template();
    role_statements(&mut t, "AuthorizerRole", 0)
        .push(statement("{Effect: Allow, Action: s3:GetObject, Resource: !Sub '${PolicyBucket.Arn}/*'}"));
    role_statements(&mut t, "AuthorizerRole", 0)
        .push(statement("{Effect: Allow, Action: [dynamodb:PutItem], Resource: !GetAtt PolicyRegistryTable.Arn}"));
    assert_caught(&t, "AuthorizerFunction may s3:getobject on Sub(${PolicyBucket.Arn}/*)");
    assert_caught(&t, "AuthorizerFunction may dynamodb:putitem");
}

#[test]
fn sam_policy_templates_and_managed_policies_are_caught() {
    let mut t = template();
    t["Resources"]["GetNotesFunction"]["Properties"]["Policies"] =
        statement("[{DynamoDBReadPolicy: {TableName: !Ref NotesTable}}]");
    t["Resources"]["AuthorizerRole"]["Properties"]["ManagedPolicyArns"] =
        statement("[arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]");
    assert_caught(&t, "GetNotesFunction: uses SAM `Policies`");
    assert_caught(&t, "AuthorizerRole (role of AuthorizerFunction): attaches managed policies");
}

#[test]
fn an_open_bucket_is_caught() {
    let mut t = template();
    t["Resources"]["PolicyBucket"]["Properties"]["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] =
        Value::Bool(false);
    t["Resources"]["PolicyBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence_mut()
        .unwrap()
        .clear();
    assert_caught(&t, "RestrictPublicBuckets is not true");
    assert_caught(&t, "no Deny of every s3 action without aws:SecureTransport");
}

#[test]
fn unprotected_tables_and_an_unguarded_api_are_caught() {
    let mut t = template();
    t["Resources"]["NotesTable"]["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] =
        Value::Bool(false);
    t["Resources"]["PolicyRegistryTable"]["Properties"].as_mapping_mut().unwrap().remove("SSESpecification");
    t["Parameters"]["AuthorizerTtlSeconds"]["Default"] = Value::from(3600);
    t["Resources"]["GetNotesFunction"]["Properties"]["Events"]["GetNotes"]["Properties"]["Auth"] =
        statement("{Authorizer: NONE}");
    t["Resources"]["NotesApi"]["Properties"].as_mapping_mut().unwrap().remove("AccessLogSetting");
    assert_caught(&t, "NotesTable: point-in-time recovery is off");
    assert_caught(&t, "PolicyRegistryTable: SSESpecification.SSEEnabled is not true");
    assert_caught(&t, "AuthorizerTtlSeconds: expected default 300");
    assert_caught(&t, "route uses authorizer `NONE`");
    assert_caught(&t, "access log destination");
}

#[test]
fn intrinsics_read_the_same_in_both_spellings() {
    let short: Value = serde_norway::from_str("[!Ref A, !GetAtt B.Arn, !Sub '${C.Arn}/x/*']").unwrap();
    let long: Value =
        serde_norway::from_str("[{Ref: A}, {'Fn::GetAtt': [B, Arn]}, {'Fn::Sub': ['${C.Arn}/x/*', {}]}]").unwrap();
    let render = |v: &Value| v.as_sequence().unwrap().iter().map(expr).collect::<Vec<_>>();
    assert_eq!(render(&short), ["Ref(A)", "GetAtt(B.Arn)", "Sub(${C.Arn}/x/*)"]);
    assert_eq!(render(&short), render(&long));
}
