//! Scanning datasets (JSONL and Parquet) with bounded memory on every core.
//!
//! One reader thread cuts the input into chunks of rows; a pool of workers scans them and
//! renders each chunk's output; the main thread writes the chunks back in input order,
//! keeps the summary, records audit entries and writes checkpoints. A fixed number of
//! permits bounds the chunks in flight (read but not yet written), so memory stays
//! bounded however slow one chunk is.
//!
//! A checkpoint names the input position just past the last row whose output is written
//! and flushed (a byte offset for JSONL, row group and row for Parquet), the output's
//! length at that point, and the summary so far. `--resume` truncates the output to that
//! length and reads on from that position: no row is lost or written twice.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{ByteArray, ByteArrayType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use vallum::{Direction, Finding, Guard, Report, Verdict};
use vallum_audit::AuditedGuard;

use crate::Failure;

/// The input format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Format {
    Jsonl,
    Parquet,
}

/// How a dataset is scanned.
pub(crate) struct Options {
    pub input: PathBuf,
    pub format: Format,
    /// The JSON field or Parquet column holding the text.
    pub field: String,
    pub direction: Direction,
    pub only_findings: bool,
    /// Rows per chunk.
    pub batch: usize,
    pub threads: usize,
    pub progress: bool,
    pub out: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub checkpoint: Option<PathBuf>,
    pub resume: bool,
    /// Write a checkpoint at least this often (rows), and at least every 5 s.
    pub checkpoint_rows: u64,
    /// Stop after this many rows (a checkpoint lets `--resume` go on from there).
    pub limit: Option<u64>,
}

/// Where the reader stands: just past the last row it handed out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Position {
    /// JSONL: bytes of input consumed.
    pub offset: u64,
    /// JSONL: lines consumed.
    pub line: u64,
    /// Parquet: the row group being read, and the row inside it.
    pub row_group: usize,
    pub row_in_group: u64,
    /// Rows handed out (non-blank JSONL lines, or Parquet rows).
    pub rows: u64,
}

/// Counts over the rows scanned.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Summary {
    pub rows: u64,
    pub allow: u64,
    pub flag: u64,
    pub block: u64,
    /// Rows that could not be scanned (not JSON, no such field, not text, too large).
    pub errors: u64,
    /// Parquet rows whose value is null (not scanned).
    pub nulls: u64,
    pub findings: u64,
    pub by_category: BTreeMap<String, u64>,
    /// Per `category.kind`.
    pub by_kind: BTreeMap<String, u64>,
    /// Bytes of text scanned.
    pub text_bytes: u64,
}

impl Summary {
    fn add_report(&mut self, report: &Report, text_len: usize) {
        self.rows += 1;
        self.text_bytes += text_len as u64;
        match report.verdict {
            Verdict::Allow => self.allow += 1,
            Verdict::Flag => self.flag += 1,
            Verdict::Block => self.block += 1,
        }
        for f in &report.findings {
            self.findings += 1;
            *self
                .by_category
                .entry(f.category.as_str().to_owned())
                .or_default() += 1;
            *self
                .by_kind
                .entry(format!("{}.{}", f.category, f.kind))
                .or_default() += 1;
        }
    }

    fn merge(&mut self, o: &Summary) {
        self.rows += o.rows;
        self.allow += o.allow;
        self.flag += o.flag;
        self.block += o.block;
        self.errors += o.errors;
        self.nulls += o.nulls;
        self.findings += o.findings;
        self.text_bytes += o.text_bytes;
        for (k, v) in &o.by_category {
            *self.by_category.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.by_kind {
            *self.by_kind.entry(k.clone()).or_default() += v;
        }
    }

    pub(crate) fn verdict(&self) -> Verdict {
        if self.block > 0 {
            Verdict::Block
        } else if self.flag > 0 {
            Verdict::Flag
        } else {
            Verdict::Allow
        }
    }
}

/// What a checkpoint file holds.
#[derive(Debug, Serialize, Deserialize)]
struct Checkpoint {
    version: u32,
    format: Format,
    input: PathBuf,
    input_len: u64,
    input_modified_ns: Option<u128>,
    /// Everything that changes the output: field, direction, filter, policy hash.
    settings: String,
    position: Position,
    output_len: u64,
    summary: Summary,
    /// Whether the whole input was scanned.
    complete: bool,
}

const CHECKPOINT_VERSION: u32 = 1;

/// A chunk of rows the reader hands to the workers.
struct Chunk {
    index: u64,
    rows: Rows,
    /// The position just past its last row.
    end: Position,
    /// Input bytes it covers (JSONL), for the progress bar.
    bytes: u64,
}

enum Rows {
    /// Whole lines (each ending in `\n`, except perhaps the input's last), the first being
    /// line `first_line` (1-based).
    Lines { data: Vec<u8>, first_line: u64 },
    /// Column values (`None` for null), the first being row `first_row` (0-based).
    Values {
        values: Vec<Option<ByteArray>>,
        first_row: u64,
    },
}

/// A scanned chunk, rendered.
struct Done {
    index: u64,
    out: Vec<u8>,
    summary: Summary,
    end: Position,
    bytes: u64,
    /// For the audit log: each scanned text and its report, in order.
    decisions: Vec<(String, Report)>,
}

/// One line of the output.
#[derive(Serialize)]
struct Record<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<u64>,
    verdict: Verdict,
    score: f32,
    findings: &'a [Finding],
}

