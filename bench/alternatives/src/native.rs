//! A plain native authorizer with the rule hard-coded: what a user writes
//! without any policy engine. The floor for a whole decision.

use crate::{BadEvent, TokenRequest, respond};

/// Decides one TOKEN event: `abc123` is `user1`, who may `GET /notes`.
pub fn authorize(event: &[u8]) -> Result<Vec<u8>, BadEvent> {
    let request = TokenRequest::parse(event)?;
    let (principal, allow) = match request.token.as_deref() {
        Some("abc123") => ("user1", request.route() == ("GET", "/notes")),
        _ => ("anonymous", false),
    };
    Ok(respond(principal, allow, &request.method_arn))
}
