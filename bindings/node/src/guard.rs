//! The `Guard` class: sync scans on the JS thread, async scans on the libuv pool.

use std::path::Path;

use napi::bindgen_prelude::{AsyncTask, Either, Uint8ArraySlice};
use napi::{Env, JsString, Task, Unknown};
use napi_derive::napi;
use vallum::Policy;

use crate::error::{Code, Failure};
use crate::report::Report;
use crate::stream::{OutputStream, OutputStreamOptions};
use crate::text::{self, OwnedText};
use crate::vault::{Anonymized, Vault};

/// Options of `scanOutput` / `scanOutputSync`.
#[napi(object, object_to_js = false)]
pub struct ScanOutputOptions<'a> {
    /// The prompt or context the output answers (system prompt, user prompt, documents):
    /// canary tokens and prompt leaks are looked for against it, and hosts it mentions are
    /// not reported as exfiltration.
    pub prompt: Option<JsString<'a>>,
}

/// Options of `redact`.
#[napi(object, object_to_js = false)]
pub struct RedactOptions {
    /// `input` (default) or `output`: which side's rules run.
    #[napi(ts_type = "Direction")]
    pub direction: Option<String>,
}

/// A guardrail: a policy compiled once into one matcher plus the detectors it enables.
///
/// Build one and reuse it: scans are cheap, construction compiles every rule. A guard is
/// immutable; its async methods run on the libuv thread pool and may overlap freely.
///
/// Text arguments are strings or `Uint8Array`s (e.g. a `Buffer`) of UTF-8. For a string,
/// finding offsets are UTF-16 code units (`text.slice(f.start, f.end)` is the match); for
/// bytes they are byte offsets (`bytes.subarray(f.start, f.end)`), and the bytes are
/// scanned without converting them to a string (async scans copy them first, so the buffer
/// may be reused at once).
///
/// Errors are `Error`s with a `code`: `POLICY` (bad policy), `INPUT` (over
/// `limits.max_input_bytes`, invalid UTF-8, unpaired surrogates, unknown option values),
/// `MODEL` (classifier), `STREAM` (stream used after `finish()`), `INTERNAL`.
#[napi]
pub struct Guard {
    inner: vallum::Guard,
}

/// Parses a policy argument: a path when it is one line ending in `.toml`/`.json`, TOML
/// text otherwise; an object is read as the JSON form of the policy.
fn parse_policy(policy: Option<serde_json::Value>) -> Result<Policy, Failure> {
    match policy {
        None | Some(serde_json::Value::Null) => Ok(Policy::default()),
        Some(serde_json::Value::String(s)) => {
            let trimmed = s.trim_end();
            let is_path = !trimmed.contains('\n')
                && Path::new(trimmed).extension().is_some_and(|e| {
                    e.eq_ignore_ascii_case("toml") || e.eq_ignore_ascii_case("json")
                });
            Ok(if is_path {
                Policy::from_path(trimmed)?
            } else {
                Policy::from_toml(&s)?
            })
        }
        Some(mut v @ serde_json::Value::Object(_)) => {
            drop_null_keys(&mut v);
            Ok(Policy::from_json(&v.to_string())?)
        }
        Some(other) => Err(Failure::new(
            Code::Policy,
            format!(
                "a policy is a TOML string, a path to a .toml/.json file, or a plain object; got {}",
                json_type(&other)
            ),
        )),
    }
}

/// Removes object keys whose value is `null` (JS `undefined` arrives as `null`), so
/// `{ actions: opts.actions }` with nothing set means "default", as it would in JS.
fn drop_null_keys(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.retain(|_, value| !value.is_null());
            map.values_mut().for_each(drop_null_keys);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_null_keys),
        _ => {}
    }
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

pub(crate) fn parse_direction(direction: Option<&str>) -> Result<vallum::Direction, Failure> {
    direction.map_or(Ok(vallum::Direction::Input), |d| {
        d.parse()
            .map_err(|message: String| Failure::new(Code::Input, message))
    })
}

impl Guard {
    /// A sync scan of a text argument.
    fn scan_sync(
        &self,
        text: Either<JsString<'_>, Uint8ArraySlice<'_>>,
        direction: vallum::Direction,
        prompt: Option<JsString<'_>>,
    ) -> Result<Report, Failure> {
        let prompt = prompt.map(|p| text::utf8(p, "prompt")).transpose()?;
        let prompt = prompt.as_ref().map(text::as_str).transpose()?;
        match text {
            Either::A(s) => {
                let utf8 = text::utf8(s, "text")?;
                let s = text::as_str(&utf8)?;
                let report = self.inner.scan(s, direction, prompt)?;
                Ok(Report::from_core(report, Some(s)))
            }
            Either::B(bytes) => {
                let s = text::bytes_as_str(&bytes)?;
                let report = self.inner.scan(s, direction, prompt)?;
                Ok(Report::from_core(report, None))
            }
        }
    }

    fn task(
        &self,
        text: Either<JsString<'_>, Uint8ArraySlice<'_>>,
        direction: vallum::Direction,
        prompt: Option<JsString<'_>>,
    ) -> Result<AsyncTask<ScanTask>, Failure> {
        let prompt = prompt.map(|p| text::owned(p, "prompt")).transpose()?;
        Ok(AsyncTask::new(ScanTask {
            guard: self.inner.clone(),
            text: OwnedText::read(text, "text")?,
            direction,
            prompt,
        }))
    }
}