#[derive(Serialize)]
struct ErrorRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<u64>,
    error: &'a str,
}

#[derive(Serialize)]
struct NullRecord {
    row: u64,
    null: bool,
}

/// The input's length and modification time, which a checkpoint pins.
fn input_identity(path: &Path) -> Result<(u64, Option<u128>), Failure> {
    let m = std::fs::metadata(path)
        .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
    let modified = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos());
    Ok((m.len(), modified))
}

fn settings_fingerprint(opts: &Options, guard: &Guard) -> String {
    format!(
        "field={:?};direction={};only_findings={};policy={}",
        opts.field,
        opts.direction.as_str(),
        opts.only_findings,
        vallum_audit::policy_hash(guard.policy())
    )
}

fn read_checkpoint(path: &Path) -> Result<Checkpoint, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure(format!(
            "cannot resume: no checkpoint at {} ({e})",
            path.display()
        ))
    })?;
    let cp: Checkpoint = serde_json::from_str(&text)
        .map_err(|e| Failure(format!("checkpoint {} is unreadable: {e}", path.display())))?;
    if cp.version != CHECKPOINT_VERSION {
        return Err(Failure(format!(
            "checkpoint {} has version {}, expected {CHECKPOINT_VERSION}",
            path.display(),
            cp.version
        )));
    }
    Ok(cp)
}

/// Writes the checkpoint atomically (a temporary file renamed over it).
fn write_checkpoint(path: &Path, cp: &Checkpoint) -> Result<(), Failure> {
    let tmp = path.with_extension("checkpoint.tmp");
    let mut f =
        File::create(&tmp).map_err(|e| Failure(format!("cannot write {}: {e}", tmp.display())))?;
    serde_json::to_writer(&mut f, cp)?;
    f.write_all(b"\n")?;
    f.sync_data()?;
    std::fs::rename(&tmp, path)
        .map_err(|e| Failure(format!("cannot write {}: {e}", path.display())))?;
    Ok(())
}

/// The reader's side: hands out chunks until the input (or the row limit) ends.
#[allow(clippy::large_enum_variant)] // one per run
enum Source {
    Jsonl {
        reader: BufReader<File>,
    },
    Parquet {
        file: Arc<SerializedFileReader<File>>,
        column: usize,
        column_reader: Option<ColumnReaderImpl<ByteArrayType>>,
    },
}

/// Bytes per JSONL chunk at most (a chunk ends at the first line end past it).
const CHUNK_BYTES: usize = 4 << 20;

impl Source {
    fn open(opts: &Options, at: &Position) -> Result<Source, Failure> {
        let path = &opts.input;
        let file = File::open(path)
            .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
        match opts.format {
            Format::Jsonl => {
                let mut reader = BufReader::with_capacity(1 << 20, file);
                reader.seek(SeekFrom::Start(at.offset))?;
                Ok(Source::Jsonl { reader })
            }
            Format::Parquet => {
                let file = SerializedFileReader::new(file)
                    .map_err(|e| Failure(format!("{}: not a Parquet file: {e}", path.display())))?;
                let schema = file.metadata().file_metadata().schema_descr();
                let column = (0..schema.num_columns())
                    .find(|&i| schema.column(i).path().string() == opts.field)
                    .ok_or_else(|| {
                        let names: Vec<String> = (0..schema.num_columns())
                            .map(|i| schema.column(i).path().string())
                            .collect();
                        Failure(format!(
                            "{}: no column `{}` (columns: {})",
                            path.display(),
                            opts.field,
                            names.join(", ")
                        ))
                    })?;
                let descr = schema.column(column);
                if descr.physical_type() != parquet::basic::Type::BYTE_ARRAY
                    || descr.max_rep_level() > 0
                {
                    return Err(Failure(format!(
                        "{}: column `{}` is not a string column (it is {}{})",
                        path.display(),
                        opts.field,
                        descr.physical_type(),
                        if descr.max_rep_level() > 0 {
                            ", repeated"
                        } else {
                            ""
                        }
                    )));
                }
                Ok(Source::Parquet {
                    file: Arc::new(file),
                    column,
                    column_reader: None,
                })
            }
        }
    }

