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

use crate::engine::TriggerWord;
use crate::{Detector, Policy};

/// How many trigger words `encoded` has: they come first in [`TRIGGERS`].
const ENCODED_TRIGGERS: usize = encoded::GATE_WORDS.len();

/// The trigger bit of `tool_poisoning`'s first marker in [`TRIGGERS`].
pub(crate) const TOOL_MARKER_BIT: usize = ENCODED_TRIGGERS;

/// The trigger bit of `hidden_carriers`' first marker in [`TRIGGERS`].
pub(crate) const HIDDEN_MARKER_BIT: usize = TOOL_MARKER_BIT + tool_poisoning::MARKERS.len();

/// How many trigger words there are.
const TRIGGER_COUNT: usize = HIDDEN_MARKER_BIT + hidden_carriers::MARKERS.len();

/// The words the code detectors need found, added to the rules' keyword pass so that the
/// detectors do not read the text again for them: `encoded`'s rot13/reversal gate words
/// (each with the reach of the text it then decodes) and `tool_poisoning`'s markers of a
/// tool definition and `hidden_carriers`' markers of a carrier (presence only). Bits in
/// `Triggers::seen` follow this order.
pub(crate) const TRIGGERS: [TriggerWord; TRIGGER_COUNT] = {
    let out = [TriggerWord { word: "", reach: 0 }; TRIGGER_COUNT];
    let out = with_words(out, 0, encoded::GATE_WORDS, encoded::GATE_REACH);
    let out = with_words(out, TOOL_MARKER_BIT, &tool_poisoning::MARKERS, 0);
    with_words(out, HIDDEN_MARKER_BIT, &hidden_carriers::MARKERS, 0)
};

/// `out` with `words` (each with `reach`) written from index `at` on.
const fn with_words(
    mut out: [TriggerWord; TRIGGER_COUNT],
    at: usize,
    words: &[&'static str],
    reach: usize,
) -> [TriggerWord; TRIGGER_COUNT] {
    let mut i = 0;
    while i < words.len() {
        out[at + i] = TriggerWord {
            word: words[i],
            reach,
        };
        i += 1;
    }
    out
}

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

// `Triggers::seen` has one bit per trigger word.
const _: () = assert!(TRIGGERS.len() <= 64);
