//! Validators for credential formats: checksummed tokens (GitHub, npm, GitLab), JWT
//! structure, bech32 keys, base64 key sizes, private-key bodies, and the value filter of
//! generic `password = ...` / `api_key: ...` assignments.
//!
//! Every function only answers yes or no: none formats, logs or returns the text it checks,
//! so a candidate secret never ends up in an error message or a log line.

use sha2::{Digest, Sha256};

use super::common::is_placeholder;

/// A validator table entry: the name pack files use, and the check.
type Entry = (&'static str, fn(&str) -> bool);

/// Validators of this module, by name.
pub const VALIDATORS: &[Entry] = &[
    ("github_token_checksum", github_token_checksum),
    ("github_fine_grained_pat", github_fine_grained_pat),
    ("npm_token_checksum", npm_token_checksum),
    ("gitlab_routable_token", gitlab_routable_token),
    ("jwt", jwt),
    ("basic_auth_credentials", basic_auth_credentials),
    ("bech32_checksum", bech32_checksum),
    ("base64_64_bytes", base64_64_bytes),
    ("base64_32_bytes", base64_32_bytes),
    ("private_key_block", private_key_block),
    ("credential_value", credential_value),
];

/// The base62 alphabet GitHub and npm use for token checksums (digits, upper, lower).
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn base62_digit(b: u8) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some(u64::from(b - b'0')),
        b'A'..=b'Z' => Some(u64::from(b - b'A') + 10),
        b'a'..=b'z' => Some(u64::from(b - b'a') + 36),
        _ => None,
    }
}

/// Decodes a base62 number (at most 10 digits, so it fits in a `u64`).
fn base62_decode(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 10 {
        return None;
    }
    text.iter()
        .try_fold(0u64, |acc, &b| Some(acc * 62 + base62_digit(b)?))
}

/// Encodes `n` in base62, left-padded with `0` to `width` digits.
pub fn base62_encode(mut n: u64, width: usize) -> String {
    let mut digits = Vec::with_capacity(width.max(11));
    while n > 0 {
        digits.push(BASE62[(n % 62) as usize]);
        n /= 62;
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    digits.into_iter().map(char::from).collect()
}

/// Whether `body` followed by the six-character `check` is a GitHub/npm-style token tail:
/// `check` is the CRC-32 (IEEE) of `body`, base62-encoded and zero-padded to six digits.
fn crc32_base62_tail(tail: &str) -> bool {
    let bytes = tail.as_bytes();
    if bytes.len() < 7 || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let (body, check) = bytes.split_at(bytes.len() - 6);
    base62_decode(check) == Some(u64::from(crc32fast::hash(body)))
}

/// A GitHub token of the formats announced in 2021 (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`):
/// the prefix, a base62 random part, and a six-character base62 CRC-32 of the random part.
pub fn github_token_checksum(text: &str) -> bool {
    let Some(tail) = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]
        .iter()
        .find_map(|p| text.strip_prefix(p))
    else {
        return false;
    };
    crc32_base62_tail(tail)
}

/// An npm access token (`npm_` + 30 random base62 characters + a GitHub-style CRC-32).
pub fn npm_token_checksum(text: &str) -> bool {
    text.strip_prefix("npm_").is_some_and(crc32_base62_tail)
}

/// A GitHub fine-grained personal access token (`github_pat_...`, 93 characters): the eight
/// characters before the last eight are the base32 (RFC 4648) encoding of the first five
/// bytes of the SHA-256 of everything before them.
pub fn github_fine_grained_pat(text: &str) -> bool {
    let bytes = text.as_bytes();
    if !text.starts_with("github_pat_")
        || bytes.len() < "github_pat_".len() + 24
        || !bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        return false;
    }
    let n = bytes.len();
    let digest = Sha256::digest(&bytes[..n - 16]);
    base32_prefix(&digest[..5]) == bytes[n - 16..n - 8]
}