#[napi]
impl Guard {
    /// A guard for `policy`: a TOML string, a path to a `.toml` or `.json` policy file (a
    /// one-line string ending in `.toml`/`.json`), or a plain object in the policy's JSON
    /// form (e.g. `{ actions: { pii: 'redact' } }`). Without one, the built-in default
    /// policy. Throws `POLICY` for a policy that cannot be used.
    #[napi(
        constructor,
        ts_args_type = "policy?: string | Record<string, unknown> | null"
    )]
    pub fn new(env: &Env, policy: Option<Unknown<'_>>) -> napi::Result<Guard, Code> {
        let policy = policy
            .map(|p| {
                env.from_js_value::<serde_json::Value, _>(p).map_err(|e| {
                    Failure::new(
                        Code::Policy,
                        format!(
                            "a policy is a TOML string, a path to a .toml/.json file, or a plain \
                             object of JSON values: {}",
                            e.reason
                        ),
                    )
                })
            })
            .transpose()?;
        let policy = parse_policy(policy)?;
        let inner = vallum::Guard::from_policy(&policy).map_err(Failure::from)?;
        Ok(Guard { inner })
    }

    /// Scans text going into the model (a user prompt, a document, a tool result), on the
    /// calling thread.
    #[napi]
    pub fn scan_input_sync(
        &self,
        text: Either<JsString<'_>, Uint8ArraySlice<'_>>,
    ) -> napi::Result<Report, Code> {
        Ok(self.scan_sync(text, vallum::Direction::Input, None)?)
    }

    /// Scans a model's answer on the calling thread. `options.prompt` is the prompt or
    /// context it answers (for canary tokens, prompt leaks and hosts the user mentioned).
    #[napi]
    pub fn scan_output_sync(
        &self,
        text: Either<JsString<'_>, Uint8ArraySlice<'_>>,
        options: Option<ScanOutputOptions<'_>>,
    ) -> napi::Result<Report, Code> {
        let prompt = options.and_then(|o| o.prompt);
        Ok(self.scan_sync(text, vallum::Direction::Output, prompt)?)
    }

    /// `scanInputSync` on the libuv thread pool: the JS thread only copies the text.
    #[napi(ts_return_type = "Promise<Report>")]
    pub fn scan_input(
        &self,
        text: Either<JsString<'_>, Uint8ArraySlice<'_>>,
    ) -> napi::Result<AsyncTask<ScanTask>, Code> {
        Ok(self.task(text, vallum::Direction::Input, None)?)
    }

    /// `scanOutputSync` on the libuv thread pool: the JS thread only copies the text.
    #[napi(ts_return_type = "Promise<Report>")]
    pub fn scan_output(
        &self,
        text: Either<JsString<'_>, Uint8ArraySlice<'_>>,
        options: Option<ScanOutputOptions<'_>>,
    ) -> napi::Result<AsyncTask<ScanTask>, Code> {
        let prompt = options.and_then(|o| o.prompt);
        Ok(self.task(text, vallum::Direction::Output, prompt)?)
    }

    /// The text with personal data, secrets and every finding whose action is `redact`
    /// replaced as the policy's `[redaction]` says (`<EMAIL>` by default).
    /// `options.direction` is `input` (default) or `output`.
    #[napi]
    pub fn redact(
        &self,
        text: JsString<'_>,
        options: Option<RedactOptions>,
    ) -> napi::Result<String, Code> {
        let direction = parse_direction(options.and_then(|o| o.direction).as_deref())?;
        let utf8 = text::utf8(text, "text")?;
        let s = text::as_str(&utf8)?;
        let clean = self.inner.redact(s, direction).map_err(Failure::from)?;
        Ok(clean.into_owned())
    }

    /// Replaces personal data and secrets with stable numbered placeholders (the same value
    /// always gets the same one, e.g. `<EMAIL_1>`) and returns the masked text with the
    /// vault that puts the values back into the model's answer.
    #[napi]
    pub fn anonymize(&self, text: JsString<'_>) -> napi::Result<Anonymized, Code> {
        let utf8 = text::utf8(text, "text")?;
        let s = text::as_str(&utf8)?;
        let (masked, vault) = self.inner.anonymize(s).map_err(Failure::from)?;
        Ok(Anonymized {
            text: masked,
            vault: Vault::new(vault),
        })
    }

    /// Starts scanning a streamed answer: `push` each chunk as it arrives and show what it
    /// returns; `finish()` returns the rest. `options.prompt` is the prompt or context the
    /// answer responds to.
    #[napi]
    pub fn output_stream(
        &self,
        options: Option<OutputStreamOptions<'_>>,
    ) -> napi::Result<OutputStream, Code> {
        Ok(OutputStream::start(&self.inner, options)?)
    }
}

/// A scan on the libuv thread pool (the promise behind `scanInput`/`scanOutput`).
pub struct ScanTask {
    guard: vallum::Guard,
    text: OwnedText,
    direction: vallum::Direction,
    prompt: Option<String>,
}

impl Task for ScanTask {
    type Output = Result<Report, Failure>;
    type JsValue = Report;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let prompt = self.prompt.as_deref();
        Ok(match &self.text {
            OwnedText::Utf16(s) => self
                .guard
                .scan(s, self.direction, prompt)
                .map(|r| Report::from_core(r, Some(s)))
                .map_err(Failure::from),
            OwnedText::Bytes(b) => text::bytes_as_str(b).and_then(|s| {
                self.guard
                    .scan(s, self.direction, prompt)
                    .map(|r| Report::from_core(r, None))
                    .map_err(Failure::from)
            }),
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Report> {
        output.map_err(|f| f.into_rejection(env))
    }
}
