//! The record format: one JSON object per line, each closed by the SHA-256 of everything
//! before its `hash` field, and each naming the hash of the record before it.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vallum::{Action, Category, Direction, Policy, Report, Verdict};
use zeroize::Zeroizing;

use crate::error::AuditError;

/// The record format version written in every header.
pub const FORMAT_VERSION: u32 = 1;

/// The `prev` of the very first header of a log: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The bytes that close every record: `,"hash":"` + 64 hex digits + `"}`.
const HASH_SUFFIX_LEN: usize = 9 + 64 + 2;

/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

/// The key of the input hashes: HMAC-SHA-256 under it tags each scanned text, so equal
/// texts get equal tags while the log reveals nothing about them to whoever lacks the key.
///
/// The key never appears in a record, an error or `Debug` output; records name it by
/// [`AuditKey::id`], a tag derived from it.
pub struct AuditKey(Zeroizing<Vec<u8>>);

impl AuditKey {
    /// A key from raw bytes; at least [`MIN_KEY_BYTES`] (16) of them.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<AuditKey, AuditError> {
        let bytes = Zeroizing::new(bytes.into());
        if bytes.len() < MIN_KEY_BYTES {
            return Err(AuditError::Key(format!(
                "{} bytes is too short: use at least {MIN_KEY_BYTES} random bytes",
                bytes.len()
            )));
        }
        Ok(AuditKey(bytes))
    }

    /// A key read from a file: its bytes, less trailing whitespace (so a key written with
    /// `echo` works).
    pub fn from_file(path: impl AsRef<Path>) -> Result<AuditKey, AuditError> {
        let path = path.as_ref();
        let mut bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
            AuditError::Key(format!("cannot read the key file {}: {e}", path.display()))
        })?);
        while bytes.last().is_some_and(u8::is_ascii_whitespace) {
            bytes.pop();
        }
        AuditKey::new(std::mem::take(&mut *bytes))
    }

    /// A public name of the key (16 hex digits derived from it by HMAC), written in each
    /// log header so an auditor knows which key the input hashes need.
    pub fn id(&self) -> String {
        hex(&vallum::redact::keyed_hash(&self.0, &[b"vallum-audit key id"])[..8])
    }

    /// The input hash of `text` as records hold it: lowercase hex HMAC-SHA-256. With the
    /// key, an auditor can check whether a given text is the one a record was made for.
    pub fn input_hash(&self, text: &str) -> String {
        hex(&vallum::redact::keyed_hash(&self.0, &[text.as_bytes()]))
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey(<hidden>, id {})", self.id())
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// SHA-256 of `bytes` in lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The policy hash records carry: SHA-256 (lowercase hex) of the policy's JSON form
/// ([`Policy::to_json`]: fields in declaration order, maps sorted by key, so equal policies
/// hash equal). The redaction key is left out: it changes no decision, and a hash must not
/// let anyone test guesses of it.
pub fn policy_hash(policy: &Policy) -> String {
    let mut canonical = policy.clone();
    canonical.redaction.hash_key = None;
    sha256_hex(canonical.to_json().as_bytes())
}

/// The current time as RFC 3339 in UTC with microseconds, e.g.
/// `2026-05-03T07:58:31.123456Z`.
pub(crate) fn now_rfc3339() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(since.as_secs(), since.subsec_micros())
}

/// Seconds since the Unix epoch (and microseconds) as RFC 3339 UTC.
pub(crate) fn rfc3339(secs: u64, micros: u32) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (the era-based
/// computation: 400-year eras of 146 097 days, years starting in March).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// What the first line of every log file holds.
#[derive(Serialize)]
struct HeaderBody<'a> {
    seq: u64,
    #[serde(rename = "type")]
    kind: &'static str,
    version: u32,
    time: &'a str,
    key_id: &'a str,
    prev: &'a str,
}

