//! Reads the routes and the authorizer settings out of `template.yaml`, so
//! the local gateway serves what `sam deploy` would deploy.
//!
//! Only what the gateway needs is read: each API's default authorizer
//! (function, identity sources, validation expression, result TTL and, for an
//! HTTP API, its payload format and whether it answers with simple
//! responses), the `Api` and `HttpApi` events of functions (path, method,
//! per-route `Auth: {Authorizer: NONE}`), and each function's cargo-lambda
//! binary. `!Ref` resolves to parameter overrides or defaults, `!GetAtt X.Arn`
//! to the resource `X`. A setting the gateway cannot honour exactly is an
//! error naming it, never silently ignored.

use regex::Regex;
use serde_norway::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Why the template cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// Not YAML.
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    /// Something the gateway needs is missing or has an unexpected shape.
    #[error("template.yaml: {0}")]
    Shape(String),
}

fn shape(message: impl Into<String>) -> TemplateError {
    TemplateError::Shape(message.into())
}

/// Which kind of API Gateway API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiKind {
    /// `AWS::Serverless::Api`: a REST API with a TOKEN authorizer.
    Rest,
    /// `AWS::Serverless::HttpApi`: an HTTP API with a Lambda REQUEST authorizer.
    Http,
}

/// A route of an API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// `GET`, `POST`..., or `ANY`.
    pub method: String,
    /// Resource path as declared, e.g. `/notes` or `/notes/{noteId}`; `$default`
    /// (HTTP APIs) catches what no other route matches.
    pub path: String,
    /// Logical id of the function behind it.
    pub function: String,
    /// Whether the default authorizer guards it.
    pub authorized: bool,
}

impl Route {
    /// Path parameters if `path` (without the stage) matches this route.
    pub fn matches(&self, method: &str, path: &str) -> Option<BTreeMap<String, String>> {
        if self.path == "$default" {
            return Some(BTreeMap::new());
        }
        if self.method != "ANY" && !self.method.eq_ignore_ascii_case(method) {
            return None;
        }
        let mut params = BTreeMap::new();
        let ours: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let theirs: Vec<&str> = path.trim_matches('/').split('/').collect();
        if let Some(last) = ours.last().and_then(|s| s.strip_prefix('{')).and_then(|s| s.strip_suffix("+}")) {
            // Greedy `{proxy+}`: the rest of the path.
            let fixed = ours.len() - 1;
            if theirs.len() < ours.len() || !segments_match(ours.get(..fixed)?, theirs.get(..fixed)?, &mut params) {
                return None;
            }
            params.insert(last.to_owned(), theirs.get(fixed..)?.join("/"));
            return Some(params);
        }
        (ours.len() == theirs.len() && segments_match(&ours, &theirs, &mut params)).then_some(params)
    }
}

fn segments_match(ours: &[&str], theirs: &[&str], params: &mut BTreeMap<String, String>) -> bool {
    ours.iter().zip(theirs).all(|(o, t)| match o.strip_prefix('{').and_then(|o| o.strip_suffix('}')) {
        Some(name) if !t.is_empty() => {
            params.insert(name.to_owned(), (*t).to_owned());
            true
        }
        Some(_) => false,
        None => o == t,
    })
}

/// What the authorizer is sent and may answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorizerPayload {
    /// REST TOKEN: the token and the method ARN; an IAM policy back.
    Token,
    /// HTTP API payload format 1.0: a REST-like REQUEST event; an IAM policy back.
    HttpV1,
    /// HTTP API payload format 2.0; an IAM policy back, or with
    /// `EnableSimpleResponses` `{"isAuthorized": bool, "context": {...}}`.
    HttpV2 {
        /// `EnableSimpleResponses`.
        simple: bool,
    },
}

/// Where an identity value is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentitySource {
    /// A request header (any case).
    Header(String),
    /// A query string parameter.
    Query(String),
    /// `$context.routeKey`: with it in the identity, answers are cached per
    /// route (the only context variable served locally).
    RouteKey,
}