    /// Total work for the progress bar: bytes (JSONL) or rows (Parquet).
    fn total(&self, input_len: u64) -> u64 {
        match self {
            Source::Jsonl { .. } => input_len,
            Source::Parquet { file, .. } => file
                .metadata()
                .row_groups()
                .iter()
                .map(|g| g.num_rows().max(0) as u64)
                .sum(),
        }
    }

    /// The next chunk of at most `max_rows` rows, advancing `pos`; `None` at the end.
    fn next(
        &mut self,
        pos: &mut Position,
        max_rows: usize,
    ) -> Result<Option<(Rows, u64)>, Failure> {
        match self {
            Source::Jsonl { reader } => {
                let first_line = pos.line + 1;
                let mut data = Vec::new();
                let mut rows = 0;
                let start = pos.offset;
                while rows < max_rows && data.len() < CHUNK_BYTES {
                    let before = data.len();
                    let n = reader.read_until(b'\n', &mut data)?;
                    if n == 0 {
                        break;
                    }
                    pos.offset += n as u64;
                    pos.line += 1;
                    if !data[before..].iter().all(u8::is_ascii_whitespace) {
                        rows += 1;
                    }
                }
                pos.rows += rows as u64;
                if data.is_empty() {
                    return Ok(None);
                }
                Ok(Some((Rows::Lines { data, first_line }, pos.offset - start)))
            }
            Source::Parquet {
                file,
                column,
                column_reader,
            } => loop {
                if pos.row_group >= file.num_row_groups() {
                    return Ok(None);
                }
                let group_rows = file.metadata().row_group(pos.row_group).num_rows().max(0) as u64;
                if column_reader.is_none() {
                    let group = file.get_row_group(pos.row_group)?;
                    let ColumnReader::ByteArrayColumnReader(mut r) =
                        group.get_column_reader(*column)?
                    else {
                        return Err(Failure("the text column is not a byte-array column".into()));
                    };
                    if pos.row_in_group > 0 {
                        let skipped = r.skip_records(pos.row_in_group as usize)?;
                        if skipped as u64 != pos.row_in_group {
                            return Err(Failure(format!(
                                "row group {} has fewer rows than the checkpoint says",
                                pos.row_group
                            )));
                        }
                    }
                    *column_reader = Some(r);
                }
                let want = max_rows.min((group_rows - pos.row_in_group.min(group_rows)) as usize);
                if want == 0 {
                    pos.row_group += 1;
                    pos.row_in_group = 0;
                    *column_reader = None;
                    continue;
                }
                let reader = column_reader.as_mut().expect("opened above");
                let mut defs: Vec<i16> = Vec::with_capacity(want);
                let mut values: Vec<ByteArray> = Vec::with_capacity(want);
                let (records, _, _) =
                    reader.read_records(want, Some(&mut defs), None, &mut values)?;
                if records == 0 {
                    return Err(Failure(format!(
                        "row group {} ends before its {group_rows} rows",
                        pos.row_group
                    )));
                }
                let nullable = !defs.is_empty();
                let mut it = values.into_iter();
                let rows: Vec<Option<ByteArray>> = if nullable {
                    defs.iter()
                        .take(records)
                        .map(|&d| if d > 0 { it.next() } else { None })
                        .collect()
                } else {
                    it.take(records).map(Some).collect()
                };
                let first_row = pos.rows;
                pos.row_in_group += records as u64;
                pos.rows += records as u64;
                let n = rows.len() as u64;
                return Ok(Some((
                    Rows::Values {
                        values: rows,
                        first_row,
                    },
                    n,
                )));
            },
        }
    }
}