/// One finding as a record holds it: no text, only where and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRecord {
    /// The category.
    pub category: Category,
    /// The kind inside the category.
    pub kind: String,
    /// The rule or detector that reported it.
    pub rule: String,
    /// Byte offset of the first byte of the span.
    pub start: usize,
    /// Byte offset one past its last byte.
    pub end: usize,
    /// How sure, in `[0, 1]`.
    pub score: f32,
    /// What the policy did with it.
    pub action: Action,
}

#[derive(Serialize)]
struct FindingRef<'a> {
    category: Category,
    kind: &'a str,
    rule: &'a str,
    start: usize,
    end: usize,
    score: f32,
    action: Action,
}

/// The keyed hash of a scanned text and its length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    /// Its length in bytes.
    pub bytes: usize,
    /// HMAC-SHA-256 of the text under the log's key, lowercase hex.
    pub hmac: String,
}

#[derive(Serialize)]
struct ScanBody<'a> {
    seq: u64,
    #[serde(rename = "type")]
    kind: &'static str,
    time: &'a str,
    policy: &'a str,
    model: Option<&'a str>,
    direction: Direction,
    verdict: Verdict,
    score: f32,
    findings: Vec<FindingRef<'a>>,
    input: InputRecord,
    prev: &'a str,
}

/// One decision to record.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    /// The text that was scanned (only its keyed hash is written).
    pub text: &'a str,
    /// Which side of the model it was on.
    pub direction: Direction,
    /// What the guard decided.
    pub report: &'a Report,
    /// [`policy_hash`] of the guard's policy.
    pub policy_hash: &'a str,
    /// The guard's classifier model SHA-256, if it runs one.
    pub model_hash: Option<&'a str>,
}

/// Closes a serialised body (`{...,"prev":"..."}`) with its hash: returns the line (no
/// newline) and the hash.
fn seal(mut body: String) -> (String, String) {
    let hash = sha256_hex(body.as_bytes());
    body.pop(); // the closing brace
    body.push_str(",\"hash\":\"");
    body.push_str(&hash);
    body.push_str("\"}");
    (body, hash)
}

/// A header line (no newline) and its hash.
pub(crate) fn header_line(seq: u64, key_id: &str, prev: &str) -> (String, String) {
    let body = HeaderBody {
        seq,
        kind: "header",
        version: FORMAT_VERSION,
        time: &now_rfc3339(),
        key_id,
        prev,
    };
    seal(serde_json::to_string(&body).expect("a header always serialises"))
}

/// A scan record line (no newline) and its hash.
pub(crate) fn scan_line(
    seq: u64,
    d: &Decision<'_>,
    key: &AuditKey,
    prev: &str,
) -> (String, String) {
    let body = ScanBody {
        seq,
        kind: "scan",
        time: &now_rfc3339(),
        policy: d.policy_hash,
        model: d.model_hash,
        direction: d.direction,
        verdict: d.report.verdict,
        score: d.report.score,
        findings: d
            .report
            .findings
            .iter()
            .map(|f| FindingRef {
                category: f.category,
                kind: &f.kind,
                rule: &f.rule,
                start: f.span.start,
                end: f.span.end,
                score: f.score,
                action: f.action,
            })
            .collect(),
        input: InputRecord {
            bytes: d.text.len(),
            hmac: key.input_hash(d.text),
        },
        prev,
    };
    seal(serde_json::to_string(&body).expect("a record always serialises"))
}

/// Checks a line's own hash: `Some((stated, computed))`, or `None` when the line does not
/// end with a hash field at all.
pub(crate) fn check_seal(line: &[u8]) -> Option<(String, String)> {
    if line.len() < HASH_SUFFIX_LEN + 2 {
        return None;
    }
    let (body, suffix) = line.split_at(line.len() - HASH_SUFFIX_LEN);
    let stated = suffix.strip_prefix(b",\"hash\":\"")?.strip_suffix(b"\"}")?;
    if !stated
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return None;
    }
    let mut hasher = Sha256::new();
    hasher.update(body);
    hasher.update(b"}");
    Some((
        String::from_utf8_lossy(stated).into_owned(),
        hex(&hasher.finalize()),
    ))
}

