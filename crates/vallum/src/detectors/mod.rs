//! The built-in code detectors (what rules cannot express), chosen by the policy.

pub(crate) mod canary;
#[cfg(feature = "classifier")]
pub(crate) mod classifier;
pub(crate) mod derived;
pub(crate) mod encoded;
pub(crate) mod exfiltration;
pub(crate) mod hidden_carriers;
pub(crate) mod injection_score;
pub(crate) mod invisible;
pub(crate) mod obfuscation;
pub(crate) mod prompt_leak;
pub(crate) mod tool_poisoning;

use std::sync::Arc;

use crate::{Detector, Policy};

/// The built-in detectors the policy switches on, in the order they run.
pub(crate) fn builtin(policy: &Policy) -> Vec<Arc<dyn Detector>> {
    let mut detectors: Vec<Arc<dyn Detector>> = Vec::new();
    // Invisible text, and injection hidden from the plain rules (decoded, obfuscated,
    // hidden in markup, in tool descriptions).
    if policy.detectors.invisible_text {
        detectors.push(Arc::new(invisible::InvisibleText));
    }
    if policy.detectors.encoded {
        detectors.push(Arc::new(encoded::Encoded::new()));
    }
    if policy.detectors.injection {
        detectors.push(Arc::new(obfuscation::Obfuscation));
        detectors.push(Arc::new(hidden_carriers::HiddenCarriers::new()));
        detectors.push(Arc::new(tool_poisoning::ToolPoisoning::new()));
    }
    // Output side (crate::stream recognises these three by name).
    if policy.detectors.exfiltration {
        detectors.push(Arc::new(exfiltration::Exfiltration::new(policy)));
    }
    if policy.detectors.canary {
        detectors.push(Arc::new(canary::Canary));
    }
    if policy.detectors.prompt_leak {
        detectors.push(Arc::new(prompt_leak::PromptLeak::new(
            policy.output.leak_threshold,
        )));
    }
    detectors
}
