//! Cedar (`cedar-policy`, the engine behind Amazon Verified Permissions'
//! authorizer) with a policy set and entities equivalent to the shipped
//! static-token configuration: the token names a principal, Cedar decides.

use crate::{BadEvent, TokenRequest, respond};
use cedar_policy::{Authorizer, Context, Decision, Entities, EntityId, EntityTypeName, EntityUid, PolicySet, Request};
use std::collections::HashMap;
use std::str::FromStr;

/// The policies: readers may `GET /notes`; the admin may do anything.
pub const POLICIES: &str = r#"
permit(principal in Group::"readers", action == Action::"GET", resource == Route::"/notes");
permit(principal == User::"admin", action, resource);
"#;

/// The entities: `user1` and `user2` are readers.
pub const ENTITIES: &str = r#"[
  { "uid": { "type": "User", "id": "user1" }, "attrs": {}, "parents": [{ "type": "Group", "id": "readers" }] },
  { "uid": { "type": "User", "id": "user2" }, "attrs": {}, "parents": [{ "type": "Group", "id": "readers" }] },
  { "uid": { "type": "User", "id": "admin" }, "attrs": {}, "parents": [] },
  { "uid": { "type": "Group", "id": "readers" }, "attrs": {}, "parents": [] }
]"#;

/// The policy set, entities and token table, parsed once.
pub struct CedarAuthorizer {
    policies: PolicySet,
    entities: Entities,
    authorizer: Authorizer,
    /// Token -> principal id (what the static-token config holds, by digest).
    tokens: HashMap<String, String>,
    user: EntityTypeName,
    action: EntityTypeName,
    route: EntityTypeName,
}

impl CedarAuthorizer {
    /// Parses the policies and entities.
    pub fn new() -> Result<Self, String> {
        let policies = PolicySet::from_str(POLICIES).map_err(|e| e.to_string())?;
        let entities = Entities::from_json_str(ENTITIES, None).map_err(|e| e.to_string())?;
        let name = |n: &str| EntityTypeName::from_str(n).map_err(|e| e.to_string());
        let tokens = [("abc123", "user1"), ("def456", "user2"), ("admin-secret-456", "admin")]
            .into_iter()
            .map(|(t, p)| (t.to_owned(), p.to_owned()))
            .collect();
        Ok(CedarAuthorizer {
            policies,
            entities,
            authorizer: Authorizer::new(),
            tokens,
            user: name("User")?,
            action: name("Action")?,
            route: name("Route")?,
        })
    }

    /// Decides one TOKEN event.
    pub fn authorize(&self, event: &[u8]) -> Result<Vec<u8>, BadEvent> {
        let request = TokenRequest::parse(event)?;
        let principal = request.token.as_deref().and_then(|t| self.tokens.get(t)).map_or("anonymous", String::as_str);
        let (method, path) = request.route();
        let uid = |ty: &EntityTypeName, id: &str| EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id));
        let cedar_request = Request::new(
            uid(&self.user, principal),
            uid(&self.action, method),
            uid(&self.route, path),
            Context::empty(),
            None,
        )
        .map_err(|e| BadEvent(e.to_string()))?;
        let response = self.authorizer.is_authorized(&cedar_request, &self.policies, &self.entities);
        Ok(respond(principal, response.decision() == Decision::Allow, &request.method_arn))
    }
}
