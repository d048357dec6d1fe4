//! `vallum`: scan text, files and JSONL datasets from the command line.
//!
//! Exit status: 0 when everything is allowed, 1 when something is flagged or blocked,
//! 2 on an error (bad policy, unreadable file, input over the size limit, ...).

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
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
    /// Scan a JSONL dataset line by line; writes one JSON report line per input line.
    ScanJsonl {
        /// The dataset (one JSON object per line).
        file: PathBuf,
        /// The field holding the text to scan.
        #[arg(long)]
        field: String,
        /// Scan the texts as model output.
        #[arg(long)]
        output: bool,
        /// Where to write the per-line reports (default: standard output).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Write only lines that have findings.
        #[arg(long)]
        only_findings: bool,
        /// Lines scanned together (in parallel across the cores).
        #[arg(long, default_value_t = 512)]
        batch: usize,
        /// Hide the progress bar.
        #[arg(long)]
        quiet: bool,
    },
}

/// An error worth exit status 2.
struct Failure(String);

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
    let policy = match &cli.policy {
        Some(path) => Policy::from_path(path)?,
        None => Policy::default(),
    };
    let guard = Guard::from_policy(&policy)?;
    match cli.command {
        Command::Scan {
            output,
            prompt,
            json,
            file,
        } => scan_one(&guard, output, prompt.as_deref(), json, file.as_deref()),
        Command::ScanJsonl {
            file,
            field,
            output,
            out,
            only_findings,
            batch,
            quiet,
        } => {
            let direction = if output {
                Direction::Output
            } else {
                Direction::Input
            };
            let opts = JsonlOptions {
                field,
                direction,
                only_findings,
                batch: batch.max(1),
                progress: !quiet && io::stderr().is_terminal(),
            };
            scan_jsonl(&guard, &file, out.as_deref(), &opts)
        }
    }
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
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}

fn print_human(out: &mut impl Write, text: &str, report: &Report) -> io::Result<()> {
    writeln!(
        out,
        "verdict: {}  score: {:.2}  findings: {}",
        report.verdict,
        report.score,
        report.findings.len()
    )?;
    for f in &report.findings {
        let line = text[..f.span.start].matches('\n').count() + 1;
        let col = text[..f.span.start]
            .rsplit('\n')
            .next()
            .map_or(0, |l| l.chars().count())
            + 1;
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

struct JsonlOptions {
    field: String,
    direction: Direction,
    only_findings: bool,
    batch: usize,
    progress: bool,
}

#[derive(Default, Serialize)]
struct Summary {
    lines: usize,
    allow: usize,
    flag: usize,
    block: usize,
    errors: usize,
    by_kind: std::collections::BTreeMap<String, usize>,
}

fn scan_jsonl(
    guard: &Guard,
    path: &std::path::Path,
    out: Option<&std::path::Path>,
    opts: &JsonlOptions,
) -> Result<Verdict, Failure> {
    let file =
        File::open(path).map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
    let total = file.metadata().map_or(0, |m| m.len());
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut writer: Box<dyn Write> = match out {
        Some(p) => {
            Box::new(BufWriter::new(File::create(p).map_err(|e| {
                Failure(format!("cannot write {}: {e}", p.display()))
            })?))
        }
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let bar = if opts.progress {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {msg}",
            )
            .expect("a valid progress template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut summary = Summary::default();
    let mut worst = Verdict::Allow;
    let mut line_no = 0usize;
    let mut lines: Vec<(usize, String)> = Vec::with_capacity(opts.batch);
    loop {
        lines.clear();
        let mut read = 0u64;
        while lines.len() < opts.batch {
            let mut line = String::new();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| Failure(format!("{}:{}: {e}", path.display(), line_no + 1)))?;
            if n == 0 {
                break;
            }
            read += n as u64;
            line_no += 1;
            if !line.trim().is_empty() {
                lines.push((line_no, line));
            }
        }
        if lines.is_empty() {
            break;
        }
        let results: Vec<(usize, Result<Report, String>)> = lines
            .par_iter()
            .map(|(n, line)| (*n, scan_line(guard, line, &opts.field, opts.direction)))
            .collect();
        for (n, result) in results {
            summary.lines += 1;
            match result {
                Ok(report) => {
                    match report.verdict {
                        Verdict::Allow => summary.allow += 1,
                        Verdict::Flag => summary.flag += 1,
                        Verdict::Block => summary.block += 1,
                    }
                    worst = worst.max(report.verdict);
                    for f in &report.findings {
                        *summary
                            .by_kind
                            .entry(format!("{}.{}", f.category, f.kind))
                            .or_default() += 1;
                    }
                    if !opts.only_findings || !report.findings.is_empty() {
                        serde_json::to_writer(&mut writer, &JsonReport::new(&report, Some(n)))?;
                        writeln!(writer)?;
                    }
                }
                Err(e) => {
                    summary.errors += 1;
                    serde_json::to_writer(
                        &mut writer,
                        &serde_json::json!({"line": n, "error": e}),
                    )?;
                    writeln!(writer)?;
                }
            }
        }
        bar.inc(read);
    }
    writer.flush()?;
    bar.finish_and_clear();
    eprintln!("{}", serde_json::to_string(&summary)?);
    if summary.errors > 0 {
        return Err(Failure(format!(
            "{} of {} lines could not be scanned (see the error records)",
            summary.errors, summary.lines
        )));
    }
    Ok(worst)
}

fn scan_line(
    guard: &Guard,
    line: &str,
    field: &str,
    direction: Direction,
) -> Result<Report, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let text = value
        .get(field)
        .ok_or_else(|| format!("no field `{field}`"))?
        .as_str()
        .ok_or_else(|| format!("field `{field}` is not a string"))?;
    guard.scan(text, direction, None).map_err(|e| e.to_string())
}
