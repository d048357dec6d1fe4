//! Checking a log: every record's own hash, the chain of `prev` hashes, the sequence
//! numbers, the headers and the line ends, across rotated files.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::error::AuditError;
use crate::record::{AuditRecord, GENESIS, check_seal};

/// What is wrong at one place of a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A record's contents do not match its own hash: it was changed after it was written.
    Edited,
    /// Sequence numbers skip, and the missing records are nowhere in the log.
    Deleted,
    /// A record is not where its sequence number puts it (moved, or copied).
    Reordered,
    /// The last line of a file is cut short, or a file is empty.
    Truncated,
    /// A record names a `prev` hash other than the hash of the record before it: that
    /// record was replaced by one with a recomputed hash, or the chain was rewritten.
    BrokenChain,
    /// A file does not begin with its header (its first lines were removed), or a header
    /// stands inside a file.
    MissingHeader,
    /// A line is not an audit record at all.
    Damaged,
    /// The record the caller anchored the log to (a hash kept elsewhere) is not in it:
    /// records were removed from the end, or the log was rewritten.
    AnchorMissing,
}

impl ProblemKind {
    /// A one-word name: `edited`, `deleted`, `reordered`, `truncated`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Edited => "edited",
            ProblemKind::Deleted => "deleted",
            ProblemKind::Reordered => "reordered",
            ProblemKind::Truncated => "truncated",
            ProblemKind::BrokenChain => "broken-chain",
            ProblemKind::MissingHeader => "missing-header",
            ProblemKind::Damaged => "damaged",
            ProblemKind::AnchorMissing => "anchor-missing",
        }
    }
}

/// One break in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// The 1-based line where it shows (for [`ProblemKind::AnchorMissing`], the last line).
    pub line: u64,
    /// The sequence number that line holds, when it holds one.
    pub seq: Option<u64>,
    /// What kind of break.
    pub kind: ProblemKind,
    /// What exactly, in words.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)?;
        if let Some(seq) = self.seq {
            write!(f, " (seq {seq})")?;
        }
        write!(f, ": {}: {}", self.kind.as_str(), self.message)
    }
}

/// The outcome of [`verify`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verification {
    /// Files read.
    pub files: usize,
    /// Lines read.
    pub lines: u64,
    /// Scan records (decisions) in the chain.
    pub records: u64,
    /// The first sequence number.
    pub first_seq: Option<u64>,
    /// The last sequence number of the chain.
    pub last_seq: Option<u64>,
    /// The hash of the last record of the chain: keep it elsewhere and pass it as the
    /// anchor of a later check to detect records removed from the end.
    pub head: Option<String>,
    /// Whether the first file starts the log (its header chains to [`GENESIS`]); when not,
    /// the hash it chains to is in `starts_after` (pass the rotated files before it to
    /// check that link).
    pub anchored: bool,
    /// The hash the first record chains to when the log starts in a file not given.
    pub starts_after: Option<String>,
    /// Every break found, in file order.
    pub problems: Vec<Problem>,
}

impl Verification {
    /// Whether no problem was found.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            writeln!(f, "{p}")?;
        }
        let state = if self.is_intact() { "intact" } else { "BROKEN" };
        write!(
            f,
            "{state}: {} file(s), {} line(s), {} scan record(s)",
            self.files, self.lines, self.records
        )?;
        if let (Some(a), Some(b)) = (self.first_seq, self.last_seq) {
            write!(f, ", seq {a}..={b}")?;
        }
        if let Some(h) = &self.head {
            write!(f, ", head {h}")?;
        }
        if let Some(p) = &self.starts_after {
            write!(f, "; starts after {p} (a predecessor not given)")?;
        }
        if !self.problems.is_empty() {
            write!(f, "; {} problem(s)", self.problems.len())?;
        }
        Ok(())
    }
}