/// An API's default Lambda authorizer.
#[derive(Clone, Debug)]
pub struct AuthorizerSpec {
    /// Name in `Auth.Authorizers`.
    pub name: String,
    /// Logical id of its function.
    pub function: String,
    /// What it is sent and may answer.
    pub payload: AuthorizerPayload,
    /// The identity values: each must be present and non-empty, else 401
    /// without invoking; together they are the cache key. A TOKEN authorizer has one header.
    pub identity: Vec<IdentitySource>,
    /// The token must match it entirely, else 401 without invoking (TOKEN only).
    pub validation: Option<Regex>,
    /// How long a result is cached per identity (zero: not cached).
    pub ttl: Duration,
}

/// A function the template declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionSpec {
    /// cargo-lambda binary (`Metadata.BuildProperties.Binary`).
    pub binary: Option<String>,
    /// Its environment variables as literal values (unresolvable ones left out).
    pub environment: BTreeMap<String, String>,
}

/// One API the gateway serves.
#[derive(Clone, Debug)]
pub struct ApiSpec {
    /// The API's logical id.
    pub api: String,
    /// REST or HTTP API.
    pub kind: ApiKind,
    /// Its stage name (`$default` for an HTTP API without one).
    pub stage: String,
    /// Its routes.
    pub routes: Vec<Route>,
    /// Its default authorizer.
    pub authorizer: Option<AuthorizerSpec>,
    /// Every function, by logical id.
    pub functions: BTreeMap<String, FunctionSpec>,
    /// Parameter values after overrides.
    pub parameters: BTreeMap<String, String>,
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

struct Resolver<'a> {
    parameters: &'a BTreeMap<String, String>,
}

impl Resolver<'_> {
    /// A literal, `!Ref Parameter`, `{Ref: Parameter}`; `None` when it depends on deployment.
    fn value(&self, v: &Value) -> Option<String> {
        match v {
            Value::Tagged(t) if t.tag == "Ref" => scalar(&t.value).and_then(|name| self.parameters.get(&name).cloned()),
            Value::Mapping(m) if m.len() == 1 => {
                m.get("Ref").and_then(scalar).and_then(|n| self.parameters.get(&n).cloned())
            }
            other => scalar(other),
        }
    }

    /// The resource named by `!Ref X`, `!GetAtt X.Arn`, `{Fn::GetAtt: [X, Arn]}` or a plain name.
    fn resource(&self, v: &Value) -> Option<String> {
        match v {
            Value::Tagged(t) if t.tag == "GetAtt" || t.tag == "Ref" => {
                scalar(&t.value).map(|s| s.split('.').next().unwrap_or_default().to_owned())
            }
            Value::Mapping(m) => m
                .get("Fn::GetAtt")
                .and_then(|g| g.as_sequence().and_then(|s| s.first()).and_then(scalar).or_else(|| scalar(g)))
                .or_else(|| m.get("Ref").and_then(scalar))
                .map(|s| s.split('.').next().unwrap_or_default().to_owned()),
            other => scalar(other),
        }
    }
}

impl ApiSpec {
    /// Every API `template` declares (at most one REST and one HTTP API, the
    /// REST one first), with parameter `overrides` (as `sam deploy --parameter-overrides`).
    pub fn from_template(template: &str, overrides: &BTreeMap<String, String>) -> Result<Vec<ApiSpec>, TemplateError> {
        let doc: Value = serde_norway::from_str(template)?;
        let mut parameters = BTreeMap::new();
        if let Some(params) = doc.get("Parameters").and_then(Value::as_mapping) {
            for (name, p) in params {
                if let (Some(name), Some(default)) = (scalar(name), p.get("Default").and_then(scalar)) {
                    parameters.insert(name, default);
                }
            }
        }
        for (name, value) in overrides {
            parameters.insert(name.clone(), value.clone());
        }
        let r = Resolver { parameters: &parameters };
        let resources = doc.get("Resources").and_then(Value::as_mapping).ok_or_else(|| shape("no Resources"))?;
        let of_type = |kind: &'static str| {
            resources
                .iter()
                .filter(move |(_, res)| res.get("Type").and_then(Value::as_str) == Some(kind))
                .filter_map(|(id, res)| Some((scalar(id)?, res)))
        };

