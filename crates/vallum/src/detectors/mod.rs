//! The built-in code detectors (what rules cannot express), chosen by the policy.

#[cfg(feature = "classifier")]
pub(crate) mod classifier;

use std::sync::Arc;

use crate::{Detector, Policy};

/// The built-in detectors the policy switches on, in the order they run.
pub(crate) fn builtin(policy: &Policy) -> Vec<Arc<dyn Detector>> {
    let _ = policy;
    Vec::new()
}
