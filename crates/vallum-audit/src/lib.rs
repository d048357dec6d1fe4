//! # vallum-audit
//!
//! A tamper-evident audit log for [Vallum](vallum) guards: one JSON line per scan decision
//! (time, policy hash, classifier model hash, direction, verdict, findings as
//! category/kind/span/score, and an HMAC-SHA-256 of the input under a key you supply:
//! never the text, never a matched secret). Each line ends with the SHA-256 of its own
//! contents and names the hash of the line before it, so an edited, removed, moved or cut
//! record breaks the chain; [`verify()`] says where.
//!
//! ```
//! use vallum_audit::{AuditConfig, AuditKey, AuditSink, AuditedGuard, Fsync, verify};
//!
//! let dir = std::env::temp_dir().join(format!("vallum-audit-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("audit.jsonl");
//! # let _ = std::fs::remove_file(&path);
//! let key = AuditKey::new(*b"a key of sixteen bytes or more!!")?;
//! let sink = AuditSink::open(AuditConfig::new(&path).fsync(Fsync::Always), key)?;
//! let guard = AuditedGuard::new(vallum::Guard::new()?, sink);
//!
//! let report = guard.scan_input("mail me at jane@example.org")?;
//! assert_eq!(report.verdict, vallum::Verdict::Flag);
//!
//! let check = verify(&[&path], None)?;
//! assert!(check.is_intact(), "{check}");
//! assert_eq!(check.records, 1);
//! let log = std::fs::read_to_string(&path)?;
//! assert!(!log.contains("jane"));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Format
//!
//! Every file starts with a header line (`"type":"header"`, the format version, the key
//! id); every other line is a `"type":"scan"` record. All lines carry `seq` (one more than
//! the line before, across rotated files), `time` (RFC 3339, UTC), `prev` (the `hash` of
//! the line before; 64 zeros for the first header of a log) and, last, `hash`: the SHA-256
//! of the line's bytes up to the `,"hash"` field, closed with `}`.
//!
//! ## Durability and concurrency
//!
//! See [`Fsync`] for what reaches the disk when. Threads share an [`AuditSink`] (one
//! mutex); processes share the file through an advisory lock on `.NAME.lock` beside it:
//! each append takes the lock, re-reads the last record if another process wrote since,
//! chains to it, writes, and unlocks. Rotation by size renames the file to `NAME.000001`,
//! `NAME.000002`, ... and the new file's header chains to the old file's last record.
//!
//! ## What the chain proves
//!
//! SHA-256 is unkeyed, so anyone who can write the file can also rewrite the whole chain
//! after the point they changed. Keep the head hash that [`verify()`] reports somewhere the
//! writer cannot reach (a ticket, another host) and pass it as the anchor of later
//! checks: then a rewrite, and records cut from the end, are detected too.
#![deny(missing_docs)]

mod error;
mod guard;
mod record;
mod sink;
mod verify;

pub use error::{AuditError, AuditedScanError};
pub use guard::AuditedGuard;
pub use record::{
    AuditKey, AuditRecord, Decision, FORMAT_VERSION, FindingRecord, GENESIS, InputRecord,
    MIN_KEY_BYTES, policy_hash,
};
pub use sink::{AuditConfig, AuditSink, Fsync, rotated_files};
pub use verify::{Problem, ProblemKind, Verification, verify};
