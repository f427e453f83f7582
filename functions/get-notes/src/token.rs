//! The `nextToken` of a listing: base64url (no padding) of the [`PageKey`] JSON.
//!
//! The token is opaque to clients but not secret or signed: a forged token can
//! only move the start of a listing the caller may already read, because the
//! handler checks that it names the listed user.

use crate::repo::PageKey;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Longest token accepted (a DynamoDB key is at most 2048 + 1024 bytes; ours are far smaller).
pub const MAX_TOKEN_CHARS: usize = 2048;

/// Encodes where the next page starts.
pub fn encode(key: &PageKey) -> String {
    // Serialising two strings cannot fail; an empty token would only restart the listing.
    let json = serde_json::to_vec(key).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a token for a listing of `user_id`; `None` when it is malformed,
/// too long, or belongs to another listing.
pub fn decode(token: &str, user_id: &str) -> Option<PageKey> {
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let key: PageKey = serde_json::from_slice(&bytes).ok()?;
    let note_ok = !key.note_id.is_empty() && key.note_id.len() <= 1024;
    (key.user_id == user_id && note_ok).then_some(key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(user: &str, note: &str) -> PageKey {
        PageKey { user_id: user.to_owned(), note_id: note.to_owned() }
    }

    #[test]
    fn round_trips_for_the_same_user() {
        let k = key("user1", "note2");
        let token = encode(&k);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
        assert_eq!(decode(&token, "user1"), Some(k));
    }

    #[test]
    fn rejects_other_users_and_garbage() {
        let token = encode(&key("user1", "note2"));
        assert_eq!(decode(&token, "user2"), None);
        assert_eq!(decode("", "user1"), None);
        assert_eq!(decode("not base64!", "user1"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("[1,2]"), "user1"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode(r#"{"userId":"user1"}"#), "user1"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode(r#"{"userId":"user1","noteId":""}"#), "user1"), None);
        let extra = r#"{"userId":"user1","noteId":"n","x":1}"#;
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode(extra), "user1"), None);
        assert_eq!(decode(&"A".repeat(MAX_TOKEN_CHARS + 1), "user1"), None);
    }
}