/// Calls `each(line_number, line_without_newline, complete)` for every line of a file.
fn for_each_line(path: &Path, mut each: impl FnMut(u64, &[u8], bool)) -> Result<u64, AuditError> {
    let file = File::open(path).map_err(|e| AuditError::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        let read = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| AuditError::io(path, e))?;
        if read == 0 {
            return Ok(n);
        }
        n += 1;
        let complete = buf.last() == Some(&b'\n');
        let line = if complete {
            &buf[..buf.len() - 1]
        } else {
            &buf[..]
        };
        each(n, line, complete);
    }
}

struct Walker<'a> {
    /// Every sequence number in the files, sorted: tells a moved record from a deleted one.
    seqs: Vec<u64>,
    anchor: Option<&'a str>,
    anchor_found: bool,
    /// The seq and hash the next record must have.
    expected: Option<(u64, String)>,
    v: Verification,
}

impl Walker<'_> {
    fn problem(
        &mut self,
        file: &Path,
        line: u64,
        seq: Option<u64>,
        kind: ProblemKind,
        message: String,
    ) {
        self.v.problems.push(Problem {
            file: file.to_owned(),
            line,
            seq,
            kind,
            message,
        });
    }

    /// Whether any seq in `range` occurs somewhere in the files.
    fn occurs(&self, range: std::ops::Range<u64>) -> bool {
        let i = self.seqs.partition_point(|&s| s < range.start);
        self.seqs.get(i).is_some_and(|&s| s < range.end)
    }

    fn line(
        &mut self,
        file: &Path,
        previous_file: Option<&Path>,
        ln: u64,
        line: &[u8],
        complete: bool,
    ) {
        self.v.lines += 1;
        if !complete {
            self.problem(
                file,
                ln,
                None,
                ProblemKind::Truncated,
                format!(
                    "the last line is cut short ({} bytes, no line end): the file was truncated \
                     or a write was interrupted",
                    line.len()
                ),
            );
            return;
        }
        let record = match AuditRecord::parse(line) {
            Ok(r) => r,
            Err(e) => {
                self.problem(
                    file,
                    ln,
                    None,
                    ProblemKind::Damaged,
                    format!("not an audit record ({e})"),
                );
                return;
            }
        };
        let seq = Some(record.seq);
        match check_seal(line) {
            None => self.problem(
                file,
                ln,
                seq,
                ProblemKind::Edited,
                "the record's hash field was removed or altered".into(),
            ),
            Some((stated, computed)) if stated != computed => self.problem(
                file,
                ln,
                seq,
                ProblemKind::Edited,
                "the record's contents do not match its hash: it was changed after it was written"
                    .into(),
            ),
            Some(_) => {}
        }
        let is_header = record.kind == "header";
        if ln == 1 && !is_header {
            self.problem(
                file,
                ln,
                seq,
                ProblemKind::MissingHeader,
                "the file does not start with its header: its first lines were removed".into(),
            );
        } else if ln > 1 && is_header {
            self.problem(
                file,
                ln,
                seq,
                ProblemKind::MissingHeader,
                "a header inside the file: lines of another file were moved here".into(),
            );
        } else if !is_header && record.kind != "scan" {
            self.problem(
                file,
                ln,
                seq,
                ProblemKind::Damaged,
                format!("unknown record type `{}`", record.kind),
            );
        }
        let Some((want_seq, want_prev)) = self.expected.clone() else {
            // The first record read starts the chain.
            if is_header && record.seq == 0 && record.prev == GENESIS {
                self.v.anchored = true;
            } else {
                self.v.starts_after = Some(record.prev.clone());
            }
            self.v.first_seq = seq;
            self.accept(&record);
            return;
        };
        let boundary = match previous_file {
            Some(p) if ln == 1 => format!(" at the end of {} or", p.display()),
            _ => String::new(),
        };
        match record.seq.cmp(&want_seq) {
            std::cmp::Ordering::Equal => {
                if record.prev != want_prev {
                    let message = if ln == 1 && previous_file.is_some() {
                        format!(
                            "does not chain to the last record of {}: the files are not consecutive, \
                         or that record was replaced",
                            previous_file.unwrap_or(file).display()
                        )
                    } else {
                        format!(
                            "does not chain to the record before it (seq {}): that record was \
                         replaced by one with a recomputed hash, or the chain was rewritten",
                            want_seq.saturating_sub(1)
                        )
                    };
                    self.problem(file, ln, seq, ProblemKind::BrokenChain, message);
                }
                self.accept(&record);
            }
            std::cmp::Ordering::Greater => {
                if self.occurs(want_seq..record.seq) {
                    self.problem(
                        file,
                        ln,
                        seq,
                        ProblemKind::Reordered,
                        format!(
                            "holds seq {} where seq {want_seq} was expected; seq {want_seq} stands \
                         later in the log: records were moved",
                            record.seq
                        ),
                    );
                } else {
                    let n = record.seq - want_seq;
                    let range = if n == 1 {
                        format!("seq {want_seq}")
                    } else {
                        format!("seq {want_seq}..={}", record.seq - 1)
                    };
                    self.problem(
                        file,
                        ln,
                        seq,
                        ProblemKind::Deleted,
                        format!("{n} record(s) ({range}) deleted{boundary} before this line"),
                    );
                }
                self.accept(&record);
            }
            std::cmp::Ordering::Less => {
                self.problem(
                    file,
                    ln,
                    seq,
                    ProblemKind::Reordered,
                    format!(
                        "seq {} comes after seq {}: records were moved or copied",
                        record.seq,
                        want_seq - 1
                    ),
                );
            }
        }
    }

    fn accept(&mut self, record: &AuditRecord) {
        self.expected = Some((record.seq + 1, record.hash.clone()));
        self.v.last_seq = Some(record.seq);
        self.v.head = Some(record.hash.clone());
        if record.kind == "scan" {
            self.v.records += 1;
        }
        if self
            .anchor
            .is_some_and(|a| a.eq_ignore_ascii_case(&record.hash))
        {
            self.anchor_found = true;
        }
    }
}