/// RFC 4648 base32 of exactly five bytes (eight characters, no padding).
fn base32_prefix(five: &[u8]) -> [u8; 8] {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut acc = 0u64;
    for &b in five {
        acc = (acc << 8) | u64::from(b);
    }
    let mut out = [0u8; 8];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = ALPHABET[((acc >> (35 - 5 * i)) & 31) as usize];
    }
    out
}

/// A GitLab routable token (`glpat-<payload>.<version>.<length><crc>`): the last seven
/// characters are the CRC-32 of everything before them in lower-case base36, zero-padded.
pub fn gitlab_routable_token(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() < 8 {
        return false;
    }
    let (head, check) = bytes.split_at(bytes.len() - 7);
    let mut value = 0u64;
    for &b in check {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'z' => b - b'a' + 10,
            _ => return false,
        };
        value = value * 36 + u64::from(digit);
    }
    value == u64::from(crc32fast::hash(head))
}

fn base64_value(b: u8, url: bool) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' if !url => Some(62),
        b'/' if !url => Some(63),
        b'-' if url => Some(62),
        b'_' if url => Some(63),
        _ => None,
    }
}

/// Decodes base64 (standard alphabet, or the URL-safe one when `url`), with or without `=`
/// padding. `None` when a character is outside the alphabet or the length is impossible.
pub fn base64_decode(text: &str, url: bool) -> Option<Vec<u8>> {
    let data = text.trim_end_matches('=');
    if text.len() - data.len() > 2 || data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for b in data.bytes() {
        acc = (acc << 6) | u32::from(base64_value(b, url)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Standard base64 that decodes to exactly 64 bytes (Azure storage and Cosmos DB account keys).
pub fn base64_64_bytes(text: &str) -> bool {
    base64_decode(text, false).is_some_and(|b| b.len() == 64)
}

/// Standard base64 that decodes to exactly 32 bytes (Azure shared access keys).
pub fn base64_32_bytes(text: &str) -> bool {
    base64_decode(text, false).is_some_and(|b| b.len() == 32)
}

/// A JSON Web Token: three dot-separated base64url parts whose header is a JSON object with
/// a string `alg` and whose payload is a JSON object. The signature may be empty only when
/// `alg` is `none`.
pub fn jwt(text: &str) -> bool {
    let mut parts = text.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some(header) = base64_decode(header, true) else {
        return false;
    };
    let Ok(header) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&header)
    else {
        return false;
    };
    let Some(alg) = header.get("alg").and_then(serde_json::Value::as_str) else {
        return false;
    };
    if signature.is_empty() && !alg.eq_ignore_ascii_case("none") {
        return false;
    }
    if !signature.is_empty() && base64_decode(signature, true).is_none() {
        return false;
    }
    base64_decode(payload, true).is_some_and(|p| {
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&p).is_ok()
    })
}

/// HTTP Basic credentials: standard base64 of `user:password` (printable UTF-8, a colon, a
/// password that is not a placeholder).
pub fn basic_auth_credentials(text: &str) -> bool {
    let Some(bytes) = base64_decode(text, false) else {
        return false;
    };
    let Ok(decoded) = std::str::from_utf8(&bytes) else {
        return false;
    };
    let Some((user, password)) = decoded.split_once(':') else {
        return false;
    };
    !password.is_empty()
        && !decoded.chars().any(char::is_control)
        && user.len() <= 256
        && !is_placeholder(password)
}

/// A bech32 string (BIP-173) with a valid checksum, e.g. an `age` secret key
/// (`AGE-SECRET-KEY-1...`) or a Nostr `nsec1...` key. Mixed case is invalid.
pub fn bech32_checksum(text: &str) -> bool {
    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    if text.bytes().any(|b| b.is_ascii_lowercase()) && text.bytes().any(|b| b.is_ascii_uppercase())
    {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    let Some(sep) = lower.rfind('1') else {
        return false;
    };
    let (hrp, data) = (&lower.as_bytes()[..sep], &lower.as_bytes()[sep + 1..]);
    if hrp.is_empty() || data.len() < 6 || !hrp.iter().all(|b| (33..=126).contains(b)) {
        return false;
    }
    let mut chk = 1u32;
    let mut step = |v: u8| {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    };
    for &b in hrp {
        step(b >> 5);
    }
    step(0);
    for &b in hrp {
        step(b & 31);
    }
    for &b in data {
        let Some(v) = CHARSET.iter().position(|&c| c == b) else {
            return false;
        };
        step(v as u8);
    }
    chk == 1
}

/// A PEM/OpenSSH/PGP private-key block with a real body: at least 64 base64 characters
/// after the header line and no `...` ellipsis standing in for the key.
pub fn private_key_block(text: &str) -> bool {
    let Some(after_begin) = text.strip_prefix("-----BEGIN") else {
        return false;
    };
    let Some(header_end) = after_begin.find("-----") else {
        return false;
    };
    let body = &after_begin[header_end + 5..];
    let body = body.find("-----END").map_or(body, |end| &body[..end]);
    if body.contains("...") || body.contains('\u{2026}') {
        return false;
    }
    // Escaped newlines (`\n` in JSON or .env values) are not key material.
    let body = body.replace("\\n", "\n").replace("\\r", "\r");
    let key_chars = body
        .lines()
        .filter(|line| !line.contains(':'))
        .flat_map(str::bytes)
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
        .count();
    key_chars >= 64
}

/// Splits an identifier into words: at `_`, at lower→upper humps, at letter↔digit changes
/// and before the last capital of an acronym (`XMLHttp` → `XML`, `Http`).
fn identifier_words(bytes: &[u8]) -> Vec<&[u8]> {
    let mut words = Vec::new();
    let mut start = 0;
    for i in 1..=bytes.len() {
        let split = i == bytes.len() || bytes[i] == b'_' || bytes[i - 1] == b'_' || {
            let (a, b) = (bytes[i - 1], bytes[i]);
            (a.is_ascii_lowercase() && b.is_ascii_uppercase())
                || (a.is_ascii_digit() != b.is_ascii_digit())
                || (a.is_ascii_uppercase()
                    && b.is_ascii_uppercase()
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_lowercase))
        };
        if split {
            if bytes[start] != b'_' {
                words.push(&bytes[start..i]);
            }
            start = i;
        }
    }
    words
}

/// A type, constant or variable name rather than a value: `String`, `CString`, `PSTR`,
/// `MI_UserCredentials_0`, `X509RequestInheritOptions`, `Ed25519PrivateKey`,
/// `challengePassword`. The identifier must split into real-looking words (capitalised words
/// with a vowel, upper-case runs, numbers; few and long, unlike the short random pieces a
/// token splits into).
fn looks_like_type_name(value: &str) -> bool {
    let bytes = value.trim_start_matches('_').as_bytes();
    if bytes.len() < 2
        || bytes[0].is_ascii_digit()
        || !bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        return false;
    }
    let words = identifier_words(bytes);
    if words.is_empty() || bytes.len() < 3 * words.len() {
        return false;
    }
    // Letters only, upper-case first, long words: `EDITPARTS`, `KspCompleteTokenFn`.
    if bytes[0].is_ascii_uppercase()
        && bytes.iter().all(|b| b.is_ascii_alphabetic() || *b == b'_')
        && 2 * bytes.len() >= 7 * words.len()
    {
        return true;
    }
    let vowel = |s: &[u8]| s.iter().any(|b| b"aeiouy".contains(b));
    let number = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    // Acronyms and constant words are short (`HTTP`, `PROPERTY`).
    let caps = |s: &[u8]| s.len() <= 8 && s.iter().all(u8::is_ascii_uppercase);
    let capitalised = |s: &[u8]| {
        s[0].is_ascii_uppercase()
            && s[1..].iter().all(u8::is_ascii_lowercase)
            && (s.len() < 3 || vowel(&s[1..]))
    };
    if bytes[0].is_ascii_lowercase() {
        // lowerCamel: `challengePassword`, `userSecretKey`.
        let first = words[0];
        return words.len() >= 2
            && first.len() >= 3
            && first.iter().all(u8::is_ascii_lowercase)
            && vowel(first)
            && words[1..].iter().all(|w| w.len() >= 3 && capitalised(w));
    }
    let long_words = words
        .iter()
        .filter(|w| w.len() >= 3 && capitalised(w))
        .count();
    words.iter().all(|w| number(w) || caps(w) || capitalised(w))
        && (words.len() == 1
            || value.contains('_')
            || long_words >= 2
            || (long_words == 1 && !words.iter().any(|w| number(w))))
}

