//! Node.js bindings for Vallum (napi-rs): thin wrappers over the Rust core.
//!
//! Every rule, threshold and decision lives in `vallum`; this crate only converts
//! arguments, offsets (UTF-16 code units for JS strings, bytes for `Uint8Array`s) and
//! errors (`Error` objects with a `code`), and runs the async variants on the libuv pool.
#![deny(missing_docs)]

mod error;
mod guard;
mod report;
mod stream;
mod text;
mod vault;

use napi_derive::napi;

pub use error::Code;
pub use guard::{Guard, RedactOptions, ScanOutputOptions, ScanTask};
pub use report::{Action, Category, Direction, Finding, Report, Verdict};
pub use stream::{OutputStream, OutputStreamOptions};
pub use vault::{Anonymized, Vault};

/// A fresh random canary token (`vlm-canary-` and 20 random base-32 characters) to plant in
/// a system prompt. When a token found in the prompt shows up in a model's answer,
/// `scanOutput(answer, { prompt })` reports a finding of category `canary`.
#[napi]
pub fn canary() -> String {
    vallum::canary()
}