/// One line of a log, read back.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AuditRecord {
    /// Position in the chain: 0 for the first header, one more for each line after it,
    /// across rotated files.
    pub seq: u64,
    /// `header` (the first line of each file) or `scan` (one decision).
    #[serde(rename = "type")]
    pub kind: String,
    /// When it was written, RFC 3339 UTC.
    pub time: String,
    /// The hash of the record before it ([`GENESIS`] for the first header of a log).
    pub prev: String,
    /// SHA-256 of this line up to this field.
    pub hash: String,
    /// Headers: the record format version.
    #[serde(default)]
    pub version: Option<u32>,
    /// Headers: the id of the input-hash key ([`AuditKey::id`]).
    #[serde(default)]
    pub key_id: Option<String>,
    /// Scans: [`policy_hash`] of the policy that decided.
    #[serde(default)]
    pub policy: Option<String>,
    /// Scans: the classifier model's SHA-256, `None` when the guard ran none.
    #[serde(default)]
    pub model: Option<String>,
    /// Scans: `input` or `output`.
    #[serde(default)]
    pub direction: Option<Direction>,
    /// Scans: the verdict.
    #[serde(default)]
    pub verdict: Option<Verdict>,
    /// Scans: the report's score.
    #[serde(default)]
    pub score: Option<f32>,
    /// Scans: the findings (no text).
    #[serde(default)]
    pub findings: Vec<FindingRecord>,
    /// Scans: the keyed hash of the text.
    #[serde(default)]
    pub input: Option<InputRecord>,
}

impl AuditRecord {
    /// Parses one line (with or without its newline).
    pub fn parse(line: &[u8]) -> Result<AuditRecord, serde_json::Error> {
        serde_json::from_slice(line.strip_suffix(b"\n").unwrap_or(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000Z");
        // 2000-02-29 (a leap day in a century year divisible by 400).
        assert_eq!(
            rfc3339(951_782_400 + 3661, 7),
            "2000-02-29T01:01:01.000007Z"
        );
        assert_eq!(rfc3339(1_709_251_199, 0), "2024-02-29T23:59:59.000000Z");
        assert_eq!(rfc3339(4_102_444_800, 0), "2100-01-01T00:00:00.000000Z");
    }

    #[test]
    fn seals_check_and_detect_edits() {
        let (line, hash) = seal(r#"{"seq":1,"prev":"00"}"#.to_owned());
        let (stated, computed) = check_seal(line.as_bytes()).unwrap();
        assert_eq!(
            (stated.as_str(), computed.as_str()),
            (hash.as_str(), hash.as_str())
        );
        let edited = line.replace("\"seq\":1", "\"seq\":2");
        let (stated, computed) = check_seal(edited.as_bytes()).unwrap();
        assert_ne!(stated, computed);
        assert!(check_seal(br#"{"seq":1}"#).is_none());
    }

    #[test]
    fn keys_are_hidden_and_checked() {
        assert!(matches!(
            AuditKey::new(b"short".to_vec()),
            Err(AuditError::Key(_))
        ));
        let key = AuditKey::new(b"0123456789abcdef-secret".to_vec()).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(key.id().len(), 16);
        assert_eq!(key.input_hash("a"), key.input_hash("a"));
        assert_ne!(key.input_hash("a"), key.input_hash("b"));
        let other = AuditKey::new(b"0123456789abcdef-other".to_vec()).unwrap();
        assert_ne!(key.input_hash("a"), other.input_hash("a"));
    }

    #[test]
    fn policy_hash_ignores_the_redaction_key_only() {
        let mut a = Policy::default();
        let base = policy_hash(&a);
        a.redaction.hash_key = Some("k1".into());
        assert_eq!(policy_hash(&a), base);
        a.min_score = 0.25;
        assert_ne!(policy_hash(&a), base);
        assert_eq!(policy_hash(&a), policy_hash(&a.clone()));
    }
}
