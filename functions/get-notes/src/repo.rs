//! Where notes are read from: the [`NotesRepo`] trait and its data types.

use serde::{Deserialize, Serialize};
use std::future::Future;

/// One stored note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The note's id (the table's sort key `noteId`).
    pub note_id: String,
    /// Its text (the attribute `noteContent`).
    pub content: String,
}

/// Where a listing continues: the key of the last note already returned
/// (DynamoDB's `LastEvaluatedKey`, used as the next `ExclusiveStartKey`).
///
/// Its JSON form, base64url-encoded, is the API's opaque `nextToken`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageKey {
    /// The user whose notes are listed (partition key).
    pub user_id: String,
    /// The last note returned (sort key).
    pub note_id: String,
}

/// One page of a user's notes, in `noteId` order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// At most the requested number of notes.
    pub notes: Vec<Note>,
    /// Where the next page starts; `None` when there are no more notes.
    pub next: Option<PageKey>,
}

/// Why the store could not answer. The text carries internal detail for the
/// log only; clients get a generic message chosen by the status.
#[derive(Clone, Debug, thiserror::Error)]
pub enum RepoError {
    /// The store is throttling requests (answered with 503).
    #[error("throttled: {0}")]
    Throttled(String),
    /// The store did not answer in time or could not be reached (503).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Any other failure, including malformed items (500).
    #[error("failed: {0}")]
    Failed(String),
}

/// Read access to the notes table.
///
/// Implementations trust their arguments: the handler validates ids, limits
/// and page keys before calling.
pub trait NotesRepo: Send + Sync {
    /// The note `note_id` of `user_id`, or `None` when there is no such note.
    fn get(&self, user_id: &str, note_id: &str) -> impl Future<Output = Result<Option<Note>, RepoError>> + Send;

    /// Up to `limit` notes of `user_id` in `noteId` order, starting after
    /// `start` (which belongs to `user_id`) or at the beginning.
    fn list(
        &self,
        user_id: &str,
        limit: u32,
        start: Option<&PageKey>,
    ) -> impl Future<Output = Result<Page, RepoError>> + Send;
}
