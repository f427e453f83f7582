//! The registry client: S3 for bytes, DynamoDB for versions, the active
//! pointer and the audit log. Used by the CLI (publish, activate, rollback,
//! history) and by the authorizer (active pointer, fetch).

use crate::model::{ActivePointer, AuditEvent, History, NativeCode, PolicyVersion, code_key, config_key, module_key};
use crate::signing::SignedCode;
use authz_engine::sha256_hex;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, Put, ScalarAttributeType,
    TransactWriteItem,
};
use aws_sdk_s3::primitives::ByteStream;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

/// How many earlier active versions `rollback` can walk back through.
pub const MAX_ROLLBACK_DEPTH: usize = 100;

/// The largest module, config or compiled code the registry stores or
/// downloads. A 128 MB Lambda holds the code twice while loading it (the
/// download and its executable copy), so a larger object is refused at
/// publish and, should one be put in the bucket by other means, before or
/// while it downloads, rather than exhausting the authorizer's memory. The
/// largest shipped object, the JWT policy's compiled code, is about 3 MB.
pub const MAX_OBJECT_BYTES: usize = 32 << 20;

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// Someone else changed the policy at the same time; nothing was overwritten.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The version does not exist.
    #[error("policy `{policy}` has no version {version}")]
    NoSuchVersion {
        /// Policy name.
        policy: String,
        /// Requested version.
        version: u64,
    },
    /// Nothing is active.
    #[error("policy `{0}` has no active version")]
    NoActive(String),
    /// Rollback with no earlier active version.
    #[error("policy `{0}` has no earlier active version to roll back to")]
    NoPrevious(String),
    /// Downloaded bytes do not match the digest the registry recorded.
    #[error("{what} `{key}` has SHA-256 {actual}, the registry says {expected}")]
    DigestMismatch {
        /// `module`, `config` or `code`.
        what: &'static str,
        /// S3 key.
        key: String,
        /// Recorded digest.
        expected: String,
        /// Digest of what was downloaded.
        actual: String,
    },
    /// An S3 call failed.
    #[error("S3 {op}: {message}")]
    S3 {
        /// Operation.
        op: &'static str,
        /// Error with its context.
        message: String,
    },
    /// A DynamoDB call failed.
    #[error("DynamoDB {op}: {message}")]
    Dynamo {
        /// Operation.
        op: &'static str,
        /// Error with its context.
        message: String,
    },
    /// An item does not have the expected shape.
    #[error("registry item is corrupt: {0}")]
    Corrupt(String),
    /// An object is over [`MAX_OBJECT_BYTES`]; nothing was stored, or the
    /// download was stopped.
    #[error("{what} {of} is {size}, over the registry's limit of {limit} bytes")]
    TooLarge {
        /// `module`, `config` or `code`.
        what: &'static str,
        /// Which one: its S3 key, or the policy it is published for.
        of: String,
        /// Its size, or what had arrived when the download was stopped.
        size: String,
        /// The limit, in bytes.
        limit: usize,
    },
}

fn s3_error<E: std::error::Error + 'static>(op: &'static str, e: E) -> RegistryError {
    RegistryError::S3 { op, message: aws_sdk_s3::error::DisplayErrorContext(e).to_string() }
}

/// Refuses an object of `size` bytes over [`MAX_OBJECT_BYTES`] before it is
/// stored; `of` says which one (a path, a policy).
pub fn check_size(what: &'static str, of: &str, size: usize) -> Result<(), RegistryError> {
    if size <= MAX_OBJECT_BYTES {
        return Ok(());
    }
    Err(RegistryError::TooLarge { what, of: of.to_owned(), size: format!("{size} bytes"), limit: MAX_OBJECT_BYTES })
}

