use std::path::PathBuf;

/// A policy that cannot be used: what was wrong and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The TOML or JSON does not parse or does not follow the policy schema.
    #[error("invalid {format} policy: {message}")]
    Syntax {
        /// `TOML` or `JSON`.
        format: &'static str,
        /// What the parser said, with the offending key or line.
        message: String,
    },
    /// A policy file could not be read.
    #[error("cannot read policy file {}: {source}", path.display())]
    Io {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A value outside its allowed range.
    #[error("policy key `{key}`: {message}")]
    Value {
        /// The dotted key, e.g. `thresholds.prompt_injection`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// A custom rule that cannot be compiled.
    #[error("custom rule `{rule}`: {message}")]
    Rule {
        /// The rule id.
        rule: String,
        /// Why it was refused (syntax, size limit, ...).
        message: String,
    },
}

/// A guard that could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The policy is unusable.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A built-in rule failed to compile (a bug in a rule pack).
    #[error("built-in rule `{rule}` does not compile: {message}")]
    BuiltinRule {
        /// The rule id.
        rule: String,
        /// The compiler's message.
        message: String,
    },
    /// The classifier model is installed but could not be loaded, or the policy requires
    /// it (`classifier.require_model`) and none is installed.
    #[error("classifier model: {0}")]
    Model(String),
}

/// A scan that could not run. Findings are never errors; these are refusals.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// The input is larger than the policy's `limits.max_input_bytes`.
    #[error(
        "input is {size} bytes, over the policy limit of {limit} bytes (limits.max_input_bytes)"
    )]
    InputTooLarge {
        /// The input size in bytes.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// Bytes given to a byte API are not valid UTF-8.
    #[error("input is not valid UTF-8: invalid byte sequence at offset {valid_up_to}")]
    InvalidUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// The stream was used after `finish`.
    #[error("the output stream is already finished")]
    StreamFinished,
    /// The classifier failed on this input.
    #[error("classifier: {0}")]
    Model(String),
}
