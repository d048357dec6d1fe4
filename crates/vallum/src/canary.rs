//! Canary tokens: random markers to plant in a system prompt.

/// The prefix of every canary token; detectors look for tokens that carry it.
pub const CANARY_PREFIX: &str = "vlm-canary-";

/// A fresh random canary token (`vlm-canary-` and 20 lowercase base-32 characters, 100
/// bits from the operating system's generator) to plant in a system prompt.
///
/// When a token found in the prompt shows up in an output, an output scan reports a
/// finding of category `canary`.
///
/// ```
/// let a = vallum::canary();
/// assert!(a.starts_with("vlm-canary-"));
/// assert_ne!(a, vallum::canary());
/// ```
pub fn canary() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).expect("the operating system's random generator is available");
    let mut token = String::with_capacity(CANARY_PREFIX.len() + 20);
    token.push_str(CANARY_PREFIX);
    token.extend(
        bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 31)])),
    );
    token
}