/// Reads a downloaded `body` of at most `limit` bytes and checks it against
/// the digest the registry recorded. Each chunk is hashed as it arrives, so
/// the hash overlaps the transfer instead of following it, and the bytes are
/// copied once, into a buffer sized from the `announced` length. A body over
/// `limit` is refused by its announced length before any of it is read, or
/// as soon as more than `limit` bytes have arrived.
async fn read_checked(
    mut body: ByteStream,
    announced: Option<i64>,
    limit: usize,
    what: &'static str,
    key: &str,
    expected_sha256: &str,
) -> Result<Vec<u8>, RegistryError> {
    let too_large = |size: String| RegistryError::TooLarge { what, of: format!("`{key}`"), size, limit };
    let announced = announced.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    if announced > limit {
        return Err(too_large(format!("{announced} bytes by its Content-Length")));
    }
    let mut bytes = Vec::with_capacity(announced);
    let mut hasher = Sha256::new();
    while let Some(chunk) = body.try_next().await.map_err(|e| s3_error("GetObject body", e))? {
        if chunk.len() > limit - bytes.len() {
            return Err(too_large(format!("more than {limit} bytes")));
        }
        hasher.update(&chunk);
        bytes.extend_from_slice(&chunk);
    }
    let actual = hex::encode(hasher.finalize());
    if actual != expected_sha256 {
        return Err(RegistryError::DigestMismatch {
            what,
            key: key.to_owned(),
            expected: expected_sha256.to_owned(),
            actual,
        });
    }
    Ok(bytes)
}

fn dynamo_error<E: std::error::Error + 'static>(op: &'static str, e: E) -> RegistryError {
    RegistryError::Dynamo { op, message: aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string() }
}

/// Where the registry lives.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// S3 bucket for modules and configs.
    pub bucket: String,
    /// DynamoDB table for versions, pointers and the audit log.
    pub table: String,
    /// Path-style S3 addressing: needed by local S3 stand-ins (moto).
    pub path_style: bool,
}

/// A connected registry.
#[derive(Clone, Debug)]
pub struct Registry {
    s3: aws_sdk_s3::Client,
    dynamo: aws_sdk_dynamodb::Client,
    config: RegistryConfig,
    /// Which registry this is, for state kept on local disk (see
    /// [`Registry::place`]).
    place: String,
}

/// A version's bytes, checked against the digests the registry recorded.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// Module bytes.
    pub module: Vec<u8>,
    /// Config document.
    pub config: String,
}

/// What `publish` is given.
#[derive(Clone, Debug)]
pub struct Publication<'a> {
    /// Policy name.
    pub policy: &'a str,
    /// Module bytes.
    pub module: &'a [u8],
    /// Config document bytes.
    pub config: &'a [u8],
    /// Who publishes.
    pub publisher: &'a str,
    /// Signature and key id, if signed.
    pub signature: Option<(String, String)>,
    /// Free text.
    pub note: Option<&'a str>,
    /// Native code compiled from the module, signed (none: the authorizer compiles).
    pub code: &'a [SignedCode],
}

/// A version's native code for one architecture, and its config, both
/// checked against the digests the registry recorded.
#[derive(Clone, Debug)]
pub struct FetchedCode {
    /// Native code.
    pub code: Vec<u8>,
    /// Config document.
    pub config: String,
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn get_s(item: &Item, name: &str) -> Result<String, RegistryError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(RegistryError::Corrupt(format!("missing string `{name}`"))),
    }
}

fn get_opt_s(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn get_n(item: &Item, name: &str) -> Result<u64, RegistryError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => {
            v.parse().map_err(|_| RegistryError::Corrupt(format!("`{name}` is not a number")))
        }
        _ => Err(RegistryError::Corrupt(format!("missing number `{name}`"))),
    }
}

fn version_sk(version: u64) -> String {
    format!("v#{version:010}")
}

