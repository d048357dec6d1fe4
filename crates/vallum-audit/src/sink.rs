//! The writer: appends records under a mutex (threads) and an advisory file lock
//! (processes), fsyncs as configured, rotates by size.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::AuditError;
use crate::record::{self, AuditKey, AuditRecord, Decision, GENESIS};

/// When records reach the disk (`fsync`).
///
/// In every mode each record is handed to the operating system with one `write` before the
/// call that records it returns, so a crash of the process loses nothing; the modes differ
/// in what a crash of the machine (power loss, kernel panic) can lose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fsync {
    /// `fdatasync` before every append returns: a decision that took effect is on disk.
    /// Costs one disk flush per scan (or per batch).
    Always,
    /// `fdatasync` once [`AuditConfig::batch_records`] records are unsynced, or at the
    /// first append after [`AuditConfig::batch_interval`], and on rotation, on
    /// [`AuditSink::sync`] and when the sink is dropped: a machine crash loses at most the
    /// records of one batch.
    #[default]
    Batch,
    /// Never flush: the operating system writes the pages when it likes.
    Never,
}

impl std::str::FromStr for Fsync {
    type Err = AuditError;
    fn from_str(s: &str) -> Result<Fsync, AuditError> {
        match s {
            "always" => Ok(Fsync::Always),
            "batch" => Ok(Fsync::Batch),
            "never" => Ok(Fsync::Never),
            other => Err(AuditError::Config(format!(
                "fsync `{other}` is not one of always, batch, never"
            ))),
        }
    }
}

impl std::fmt::Display for Fsync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Fsync::Always => "always",
            Fsync::Batch => "batch",
            Fsync::Never => "never",
        })
    }
}

/// Where and how a log is written.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuditConfig {
    /// The log file. Rotated files sit beside it as `NAME.000001`, `NAME.000002`, ...
    /// (oldest first), and `.NAME.lock` is the lock file processes share.
    pub path: PathBuf,
    /// The durability policy.
    pub fsync: Fsync,
    /// Rotate once the file has reached this many bytes (`None`: never). A file ends with
    /// the record that took it to the limit, and the next file's header chains to it.
    pub rotate_bytes: Option<u64>,
    /// [`Fsync::Batch`]: flush after this many records (default 64).
    pub batch_records: usize,
    /// [`Fsync::Batch`]: flush at the first append this long after the last flush
    /// (default 1 s).
    pub batch_interval: Duration,
}

impl AuditConfig {
    /// A log at `path`: fsync in batches, no rotation.
    pub fn new(path: impl Into<PathBuf>) -> AuditConfig {
        AuditConfig {
            path: path.into(),
            fsync: Fsync::Batch,
            rotate_bytes: None,
            batch_records: 64,
            batch_interval: Duration::from_secs(1),
        }
    }

    /// Sets the durability policy.
    #[must_use]
    pub fn fsync(mut self, fsync: Fsync) -> AuditConfig {
        self.fsync = fsync;
        self
    }

    /// Rotates once a file reaches `bytes`.
    #[must_use]
    pub fn rotate_bytes(mut self, bytes: u64) -> AuditConfig {
        self.rotate_bytes = Some(bytes);
        self
    }

    fn validate(&self) -> Result<(), AuditError> {
        if self.rotate_bytes == Some(0) {
            return Err(AuditError::Config("rotate_bytes must be at least 1".into()));
        }
        if self.batch_records == 0 {
            return Err(AuditError::Config(
                "batch_records must be at least 1".into(),
            ));
        }
        if self.path.file_name().is_none() {
            return Err(AuditError::Config(format!(
                "{} does not name a file",
                self.path.display()
            )));
        }
        Ok(())
    }
}

/// The seq and hash of the last line of a log.
#[derive(Clone, Debug)]
struct Tail {
    seq: u64,
    hash: String,
}

struct State {
    /// The log, opened for appending.
    file: File,
    /// The log's length as this sink last wrote or read it; `u64::MAX` after a failed
    /// write, so that the next append reads the tail again.
    len: u64,
    tail: Tail,
    unsynced: usize,
    last_sync: Instant,
}

/// An append-only, hash-chained audit log that several threads (one mutex) and several
/// processes (an advisory lock on `.NAME.lock`) can write at once.
///
/// Every append takes both locks, re-reads the last record from the file when another
/// writer has added to it (or rotated it), chains the new records to it, writes them with
/// one `write`, and fsyncs as [`Fsync`] says.
pub struct AuditSink {
    config: AuditConfig,
    key: AuditKey,
    key_id: String,
    lock_path: PathBuf,
    /// The lock file (locked around every append, across processes; always taken after
    /// the mutex).
    lock: File,
    state: Mutex<State>,
}

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSink")
            .field("config", &self.config)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The lock is released when this is dropped, whatever happened in between.
struct Held<'a>(&'a File);