        let mut functions = BTreeMap::new();
        for (id, res) in of_type("AWS::Serverless::Function") {
            let binary = res
                .get("Metadata")
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|b| b.get("Binary"))
                .and_then(scalar);
            let mut environment = BTreeMap::new();
            let vars = res.get("Properties").and_then(|p| p.get("Environment")).and_then(|e| e.get("Variables"));
            for (k, v) in vars.and_then(Value::as_mapping).into_iter().flatten() {
                if let (Some(k), Some(v)) = (scalar(k), r.value(v)) {
                    environment.insert(k, v);
                }
            }
            functions.insert(id, FunctionSpec { binary, environment });
        }

        let mut apis = Vec::new();
        for kind in [ApiKind::Rest, ApiKind::Http] {
            let (resource_type, event_type, api_field) = match kind {
                ApiKind::Rest => ("AWS::Serverless::Api", "Api", "RestApiId"),
                ApiKind::Http => ("AWS::Serverless::HttpApi", "HttpApi", "ApiId"),
            };
            let mut declared = of_type(resource_type);
            let Some((api, api_res)) = declared.next() else {
                continue;
            };
            if declared.next().is_some() {
                return Err(shape(format!("more than one {resource_type}: the local gateway serves one of each kind")));
            }
            let props = api_res.get("Properties");
            let stage = match (props.and_then(|p| p.get("StageName")).and_then(|s| r.value(s)), kind) {
                (Some(stage), _) => stage,
                (None, ApiKind::Http) => "$default".to_owned(),
                (None, ApiKind::Rest) => {
                    return Err(shape(format!("{api}.StageName is missing or unresolvable")));
                }
            };
            let authorizer = match props.and_then(|p| p.get("Auth")) {
                Some(auth) => authorizer(&r, &api, kind, auth)?,
                None => None,
            };
            let mut routes = Vec::new();
            for (id, res) in of_type("AWS::Serverless::Function") {
                let events = res.get("Properties").and_then(|p| p.get("Events")).and_then(Value::as_mapping);
                for (name, event) in events.into_iter().flatten() {
                    if event.get("Type").and_then(Value::as_str) != Some(event_type) {
                        continue;
                    }
                    let name = format!("{id}.Events.{}", scalar(name).unwrap_or_default());
                    let ep = event.get("Properties");
                    if let Some(api_ref) = ep.and_then(|p| p.get(api_field))
                        && r.resource(api_ref).as_deref() != Some(api.as_str())
                    {
                        continue;
                    }
                    let field = |f: &str| ep.and_then(|p| p.get(f)).and_then(|v| r.value(v));
                    let (method, path) = match kind {
                        ApiKind::Rest => (
                            field("Method").ok_or_else(|| shape(format!("{name}: no Method")))?,
                            field("Path").ok_or_else(|| shape(format!("{name}: no Path")))?,
                        ),
                        // Without Path and Method, SAM makes the `$default` route.
                        ApiKind::Http => (
                            field("Method").unwrap_or_else(|| "ANY".to_owned()),
                            field("Path").unwrap_or_else(|| "$default".to_owned()),
                        ),
                    };
                    if kind == ApiKind::Http && field("PayloadFormatVersion").is_some_and(|v| v != "2.0") {
                        return Err(shape(format!(
                            "{name}: only PayloadFormatVersion 2.0 integrations are served locally"
                        )));
                    }
                    let authorized = ep
                        .and_then(|p| p.get("Auth"))
                        .and_then(|a| a.get("Authorizer"))
                        .and_then(|a| r.value(a))
                        .is_none_or(|a| a != "NONE")
                        && authorizer.is_some();
                    let method = if method == "*" { "ANY".to_owned() } else { method.to_ascii_uppercase() };
                    routes.push(Route { method, path, function: id.clone(), authorized });
                }
            }
            if routes.is_empty() {
                return Err(shape(format!("no function has an {event_type} event on {api}")));
            }
            if let Some(a) = &authorizer
                && !functions.contains_key(&a.function)
            {
                return Err(shape(format!(
                    "authorizer {} names function {} which the template does not declare",
                    a.name, a.function
                )));
            }
            apis.push(ApiSpec {
                api,
                kind,
                stage,
                routes,
                authorizer,
                functions: functions.clone(),
                parameters: parameters.clone(),
            });
        }
        if apis.is_empty() {
            return Err(shape("no AWS::Serverless::Api or AWS::Serverless::HttpApi resource"));
        }
        Ok(apis)
    }

    /// The route for a request path (stage prefix optional) and method, with its path parameters.
    pub fn route(&self, method: &str, path: &str) -> Option<(&Route, BTreeMap<String, String>)> {
        let stage_prefix = format!("/{}/", self.stage);
        let path =
            if path.starts_with(&stage_prefix) { path.get(stage_prefix.len() - 1..).unwrap_or(path) } else { path };
        // Exact methods win over ANY, as in API Gateway; `$default` comes last.
        let exact = self.routes.iter().filter(|r| r.method != "ANY" && r.path != "$default");
        let any = self.routes.iter().filter(|r| r.method == "ANY" && r.path != "$default");
        let default = self.routes.iter().filter(|r| r.path == "$default");
        exact.chain(any).chain(default).find_map(|r| r.matches(method, path).map(|p| (r, p)))
    }

    /// The header the authorizer's token is read from, for printing examples:
    /// the first header identity source, or `Authorization`.
    pub fn identity_header(&self) -> &str {
        self.authorizer
            .iter()
            .flat_map(|a| &a.identity)
            .find_map(|s| match s {
                IdentitySource::Header(h) => Some(h.as_str()),
                IdentitySource::Query(_) | IdentitySource::RouteKey => None,
            })
            .unwrap_or("Authorization")
    }
}

