//! Checks shared by several families: digit extraction, Luhn, Shannon entropy, placeholders.

/// Validators of this module, by name.
pub const VALIDATORS: super::Table = &[("luhn", luhn)];

/// The ASCII digits of `text`, in order, as numbers; separators are skipped.
pub fn digits(text: &str) -> impl DoubleEndedIterator<Item = u32> + Clone + '_ {
    text.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'))
}

/// The Luhn (mod 10) check used by payment cards, Canadian SINs, IMEIs and others.
/// Separators (spaces, dashes) are ignored; fewer than two digits fails.
pub fn luhn(text: &str) -> bool {
    let mut sum = 0;
    let mut count = 0;
    for (i, d) in digits(text).rev().enumerate() {
        count += 1;
        sum += if i % 2 == 1 {
            let x = d * 2;
            if x > 9 { x - 9 } else { x }
        } else {
            d
        };
    }
    count >= 2 && sum % 10 == 0
}

/// Shannon entropy of `text` in bits per character (over bytes, which is exact for ASCII).
pub fn shannon_entropy(text: &str) -> f32 {
    if text.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in text.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = text.len() as f32;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / n;
            -p * p.log2()
        })
        .sum()
}

/// Words that mark a value as a placeholder.
const WORDS: &[&str] = &[
    "example",
    "your",
    "dummy",
    "placeholder",
    "changeme",
    "change_me",
    "redacted",
    "sample",
    "insert",
    "replace",
    "foobar",
    "xxxx",
    "****",
    "....",
    "0000000000",
    "1234567890",
    "abcdefgh",
    "token_here",
    "key_here",
    "secret_here",
    "not_a_real",
    "fake",
];

/// Whether `value` looks like a placeholder rather than a real value: template syntax
/// (`${X}`, `{{x}}`, `<YOUR_KEY>`), runs of `x`/`*`/`0`, or words such as "example",
/// "your", "dummy", "placeholder", "changeme", "redacted".
pub fn is_placeholder(value: &str) -> bool {
    static WORD_SEARCH: std::sync::LazyLock<aho_corasick::AhoCorasick> =
        std::sync::LazyLock::new(|| {
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(WORDS)
                .expect("the placeholder words build")
        });
    if value.contains("${")
        || value.contains("{{")
        || value.contains('<')
        || value.contains("%s")
        || value.contains("%S")
        || value.starts_with('$')
        || WORD_SEARCH.is_match(value)
    {
        return true;
    }
    // A value made of one repeated character (after its prefix) is not a credential:
    // most of its letters and digits (ASCII case ignored) repeat the one before.
    let (mut len, mut repeats, mut prev) = (0usize, 0usize, None);
    for b in value.bytes().filter(u8::is_ascii_alphanumeric) {
        let b = b.to_ascii_lowercase();
        repeats += usize::from(prev == Some(b));
        prev = Some(b);
        len += 1;
    }
    len >= 8 && repeats * 10 >= len * 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_values() {
        assert!(luhn("4111 1111 1111 1111"));
        assert!(luhn("79927398713"));
        assert!(!luhn("79927398710"));
        assert!(!luhn("4111 1111 1111 1112"));
        assert!(!luhn("0"));
    }

    #[test]
    fn entropy_orders_strings() {
        assert!(shannon_entropy("aaaaaaaa") < 0.01);
        assert!((shannon_entropy("abcdefgh") - 3.0).abs() < 1e-5);
        assert!(shannon_entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY") > 4.0);
    }

    #[test]
    fn placeholders() {
        for p in [
            "AKIAXXXXXXXXXXXXXXXX",
            "<YOUR_KEY>",
            "${TOKEN}",
            "{{ api_key }}",
            "your-api-key",
            "changeme",
            "sk-aaaaaaaaaaaaaaaaaaaaaaaa",
            "sk-AaAaAaAaAaAaAaAaAaAa",
            "EXAMPLE-token-9f8e7d",
            "printf %S",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for real in [
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "s3cr3tP4ss!w0rd",
        ] {
            assert!(!is_placeholder(real), "{real}");
        }
    }
}
