//! Anonymisation: stable placeholders for personal data and secrets, and the vault that
//! puts the values back into the model's answer.

use std::collections::HashMap;
use std::fmt;

use regex_automata::meta;
use zeroize::Zeroizing;

use crate::Finding;

/// The original values behind the placeholders of one [`crate::Guard::anonymize`] call.
///
/// Values are wiped from memory when the vault is dropped, and never shown by `Debug`.
#[derive(Clone, Default)]
pub struct Vault {
    /// `(placeholder without brackets, e.g. "EMAIL_1", value)`.
    entries: Vec<(String, Zeroizing<String>)>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field(
                "placeholders",
                &self
                    .entries
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Vault {
    /// How many distinct values it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The placeholders it knows, as they appear in masked text (e.g. `<EMAIL_1>`).
    pub fn placeholders(&self) -> impl Iterator<Item = String> + '_ {
        self.entries.iter().map(|(p, _)| format!("<{p}>"))
    }

    /// Puts the original values back where `text` has their placeholders.
    ///
    /// Lightly altered placeholders are recognised too: any letter case, brackets changed
    /// or dropped (`[EMAIL_1]`, `EMAIL_1`, `< email_1 >`), a space or hyphen for the
    /// underscore. A placeholder this vault did not issue is left as it is.
    pub fn restore(&self, text: &str) -> String {
        if self.entries.is_empty() {
            return text.to_owned();
        }
        let mut kinds: Vec<&str> = self
            .entries
            .iter()
            .filter_map(|(p, _)| p.rsplit_once('_').map(|(k, _)| k))
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        let alternatives: Vec<String> = kinds
            .iter()
            .map(|k| regex_syntax::escape(k).replace('_', "[_ -]"))
            .collect();
        let pattern = format!(
            r"(?i)(?:[<\[{{(]\s*)?(?-u:\b)((?:{}))[_ -]([0-9]+)(?-u:\b)(?:\s*[>\]}})])?",
            alternatives.join("|")
        );
        let Ok(re) = meta::Regex::new(&pattern) else {
            return text.to_owned();
        };
        // One lookup per placeholder found, not a walk over the vault (linear time).
        let values: HashMap<&str, &str> = self
            .entries
            .iter()
            .map(|(p, v)| (p.as_str(), v.as_str()))
            .collect();
        let mut out = String::with_capacity(text.len());
        let mut cursor = 0;
        let mut caps = re.create_captures();
        let mut at = 0;
        while at <= text.len() {
            re.search_captures(&regex_automata::Input::new(text).range(at..), &mut caps);
            let Some(m) = caps.get_match() else { break };
            let kind = caps
                .get_group(1)
                .map(|s| &text[s.range()])
                .unwrap_or_default();
            let num = caps
                .get_group(2)
                .map(|s| &text[s.range()])
                .unwrap_or_default();
            let key = format!(
                "{}_{num}",
                kind.to_ascii_uppercase().replace([' ', '-'], "_")
            );
            if let Some(value) = values.get(key.as_str()) {
                out.push_str(&text[cursor..m.start()]);
                out.push_str(value);
                cursor = m.end();
            }
            at = m.end().max(m.start() + 1);
            while at < text.len() && !text.is_char_boundary(at) {
                at += 1;
            }
        }
        out.push_str(&text[cursor..]);
        out
    }
}

/// Replaces every finding with a stable numbered placeholder per distinct value.
pub(crate) fn anonymize(text: &str, findings: &[&Finding]) -> (String, Vault) {
    let mut spans: Vec<&Finding> = findings.to_vec();
    spans.sort_by_key(|f| (f.span.start, std::cmp::Reverse(f.span.end)));
    let mut vault = Vault::default();
    let mut counters: Vec<(String, usize)> = Vec::new();
    // (kind, value) → index into the vault's entries: one lookup per finding.
    let mut index: HashMap<(String, &str), usize> = HashMap::new();
    let mut out = String::with_capacity(text.len());
    let mut cursor = 0;
    for f in spans {
        if f.span.start < cursor {
            continue; // overlaps a span already replaced
        }
        let value = &text[f.span];
        let kind = f.kind.to_ascii_uppercase();
        let placeholder = if let Some(&i) = index.get(&(kind.clone(), value)) {
            vault.entries[i].0.clone()
        } else {
            let n = if let Some((_, n)) = counters.iter_mut().find(|(k, _)| *k == kind) {
                *n += 1;
                *n
            } else {
                counters.push((kind.clone(), 1));
                1
            };
            let p = format!("{kind}_{n}");
            index.insert((kind, value), vault.entries.len());
            vault
                .entries
                .push((p.clone(), Zeroizing::new(value.to_owned())));
            p
        };
        out.push_str(&text[cursor..f.span.start]);
        out.push('<');
        out.push_str(&placeholder);
        out.push('>');
        cursor = f.span.end;
    }
    out.push_str(&text[cursor..]);
    (out, vault)
}
