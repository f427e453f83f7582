//! An in-memory [`NotesRepo`] with DynamoDB's ordering and paging, for tests
//! and local experiments.

use crate::repo::{Note, NotesRepo, Page, PageKey, RepoError};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, PoisonError};

/// Notes kept in a map ordered like the table (`userId`, then `noteId`).
#[derive(Debug, Default)]
pub struct MemoryNotes {
    notes: Mutex<BTreeMap<(String, String), String>>,
    failure: Mutex<Option<RepoError>>,
}

impl MemoryNotes {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores (or replaces) a note.
    pub fn insert(&self, user_id: &str, note_id: &str, content: &str) {
        self.notes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((user_id.to_owned(), note_id.to_owned()), content.to_owned());
    }

    /// Makes every later call fail with `failure` (or succeed again with `None`).
    pub fn fail_with(&self, failure: Option<RepoError>) {
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = failure;
    }

    fn check(&self) -> Result<(), RepoError> {
        match self.failure.lock().unwrap_or_else(PoisonError::into_inner).clone() {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }
}

impl NotesRepo for MemoryNotes {
    async fn get(&self, user_id: &str, note_id: &str) -> Result<Option<Note>, RepoError> {
        self.check()?;
        let notes = self.notes.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(notes
            .get(&(user_id.to_owned(), note_id.to_owned()))
            .map(|content| Note { note_id: note_id.to_owned(), content: content.clone() }))
    }

    async fn list(&self, user_id: &str, limit: u32, start: Option<&PageKey>) -> Result<Page, RepoError> {
        self.check()?;
        let notes = self.notes.lock().unwrap_or_else(PoisonError::into_inner);
        let lower = match start {
            Some(key) => Bound::Excluded((user_id.to_owned(), key.note_id.clone())),
            None => Bound::Included((user_id.to_owned(), String::new())),
        };
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut found: Vec<Note> = notes
            .range((lower, Bound::Unbounded))
            .take_while(|((user, _), _)| user == user_id)
            .take(limit.saturating_add(1))
            .map(|((_, note_id), content)| Note { note_id: note_id.clone(), content: content.clone() })
            .collect();
        let more = found.len() > limit;
        found.truncate(limit);
        let next = match found.last() {
            Some(last) if more => Some(PageKey { user_id: user_id.to_owned(), note_id: last.note_id.clone() }),
            _ => None,
        };
        Ok(Page { notes: found, next })
    }
}
