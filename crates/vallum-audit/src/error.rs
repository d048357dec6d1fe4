//! The errors of the audit log.

use std::path::PathBuf;

/// Why a record could not be written or a log could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Reading or writing a file failed.
    #[error("audit log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The log's last line is not a complete record, so nothing can be chained to it.
    /// Run `vallum audit verify` on it; a new log must be started elsewhere.
    #[error("audit log {path}: cannot append: {message}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with its end.
        message: String,
    },
    /// The key is unusable (too short, unreadable). The message never holds key material.
    #[error("audit key: {0}")]
    Key(String),
    /// A setting is out of range.
    #[error("audit settings: {0}")]
    Config(String),
}

impl AuditError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> AuditError {
        AuditError::Io {
            path: path.into(),
            source,
        }
    }
}

/// An audited scan failed: the scan itself, or recording its decision.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditedScanError {
    /// The guard refused the input (nothing was recorded).
    #[error(transparent)]
    Scan(#[from] vallum::ScanError),
    /// The decision was made but could not be recorded; the report is withheld, since an
    /// unrecorded decision must not take effect.
    #[error(transparent)]
    Audit(#[from] AuditError),
}
