//! cutover's own files, which it writes: the rehearsal history ([`history`]) and the SQLite
//! fixtures that `cutover demo` and the tests build ([`fixtures`]). Neither is ever a checked
//! database: every checked side goes through the read-only connectors of `cutover-source`.

pub mod fixtures;
pub mod history;

/// A failure of cutover's own files.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be opened or created.
    #[error("cannot open {path}: {message}")]
    Open {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The file exists, and fixtures are only built into new files.
    #[error("{path} already exists")]
    Exists {
        /// The file.
        path: String,
    },
    /// A statement failed.
    #[error("{message}\n  while running: {sql}")]
    Query {
        /// The statement.
        sql: String,
        /// The message.
        message: String,
    },
    /// No runtime could be started.
    #[error(transparent)]
    Runtime(#[from] cutover_source::SourceError),
}

impl StoreError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<&str> {
        match self {
            StoreError::Exists { .. } => {
                Some("choose an empty folder; fixtures are only built into new files")
            }
            StoreError::Open { .. } => Some("check the path and that its folder is writable"),
            _ => None,
        }
    }
}

fn query_error(sql: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Query {
        sql: sql.to_string(),
        message: e.to_string(),
    }
}