/// Words that, alone, are a type, a keyword or a label rather than a value.
const NON_VALUES: &[&str] = &[
    "null",
    "none",
    "nil",
    "true",
    "false",
    "undefined",
    "string",
    "str",
    "bool",
    "boolean",
    "number",
    "integer",
    "object",
    "required",
    "optional",
    "empty",
    "unset",
    "hidden",
    "masked",
    "omitted",
    "secret",
    "secrets",
    "password",
    "passwords",
    "passwd",
    "passphrase",
    "pass",
    "pwd",
    "token",
    "tokens",
    "apikey",
    "api_key",
    "api-key",
    "private_key",
    "credentials",
    "default",
    "value",
    "env",
    "environment",
    "variable",
    "config",
    "settings",
    "self",
    "this",
];

/// The value of a generic assignment (`password = ...`, `api_key: ...`, `<password>...`)
/// looks like a credential rather than code: not a type or keyword, not a reference to a
/// variable, setting or environment variable, not a path, URL or template.
pub fn credential_value(text: &str) -> bool {
    let value = text.trim();
    if value.chars().count() < 3 {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    if NON_VALUES.contains(&lower.as_str()) {
        return false;
    }
    // A sentence (`'Password used to generate key'`), not a credential.
    if value.matches(' ').count() >= 3 {
        return false;
    }
    let first = value.as_bytes()[0];
    if matches!(
        first,
        b'$' | b'%' | b'@' | b'&' | b'*' | b'!' | b'{' | b'[' | b'(' | b'<' | b'#' | b'/' | b'\\'
    ) || value.ends_with(')')
    {
        return false;
    }
    if lower.contains("://")
        || lower.contains("::")
        || lower.starts_with("~/")
        || lower.starts_with("./")
    {
        return false;
    }
    if looks_like_type_name(value) {
        return false;
    }
    // `ENV_VAR_NAME`, `config.db.password`, `self._secret`, `user_password`: references, not values.
    let identifier = |s: &str| {
        !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !s.as_bytes()[0].is_ascii_digit()
    };
    let is_env_name = value.contains('_')
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    let is_snake_word =
        value.contains('_') && value.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    // A segment mixing upper case, lower case and digits looks random: a token, not a name.
    let random_looking = |s: &str| {
        s.bytes().any(|b| b.is_ascii_uppercase())
            && s.bytes().any(|b| b.is_ascii_lowercase())
            && s.bytes().any(|b| b.is_ascii_digit())
            && !looks_like_type_name(s)
    };
    let is_path = value.contains('.')
        && value.split('.').all(identifier)
        && !value.split('.').any(random_looking)
        && value.bytes().any(|b| b.is_ascii_lowercase());
    !(is_env_name || is_snake_word || is_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's published example (blog post on the 2021 token formats, checksum `0mLq17`).
    const GH_EXAMPLE: &str = "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";

    #[test]
    fn github_checksum_accepts_the_published_example() {
        assert!(github_token_checksum(GH_EXAMPLE));
        let mut wrong = GH_EXAMPLE.to_owned();
        wrong.replace_range(10..11, "X");
        assert!(!github_token_checksum(&wrong));
        assert!(!github_token_checksum(
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
        ));
        assert!(!github_token_checksum(
            "ghx_zQWBuTSOoRi4A9spHcVY5ncnsDkxkJ0mLq17"
        ));
        assert!(!github_token_checksum("ghp_"));
        assert!(!github_token_checksum("ghp_ü"));
    }

    #[test]
    fn base62_round_trips() {
        for n in [0u64, 1, 61, 62, 3_843, u64::from(u32::MAX)] {
            let s = base62_encode(n, 6);
            assert_eq!(base62_decode(s.as_bytes()), Some(n), "{n}");
        }
        assert_eq!(base62_encode(0, 6), "000000");
        assert_eq!(base62_decode(b"-"), None);
    }

    #[test]
    fn npm_uses_the_same_scheme() {
        let body = "zQWBuTSOoRi4A9spHcVY5ncnsDkxkJ";
        assert!(npm_token_checksum(&format!("npm_{body}0mLq17")));
        assert!(!npm_token_checksum(&format!("npm_{body}0mLq18")));
        assert!(!npm_token_checksum(&format!("ghp_{body}0mLq17")));
    }

    #[test]
    fn base32_prefix_matches_rfc4648() {
        // RFC 4648 test vector: BASE32("fooba") = "MZXW6YTB".
        assert_eq!(&base32_prefix(b"fooba"), b"MZXW6YTB");
    }

    #[test]
    fn fine_grained_pat_checks_its_hash() {
        let head =
            "github_pat_11ABCDEFG0123456789abcd_efghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST01";
        let digest = Sha256::digest(head.as_bytes());
        let check = String::from_utf8(base32_prefix(&digest[..5]).to_vec()).unwrap();
        let token = format!("{head}{check}ABCDEFGH");
        assert!(github_fine_grained_pat(&token));
        let broken = format!("{head}{}ABCDEFGH", "AAAAAAAA");
        assert_eq!(github_fine_grained_pat(&broken), check == "AAAAAAAA");
        assert!(!github_fine_grained_pat("github_pat_short"));
    }

    #[test]
    fn gitlab_routable_checksum() {
        let head = "glpat-Vallum0Test0Payload0Of32Chars.01.0w";
        let crc = crc32fast::hash(head.as_bytes());
        let mut digits = String::new();
        let mut n = crc;
        while n > 0 {
            digits.insert(
                0,
                char::from(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]),
            );
            n /= 36;
        }
        let token = format!("{head}{digits:0>7}");
        assert!(gitlab_routable_token(&token));
        assert!(!gitlab_routable_token(&format!("{head}0000000")) || crc == 0);
        assert!(!gitlab_routable_token("glpat-ABCDEFG"));
    }

    #[test]
    fn base64_decoding() {
        assert_eq!(base64_decode("aGVsbG8=", false).unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8", false).unwrap(), b"hello");
        assert_eq!(base64_decode("_-8", true).unwrap(), [0xff, 0xef]);
        assert!(base64_decode("a", false).is_none());
        assert!(base64_decode("aGVsbG8===", false).is_none());
        assert!(base64_decode("a*bc", false).is_none());
    }

    #[test]
    fn jwt_structure() {
        // {"alg":"HS256","typ":"JWT"} . {"sub":"1234567890"} . signature
        let good =
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dGVzdHNpZ25hdHVyZQ";
        assert!(jwt(good));
        // Header without "alg".
        assert!(!jwt(
            "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dGVzdHNpZ25hdHVyZQ"
        ));
        // Payload is not JSON.
        assert!(!jwt(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.aGVsbG8gd29ybGQ.dGVzdHNpZ25hdHVyZQ"
        ));
        // Empty signature with a real algorithm.
        assert!(!jwt(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
        ));
        // alg none, empty signature: an unsecured JWT.
        assert!(jwt("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0."));
        assert!(!jwt("a.b"));
    }

    #[test]
    fn basic_auth() {
        assert!(basic_auth_credentials("YWxhZGRpbjpvcGVuc2VzYW1l")); // aladdin:opensesame
        assert!(!basic_auth_credentials("aGVsbG8gd29ybGQ=")); // no colon
        assert!(!basic_auth_credentials("dXNlcjo=")); // empty password
        assert!(!basic_auth_credentials("dXNlcjo8cGFzc3dvcmQ+")); // user:<password>
        assert!(!basic_auth_credentials("understanding"));
    }

    #[test]
    fn bech32_vectors() {
        // BIP-173 valid test vectors.
        assert!(bech32_checksum("A12UEL5L"));
        assert!(bech32_checksum(
            "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"
        ));
        // Invalid: mixed case, bad checksum, no separator.
        assert!(!bech32_checksum("A12uEL5L"));
        assert!(!bech32_checksum(
            "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx"
        ));
        assert!(!bech32_checksum("pzry9x0s0muk"));
    }

    #[test]
    fn private_key_bodies() {
        let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKjMzEfYyjiWA4R4";
        assert!(private_key_block(&format!(
            "-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"
        )));
        assert!(private_key_block(&format!(
            "-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----"
        )));
        assert!(!private_key_block(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----"
        ));
        assert!(!private_key_block(
            "-----BEGIN PRIVATE KEY-----\n<your key here>\n-----END PRIVATE KEY-----"
        ));
    }

    proptest::proptest! {
        /// Validators are total: any text, ASCII or not, gets an answer and never a panic.
        #[test]
        fn validators_never_panic(text in "\\PC{0,80}", ascii in "[ -~]{0,120}") {
            for (_, check) in VALIDATORS {
                check(&text);
                check(&ascii);
                check(&format!("ghp_{ascii}"));
                check(&format!("github_pat_{ascii}"));
                check(&format!("-----BEGIN{text}"));
            }
        }
    }

    #[test]
    fn random_tokens_are_not_mistaken_for_names() {
        const AN: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut rejected = 0;
        for i in 0..5_000 {
            let len = 10 + i % 31;
            let token: String = (0..len)
                .map(|_| char::from(AN[(next() % AN.len() as u64) as usize]))
                .collect();
            if !credential_value(&token) {
                rejected += 1;
            }
        }
        // At most 0.5%: random values that happen to spell capitalised words.
        assert!(rejected <= 25, "{rejected} of 5000 random tokens rejected");
    }

    #[test]
    fn credential_values() {
        for real in [
            "hunter2!",
            "Summer2024",
            "s3cr3tP4ss",
            "x9$kLm2#qP",
            "admin123",
            "Zk3Pq8Wm2Xr7Ty4Vb9Nc6Hd1",
            "YpiPggrI77",
            "Hx7vR2q_9zLmQ",
            "myPassword1!",
            "correct horse battery",
            "MTk4NjIyNDgzNDcxOTI1MjQ4.Gh7Kd2.x9Lq3Vb7Zt2Rw8Yp4Nm6Kc1Jf5Hs0Ud3Ea",
        ] {
            assert!(credential_value(real), "{real}");
        }
        for code in [
            "None",
            "string",
            "DB_PASSWORD",
            "os.environ",
            "self._password",
            "config.db.password",
            "user_password",
            "$DB_PASS",
            "%(password)s",
            "{{ vault_password }}",
            "get_password()",
            "https://vault.internal/secret",
            "/etc/secrets/db",
            "windows_sys::core::PSTR",
            "CString",
            "CredReadDomainCredentialsFn",
            "MI_UsernamePasswordCreds",
            "Uri_PROPERTY",
            "X509RequestInheritOptions",
            "MI_UserCredentials_0",
            "EDITPARTS",
            "WinHttpRequestOption",
            "SslOpenPrivateKeyFn",
            "Ed25519PrivateKey",
            "ed25519.Ed25519PrivateKey",
            "_EllipticCurvePrivateKey",
            "challengePassword",
            "Password used to generate key",
            "ab",
        ] {
            assert!(!credential_value(code), "{code}");
        }
    }
}
