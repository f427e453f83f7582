//! [`NotesRepo`] on the DynamoDB notes table: partition key `userId` (S),
//! sort key `noteId` (S), text in `noteContent` (S).

use crate::repo::{Note, NotesRepo, Page, PageKey, RepoError};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// Partition key attribute.
pub(crate) const USER_ID: &str = "userId";
/// Sort key attribute.
pub(crate) const NOTE_ID: &str = "noteId";
/// Note text attribute.
pub(crate) const NOTE_CONTENT: &str = "noteContent";

/// The notes table through the AWS SDK. Cheap to clone (the client is shared).
#[derive(Clone, Debug)]
pub struct DynamoNotes {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoNotes {
    /// Reads `table` with `client` (build it with [`crate::dynamodb_client`]).
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoNotes { client, table: table.into() }
    }

    /// The table read.
    pub fn table(&self) -> &str {
        &self.table
    }
}

/// Error codes DynamoDB answers when it sheds load.
const THROTTLING_CODES: &[&str] =
    &["ProvisionedThroughputExceededException", "RequestLimitExceeded", "ThrottlingException", "Throttling"];

/// Error codes for a service that is up but cannot serve right now.
const UNAVAILABLE_CODES: &[&str] = &["InternalServerError", "ServiceUnavailable"];

/// Sorts an SDK failure into the status family the client sees; the text is
/// for the log.
pub(crate) fn classify<E, R>(op: &'static str, error: &SdkError<E, R>) -> RepoError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = format!("DynamoDB {op}: {}", DisplayErrorContext(error));
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => RepoError::Unavailable(detail),
        SdkError::ServiceError(_) => match error.code() {
            Some(code) if THROTTLING_CODES.contains(&code) => RepoError::Throttled(detail),
            Some(code) if UNAVAILABLE_CODES.contains(&code) => RepoError::Unavailable(detail),
            _ => RepoError::Failed(detail),
        },
        _ => RepoError::Failed(detail),
    }
}

fn string_attr<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Result<&'a str, RepoError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(RepoError::Failed(format!("item has no string attribute `{name}`"))),
    }
}

fn note_from(item: &HashMap<String, AttributeValue>) -> Result<Note, RepoError> {
    Ok(Note { note_id: string_attr(item, NOTE_ID)?.to_owned(), content: string_attr(item, NOTE_CONTENT)?.to_owned() })
}

impl NotesRepo for DynamoNotes {
    async fn get(&self, user_id: &str, note_id: &str) -> Result<Option<Note>, RepoError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(USER_ID, AttributeValue::S(user_id.to_owned()))
            .key(NOTE_ID, AttributeValue::S(note_id.to_owned()))
            .send()
            .await
            .map_err(|e| classify("GetItem", &e))?;
        output.item().map(note_from).transpose()
    }

    async fn list(&self, user_id: &str, limit: u32, start: Option<&PageKey>) -> Result<Page, RepoError> {
        let limit = limit.clamp(1, crate::MAX_LIMIT);
        // One item more than asked says whether another page exists, so the
        // last page never carries a token that leads to an empty page.
        let fetch = i32::try_from(limit.saturating_add(1)).unwrap_or(i32::MAX);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#u = :u")
            .expression_attribute_names("#u", USER_ID)
            .expression_attribute_values(":u", AttributeValue::S(user_id.to_owned()))
            .limit(fetch);
        if let Some(start) = start {
            query = query
                .exclusive_start_key(USER_ID, AttributeValue::S(start.user_id.clone()))
                .exclusive_start_key(NOTE_ID, AttributeValue::S(start.note_id.clone()));
        }
        let output = query.send().await.map_err(|e| classify("Query", &e))?;
        let mut notes = output.items().iter().map(note_from).collect::<Result<Vec<_>, _>>()?;
        let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
        let next = if notes.len() > wanted {
            notes.truncate(wanted);
            notes.last().map(|n| PageKey { user_id: user_id.to_owned(), note_id: n.note_id.clone() })
        } else {
            // Fewer items than asked can still come with a key when DynamoDB
            // stopped at its 1 MB page size: continue from there.
            match output.last_evaluated_key() {
                Some(key) => Some(PageKey {
                    user_id: string_attr(key, USER_ID)?.to_owned(),
                    note_id: string_attr(key, NOTE_ID)?.to_owned(),
                }),
                None => None,
            }
        };
        Ok(Page { notes, next })
    }
}