fn version_item(v: &PolicyVersion) -> Item {
    let mut item = Item::from([
        ("pk".to_owned(), s(&v.policy)),
        ("sk".to_owned(), s(&version_sk(v.version))),
        ("version".to_owned(), n(v.version)),
        ("module_sha256".to_owned(), s(&v.module_sha256)),
        ("config_sha256".to_owned(), s(&v.config_sha256)),
        ("module_key".to_owned(), s(&v.module_key)),
        ("config_key".to_owned(), s(&v.config_key)),
        ("publisher".to_owned(), s(&v.publisher)),
        ("published_at_ms".to_owned(), n(v.published_at_ms)),
    ]);
    for (name, value) in [("signature", &v.signature), ("key_id", &v.key_id), ("note", &v.note)] {
        if let Some(value) = value {
            item.insert(name.to_owned(), s(value));
        }
    }
    if !v.code.is_empty() {
        let code = v.code.iter().map(|c| {
            AttributeValue::M(Item::from([
                ("arch".to_owned(), s(&c.arch)),
                ("code_sha256".to_owned(), s(&c.code_sha256)),
                ("code_key".to_owned(), s(&c.code_key)),
                ("signature".to_owned(), s(&c.signature)),
                ("key_id".to_owned(), s(&c.key_id)),
            ]))
        });
        item.insert("code".to_owned(), AttributeValue::L(code.collect()));
    }
    item
}

fn parse_code(item: &Item) -> Result<Vec<NativeCode>, RegistryError> {
    let Some(value) = item.get("code") else {
        return Ok(Vec::new());
    };
    let AttributeValue::L(list) = value else {
        return Err(RegistryError::Corrupt("`code` is not a list".to_owned()));
    };
    list.iter()
        .map(|entry| {
            let AttributeValue::M(c) = entry else {
                return Err(RegistryError::Corrupt("a `code` entry is not a map".to_owned()));
            };
            Ok(NativeCode {
                arch: get_s(c, "arch")?,
                code_sha256: get_s(c, "code_sha256")?,
                code_key: get_s(c, "code_key")?,
                signature: get_s(c, "signature")?,
                key_id: get_s(c, "key_id")?,
            })
        })
        .collect()
}

fn parse_version(item: &Item) -> Result<PolicyVersion, RegistryError> {
    Ok(PolicyVersion {
        policy: get_s(item, "pk")?,
        version: get_n(item, "version")?,
        module_sha256: get_s(item, "module_sha256")?,
        config_sha256: get_s(item, "config_sha256")?,
        module_key: get_s(item, "module_key")?,
        config_key: get_s(item, "config_key")?,
        publisher: get_s(item, "publisher")?,
        published_at_ms: get_n(item, "published_at_ms")?,
        signature: get_opt_s(item, "signature"),
        key_id: get_opt_s(item, "key_id"),
        note: get_opt_s(item, "note"),
        code: parse_code(item)?,
    })
}

fn pointer_item(p: &ActivePointer) -> Item {
    let mut item = version_item(&p.active);
    item.insert("sk".to_owned(), s("active"));
    item.insert("revision".to_owned(), n(p.revision));
    item.insert("previous".to_owned(), AttributeValue::L(p.previous.iter().map(|v| n(*v)).collect()));
    item.insert("updated_by".to_owned(), s(&p.updated_by));
    item.insert("updated_at_ms".to_owned(), n(p.updated_at_ms));
    item
}

fn parse_pointer(item: &Item) -> Result<ActivePointer, RegistryError> {
    let previous = match item.get("previous") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| match v {
                AttributeValue::N(n) => n.parse().map_err(|_| RegistryError::Corrupt("bad `previous`".to_owned())),
                _ => Err(RegistryError::Corrupt("bad `previous`".to_owned())),
            })
            .collect::<Result<Vec<u64>, _>>()?,
        _ => Vec::new(),
    };
    Ok(ActivePointer {
        active: parse_version(item)?,
        revision: get_n(item, "revision")?,
        previous,
        updated_by: get_s(item, "updated_by")?,
        updated_at_ms: get_n(item, "updated_at_ms")?,
    })
}