impl<'a> Held<'a> {
    fn take(file: &'a File, path: &Path) -> Result<Held<'a>, AuditError> {
        file.lock().map_err(|e| AuditError::io(path, e))?;
        Ok(Held(file))
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.lock"))
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    a.len() == b.len()
}

/// Flushes the directory entry of `path` (a new or renamed file) to disk.
fn sync_dir(path: &Path) -> Result<(), AuditError> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| AuditError::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The rotated files of the log at `path`, oldest first (`NAME.000001`, `NAME.000002`, ...).
/// Pass them before `path` to [`crate::verify()`].
pub fn rotated_files(path: impl AsRef<Path>) -> Result<Vec<PathBuf>, AuditError> {
    let path = path.as_ref();
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Ok(Vec::new());
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let prefix = format!("{name}.");
    let mut found: Vec<(u64, PathBuf)> = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AuditError::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| AuditError::io(dir, e))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if let Some(n) = file_name
            .strip_prefix(&prefix)
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u64>().ok())
        {
            found.push((n, entry.path()));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// Reads the last line of a non-empty log: its seq and hash.
fn read_tail(file: &File, len: u64, path: &Path) -> Result<Tail, AuditError> {
    let io = |e| AuditError::io(path, e);
    let mut f = file;
    let mut buf: Vec<u8> = Vec::new();
    let mut start = len;
    // Read backwards in growing blocks until the line before the last newline is whole.
    loop {
        let block = (len - start).max(4096).min(start);
        start -= block;
        let mut chunk = vec![0; usize::try_from(block).unwrap_or(usize::MAX)];
        f.seek(SeekFrom::Start(start)).map_err(io)?;
        f.read_exact(&mut chunk).map_err(io)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        if buf.last() != Some(&b'\n') {
            return Err(AuditError::Damaged {
                path: path.to_owned(),
                message: "the last line is incomplete (no line end): the file was truncated \
                          or a write was cut short"
                    .into(),
            });
        }
        let body = &buf[..buf.len() - 1];
        if let Some(nl) = memrchr(body) {
            return parse_tail(&body[nl + 1..], path);
        }
        if start == 0 {
            return parse_tail(body, path);
        }
    }
}

fn memrchr(bytes: &[u8]) -> Option<usize> {
    bytes.iter().rposition(|&b| b == b'\n')
}

fn parse_tail(line: &[u8], path: &Path) -> Result<Tail, AuditError> {
    let record = AuditRecord::parse(line).map_err(|e| AuditError::Damaged {
        path: path.to_owned(),
        message: format!("the last line is not an audit record: {e}"),
    })?;
    Ok(Tail {
        seq: record.seq,
        hash: record.hash,
    })
}

impl AuditSink {
    /// Opens (or creates) the log. A new log starts with a header chained to the last
    /// rotated file beside it, or to [`GENESIS`] when there is none.
    pub fn open(config: AuditConfig, key: AuditKey) -> Result<AuditSink, AuditError> {
        config.validate()?;
        let key_id = key.id();
        let lock_path = lock_path(&config.path);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(|e| AuditError::io(&lock_path, e))?;
        let (file, len, tail) = {
            let _held = Held::take(&lock, &lock_path)?;
            open_log(&config, &key_id, None)?
        };
        Ok(AuditSink {
            lock,
            state: Mutex::new(State {
                file,
                len,
                tail,
                unsynced: 0,
                last_sync: Instant::now(),
            }),
            config,
            key,
            key_id,
            lock_path,
        })
    }

    /// The settings it was opened with.
    pub fn config(&self) -> &AuditConfig {
        &self.config
    }

    /// The key of the input hashes.
    pub fn key(&self) -> &AuditKey {
        &self.key
    }

    /// Appends one record per decision, in order, as one write; returns the seq of the
    /// last one. Decisions recorded in one call are contiguous in the log.
    pub fn append(&self, decisions: &[Decision<'_>]) -> Result<u64, AuditError> {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let st = &mut *guard;
        let held = Held::take(&self.lock, &self.lock_path)?;
        let result = self.append_locked(st, decisions);
        if result.is_err() {
            // Whatever reached the file, the next append reads it back first.
            st.len = u64::MAX;
        }
        drop(held);
        result
    }

    fn append_locked(&self, st: &mut State, decisions: &[Decision<'_>]) -> Result<u64, AuditError> {
        self.refresh(st)?;
        let mut pending = String::new();
        let mut lines = 0;
        for d in decisions {
            if let Some(limit) = self.config.rotate_bytes
                && st.len + pending.len() as u64 >= limit
            {
                self.write(st, &pending, lines)?;
                pending.clear();
                lines = 0;
                self.rotate(st)?;
            }
            let (line, hash) = record::scan_line(st.tail.seq + 1, d, &self.key, &st.tail.hash);
            pending.push_str(&line);
            pending.push('\n');
            lines += 1;
            st.tail = Tail {
                seq: st.tail.seq + 1,
                hash,
            };
        }
        self.write(st, &pending, lines)?;
        let due = match self.config.fsync {
            Fsync::Always => st.unsynced > 0,
            Fsync::Batch => {
                st.unsynced >= self.config.batch_records
                    || (st.unsynced > 0 && st.last_sync.elapsed() >= self.config.batch_interval)
            }
            Fsync::Never => false,
        };
        if due {
            self.flush_to_disk(st)?;
        }
        Ok(st.tail.seq)
    }

    /// Flushes unsynced records to disk now (whatever the [`Fsync`] mode).
    pub fn sync(&self) -> Result<(), AuditError> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.flush_to_disk(&mut st)
    }

    fn flush_to_disk(&self, st: &mut State) -> Result<(), AuditError> {
        st.file
            .sync_data()
            .map_err(|e| AuditError::io(&self.config.path, e))?;
        st.unsynced = 0;
        st.last_sync = Instant::now();
        Ok(())
    }

    fn write(&self, st: &mut State, bytes: &str, lines: usize) -> Result<(), AuditError> {
        if bytes.is_empty() {
            return Ok(());
        }
        (&st.file)
            .write_all(bytes.as_bytes())
            .map_err(|e| AuditError::io(&self.config.path, e))?;
        st.len += bytes.len() as u64;
        st.unsynced += lines;
        Ok(())
    }

    /// Catches up with other writers: reopens the log when another process rotated or
    /// removed it, and re-reads the last record when the file grew.
    fn refresh(&self, st: &mut State) -> Result<(), AuditError> {
        let path = &self.config.path;
        let on_disk = match fs::metadata(path) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(AuditError::io(path, e)),
        };
        let ours = st.file.metadata().map_err(|e| AuditError::io(path, e))?;
        if !on_disk.as_ref().is_some_and(|m| same_file(m, &ours)) {
            let (file, len, tail) = open_log(&self.config, &self.key_id, Some(&st.tail))?;
            st.file = file;
            st.len = len;
            st.tail = tail;
            st.unsynced = 0;
            return Ok(());
        }
        if ours.len() != st.len {
            st.tail = read_tail(&st.file, ours.len(), path)?;
            st.len = ours.len();
        }
        Ok(())
    }

    /// Renames the full log to the next `NAME.NNNNNN` and starts a new file whose header
    /// chains to the old file's last record.
    fn rotate(&self, st: &mut State) -> Result<(), AuditError> {
        let path = &self.config.path;
        self.flush_to_disk(st)?;
        let next = rotated_files(path)?
            .last()
            .and_then(|p| p.extension())
            .and_then(|e| e.to_str()?.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let target = path.with_file_name(format!("{name}.{next:06}"));
        fs::rename(path, &target).map_err(|e| AuditError::io(path, e))?;
        let (file, len, tail) = open_log(&self.config, &self.key_id, Some(&st.tail))?;
        st.file = file;
        st.len = len;
        st.tail = tail;
        Ok(())
    }
}

impl Drop for AuditSink {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if st.unsynced > 0 && self.config.fsync != Fsync::Never {
            let _ = st.file.sync_data();
        }
    }
}

/// Opens the log for appending (the caller holds the lock). A missing or empty file gets
/// a header chained to `chain` (this sink's last record), else to the newest rotated
/// file's last record, else to [`GENESIS`].
fn open_log(
    config: &AuditConfig,
    key_id: &str,
    chain: Option<&Tail>,
) -> Result<(File, u64, Tail), AuditError> {
    let path = &config.path;
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(|e| AuditError::io(path, e))?;
    let len = file.metadata().map_err(|e| AuditError::io(path, e))?.len();
    if len > 0 {
        let tail = read_tail(&file, len, path)?;
        return Ok((file, len, tail));
    }
    let from = match chain {
        Some(t) => Some(t.clone()),
        None => match rotated_files(path)?.last() {
            Some(prev) => {
                let f = File::open(prev).map_err(|e| AuditError::io(prev, e))?;
                let n = f.metadata().map_err(|e| AuditError::io(prev, e))?.len();
                Some(read_tail(&f, n, prev)?)
            }
            None => None,
        },
    };
    let (seq, prev) = match &from {
        Some(t) => (t.seq + 1, t.hash.as_str()),
        None => (0, GENESIS),
    };
    let (line, hash) = record::header_line(seq, key_id, prev);
    let mut f = &file;
    f.write_all(format!("{line}\n").as_bytes())
        .map_err(|e| AuditError::io(path, e))?;
    if config.fsync != Fsync::Never {
        file.sync_data().map_err(|e| AuditError::io(path, e))?;
        sync_dir(path)?;
    }
    Ok((file, line.len() as u64 + 1, Tail { seq, hash }))
}
