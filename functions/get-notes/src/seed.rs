//! Creating the notes table and loading the sample notes
//! (`seed/notes.json`), as the tutorial does by hand in the console.
//!
//! `authz notes seed` calls [`ensure_table`] then [`seed`]; the integration
//! tests do the same against moto. Both functions are idempotent.

use crate::dynamo::{NOTE_CONTENT, NOTE_ID, USER_ID, classify};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
};
use serde::Deserialize;
use std::time::{Duration, Instant};

/// The sample notes, as shipped in `seed/notes.json`.
pub const SAMPLE_NOTES_JSON: &str = include_str!("../seed/notes.json");

/// How long [`ensure_table`] waits for a new table to become `ACTIVE`.
pub const ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// One note to store.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedNote {
    /// Owner (partition key `userId`).
    pub user_id: String,
    /// Id (sort key `noteId`).
    pub note_id: String,
    /// Text (attribute `noteContent`).
    pub note: String,
}

/// Why the table could not be created or filled.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The bundled sample file does not parse.
    #[error("the sample notes do not parse: {0}")]
    Sample(#[from] serde_json::Error),
    /// A DynamoDB call failed (the message carries the SDK's detail).
    #[error("table `{table}`: {message}")]
    Dynamo {
        /// The table concerned.
        table: String,
        /// What failed.
        message: String,
    },
    /// The table exists but did not become usable in time.
    #[error("table `{table}` is `{status}`, not ACTIVE, after {waited:?}")]
    NotActive {
        /// The table concerned.
        table: String,
        /// Its last status.
        status: String,
        /// How long was waited.
        waited: Duration,
    },
}

fn dynamo_error(table: &str, error: crate::RepoError) -> SeedError {
    SeedError::Dynamo { table: table.to_owned(), message: error.to_string() }
}

/// The sample notes: users `user1` (five notes), `user2` (two) and `user3` (one).
pub fn sample_notes() -> Result<Vec<SeedNote>, SeedError> {
    Ok(serde_json::from_str(SAMPLE_NOTES_JSON)?)
}

/// The table's status, or `None` when it does not exist.
async fn table_status(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<Option<TableStatus>, SeedError> {
    match client.describe_table().table_name(table).send().await {
        Ok(output) => Ok(Some(output.table().and_then(|t| t.table_status()).cloned().unwrap_or(TableStatus::Creating))),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(None),
        Err(e) => Err(dynamo_error(table, classify("DescribeTable", &e))),
    }
}

/// Creates `table` (partition key `userId` S, sort key `noteId` S, on-demand
/// billing) unless it exists, then waits until it is `ACTIVE` (at most
/// [`ACTIVE_TIMEOUT`]). Returns `true` when this call created the table.
/// Safe to call again, and concurrently.
pub async fn ensure_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<bool, SeedError> {
    let mut created = false;
    if table_status(client, table).await?.is_none() {
        let invalid = |e: aws_sdk_dynamodb::error::BuildError| SeedError::Dynamo {
            table: table.to_owned(),
            message: format!("cannot build the CreateTable request: {e}"),
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(invalid)
        };
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(invalid)
        };
        let result = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(USER_ID, KeyType::Hash)?)
            .key_schema(key(NOTE_ID, KeyType::Range)?)
            .attribute_definitions(attr(USER_ID)?)
            .attribute_definitions(attr(NOTE_ID)?)
            .send()
            .await;
        match result {
            Ok(_) => created = true,
            // Someone else created it meanwhile: wait for it like for ours.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {}
            Err(e) => return Err(dynamo_error(table, classify("CreateTable", &e))),
        }
    }
    let started = Instant::now();
    loop {
        let status = table_status(client, table).await?;
        if status == Some(TableStatus::Active) {
            return Ok(created);
        }
        if started.elapsed() >= ACTIVE_TIMEOUT {
            let status = status.map_or_else(|| "missing".to_owned(), |s| s.as_str().to_owned());
            return Err(SeedError::NotActive { table: table.to_owned(), status, waited: started.elapsed() });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Writes `notes` into `table` (replacing notes with the same keys) and
/// returns how many were written.
pub async fn put_notes(client: &aws_sdk_dynamodb::Client, table: &str, notes: &[SeedNote]) -> Result<usize, SeedError> {
    for note in notes {
        client
            .put_item()
            .table_name(table)
            .item(USER_ID, AttributeValue::S(note.user_id.clone()))
            .item(NOTE_ID, AttributeValue::S(note.note_id.clone()))
            .item(NOTE_CONTENT, AttributeValue::S(note.note.clone()))
            .send()
            .await
            .map_err(|e| dynamo_error(table, classify("PutItem", &e)))?;
    }
    Ok(notes.len())
}

/// Loads the [`sample_notes`] into `table` (which must exist: call
/// [`ensure_table`] first) and returns how many notes were written.
/// Running it again rewrites the same notes.
pub async fn seed(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<usize, SeedError> {
    put_notes(client, table, &sample_notes()?).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sample_notes_parse_and_cover_two_users() {
        let notes = sample_notes().unwrap();
        let first = notes.iter().find(|n| n.user_id == "user1" && n.note_id == "note1").unwrap();
        assert_eq!(first.note, "Buy milk");
        assert!(notes.iter().any(|n| n.user_id == "user2"));
        assert!(notes.iter().filter(|n| n.user_id == "user1").count() > 2, "user1 needs several notes to page through");
        let mut keys: Vec<_> = notes.iter().map(|n| (&n.user_id, &n.note_id)).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), notes.len(), "duplicate keys in seed/notes.json");
    }
}
