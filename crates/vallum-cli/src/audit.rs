//! The audit options of the scan commands and `vallum audit verify`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use vallum::{Guard, Verdict};
use vallum_audit::{AuditConfig, AuditKey, AuditSink, AuditedGuard, Fsync};

use crate::Failure;

/// Recording decisions in an audit log (for `scan`, `scan-jsonl` and `scan-parquet`).
#[derive(Args)]
#[allow(clippy::struct_field_names)] // the fields are the `--audit-*` flags
pub(crate) struct AuditArgs {
    /// Append one hash-chained record per scan decision to this log.
    #[arg(long, global = true, value_name = "FILE", requires = "audit_key_file")]
    audit_log: Option<PathBuf>,
    /// The key of the input hashes (at least 16 bytes; trailing whitespace ignored).
    #[arg(long, global = true, value_name = "FILE")]
    audit_key_file: Option<PathBuf>,
    /// When records reach the disk: `always` (before each decision is returned), `batch`
    /// (every 64 records or 1 s) or `never` (left to the operating system).
    #[arg(long, global = true, value_name = "MODE", default_value = "batch")]
    audit_fsync: String,
    /// Rotate the log once it reaches this many bytes.
    #[arg(long, global = true, value_name = "BYTES")]
    audit_rotate_bytes: Option<u64>,
}

impl AuditArgs {
    /// The audited guard, when a log is asked for.
    pub(crate) fn open(&self, guard: &Guard) -> Result<Option<AuditedGuard>, Failure> {
        let Some(path) = &self.audit_log else {
            return Ok(None);
        };
        let key_file = self
            .audit_key_file
            .as_ref()
            .ok_or_else(|| Failure("--audit-log needs --audit-key-file".into()))?;
        let key = AuditKey::from_file(key_file)?;
        let mut config = AuditConfig::new(path).fsync(self.audit_fsync.parse::<Fsync>()?);
        if let Some(n) = self.audit_rotate_bytes {
            config = config.rotate_bytes(n);
        }
        let sink = AuditSink::open(config, key)?;
        Ok(Some(AuditedGuard::new(guard.clone(), sink)))
    }
}

/// `vallum audit ...`
#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Check a log: every record's hash, the chain, the sequence numbers and the line
    /// ends. Prints each break (file:line, seq, edited/deleted/reordered/truncated/...)
    /// and exits 1 when there is one.
    Verify {
        /// The log's files, oldest first (rotated files, then the current one).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also check the rotated files of each FILE (`FILE.000001`, ...), before it.
        #[arg(long)]
        rotated: bool,
        /// The hash of a record that must be in the log (a head hash kept from an earlier
        /// check): catches records cut from the end and rewritten chains.
        #[arg(long, value_name = "HASH")]
        anchor: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(cmd: AuditCommand) -> Result<Verdict, Failure> {
    match cmd {
        AuditCommand::Verify {
            files,
            rotated,
            anchor,
            json,
        } => {
            let mut all = Vec::new();
            for f in files {
                if rotated {
                    all.extend(vallum_audit::rotated_files(&f)?);
                }
                all.push(f);
            }
            let v = vallum_audit::verify(&all, anchor.as_deref())?;
            if json {
                let problems: Vec<serde_json::Value> = v
                    .problems
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "file": p.file,
                            "line": p.line,
                            "seq": p.seq,
                            "kind": p.kind.as_str(),
                            "message": p.message,
                        })
                    })
                    .collect();
                let out = serde_json::json!({
                    "intact": v.is_intact(),
                    "files": v.files,
                    "lines": v.lines,
                    "records": v.records,
                    "first_seq": v.first_seq,
                    "last_seq": v.last_seq,
                    "head": v.head,
                    "anchored": v.anchored,
                    "starts_after": v.starts_after,
                    "problems": problems,
                });
                println!("{out}");
            } else {
                println!("{v}");
            }
            // A broken log is a finding about the log: exit 1, like a flagged scan.
            Ok(if v.is_intact() {
                Verdict::Allow
            } else {
                Verdict::Block
            })
        }
    }
}
