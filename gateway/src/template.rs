//! Reads the routes and the authorizer settings out of `template.yaml`, so
//! the local gateway serves what `sam deploy` would deploy.
//!
//! Only what the gateway needs is read: the REST API's default authorizer
//! (function, identity header, validation expression, result TTL), the `Api`
//! events of functions (path, method, per-route `Auth: {Authorizer: NONE}`),
//! and each function's cargo-lambda binary. `!Ref` resolves to parameter
//! overrides or defaults, `!GetAtt X.Arn` to the resource `X`.

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

/// A route of the REST API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// `GET`, `POST`..., or `ANY`.
    pub method: String,
    /// Resource path as declared, e.g. `/notes` or `/notes/{noteId}`.
    pub path: String,
    /// Logical id of the function behind it.
    pub function: String,
    /// Whether the default authorizer guards it.
    pub authorized: bool,
}

impl Route {
    /// Path parameters if `path` (without the stage) matches this route.
    pub fn matches(&self, method: &str, path: &str) -> Option<BTreeMap<String, String>> {
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

/// The REST API's TOKEN authorizer.
#[derive(Clone, Debug)]
pub struct AuthorizerSpec {
    /// Name in `Auth.Authorizers`.
    pub name: String,
    /// Logical id of its function.
    pub function: String,
    /// Header holding the token.
    pub identity_header: String,
    /// The token must match it entirely, else 401 without invoking.
    pub validation: Option<Regex>,
    /// How long a result is cached per token (zero: not cached).
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

/// What the gateway serves.
#[derive(Clone, Debug)]
pub struct ApiSpec {
    /// The REST API's logical id.
    pub api: String,
    /// Its stage name.
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
            Value::Mapping(m) if m.len() == 1 => m.get("Ref").and_then(scalar).and_then(|n| self.parameters.get(&n).cloned()),
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
    /// Reads `template` with parameter `overrides` (as `sam deploy --parameter-overrides`).
    pub fn from_template(template: &str, overrides: &BTreeMap<String, String>) -> Result<ApiSpec, TemplateError> {
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

        let mut apis = of_type("AWS::Serverless::Api");
        let (api, api_res) = apis.next().ok_or_else(|| shape("no AWS::Serverless::Api resource"))?;
        if apis.next().is_some() {
            return Err(shape("more than one AWS::Serverless::Api: the local gateway serves one"));
        }
        let props = api_res.get("Properties").ok_or_else(|| shape(format!("{api} has no Properties")))?;
        let stage = props
            .get("StageName")
            .and_then(|s| r.value(s))
            .ok_or_else(|| shape(format!("{api}.StageName is missing or unresolvable")))?;
        let authorizer = match props.get("Auth") {
            Some(auth) => authorizer(&r, &api, auth)?,
            None => None,
        };

        let mut functions = BTreeMap::new();
        let mut routes = Vec::new();
        for (id, res) in of_type("AWS::Serverless::Function") {
            let binary = res.get("Metadata").and_then(|m| m.get("BuildProperties")).and_then(|b| b.get("Binary")).and_then(scalar);
            let props = res.get("Properties");
            let mut environment = BTreeMap::new();
            if let Some(vars) = props.and_then(|p| p.get("Environment")).and_then(|e| e.get("Variables")).and_then(Value::as_mapping) {
                for (k, v) in vars {
                    if let (Some(k), Some(v)) = (scalar(k), r.value(v)) {
                        environment.insert(k, v);
                    }
                }
            }
            let events = props.and_then(|p| p.get("Events")).and_then(Value::as_mapping);
            for (name, event) in events.into_iter().flatten() {
                if event.get("Type").and_then(Value::as_str) != Some("Api") {
                    continue;
                }
                let ep = event.get("Properties").ok_or_else(|| shape(format!("{id} event has no Properties")))?;
                if let Some(api_ref) = ep.get("RestApiId")
                    && r.resource(api_ref).as_deref() != Some(api.as_str())
                {
                    continue;
                }
                let field = |f: &str| ep.get(f).and_then(|v| r.value(v)).ok_or_else(|| shape(format!("{id}.Events.{}: no {f}", scalar(name).unwrap_or_default())));
                let method = field("Method")?.to_ascii_uppercase();
                let authorized = ep
                    .get("Auth")
                    .and_then(|a| a.get("Authorizer"))
                    .and_then(|a| r.value(a))
                    .is_none_or(|a| a != "NONE")
                    && authorizer.is_some();
                routes.push(Route { method, path: field("Path")?, function: id.clone(), authorized });
            }
            functions.insert(id, FunctionSpec { binary, environment });
        }
        if routes.is_empty() {
            return Err(shape(format!("no function has an Api event on {api}")));
        }
        if let Some(a) = &authorizer
            && !functions.contains_key(&a.function)
        {
            return Err(shape(format!("authorizer {} names function {} which the template does not declare", a.name, a.function)));
        }
        Ok(ApiSpec { api, stage, routes, authorizer, functions, parameters })
    }

    /// The route for a request path (stage prefix optional) and method, with its path parameters.
    pub fn route(&self, method: &str, path: &str) -> Option<(&Route, BTreeMap<String, String>)> {
        let stage_prefix = format!("/{}/", self.stage);
        let path = if path.starts_with(&stage_prefix) { path.get(stage_prefix.len() - 1..).unwrap_or(path) } else { path };
        // Exact methods win over ANY, as in API Gateway.
        let exact = self.routes.iter().filter(|r| r.method != "ANY");
        let any = self.routes.iter().filter(|r| r.method == "ANY");
        exact.chain(any).find_map(|r| r.matches(method, path).map(|p| (r, p)))
    }
}

fn authorizer(r: &Resolver<'_>, api: &str, auth: &Value) -> Result<Option<AuthorizerSpec>, TemplateError> {
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
    if spec.get("FunctionPayloadType").and_then(|v| r.value(v)).is_some_and(|t| t != "TOKEN") {
        return Err(shape(format!("authorizer {name}: only TOKEN authorizers are served locally")));
    }
    let function = spec
        .get("FunctionArn")
        .and_then(|f| r.resource(f))
        .ok_or_else(|| shape(format!("authorizer {name} has no FunctionArn")))?;
    let identity = spec.get("Identity");
    let identity_header = identity.and_then(|i| i.get("Header")).and_then(|h| r.value(h)).unwrap_or_else(|| "Authorization".to_owned());
    let validation = match identity.and_then(|i| i.get("ValidationExpression")).and_then(|v| r.value(v)) {
        Some(expr) if !expr.is_empty() => Some(
            Regex::new(&format!("^(?:{expr})$"))
                .map_err(|e| shape(format!("authorizer {name}: ValidationExpression: {e}")))?,
        ),
        _ => None,
    };
    let ttl = match identity.and_then(|i| i.get("ReauthorizeEvery")).and_then(|t| r.value(t)) {
        Some(t) => t.parse::<u64>().map_err(|_| shape(format!("authorizer {name}: ReauthorizeEvery `{t}` is not a number")))?,
        None => 300,
    };
    if ttl > 3600 {
        return Err(shape(format!("authorizer {name}: ReauthorizeEvery {ttl} is above API Gateway's 3600")));
    }
    Ok(Some(AuthorizerSpec { name, function, identity_header, validation, ttl: Duration::from_secs(ttl) }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let spec = ApiSpec::from_template(TEMPLATE, &overrides).unwrap();
        assert_eq!((spec.api.as_str(), spec.stage.as_str()), ("NotesApi", "prod"));
        let a = spec.authorizer.as_ref().unwrap();
        assert_eq!((a.function.as_str(), a.identity_header.as_str(), a.ttl), ("AuthorizerFunction", "Authorization", Duration::from_secs(5)));
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

    #[test]
    fn problems_are_named() {
        let broken = TEMPLATE.replace("DefaultAuthorizer: PolicyAuthorizer", "DefaultAuthorizer: Missing");
        assert!(ApiSpec::from_template(&broken, &BTreeMap::new()).unwrap_err().to_string().contains("Missing"));
        let too_long = BTreeMap::from([("AuthorizerTtlSeconds".to_owned(), "7200".to_owned())]);
        assert!(ApiSpec::from_template(TEMPLATE, &too_long).unwrap_err().to_string().contains("3600"));
        assert!(matches!(ApiSpec::from_template("a: [", &BTreeMap::new()), Err(TemplateError::Yaml(_))));
        assert!(ApiSpec::from_template("Resources: {}", &BTreeMap::new()).is_err());
    }
}