fn authorizer(
    r: &Resolver<'_>,
    api: &str,
    kind: ApiKind,
    auth: &Value,
) -> Result<Option<AuthorizerSpec>, TemplateError> {
    let Some(name) = auth.get("DefaultAuthorizer").and_then(|d| r.value(d)) else {
        return Ok(None);
    };
    if name == "AWS_IAM" {
        return Err(shape("DefaultAuthorizer AWS_IAM is not served locally"));
    }
    let spec = auth
        .get("Authorizers")
        .and_then(|a| a.get(name.as_str()))
        .ok_or_else(|| shape(format!("{api}: DefaultAuthorizer {name} is not in Auth.Authorizers")))?;
    let function = spec.get("FunctionArn").and_then(|f| r.resource(f)).ok_or_else(|| {
        shape(format!("authorizer {name} has no FunctionArn (only Lambda authorizers are served locally)"))
    })?;
    let identity = spec.get("Identity");
    let get = |field: &str| identity.and_then(|i| i.get(field));
    let list = |field: &str| -> Vec<String> {
        get(field).and_then(Value::as_sequence).into_iter().flatten().filter_map(|v| r.value(v)).collect()
    };
    let (payload, sources, validation, ttl) = match kind {
        ApiKind::Rest => {
            if spec.get("FunctionPayloadType").and_then(|v| r.value(v)).is_some_and(|t| t != "TOKEN") {
                return Err(shape(format!(
                    "authorizer {name}: only TOKEN authorizers are served locally on a REST API"
                )));
            }
            let header = get("Header").and_then(|h| r.value(h)).unwrap_or_else(|| "Authorization".to_owned());
            let validation = match get("ValidationExpression").and_then(|v| r.value(v)) {
                Some(expr) if !expr.is_empty() => Some(
                    Regex::new(&format!("^(?:{expr})$"))
                        .map_err(|e| shape(format!("authorizer {name}: ValidationExpression: {e}")))?,
                ),
                _ => None,
            };
            // SAM's documented default for REST authorizers.
            let ttl = get("ReauthorizeEvery").and_then(|t| r.value(t)).unwrap_or_else(|| "300".to_owned());
            (AuthorizerPayload::Token, vec![IdentitySource::Header(header)], validation, ttl)
        }
        ApiKind::Http => {
            let simple = spec.get("EnableSimpleResponses").and_then(|v| r.value(v)).is_some_and(|v| v == "true");
            let payload = match spec.get("AuthorizerPayloadFormatVersion").and_then(|v| r.value(v)).as_deref() {
                Some("2.0") => AuthorizerPayload::HttpV2 { simple },
                Some("1.0") if !simple => AuthorizerPayload::HttpV1,
                Some("1.0") => {
                    return Err(shape(format!(
                        "authorizer {name}: EnableSimpleResponses needs AuthorizerPayloadFormatVersion 2.0"
                    )));
                }
                _ => {
                    return Err(shape(format!("authorizer {name}: AuthorizerPayloadFormatVersion must be 1.0 or 2.0")));
                }
            };
            if get("StageVariables").is_some() {
                return Err(shape(format!("authorizer {name}: Identity.StageVariables is not served locally")));
            }
            let mut sources: Vec<IdentitySource> = list("Headers").into_iter().map(IdentitySource::Header).collect();
            sources.extend(list("QueryStrings").into_iter().map(IdentitySource::Query));
            for variable in list("Context") {
                if variable != "routeKey" {
                    return Err(shape(format!(
                        "authorizer {name}: Identity.Context `{variable}` is not served locally (only routeKey)"
                    )));
                }
                sources.push(IdentitySource::RouteKey);
            }
            // SAM documents no default for HTTP APIs: guessing would let local and deployed differ.
            let ttl = get("ReauthorizeEvery").and_then(|t| r.value(t)).ok_or_else(|| {
                shape(format!("authorizer {name}: set Identity.ReauthorizeEvery (0 disables caching)"))
            })?;
            (payload, sources, None, ttl)
        }
    };
    let ttl = ttl
        .parse::<u64>()
        .map_err(|_| shape(format!("authorizer {name}: ReauthorizeEvery `{ttl}` is not a number")))?;
    if ttl > 3600 {
        return Err(shape(format!("authorizer {name}: ReauthorizeEvery {ttl} is above API Gateway's 3600")));
    }
    if ttl > 0 && sources.is_empty() {
        return Err(shape(format!("authorizer {name}: caching needs at least one identity source")));
    }
    Ok(Some(AuthorizerSpec { name, function, payload, identity: sources, validation, ttl: Duration::from_secs(ttl) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The template's REST API.
    fn rest(template: &str, overrides: &BTreeMap<String, String>) -> Result<ApiSpec, TemplateError> {
        Ok(ApiSpec::from_template(template, overrides)?
            .into_iter()
            .find(|a| a.kind == ApiKind::Rest)
            .expect("a REST API"))
    }

    const TEMPLATE: &str = r#"
Parameters:
  StageName: { Type: String, Default: prod }
  IdentityHeader: { Type: String, Default: Authorization }
  AuthorizerTtlSeconds: { Type: Number, Default: 300 }
Resources:
  NotesApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref StageName
      Auth:
        DefaultAuthorizer: PolicyAuthorizer
        Authorizers:
          PolicyAuthorizer:
            FunctionArn: !GetAtt AuthorizerFunction.Arn
            Identity:
              Header: !Ref IdentityHeader
              ReauthorizeEvery: !Ref AuthorizerTtlSeconds
              ValidationExpression: "[A-Za-z0-9._~+/=-]+"
  AuthorizerFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildMethod: rust-cargolambda, BuildProperties: { Binary: authorizer } }
    Properties:
      Environment: { Variables: { AUTHZ_IDENTITY_HEADER: !Ref IdentityHeader, AUTHZ_REGISTRY_BUCKET: !Ref PolicyBucket } }
  GetNotesFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildMethod: rust-cargolambda, BuildProperties: { Binary: get-notes } }
    Properties:
      Events:
        GetNotes: { Type: Api, Properties: { RestApiId: !Ref NotesApi, Path: /notes, Method: get } }
        Health: { Type: Api, Properties: { RestApiId: !Ref NotesApi, Path: /health, Method: any, Auth: { Authorizer: NONE } } }
        One: { Type: Api, Properties: { RestApiId: !Ref NotesApi, Path: "/notes/{noteId}", Method: get } }
        Files: { Type: Api, Properties: { RestApiId: !Ref NotesApi, Path: "/files/{proxy+}", Method: get } }
  PolicyBucket: { Type: AWS::S3::Bucket }
"#;

    #[test]
    fn reads_routes_and_the_authorizer_with_overrides() {
        let overrides = BTreeMap::from([("AuthorizerTtlSeconds".to_owned(), "5".to_owned())]);
        let spec = rest(TEMPLATE, &overrides).unwrap();
        assert_eq!((spec.api.as_str(), spec.stage.as_str()), ("NotesApi", "prod"));
        let a = spec.authorizer.as_ref().unwrap();
        assert_eq!(
            (a.function.as_str(), a.ttl, a.payload),
            ("AuthorizerFunction", Duration::from_secs(5), AuthorizerPayload::Token)
        );
        assert_eq!(a.identity, [IdentitySource::Header("Authorization".to_owned())]);
        let v = a.validation.as_ref().unwrap();
        assert!(v.is_match("abc123") && !v.is_match("abc 123") && !v.is_match(""));
        assert_eq!(spec.functions["GetNotesFunction"].binary.as_deref(), Some("get-notes"));
        let env = &spec.functions["AuthorizerFunction"].environment;
        assert_eq!(env.get("AUTHZ_IDENTITY_HEADER").map(String::as_str), Some("Authorization"));
        assert!(!env.contains_key("AUTHZ_REGISTRY_BUCKET"), "a resource reference has no local value");

        let (route, params) = spec.route("GET", "/notes").unwrap();
        assert!(route.authorized && params.is_empty());
        assert_eq!(spec.route("GET", "/prod/notes").unwrap().0.path, "/notes", "the stage prefix is optional");
        assert!(spec.route("POST", "/notes").is_none());
        assert!(!spec.route("DELETE", "/health").unwrap().0.authorized, "Auth: NONE");
        assert_eq!(spec.route("GET", "/notes/n1").unwrap().1["noteId"], "n1");
        assert_eq!(spec.route("GET", "/files/a/b/c").unwrap().1["proxy"], "a/b/c");
        assert_eq!(spec.route("GET", "/notes/").unwrap().0.path, "/notes", "a trailing slash names the same resource");
        assert!(spec.route("GET", "/other").is_none() && spec.route("GET", "/notes/a/b").is_none());
    }

    const HTTP_API: &str = r#"
  NotesHttpApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Lambda
        Authorizers:
          Lambda:
            FunctionArn: !GetAtt AuthorizerFunction.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity: { Headers: [!Ref IdentityHeader], QueryStrings: [tenant], ReauthorizeEvery: 30 }
  HttpNotesFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: get-notes } }
    Properties:
      Events:
        Notes: { Type: HttpApi, Properties: { ApiId: !Ref NotesHttpApi, Path: /notes, Method: GET } }
        Open: { Type: HttpApi, Properties: { ApiId: !Ref NotesHttpApi, Path: /open, Method: "*", Auth: { Authorizer: NONE } } }
        Rest: { Type: HttpApi, Properties: { ApiId: !Ref NotesHttpApi } }