/// The text field of one JSONL line, found without building the whole JSON value.
enum Field<'a> {
    Text(Cow<'a, str>),
    NotText,
    Missing,
}

struct FieldSeed<'f>(&'f str);

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = Field<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Field<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = Field<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field<'de>, A::Error> {
        let mut found = Field::Missing;
        while let Some(key) = map.next_key::<Text<'de>>()? {
            if matches!(found, Field::Missing) && key.0 == self.0 {
                found = map.next_value::<Value<'de>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// A JSON string, borrowed from the line when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The field's value: text, or anything else (consumed and dropped).
struct Value<'a>(Field<'a>);

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Value<'de>, E> {
                Ok(Value(Field::Text(Cow::Borrowed(s))))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value<'de>, E> {
                Ok(Value(Field::Text(Cow::Owned(s.to_owned()))))
            }
            fn visit_string<E>(self, s: String) -> Result<Value<'de>, E> {
                Ok(Value(Field::Text(Cow::Owned(s))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Value<'de>, E> {
                Ok(Value(Field::NotText))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Value<'de>, E> {
                Ok(Value(Field::NotText))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Value<'de>, E> {
                Ok(Value(Field::NotText))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Value<'de>, E> {
                Ok(Value(Field::NotText))
            }
            fn visit_unit<E>(self) -> Result<Value<'de>, E> {
                Ok(Value(Field::NotText))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Value<'de>, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Value(Field::NotText))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut s: A) -> Result<Value<'de>, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Value(Field::NotText))
            }
        }
        d.deserialize_any(V)
    }
}

/// The text of `field` in one JSON line.
fn extract<'a>(line: &'a [u8], field: &str) -> Result<Cow<'a, str>, String> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let found = FieldSeed(field)
        .deserialize(&mut de)
        .and_then(|f| de.end().map(|()| f))
        .map_err(|e| format!("not a JSON object: {e}"))?;
    match found {
        Field::Text(t) => Ok(t),
        Field::NotText => Err(format!("field `{field}` is not a string")),
        Field::Missing => Err(format!("no field `{field}`")),
    }
}

struct Worker<'a> {
    guard: &'a Guard,
    field: &'a str,
    direction: Direction,
    only_findings: bool,
    audit: bool,
}

impl Worker<'_> {
    fn run(&self, chunk: &Chunk) -> Result<Done, Failure> {
        let mut done = Done {
            index: chunk.index,
            out: Vec::new(),
            summary: Summary::default(),
            end: chunk.end,
            bytes: chunk.bytes,
            decisions: Vec::new(),
        };
        match &chunk.rows {
            Rows::Lines { data, first_line } => {
                for (n, raw) in (*first_line..).zip(data.split_inclusive(|&b| b == b'\n')) {
                    let line = raw.strip_suffix(b"\n").unwrap_or(raw);
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let text = extract(line, self.field);
                    self.one(&mut done, Some(n), None, text)?;
                }
            }
            Rows::Values { values, first_row } => {
                for (i, v) in values.iter().enumerate() {
                    let row = first_row + i as u64;
                    match v {
                        None => {
                            done.summary.nulls += 1;
                            if !self.only_findings {
                                serde_json::to_writer(
                                    &mut done.out,
                                    &NullRecord { row, null: true },
                                )?;
                                done.out.push(b'\n');
                            }
                        }
                        Some(b) => {
                            let text = std::str::from_utf8(b.data())
                                .map(Cow::Borrowed)
                                .map_err(|e| format!("not UTF-8: {e}"));
                            self.one(&mut done, None, Some(row), text)?;
                        }
                    }
                }
            }
        }
        Ok(done)
    }

    fn one(
        &self,
        done: &mut Done,
        line: Option<u64>,
        row: Option<u64>,
        text: Result<Cow<'_, str>, String>,
    ) -> Result<(), Failure> {
        let scanned = text.and_then(|t| {
            self.guard
                .scan(&t, self.direction, None)
                .map(|r| (t, r))
                .map_err(|e| e.to_string())
        });
        match scanned {
            Ok((text, report)) => {
                done.summary.add_report(&report, text.len());
                if !self.only_findings || !report.findings.is_empty() {
                    let record = Record {
                        line,
                        row,
                        verdict: report.verdict,
                        score: report.score,
                        findings: &report.findings,
                    };
                    serde_json::to_writer(&mut done.out, &record)?;
                    done.out.push(b'\n');
                }
                if self.audit {
                    done.decisions.push((text.into_owned(), report));
                }
            }
            Err(error) => {
                done.summary.rows += 1;
                done.summary.errors += 1;
                serde_json::to_writer(
                    &mut done.out,
                    &ErrorRecord {
                        line,
                        row,
                        error: &error,
                    },
                )?;
                done.out.push(b'\n');
            }
        }
        Ok(())
    }
}