/// Checks a log given as its files in order, oldest first (the rotated files from
/// [`crate::rotated_files`], then the current one), and reports every break it finds
/// with the file, line, sequence number and what happened there.
///
/// `anchor` is the hash of a record known to belong to the log (a head hash from an earlier
/// check, kept elsewhere). The chain alone cannot tell a log whose last records were cut
/// off from a shorter log; an anchor can.
pub fn verify<P: AsRef<Path>>(
    files: &[P],
    anchor: Option<&str>,
) -> Result<Verification, AuditError> {
    let mut seqs = Vec::new();
    for f in files {
        for_each_line(f.as_ref(), |_, line, complete| {
            if complete && let Ok(r) = AuditRecord::parse(line) {
                seqs.push(r.seq);
            }
        })?;
    }
    seqs.sort_unstable();
    let mut walker = Walker {
        seqs,
        anchor,
        anchor_found: false,
        expected: None,
        v: Verification {
            files: files.len(),
            ..Verification::default()
        },
    };
    let mut previous: Option<&Path> = None;
    let mut last_lines = 0;
    for f in files {
        let path = f.as_ref();
        let lines = for_each_line(path, |ln, line, complete| {
            walker.line(path, previous, ln, line, complete);
        })?;
        if lines == 0 {
            walker.problem(
                path,
                0,
                None,
                ProblemKind::Truncated,
                "the file is empty: even its header was removed".into(),
            );
        }
        previous = Some(path);
        last_lines = lines;
    }
    if let Some(a) = anchor
        && !walker.anchor_found
    {
        let last = files
            .last()
            .map(|f| f.as_ref().to_owned())
            .unwrap_or_default();
        walker.problem(
            &last,
            last_lines,
            walker.v.last_seq,
            ProblemKind::AnchorMissing,
            format!(
                "the anchored record {a} is not in the log: records were removed from its end, \
                 or it was rewritten"
            ),
        );
    }
    Ok(walker.v)
}
