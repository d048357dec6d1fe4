//! `vallum`: scan text, files and datasets (JSONL, Parquet) from the command line, and
//! check audit logs.
//!
//! Exit status: 0 when everything is allowed (or an audit log is intact), 1 when something
//! is flagged or blocked (or an audit log is broken), 2 on an error (bad policy, unreadable
//! file, input over the size limit, ...).

mod audit;
mod dataset;

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use vallum::{Category, Direction, Finding, Guard, Policy, Report, Verdict};

#[derive(Parser)]
#[command(
    name = "vallum",
    version,
    about = "Guardrails for LLM applications: scan prompts, outputs and datasets"
)]
struct Cli {
    /// Policy file (.toml or .json); the built-in default policy when absent.
    #[arg(long, global = true, value_name = "FILE")]
    policy: Option<PathBuf>,
    #[command(flatten)]
    audit: audit::AuditArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan one text: a file, or standard input with `-` or no argument.
    Scan {
        /// Scan as model output (exfiltration, canaries, prompt leaks) instead of input.
        #[arg(long)]
        output: bool,
        /// The prompt or context the output answers (implies --output).
        #[arg(long, value_name = "FILE")]
        prompt: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The file to scan; `-` or nothing reads standard input.
        file: Option<PathBuf>,
    },
    /// Scan a JSONL dataset line by line (a `.parquet` file is read as Parquet, the field
    /// naming its column); writes one JSON report line per input line and a summary.
    ScanJsonl {
        /// The dataset (one JSON object per line).
        file: PathBuf,
        /// The field holding the text to scan.
        #[arg(long)]
        field: String,
        #[command(flatten)]
        dataset: DatasetArgs,
    },
    /// Scan a string column of a Parquet file (snappy, zstd or uncompressed); writes one
    /// JSON report line per row and a summary.
    ScanParquet {
        /// The Parquet file.
        file: PathBuf,
        /// The column holding the text to scan (a dotted path for nested columns).
        #[arg(long, default_value = "text")]
        column: String,
        #[command(flatten)]
        dataset: DatasetArgs,
    },
    /// Tamper-evident audit logs.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

/// Options shared by the dataset commands.
#[derive(Args)]
struct DatasetArgs {
    /// Scan the texts as model output.
    #[arg(long)]
    output: bool,
    /// Where to write the per-row reports (default: standard output).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write only rows that have findings (and errors).
    #[arg(long)]
    only_findings: bool,
    /// Also write the summary (counts per verdict, category and kind; throughput) here.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Rows per chunk handed to a worker.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Worker threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Stop after this many rows (a later `--resume` goes on from there).
    #[arg(long, value_name = "ROWS")]
    limit: Option<u64>,
    /// The checkpoint file (default: OUT.checkpoint; needs --out).
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Write a checkpoint at least every this many rows (and at least every 5 s).
    #[arg(long, default_value_t = 100_000, value_name = "ROWS")]
    checkpoint_rows: u64,
    /// Go on from the checkpoint of an interrupted run: the output is cut back to what the
    /// checkpoint covers and the input is read on from there.
    #[arg(long)]
    resume: bool,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
}

impl DatasetArgs {
    fn options(self, input: PathBuf, format: dataset::Format, field: String) -> dataset::Options {
        dataset::Options {
            input,
            format,
            field,
            direction: if self.output {
                Direction::Output
            } else {
                Direction::Input
            },
            only_findings: self.only_findings,
            batch: self.batch.max(1),
            threads: self
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
                .max(1),
            progress: !self.quiet && io::stderr().is_terminal(),
            out: self.out,
            summary: self.summary,
            checkpoint: self.checkpoint,
            resume: self.resume,
            checkpoint_rows: self.checkpoint_rows,
            limit: self.limit,
        }
    }
}

/// An error worth exit status 2.
pub(crate) struct Failure(pub(crate) String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Verdict::Allow) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(Failure(msg)) => {
            eprintln!("vallum: error: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<Verdict, Failure> {
    if let Command::Audit(cmd) = cli.command {
        return audit::run(cmd);
    }
    let policy = match &cli.policy {
        Some(path) => Policy::from_path(path)?,
        None => Policy::default(),
    };
    let guard = Guard::from_policy(&policy)?;
    let audited = cli.audit.open(&guard)?;
    match cli.command {
        Command::Scan {
            output,
            prompt,
            json,
            file,
        } => scan_one(
            &guard,
            audited.as_ref(),
            output,
            prompt.as_deref(),
            json,
            file.as_deref(),
        ),
        Command::ScanJsonl {
            file,
            field,
            dataset,
        } => {
            let format = if file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
            {
                dataset::Format::Parquet
            } else {
                dataset::Format::Jsonl
            };
            scan_dataset(
                &guard,
                audited.as_ref(),
                &dataset.options(file, format, field),
            )
        }
        Command::ScanParquet {
            file,
            column,
            dataset,
        } => scan_dataset(
            &guard,
            audited.as_ref(),
            &dataset.options(file, dataset::Format::Parquet, column),
        ),
        Command::Audit(_) => unreachable!("handled above"),
    }
}

fn scan_dataset(
    guard: &Guard,
    audited: Option<&vallum_audit::AuditedGuard>,
    opts: &dataset::Options,
) -> Result<Verdict, Failure> {
    let summary = dataset::scan(guard, audited, opts)?;
    if summary.errors > 0 {
        return Err(Failure(format!(
            "{} of {} rows could not be scanned (see the error records)",
            summary.errors, summary.rows
        )));
    }
    Ok(summary.verdict())
}

fn read_input(file: Option<&std::path::Path>) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    match file {
        Some(p) if p.as_os_str() != "-" => {
            File::open(p)
                .and_then(|mut f| f.read_to_end(&mut buf))
                .map_err(|e| Failure(format!("cannot read {}: {e}", p.display())))?;
        }
        _ => {
            io::stdin().read_to_end(&mut buf)?;
        }
    }
    Ok(buf)
}

fn scan_one(
    guard: &Guard,
    audited: Option<&vallum_audit::AuditedGuard>,
    output: bool,
    prompt: Option<&std::path::Path>,
    json: bool,
    file: Option<&std::path::Path>,
) -> Result<Verdict, Failure> {
    let bytes = read_input(file)?;
    let prompt = match prompt {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|e| Failure(format!("cannot read prompt {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let direction = if output || prompt.is_some() {
        Direction::Output
    } else {
        Direction::Input
    };
    let report = guard.scan_bytes(&bytes, direction, prompt.as_deref())?;
    let text = std::str::from_utf8(&bytes).expect("scan_bytes checked the encoding");
    if let Some(a) = audited {
        a.record(&[(text, &report)], direction)?;
    }
    let mut stdout = io::stdout().lock();
    if json {
        serde_json::to_writer(&mut stdout, &JsonReport::new(&report, None))?;
        writeln!(stdout)?;
    } else {
        print_human(&mut stdout, text, &report)?;
    }
    Ok(report.verdict)
}

/// A shown excerpt of a finding: secrets are never printed, other text is shortened and
/// control characters escaped.
fn excerpt(text: &str, f: &Finding) -> String {
    if f.category == Category::Secret {
        return format!("[{} bytes hidden]", f.span.len());
    }
    let s = &text[f.span];
    let mut out: String = s.chars().take(60).flat_map(char::escape_debug).collect();
    if s.chars().nth(60).is_some() {
        out.push('…');
    }
    out
}

/// A place in a text: byte offset, and 0-based line and column (in characters).
#[derive(Default)]
struct Position {
    offset: usize,
    line: usize,
    column: usize,
}

impl Position {
    /// Moves forward to byte `to` (a char boundary at or after `self.offset`).
    fn advance(&mut self, text: &str, to: usize) {
        let skipped = &text[self.offset..to];
        match skipped.rfind('\n') {
            Some(last) => {
                self.line += skipped.bytes().filter(|&b| b == b'\n').count();
                self.column = skipped[last + 1..].chars().count();
            }
            None => self.column += skipped.chars().count(),
        }
        self.offset = to;
    }
}

fn print_human(out: &mut impl Write, text: &str, report: &Report) -> io::Result<()> {
    writeln!(
        out,
        "verdict: {}  score: {:.2}  findings: {}",
        report.verdict,
        report.score,
        report.findings.len()
    )?;
    let mut at = Position::default();
    for f in &report.findings {
        // Findings are sorted by start, so the positions are found in one walk.
        if f.span.start < at.offset {
            at = Position::default();
        }
        at.advance(text, f.span.start);
        let (line, col) = (at.line + 1, at.column + 1);
        writeln!(
            out,
            "  {:<6} {}/{} at {line}:{col} ({}..{}) score {:.2} rule {}  \"{}\"",
            f.action.as_str(),
            f.category,
            f.kind,
            f.span.start,
            f.span.end,
            f.score,
            f.rule,
            excerpt(text, f)
        )?;
        if let Some(detail) = &f.detail {
            writeln!(out, "         {}", detail.escape_debug())?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonReport<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    verdict: Verdict,
    score: f32,
    findings: &'a [Finding],
}

impl<'a> JsonReport<'a> {
    fn new(report: &'a Report, line: Option<usize>) -> Self {
        JsonReport {
            line,
            verdict: report.verdict,
            score: report.score,
            findings: &report.findings,
        }
    }
}
