//! Pinned, memory-mapped safetensors loading.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use candle_core::safetensors::Load;
use candle_core::{Device, Tensor};
use sha2::{Digest, Sha256};

use crate::ClassifierError;

/// Lower-case hex SHA-256 of a byte slice.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Reads a whole (small) file and checks its SHA-256 against `expected` when given.
pub fn read_pinned(
    path: &Path,
    expected: Option<&str>,
) -> Result<(Vec<u8>, String), ClassifierError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|source| ClassifierError::Io {
            path: path.to_owned(),
            source,
        })?;
    let actual = sha256_hex(&bytes);
    check(path, expected, &actual)?;
    Ok((bytes, actual))
}

fn check(path: &Path, expected: Option<&str>, actual: &str) -> Result<(), ClassifierError> {
    match expected {
        Some(e) if !e.eq_ignore_ascii_case(actual) => Err(ClassifierError::HashMismatch {
            path: path.to_owned(),
            expected: e.to_owned(),
            actual: actual.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// Tensors and `__metadata__` of one safetensors file.
pub struct Loaded {
    /// Tensors by name, on the CPU, in the file's dtype.
    pub tensors: HashMap<String, Tensor>,
    /// The header's `__metadata__` map (empty when absent).
    pub metadata: HashMap<String, String>,
    /// SHA-256 of the file.
    pub sha256: String,
}

fn invalid(path: &Path, message: impl Into<String>) -> ClassifierError {
    ClassifierError::InvalidModel {
        path: PathBuf::from(path),
        message: message.into(),
    }
}

/// Memory-maps a safetensors file, checks its SHA-256 against `expected` (when given) on
/// the mapped bytes, then copies the tensors out of that same mapping onto the CPU.
/// Only the safetensors format is accepted: nothing is ever unpickled.
pub fn load_safetensors(path: &Path, expected: Option<&str>) -> Result<Loaded, ClassifierError> {
    let file = File::open(path).map_err(|source| ClassifierError::Io {
        path: path.to_owned(),
        source,
    })?;
    // SAFETY: the mapping is read-only and private to this function. The usual hazard of
    // `mmap` is another process truncating or rewriting the file while it is mapped; the
    // bytes are hashed and the tensors copied out within this call, and a file changed
    // under us either fails the pin (hash computed over the mapped bytes) or is caught by
    // the safetensors parser's bounds checks. The mapping is dropped before returning.
    #[allow(unsafe_code)]
    let mmap = unsafe { memmap2::MmapOptions::new().map(&file) }.map_err(|source| {
        ClassifierError::Io {
            path: path.to_owned(),
            source,
        }
    })?;
    let sha256 = sha256_hex(&mmap);
    check(path, expected, &sha256)?;
    let st = safetensors::SafeTensors::deserialize(&mmap)
        .map_err(|e| invalid(path, format!("not a valid safetensors file: {e}")))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&mmap)
        .map_err(|e| invalid(path, format!("bad safetensors header: {e}")))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        let t = view
            .load(&Device::Cpu)
            .map_err(|e| invalid(path, format!("tensor `{name}`: {e}")))?;
        tensors.insert(name, t);
    }
    Ok(Loaded {
        tensors,
        metadata,
        sha256,
    })
}