"#;

    #[test]
    fn reads_an_http_api_beside_the_rest_api() {
        let template = format!("{TEMPLATE}{HTTP_API}");
        let apis = ApiSpec::from_template(&template, &BTreeMap::new()).unwrap();
        assert_eq!(
            apis.iter().map(|a| (a.api.as_str(), a.kind)).collect::<Vec<_>>(),
            [("NotesApi", ApiKind::Rest), ("NotesHttpApi", ApiKind::Http)]
        );
        let http = &apis[1];
        assert_eq!(http.stage, "$default", "no StageName: the $default stage");
        let a = http.authorizer.as_ref().unwrap();
        assert_eq!(a.payload, AuthorizerPayload::HttpV2 { simple: true });
        assert_eq!(
            a.identity,
            [IdentitySource::Header("Authorization".to_owned()), IdentitySource::Query("tenant".to_owned())]
        );
        assert_eq!(a.ttl, Duration::from_secs(30));
        assert_eq!(http.identity_header(), "Authorization");
        assert!(http.route("GET", "/notes").unwrap().0.authorized);
        assert!(!http.route("DELETE", "/open").unwrap().0.authorized, "Method * is ANY; Auth NONE");
        let fallback = http.route("POST", "/anything/else").unwrap().0;
        assert_eq!(
            (fallback.path.as_str(), fallback.authorized),
            ("$default", true),
            "no Path nor Method: the $default route"
        );
        assert!(apis[0].route("GET", "/open").is_none(), "REST routes and HTTP routes stay apart");
        assert_eq!(rest(&template, &BTreeMap::new()).unwrap().api, "NotesApi");

        let refuse = |from: &str, to: &str, expect: &str| {
            let broken = template.replace(from, to);
            let error = rest(&broken, &BTreeMap::new()).unwrap_err().to_string();
            assert!(error.contains(expect), "{error}");
        };
        refuse("ReauthorizeEvery: 30 ", "", "ReauthorizeEvery");
        refuse(
            r#"AuthorizerPayloadFormatVersion: "2.0""#,
            r#"AuthorizerPayloadFormatVersion: "1.0""#,
            "EnableSimpleResponses",
        );
        refuse(r#"AuthorizerPayloadFormatVersion: "2.0""#, "", "1.0 or 2.0");
        refuse("QueryStrings: [tenant]", "Context: [requestId]", "Identity.Context `requestId`");
        refuse("QueryStrings: [tenant]", "StageVariables: [v]", "Identity.StageVariables");
        let per_route = template.replace("QueryStrings: [tenant]", "Context: [routeKey]");
        let apis = ApiSpec::from_template(&per_route, &BTreeMap::new()).unwrap();
        assert_eq!(apis[1].authorizer.as_ref().unwrap().identity[1], IdentitySource::RouteKey);
        refuse(
            "Path: /notes, Method: GET",
            "Path: /notes, Method: GET, PayloadFormatVersion: '1.0'",
            "PayloadFormatVersion",
        );
        let v1 = template
            .replace(r#"AuthorizerPayloadFormatVersion: "2.0""#, r#"AuthorizerPayloadFormatVersion: "1.0""#)
            .replace("EnableSimpleResponses: true", "EnableSimpleResponses: false");
        let apis = ApiSpec::from_template(&v1, &BTreeMap::new()).unwrap();
        assert_eq!(apis[1].authorizer.as_ref().unwrap().payload, AuthorizerPayload::HttpV1);
    }

    #[test]
    fn problems_are_named() {
        let broken = TEMPLATE.replace("DefaultAuthorizer: PolicyAuthorizer", "DefaultAuthorizer: Missing");
        assert!(rest(&broken, &BTreeMap::new()).unwrap_err().to_string().contains("Missing"));
        let too_long = BTreeMap::from([("AuthorizerTtlSeconds".to_owned(), "7200".to_owned())]);
        assert!(rest(TEMPLATE, &too_long).unwrap_err().to_string().contains("3600"));
        assert!(matches!(rest("a: [", &BTreeMap::new()), Err(TemplateError::Yaml(_))));
        assert!(ApiSpec::from_template("Resources: {}", &BTreeMap::new()).is_err());
    }
}