fn event_item(policy: &str, event: &AuditEvent, revision: u64) -> Item {
    let mut item = Item::from([
        ("pk".to_owned(), s(policy)),
        // Time first so a query lists events in order; the rest keeps two events
        // of the same millisecond apart.
        (
            "sk".to_owned(),
            s(&format!("event#{:013}#{revision:010}#{}#{:010}", event.at_ms, event.action, event.version)),
        ),
        ("action".to_owned(), s(&event.action)),
        ("version".to_owned(), n(event.version)),
        ("by".to_owned(), s(&event.by)),
        ("at_ms".to_owned(), n(event.at_ms)),
    ]);
    if let Some(from) = event.from_version {
        item.insert("from_version".to_owned(), n(from));
    }
    item
}

fn parse_event(item: &Item) -> Result<AuditEvent, RegistryError> {
    Ok(AuditEvent {
        action: get_s(item, "action")?,
        version: get_n(item, "version")?,
        from_version: get_n(item, "from_version").ok(),
        by: get_s(item, "by")?,
        at_ms: get_n(item, "at_ms")?,
    })
}

impl Registry {
    /// A registry reached through `sdk` (region, credentials, endpoint from configuration).
    pub fn new(sdk: &aws_config::SdkConfig, config: RegistryConfig) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(config.path_style)
            // Streamed uploads with aws-chunked checksums are stored corrupted by some S3
            // stand-ins; content is verified by SHA-256 end to end anyway.
            .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired)
            .build();
        let place = format!(
            "{}\n{}\n{}\n{}",
            sdk.endpoint_url().unwrap_or("aws"),
            sdk.region().map_or("", |r| r.as_ref()),
            config.table,
            config.bucket
        );
        Registry {
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            dynamo: aws_sdk_dynamodb::Client::new(sdk),
            config,
            place,
        }
    }

    /// Endpoint, region, table and bucket: the same table and bucket names
    /// behind another endpoint or in another region are another registry,
    /// whose pointers must never be taken for this one's.
    pub(crate) fn place(&self) -> &str {
        &self.place
    }

    /// Where this registry lives.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// Creates the bucket and the table if they do not exist (local stacks and
    /// first-time set-up; in AWS the SAM template creates them).
    pub async fn ensure_storage(&self) -> Result<(), RegistryError> {
        match self.s3.head_bucket().bucket(&self.config.bucket).send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => {
                self.s3
                    .create_bucket()
                    .bucket(&self.config.bucket)
                    .send()
                    .await
                    .map_err(|e| s3_error("CreateBucket", e))?;
            }
            Err(e) => return Err(s3_error("HeadBucket", e)),
        }
        match self.dynamo.describe_table().table_name(&self.config.table).send().await {
            Ok(_) => return Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(e) => return Err(dynamo_error("DescribeTable", e)),
        }
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| dynamo_error("CreateTable", e))
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| dynamo_error("CreateTable", e))
        };
        self.dynamo
            .create_table()
            .table_name(&self.config.table)
            .attribute_definitions(attribute("pk")?)
            .attribute_definitions(attribute("sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(|e| dynamo_error("CreateTable", e))?;
        Ok(())
    }

    /// Stores `bytes` under `key` unless it is already there (content-addressed:
    /// same key, same bytes; an existing object is never overwritten).
    async fn put_once(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<(), RegistryError> {
        if self.s3.head_object().bucket(&self.config.bucket).key(key).send().await.is_ok() {
            return Ok(());
        }
        let put = self
            .s3
            .put_object()
            .bucket(&self.config.bucket)
            .key(key)
            .content_type(content_type)
            .if_none_match("*")
            .body(ByteStream::from(bytes.to_vec()))
            .customize()
            .config_override(aws_sdk_s3::config::Builder::default().timeout_config(crate::upload_timeouts(bytes.len())))
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            // Someone stored the same content first (412; some stand-ins answer 304).
            Err(e) if matches!(e.raw_response().map(|r| r.status().as_u16()), Some(412 | 304)) => Ok(()),
            Err(e) => Err(s3_error("PutObject", e)),
        }
    }

    /// Downloads an object and checks it against the digest the registry
    /// recorded (a cold start without a code cache waits for this download).
    async fn get_checked(
        &self,
        what: &'static str,
        key: &str,
        expected_sha256: &str,
    ) -> Result<Vec<u8>, RegistryError> {
        let object = self
            .s3
            .get_object()
            .bucket(&self.config.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_error("GetObject", e))?;
        let announced = object.content_length();
        read_checked(object.body, announced, MAX_OBJECT_BYTES, what, key, expected_sha256).await
    }

    async fn get_item(&self, policy: &str, sk: &str) -> Result<Option<Item>, RegistryError> {
        let out = self
            .dynamo
            .get_item()
            .table_name(&self.config.table)
            .key("pk", s(policy))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamo_error("GetItem", e))?;
        Ok(out.item)
    }

    /// The active pointer, if any (a strongly consistent read).
    pub async fn active(&self, policy: &str) -> Result<Option<ActivePointer>, RegistryError> {
        self.get_item(policy, "active").await?.as_ref().map(parse_pointer).transpose()
    }

    /// One published version.
    pub async fn version(&self, policy: &str, version: u64) -> Result<PolicyVersion, RegistryError> {
        let item = self
            .get_item(policy, &version_sk(version))
            .await?
            .ok_or_else(|| RegistryError::NoSuchVersion { policy: policy.to_owned(), version })?;
        parse_version(&item)
    }

    async fn latest_version(&self, policy: &str) -> Result<u64, RegistryError> {
        let out = self
            .dynamo
            .query()
            .table_name(&self.config.table)
            .key_condition_expression("pk = :p AND begins_with(sk, :v)")
            .expression_attribute_values(":p", s(policy))
            .expression_attribute_values(":v", s("v#"))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamo_error("Query", e))?;
        match out.items().first() {
            Some(item) => get_n(item, "version"),
            None => Ok(0),
        }
    }

    /// Downloads a version's module and config and checks both digests.
    pub async fn fetch(&self, version: &PolicyVersion) -> Result<Fetched, RegistryError> {
        let (module, config) = tokio::try_join!(
            self.get_checked("module", &version.module_key, &version.module_sha256),
            self.get_config(version)
        )?;
        Ok(Fetched { module, config })
    }

    /// Downloads one of a version's native code objects and its config, and
    /// checks both digests (the code's signature is the caller's to check).
    pub async fn fetch_code(&self, version: &PolicyVersion, code: &NativeCode) -> Result<FetchedCode, RegistryError> {
        let (code, config) =
            tokio::try_join!(self.get_checked("code", &code.code_key, &code.code_sha256), self.get_config(version))?;
        Ok(FetchedCode { code, config })
    }

    async fn get_config(&self, version: &PolicyVersion) -> Result<String, RegistryError> {
        let config = self.get_checked("config", &version.config_key, &version.config_sha256).await?;
        String::from_utf8(config).map_err(|_| RegistryError::Corrupt("config is not UTF-8".to_owned()))
    }

    fn put(
        &self,
        item: Item,
        condition: Option<&str>,
        values: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, RegistryError> {
        let mut put = Put::builder().table_name(&self.config.table).set_item(Some(item));
        if let Some(condition) = condition {
            put = put.condition_expression(condition);
        }
        for (name, value) in values {
            put = put.expression_attribute_values(*name, value.clone());
        }
        let put = put.build().map_err(|e| dynamo_error("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        conflict: impl Fn() -> String,
    ) -> Result<(), RegistryError> {
        let result = self.dynamo.transact_write_items().set_transact_items(Some(items)).send().await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let cancelled_by_condition = e
                    .as_service_error()
                    .and_then(|se| match se {
                        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                            Some(c.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed")))
                        }
                        _ => None,
                    })
                    .unwrap_or(false);
                if cancelled_by_condition {
                    Err(RegistryError::Conflict(conflict()))
                } else {
                    Err(dynamo_error("TransactWriteItems", e))
                }
            }
        }
    }

    /// The writes that make `target` active over `current`, conditional on
    /// nobody having changed the pointer since it was read.
    fn activation(
        &self,
        target: &PolicyVersion,
        current: Option<&ActivePointer>,
        previous: Vec<u64>,
        action: &str,
        by: &str,
        now_ms: u64,
    ) -> Result<Vec<TransactWriteItem>, RegistryError> {
        let revision = current.map_or(0, |c| c.revision) + 1;
        // The pointer is one DynamoDB item (400 KB at most): keep the newest
        // rollback targets only; the audit log keeps every change anyway.
        let mut previous = previous;
        let excess = previous.len().saturating_sub(MAX_ROLLBACK_DEPTH);
        previous.drain(..excess);
        let pointer = ActivePointer {
            active: target.clone(),
            revision,
            previous,
            updated_by: by.to_owned(),
            updated_at_ms: now_ms,
        };
        let condition = match current {
            Some(c) => self.put(pointer_item(&pointer), Some("revision = :r"), &[(":r", n(c.revision))])?,
            None => self.put(pointer_item(&pointer), Some("attribute_not_exists(sk)"), &[])?,
        };
        let event = AuditEvent {
            action: action.to_owned(),
            version: target.version,
            from_version: current.map(|c| c.active.version),
            by: by.to_owned(),
            at_ms: now_ms,
        };
        Ok(vec![condition, self.put(event_item(&target.policy, &event, revision), None, &[])?])
    }

    /// Stores the module and config (content-addressed) and records a new
    /// version; with `activate`, makes it active in the same transaction.
    /// A concurrent publish of the same policy is a [`RegistryError::Conflict`].
    pub async fn publish(
        &self,
        p: &Publication<'_>,
        activate: bool,
        now_ms: u64,
    ) -> Result<PolicyVersion, RegistryError> {
        let of = format!("for policy `{}`", p.policy);
        check_size("module", &of, p.module.len())?;
        check_size("config", &of, p.config.len())?;
        p.code.iter().try_for_each(|c| check_size("code", &of, c.code.len()))?;
        let module_sha256 = sha256_hex(p.module);
        let config_sha256 = sha256_hex(p.config);
        let (module_key, config_key) = (module_key(&module_sha256), config_key(&config_sha256));
        self.put_once(&module_key, p.module, "application/wasm").await?;
        self.put_once(&config_key, p.config, "application/json").await?;
        let mut code = Vec::with_capacity(p.code.len());
        for c in p.code {
            let code_sha256 = sha256_hex(&c.code);
            let code_key = code_key(&code_sha256);
            self.put_once(&code_key, &c.code, "application/octet-stream").await?;
            code.push(NativeCode {
                arch: c.arch.clone(),
                code_sha256,
                code_key,
                signature: c.signature.clone(),
                key_id: c.key_id.clone(),
            });
        }

        let current = if activate { self.active(p.policy).await? } else { None };
        let version = self.latest_version(p.policy).await? + 1;
        let record = PolicyVersion {
            policy: p.policy.to_owned(),
            version,
            module_sha256,
            config_sha256,
            module_key,
            config_key,
            publisher: p.publisher.to_owned(),
            published_at_ms: now_ms,
            signature: p.signature.as_ref().map(|(sig, _)| sig.clone()),
            key_id: p.signature.as_ref().map(|(_, id)| id.clone()),
            note: p.note.map(str::to_owned),
            code,
        };
        let publish_event = AuditEvent {
            action: "publish".to_owned(),
            version,
            from_version: None,
            by: p.publisher.to_owned(),
            at_ms: now_ms,
        };
        let mut items = vec![
            self.put(version_item(&record), Some("attribute_not_exists(sk)"), &[])?,
            self.put(event_item(p.policy, &publish_event, 0), None, &[])?,
        ];
        if activate {
            let mut previous = current.as_ref().map(|c| c.previous.clone()).unwrap_or_default();
            previous.extend(current.as_ref().map(|c| c.active.version));
            items.extend(self.activation(&record, current.as_ref(), previous, "activate", p.publisher, now_ms)?);
        }
        self.transact(items, || {
            format!("policy `{}` changed while publishing version {version} (someone else published or activated at the same time); nothing was overwritten, run the command again", p.policy)
        })
        .await?;
        Ok(record)
    }

    /// Makes `version` active. Fails with a conflict if the pointer changed
    /// since it was read.
    pub async fn activate(
        &self,
        policy: &str,
        version: u64,
        by: &str,
        now_ms: u64,
    ) -> Result<ActivePointer, RegistryError> {
        let target = self.version(policy, version).await?;
        let current = self.active(policy).await?;
        let mut previous = current.as_ref().map(|c| c.previous.clone()).unwrap_or_default();
        if let Some(c) = &current
            && c.active.version != version
        {
            previous.push(c.active.version);
        }
        let items = self.activation(&target, current.as_ref(), previous, "activate", by, now_ms)?;
        self.transact(items, || {
            format!("policy `{policy}` was changed by someone else meanwhile; run the command again")
        })
        .await?;
        self.active(policy).await?.ok_or_else(|| RegistryError::NoActive(policy.to_owned()))
    }

    /// Returns to the version that was active before the current one.
    pub async fn rollback(&self, policy: &str, by: &str, now_ms: u64) -> Result<ActivePointer, RegistryError> {
        let current = self.active(policy).await?.ok_or_else(|| RegistryError::NoActive(policy.to_owned()))?;
        let mut previous = current.previous.clone();
        let target_version = previous.pop().ok_or_else(|| RegistryError::NoPrevious(policy.to_owned()))?;
        let target = self.version(policy, target_version).await?;
        let items = self.activation(&target, Some(&current), previous, "rollback", by, now_ms)?;
        self.transact(items, || {
            format!("policy `{policy}` was changed by someone else meanwhile; run the command again")
        })
        .await?;
        self.active(policy).await?.ok_or_else(|| RegistryError::NoActive(policy.to_owned()))
    }

    /// Every version, the active pointer and the audit log.
    pub async fn history(&self, policy: &str) -> Result<History, RegistryError> {
        let mut history = History::default();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .dynamo
                .query()
                .table_name(&self.config.table)
                .key_condition_expression("pk = :p")
                .expression_attribute_values(":p", s(policy))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| dynamo_error("Query", e))?;
            for item in out.items() {
                let sk = get_s(item, "sk")?;
                if sk == "active" {
                    history.active = Some(parse_pointer(item)?);
                } else if sk.starts_with("v#") {
                    history.versions.push(parse_version(item)?);
                } else if sk.starts_with("event#") {
                    history.events.push(parse_event(item)?);
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(history)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    async fn read(body: &[u8], announced: Option<i64>, expected_sha256: &str) -> Result<Vec<u8>, RegistryError> {
        read_checked(ByteStream::from(body.to_vec()), announced, 8, "code", "code/k", expected_sha256).await
    }

    #[tokio::test]
    async fn a_body_up_to_the_limit_with_its_digest_is_read() {
        let body = b"12345678";
        assert_eq!(read(body, Some(8), &sha256_hex(body)).await.unwrap(), body);
        assert_eq!(read(body, None, &sha256_hex(body)).await.unwrap(), body, "no Content-Length");
        match read(body, Some(8), &sha256_hex(b"other")).await {
            Err(RegistryError::DigestMismatch { what: "code", .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_by_its_length_or_as_it_arrives() {
        let body = b"123456789";
        let digest = sha256_hex(body);
        let announced = read(body, Some(9), &digest).await.unwrap_err().to_string();
        assert_eq!(announced, "code `code/k` is 9 bytes by its Content-Length, over the registry's limit of 8 bytes");
        for lie in [Some(4), None, Some(-1)] {
            let arrived = read(body, lie, &digest).await.unwrap_err().to_string();
            assert_eq!(arrived, "code `code/k` is more than 8 bytes, over the registry's limit of 8 bytes", "{lie:?}");
        }
    }
}
