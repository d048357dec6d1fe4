//! One error map: every core error becomes a JS `Error` whose `code` says what kind it is.

use napi::bindgen_prelude::JsError;
use napi::{Env, Error};

/// The `code` of the errors the binding throws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// A policy that cannot be used: syntax, unknown keys, values out of range, a custom
    /// rule that does not compile, an unreadable policy file.
    Policy,
    /// Input the guard refuses: over `limits.max_input_bytes`, bytes that are not UTF-8,
    /// a string with unpaired UTF-16 surrogates, an unknown option value.
    Input,
    /// The classifier model could not be loaded or failed on the input.
    Model,
    /// An output stream used after `finish()`.
    Stream,
    /// Anything else: a bug in a built-in rule, or the JS engine refusing an operation.
    Internal,
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        match self {
            Code::Policy => "POLICY",
            Code::Input => "INPUT",
            Code::Model => "MODEL",
            Code::Stream => "STREAM",
            Code::Internal => "INTERNAL",
        }
    }
}

/// An error on its way to JS: a code and a message. Plain data, so it can be made on the
/// libuv pool and turned into a JS object back on the JS thread.
#[derive(Debug)]
pub struct Failure {
    pub(crate) code: Code,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// For the sync methods.
    pub(crate) fn into_error(self) -> Error<Code> {
        Error::new(self.code, self.message)
    }

    /// For an async task's `resolve`: a promise rejection with this exact `Error` object
    /// (the task machinery only knows napi's own status codes).
    pub(crate) fn into_rejection(self, env: Env) -> Error {
        Error::from(JsError::from(self.into_error()).into_unknown(env))
    }
}

impl From<Failure> for Error<Code> {
    fn from(f: Failure) -> Self {
        f.into_error()
    }
}

impl From<vallum::ScanError> for Failure {
    fn from(e: vallum::ScanError) -> Self {
        let code = match &e {
            vallum::ScanError::InputTooLarge { .. } | vallum::ScanError::InvalidUtf8 { .. } => {
                Code::Input
            }
            vallum::ScanError::StreamFinished => Code::Stream,
            vallum::ScanError::Model(_) => Code::Model,
            _ => Code::Internal,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<vallum::BuildError> for Failure {
    fn from(e: vallum::BuildError) -> Self {
        let code = match &e {
            vallum::BuildError::Policy(_) => Code::Policy,
            vallum::BuildError::Model(_) => Code::Model,
            _ => Code::Internal,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<vallum::PolicyError> for Failure {
    fn from(e: vallum::PolicyError) -> Self {
        Failure::new(Code::Policy, e.to_string())
    }
}

/// A napi call that failed (the engine is shutting down, a value of the wrong type).
pub(crate) fn internal(e: &Error) -> Failure {
    Failure::new(Code::Internal, e.reason.clone())
}