/// What the command prints and writes at the end.
#[derive(Serialize)]
struct FinalSummary<'a> {
    input: &'a Path,
    format: Format,
    #[serde(flatten)]
    summary: &'a Summary,
    complete: bool,
    /// Rows scanned before this run (from the checkpoint).
    resumed_rows: u64,
    /// This run only.
    seconds: f64,
    rows_per_sec: f64,
    mb_per_sec: f64,
    threads: usize,
}

/// The test hook that simulates a crash: exit abruptly once this many rows are written,
/// after the output (but not necessarily a checkpoint) reached the file.
const CRASH_HOOK: &str = "VALLUM_TEST_CRASH_AFTER_ROWS";

/// Scans a dataset; returns the summary of the whole input so far (including rows done
/// before a resume).
pub(crate) fn scan(
    guard: &Guard,
    audit: Option<&AuditedGuard>,
    opts: &Options,
) -> Result<Summary, Failure> {
    let started = Instant::now();
    let (input_len, input_modified) = input_identity(&opts.input)?;
    let settings = settings_fingerprint(opts, guard);
    let checkpoint_path = opts.checkpoint.clone().or_else(|| {
        opts.out
            .as_ref()
            .map(|o| PathBuf::from(format!("{}.checkpoint", o.display())))
    });
    if opts.resume && opts.out.is_none() {
        return Err(Failure(
            "--resume needs --out (standard output cannot be resumed)".into(),
        ));
    }

    // Where to start, and the output to append to.
    let mut summary = Summary::default();
    let mut start = Position::default();
    let mut output_len = 0;
    if opts.resume {
        let cp_path = checkpoint_path
            .as_ref()
            .expect("--out gives a checkpoint path");
        let cp = read_checkpoint(cp_path)?;
        let mismatch = |what: &str| {
            Failure(format!(
                "cannot resume from {}: the {what} changed since it was written",
                cp_path.display()
            ))
        };
        if cp.format != opts.format || cp.input != opts.input {
            return Err(mismatch("input"));
        }
        if cp.input_len != input_len || cp.input_modified_ns != input_modified {
            return Err(mismatch("input file"));
        }
        if cp.settings != settings {
            return Err(mismatch("field, direction, filter or policy"));
        }
        summary = cp.summary;
        start = cp.position;
        output_len = cp.output_len;
        if cp.complete {
            eprintln!(
                "vallum: {} was already scanned completely",
                opts.input.display()
            );
            return Ok(summary);
        }
    }
    let resumed_rows = start.rows;

    let mut out_file: Option<File> = None;
    let mut writer: Box<dyn Write> = match &opts.out {
        Some(p) => {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(!opts.resume)
                .open(p)
                .map_err(|e| Failure(format!("cannot write {}: {e}", p.display())))?;
            if opts.resume {
                let len = f.metadata()?.len();
                if len < output_len {
                    return Err(Failure(format!(
                        "cannot resume: {} is shorter ({len} bytes) than the checkpoint says \
                         ({output_len} bytes)",
                        p.display()
                    )));
                }
                // Drop whatever was written after the checkpoint.
                f.set_len(output_len)?;
                f.seek(SeekFrom::End(0))?;
            }
            out_file = Some(f.try_clone()?);
            Box::new(BufWriter::with_capacity(1 << 20, f))
        }
        None => Box::new(BufWriter::with_capacity(1 << 20, io::stdout().lock())),
    };

    let mut source = Source::open(opts, &start)?;
    let total = source.total(input_len);
    let bar = progress_bar(opts, total, &start);

    let threads = opts.threads.max(1);
    let in_flight = threads * 4;
    let (permit_tx, permit_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        permit_tx.send(()).expect("the channel holds every permit");
    }
    let (chunk_tx, chunk_rx) = sync_channel::<Chunk>(in_flight);
    // Shared by the workers only: when they are all gone, the reader's sends fail.
    let chunk_rx = Arc::new(Mutex::new(chunk_rx));
    let (done_tx, done_rx) = sync_channel::<Result<Done, Failure>>(in_flight);
    let worker = Worker {
        guard,
        field: &opts.field,
        direction: opts.direction,
        only_findings: opts.only_findings,
        audit: audit.is_some(),
    };
    let crash_after: Option<u64> = std::env::var(CRASH_HOOK).ok().and_then(|v| v.parse().ok());
    let batch = opts.batch.max(1);
    let limit = opts.limit;

    let mut position = start;
    let complete;
    std::thread::scope(|s| -> Result<(), Failure> {
        // The reader.
        let reader_done = done_tx.clone();
        s.spawn(move || {
            let mut pos = start;
            let mut index = 0;
            loop {
                if permit_rx.recv().is_err() {
                    return;
                }
                let max_rows = match limit {
                    Some(l) => {
                        let left = (resumed_rows + l).saturating_sub(pos.rows);
                        if left == 0 {
                            return;
                        }
                        batch.min(usize::try_from(left).unwrap_or(usize::MAX))
                    }
                    None => batch,
                };
                match source.next(&mut pos, max_rows) {
                    Ok(Some((rows, bytes))) => {
                        let chunk = Chunk {
                            index,
                            rows,
                            end: pos,
                            bytes,
                        };
                        index += 1;
                        if chunk_tx.send(chunk).is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        let _ = reader_done.send(Err(e));
                        return;
                    }
                }
            }
        });
        // The workers.
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let chunk_rx = Arc::clone(&chunk_rx);
            let worker = &worker;
            s.spawn(move || {
                loop {
                    let next = chunk_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok(chunk)) = next else { return };
                    if done_tx.send(worker.run(&chunk)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        drop(chunk_rx);

        // The writer: chunks back in order.
        let result = write_in_order(
            &done_rx,
            &permit_tx,
            &mut WriteState {
                writer: &mut writer,
                out_file: out_file.as_ref(),
                format: opts.format,
                summary: &mut summary,
                position: &mut position,
                output_len: &mut output_len,
                audit,
                direction: opts.direction,
                bar: &bar,
                checkpoint: checkpoint_path.as_deref().filter(|_| opts.out.is_some()),
                checkpoint_rows: opts.checkpoint_rows.max(1),
                crash_after,
                rows_this_run: 0,
                make_checkpoint: &|position: Position,
                                   output_len: u64,
                                   summary: &Summary,
                                   complete: bool| {
                    Checkpoint {
                        version: CHECKPOINT_VERSION,
                        format: opts.format,
                        input: opts.input.clone(),
                        input_len,
                        input_modified_ns: input_modified,
                        settings: settings.clone(),
                        position,
                        output_len,
                        summary: summary.clone(),
                        complete,
                    }
                },
            },
        );
        // Stop the reader and the workers whatever happened.
        drop(done_rx);
        drop(permit_tx);
        result
    })?;
    writer.flush()?;
    if let Some(f) = &out_file {
        f.sync_data()?;
    }
    bar.finish_and_clear();
    // The input is complete when the reader stopped at its end rather than at the limit.
    if let Some(cp_path) = checkpoint_path.as_deref().filter(|_| opts.out.is_some()) {
        let reached_limit = limit.is_some_and(|l| position.rows >= resumed_rows + l);
        complete = !reached_limit || at_end(opts, &position, input_len)?;
        let cp = Checkpoint {
            version: CHECKPOINT_VERSION,
            format: opts.format,
            input: opts.input.clone(),
            input_len,
            input_modified_ns: input_modified,
            settings,
            position,
            output_len,
            summary: summary.clone(),
            complete,
        };
        write_checkpoint(cp_path, &cp)?;
    } else {
        complete = limit.is_none_or(|l| position.rows < resumed_rows + l);
    }

    let seconds = started.elapsed().as_secs_f64();
    let rows_run = position.rows - resumed_rows;
    let bytes_run = match opts.format {
        Format::Jsonl => position.offset - start.offset,
        Format::Parquet => summary.text_bytes,
    };
    let fin = FinalSummary {
        input: &opts.input,
        format: opts.format,
        summary: &summary,
        complete,
        resumed_rows,
        seconds,
        rows_per_sec: rows_run as f64 / seconds.max(1e-9),
        mb_per_sec: bytes_run as f64 / 1e6 / seconds.max(1e-9),
        threads,
    };
    let json = serde_json::to_string(&fin)?;
    eprintln!("{json}");
    if let Some(p) = &opts.summary {
        std::fs::write(p, format!("{json}\n"))
            .map_err(|e| Failure(format!("cannot write {}: {e}", p.display())))?;
    }
    Ok(summary)
}

/// Whether `pos` is at the end of the input (so a run that stopped at its row limit
/// happened to finish it).
fn at_end(opts: &Options, pos: &Position, input_len: u64) -> Result<bool, Failure> {
    Ok(match opts.format {
        Format::Jsonl => pos.offset >= input_len,
        Format::Parquet => {
            let file = SerializedFileReader::new(File::open(&opts.input)?)?;
            let total: u64 = file
                .metadata()
                .row_groups()
                .iter()
                .map(|g| g.num_rows().max(0) as u64)
                .sum();
            pos.rows >= total
        }
    })
}

fn progress_bar(opts: &Options, total: u64, start: &Position) -> ProgressBar {
    if !opts.progress {
        return ProgressBar::hidden();
    }
    let (template, done) = match opts.format {
        Format::Jsonl => (
            "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {msg}",
            start.offset,
        ),
        Format::Parquet => (
            "{bar:40} {human_pos}/{human_len} rows {per_sec} eta {eta} {msg}",
            start.rows,
        ),
    };
    let bar = ProgressBar::new(total);
    bar.set_style(ProgressStyle::with_template(template).expect("a valid progress template"));
    bar.set_position(done);
    bar
}

type MakeCheckpoint<'a> = dyn Fn(Position, u64, &Summary, bool) -> Checkpoint + 'a;

struct WriteState<'a> {
    writer: &'a mut Box<dyn Write>,
    /// The output file, to sync before a checkpoint names its length.
    out_file: Option<&'a File>,
    format: Format,
    summary: &'a mut Summary,
    position: &'a mut Position,
    output_len: &'a mut u64,
    audit: Option<&'a AuditedGuard>,
    direction: Direction,
    bar: &'a ProgressBar,
    checkpoint: Option<&'a Path>,
    checkpoint_rows: u64,
    crash_after: Option<u64>,
    rows_this_run: u64,
    make_checkpoint: &'a MakeCheckpoint<'a>,
}

fn write_in_order(
    done_rx: &Receiver<Result<Done, Failure>>,
    permits: &SyncSender<()>,
    st: &mut WriteState<'_>,
) -> Result<(), Failure> {
    let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
    let mut next = 0;
    let mut rows_since_checkpoint = 0;
    let mut last_checkpoint = Instant::now();
    for done in done_rx {
        let done = done?;
        pending.insert(done.index, done);
        while let Some(d) = pending.remove(&next) {
            next += 1;
            st.writer.write_all(&d.out)?;
            *st.output_len += d.out.len() as u64;
            if let Some(audit) = st.audit {
                let pairs: Vec<(&str, &Report)> =
                    d.decisions.iter().map(|(t, r)| (t.as_str(), r)).collect();
                audit.record(&pairs, st.direction)?;
            }
            st.summary.merge(&d.summary);
            let rows = d.end.rows - st.position.rows;
            *st.position = d.end;
            st.rows_this_run += rows;
            rows_since_checkpoint += rows;
            st.bar.inc(match st.format {
                Format::Jsonl => d.bytes,
                Format::Parquet => rows,
            });
            st.bar.set_message(format!("{} rows", st.summary.rows));
            // A permit back to the reader: one more chunk may be read.
            let _ = permits.send(());
            if let Some(cp) = st.checkpoint
                && (rows_since_checkpoint >= st.checkpoint_rows
                    || last_checkpoint.elapsed() >= Duration::from_secs(5))
            {
                st.writer.flush()?;
                if let Some(f) = st.out_file {
                    f.sync_data()?;
                }
                let checkpoint =
                    (st.make_checkpoint)(*st.position, *st.output_len, st.summary, false);
                write_checkpoint(cp, &checkpoint)?;
                rows_since_checkpoint = 0;
                last_checkpoint = Instant::now();
            }
            if st.crash_after.is_some_and(|n| st.rows_this_run >= n) {
                // Simulated crash: the output has rows past the last checkpoint.
                st.writer.flush()?;
                std::process::exit(75);
            }
        }
    }
    Ok(())
}
