//! The function's configuration, read once from the environment at start-up.

/// Everything `getNotes` is configured with. The DynamoDB endpoint, region and
/// credentials are not here: the AWS SDK reads them (`AWS_ENDPOINT_URL`,
/// `AWS_REGION`, ...) through `aws-config`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The notes table (`NOTES_TABLE`).
    pub table: String,
}

/// A configuration problem, reported at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable does not hold an acceptable value.
    #[error("`{name}` is `{value}`, expected {expected}")]
    Invalid {
        /// Variable name.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
}

/// The table name used when `NOTES_TABLE` is not set (the tutorial's name).
pub const DEFAULT_TABLE: &str = "notesTable";

/// DynamoDB's rule for table names: 3 to 255 of `a-z A-Z 0-9 _ - .`.
fn valid_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl Config {
    /// Reads the configuration through `get` (the process environment in production).
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `NOTES_TABLE` | DynamoDB table holding the notes | `notesTable` |
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table = get("NOTES_TABLE").unwrap_or_else(|| DEFAULT_TABLE.to_owned());
        if !valid_table_name(&table) {
            return Err(ConfigError::Invalid {
                name: "NOTES_TABLE",
                value: table,
                expected: "a DynamoDB table name (3 to 255 of a-z, A-Z, 0-9, `_`, `-`, `.`)",
            });
        }
        Ok(Config { table })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn table_defaults_to_the_tutorials_name() {
        assert_eq!(Config::from_env(|_| None).unwrap().table, "notesTable");
        let set = Config::from_env(|k| (k == "NOTES_TABLE").then(|| "notes-dev".to_owned())).unwrap();
        assert_eq!(set.table, "notes-dev");
    }

    #[test]
    fn bad_table_names_are_reported_by_variable() {
        for bad in ["", "ab", "notes table", "notes/table"] {
            let e = Config::from_env(|_| Some(bad.to_owned())).unwrap_err();
            assert!(e.to_string().contains("NOTES_TABLE"), "{e}");
        }
    }
}
