//! `AuditedGuard`: a guard whose every decision is recorded before it is returned.

use std::sync::Arc;

use vallum::{Direction, Guard, Report};

use crate::error::{AuditError, AuditedScanError};
use crate::record::{Decision, policy_hash};
use crate::sink::AuditSink;

/// A [`Guard`] that appends one record per scan to an [`AuditSink`] before it returns the
/// report. A report whose record could not be written is not returned
/// ([`AuditedScanError::Audit`]): no decision takes effect unrecorded.
///
/// Cheap to clone; clones share the guard and the sink.
#[derive(Clone, Debug)]
pub struct AuditedGuard {
    guard: Guard,
    sink: Arc<AuditSink>,
    policy_hash: Arc<str>,
}

impl AuditedGuard {
    /// Records `guard`'s decisions in `sink`.
    pub fn new(guard: Guard, sink: AuditSink) -> AuditedGuard {
        AuditedGuard::with_shared_sink(guard, Arc::new(sink))
    }

    /// Records `guard`'s decisions in a sink shared with other guards.
    pub fn with_shared_sink(guard: Guard, sink: Arc<AuditSink>) -> AuditedGuard {
        let policy_hash = policy_hash(guard.policy()).into();
        AuditedGuard {
            guard,
            sink,
            policy_hash,
        }
    }

    /// The guard that decides.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The sink that records.
    pub fn sink(&self) -> &Arc<AuditSink> {
        &self.sink
    }

    /// The policy hash its records carry.
    pub fn policy_hash(&self) -> &str {
        &self.policy_hash
    }

    /// [`Guard::scan_input`], recorded.
    pub fn scan_input(&self, text: &str) -> Result<Report, AuditedScanError> {
        self.scan(text, Direction::Input, None)
    }

    /// [`Guard::scan_output`], recorded.
    pub fn scan_output(
        &self,
        text: &str,
        prompt: Option<&str>,
    ) -> Result<Report, AuditedScanError> {
        self.scan(text, Direction::Output, prompt)
    }

    /// [`Guard::scan`], recorded.
    pub fn scan(
        &self,
        text: &str,
        direction: Direction,
        prompt: Option<&str>,
    ) -> Result<Report, AuditedScanError> {
        let report = self.guard.scan(text, direction, prompt)?;
        self.record(&[(text, &report)], direction)?;
        Ok(report)
    }

    /// [`Guard::scan_batch`], recorded: one record per text, in order, written together.
    pub fn scan_batch(
        &self,
        texts: &[&str],
        direction: Direction,
    ) -> Result<Vec<Report>, AuditedScanError> {
        let reports = self.guard.scan_batch(texts, direction)?;
        let pairs: Vec<(&str, &Report)> = texts.iter().copied().zip(&reports).collect();
        self.record(&pairs, direction)?;
        Ok(reports)
    }

    /// Records decisions made elsewhere with this guard (e.g. by a pipeline that scans on
    /// worker threads and records in order); returns the last record's sequence number.
    pub fn record(
        &self,
        decisions: &[(&str, &Report)],
        direction: Direction,
    ) -> Result<u64, AuditError> {
        let model_hash = self.guard.model_sha256();
        let decisions: Vec<Decision<'_>> = decisions
            .iter()
            .map(|&(text, report)| Decision {
                text,
                direction,
                report,
                policy_hash: &self.policy_hash,
                model_hash,
            })
            .collect();
        self.sink.append(&decisions)
    }
}
