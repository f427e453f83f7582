//! The CLI's two kinds of failure, and their exit codes.

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// A file or argument is unusable (not found, not JSON, not a component of
    /// our world...): one line on stderr, exit code 2.
    BadInput(String),
    /// The command ran and failed (build failed, AWS call failed...): exit code 1.
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError::Failed(e)
    }
}

/// Shorthand for a [`CliError::BadInput`].
pub fn bad_input(message: impl Into<String>) -> CliError {
    CliError::BadInput(message.into())
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::BadInput(message) => f.write_str(message),
            CliError::Failed(error) => write!(f, "{error:#}"),
        }
    }
}
