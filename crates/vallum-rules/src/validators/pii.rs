//! Validators for personal-data formats: payment cards, bank numbers, national ids, phone
//! numbering plans, network and crypto addresses, dates.
//!
//! Every validator takes the text a rule matched (separators included) and says whether it is
//! a well-formed value of its kind: check digits where the format has one, numbering-plan and
//! range checks where it has none. None allocates on the heap or panics, whatever the input.

use std::net::{Ipv4Addr, Ipv6Addr};

use sha2::{Digest, Sha256};
use sha3::Keccak256;

use super::common::luhn;

/// A validator table entry: the name pack files use, and the check.
type Entry = (&'static str, fn(&str) -> bool);

/// Validators of this module, by name.
pub const VALIDATORS: &[Entry] = &[
    ("email_domain", email_domain),
    ("credit_card", credit_card),
    ("iban", iban),
    ("us_ssn", us_ssn),
    ("us_itin", us_itin),
    ("ipv4", ipv4),
    ("ipv6", ipv6),
    ("mac_address", mac_address),
    ("phone_intl", phone_intl),
    ("phone_nanp", phone_nanp),
    ("phone_national", phone_national),
    ("phone_in_mobile", phone_in_mobile),
    ("phone_br", phone_br),
    ("phone_plain", phone_plain),
    ("phone_local", phone_local),
    ("uk_nino", uk_nino),
    ("uk_nhs", uk_nhs),
    ("de_tax_id", de_tax_id),
    ("fr_nir", fr_nir),
    ("es_dni", es_dni),
    ("es_nie", es_nie),
    ("it_fiscal_code", it_fiscal_code),
    ("in_aadhaar", in_aadhaar),
    ("in_pan", in_pan),
    ("ca_sin", ca_sin),
    ("au_tfn", au_tfn),
    ("aba_routing", aba_routing),
    ("swift_bic", swift_bic),
    ("bitcoin_address", bitcoin_address),
    ("ethereum_checksummed", ethereum_checksummed),
    ("ethereum_single_case", ethereum_single_case),
    ("passport", passport),
    ("driver_license", driver_license),
    ("date", date),
];

// ---------------------------------------------------------------------------------------------
// Digit helpers
// ---------------------------------------------------------------------------------------------

/// Up to `N` ASCII digits of a text, in order, as numbers 0-9.
#[derive(Clone, Copy)]
struct Digits<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Digits<N> {
    /// The digits of `text` (other characters skipped), or `None` when there are more than `N`.
    fn of(text: &str) -> Option<Self> {
        let mut d = Digits {
            buf: [0; N],
            len: 0,
        };
        for b in text.bytes().filter(u8::is_ascii_digit) {
            if d.len == N {
                return None;
            }
            d.buf[d.len] = b - b'0';
            d.len += 1;
        }
        Some(d)
    }

    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The number formed by `d` (at most 19 digits).
fn number(d: &[u8]) -> u64 {
    d.iter().fold(0u64, |n, &x| n * 10 + u64::from(x))
}

/// Whether every digit is the same (`0000000`, `1111111`): never a real identifier.
fn all_same(d: &[u8]) -> bool {
    d.windows(2).all(|w| w[0] == w[1])
}

/// Whether the digits run up or down by one throughout (`123456789`, `987654321`).
fn sequential(d: &[u8]) -> bool {
    d.len() >= 6
        && (d.windows(2).all(|w| (w[0] + 1) % 10 == w[1])
            || d.windows(2).all(|w| (w[1] + 1) % 10 == w[0]))
}

/// The text without ASCII spaces, hyphens and dots, upper-cased, into `buf`; `None` when
/// longer than the buffer or when it holds anything but ASCII alphanumerics and those
/// separators.
fn compact<const N: usize>(text: &str) -> Option<([u8; N], usize)> {
    let mut buf = [0u8; N];
    let mut len = 0;
    for b in text.bytes() {
        match b {
            b' ' | b'-' | b'.' | b'\t' => {}
            b if b.is_ascii_alphanumeric() => {
                if len == N {
                    return None;
                }
                buf[len] = b.to_ascii_uppercase();
                len += 1;
            }
            _ => return None,
        }
    }
    Some((buf, len))
}

// ---------------------------------------------------------------------------------------------
// Email
// ---------------------------------------------------------------------------------------------

/// File extensions that look like a top-level domain after `name@2x.`: `logo@2x.png` is an
/// asset name, not an address. None of these is a delegated TLD.
const FILE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "heic", "avif", "css",
    "scss", "js", "mjs", "cjs", "ts", "tsx", "jsx", "map", "json", "yaml", "yml", "toml", "txt",
    "md", "html", "htm", "php", "py", "rs", "rb", "java", "class", "jar", "go", "c", "h", "cpp",
    "hpp", "lock", "log", "ini", "cfg", "conf", "xml", "csv", "pdf", "svgz", "woff", "woff2",
    "ttf", "otf", "eot", "mp3", "mp4", "wav", "ogg", "webm",
];

/// An email address whose domain does not end in a file extension (`icon@2x.png`) and whose
/// local part is not a package or image version tag.
pub fn email_domain(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || domain.is_empty() {
        return false;
    }
    let tld = domain.rsplit('.').next().unwrap_or_default();
    if tld.len() < 2 || !tld.bytes().all(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    !FILE_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(tld))
}

// ---------------------------------------------------------------------------------------------
// Payment cards
// ---------------------------------------------------------------------------------------------

/// The leading `k` digits as a number.
fn prefix(d: &[u8], k: usize) -> u32 {
    d.iter().take(k).fold(0u32, |n, &x| n * 10 + u32::from(x))
}

/// Whether an issuer identification number range admits this prefix and length.
fn card_brand_accepts(d: &[u8]) -> bool {
    let n = d.len();
    let p1 = prefix(d, 1);
    let p2 = prefix(d, 2);
    let p3 = prefix(d, 3);
    let p4 = prefix(d, 4);
    let p6 = prefix(d, 6);
    let in_range = |p: u32, lo: u32, hi: u32| (lo..=hi).contains(&p);
    // Visa
    (p1 == 4 && matches!(n, 13 | 16 | 19))
        // Mastercard, including the 2-series
        || ((in_range(p2, 51, 55) || in_range(p4, 2221, 2720)) && n == 16)
        // American Express
        || (matches!(p2, 34 | 37) && n == 15)
        // Diners Club
        || ((in_range(p3, 300, 305) || p4 == 3095 || matches!(p2, 36 | 38 | 39))
            && (14..=19).contains(&n))
        // Discover
        || ((p4 == 6011 || in_range(p3, 644, 649) || p2 == 65 || in_range(p6, 622_126, 622_925))
            && (16..=19).contains(&n))
        // JCB
        || (in_range(p4, 3528, 3589) && (16..=19).contains(&n))
        // UnionPay
        || ((p2 == 62 || p2 == 81) && (16..=19).contains(&n))
        // Maestro
        || (matches!(p4, 5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761 | 6762 | 6763)
            && (13..=19).contains(&n))
        // Mir
        || (in_range(p4, 2200, 2204) && (16..=19).contains(&n))
        // RuPay
        || ((p2 == 60 || p2 == 82 || p3 == 508 || p3 == 353 || p3 == 356) && n == 16)
        // Troy
        || (p4 == 9792 && n == 16)
        // Verve
        || ((in_range(p6, 506_099, 506_198) || in_range(p6, 650_002, 650_027))
            && matches!(n, 16 | 18 | 19))
        // Dankort, InstaPayment
        || ((p4 == 5019 || in_range(p3, 637, 639)) && n == 16)
}

/// A payment card number: 13-19 digits that pass Luhn and fall in an issuer's IIN range with
/// that brand's length (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro, Mir,
/// RuPay, Troy, Verve, Dankort, InstaPayment).
pub fn credit_card(text: &str) -> bool {
    let Some(d) = Digits::<19>::of(text) else {
        return false;
    };
    let d = d.as_slice();
    (13..=19).contains(&d.len()) && !all_same(d) && card_brand_accepts(d) && luhn(text)
}

// ---------------------------------------------------------------------------------------------
// IBAN
// ---------------------------------------------------------------------------------------------

/// IBAN length per country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HN", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// The IBAN length of a country, if it uses IBANs.
pub fn iban_length(country: &str) -> Option<usize> {
    let c = country.as_bytes();
    IBAN_LENGTHS
        .iter()
        .find(|(cc, _)| cc.as_slice() == c)
        .map(|&(_, n)| n)
}

/// An IBAN: a known country with its registered length, two check digits, an alphanumeric
/// BBAN, and the ISO 7064 MOD 97-10 check (the number, rotated and with letters as 10-35,
/// leaves 1 modulo 97). Spaces and hyphens between groups are ignored.
pub fn iban(text: &str) -> bool {
    let Some((buf, len)) = compact::<34>(text) else {
        return false;
    };
    let s = &buf[..len];
    if len < 15
        || !s[..2].iter().all(u8::is_ascii_uppercase)
        || !s[2..4].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    let Some(expected) = IBAN_LENGTHS
        .iter()
        .find(|(cc, _)| cc.as_slice() == &s[..2])
        .map(|&(_, n)| n)
    else {
        return false;
    };
    if len != expected || matches!(&s[2..4], b"00" | b"01" | b"99") {
        return false;
    }
    let rem = s[4..].iter().chain(&s[..4]).fold(0u32, |r, &c| {
        if c.is_ascii_digit() {
            (r * 10 + u32::from(c - b'0')) % 97
        } else {
            (r * 100 + u32::from(c - b'A') + 10) % 97
        }
    });
    rem == 1
}

// ---------------------------------------------------------------------------------------------
// United States
// ---------------------------------------------------------------------------------------------

/// A US Social Security number: 9 digits, area not 000, 666 or 900-999, group not 00, serial
/// not 0000, and not one digit repeated.
pub fn us_ssn(text: &str) -> bool {
    let Some(d) = Digits::<9>::of(text) else {
        return false;
    };
    let d = d.as_slice();
    if d.len() != 9 || all_same(d) {
        return false;
    }
    let area = prefix(d, 3);
    let group = prefix(&d[3..], 2);
    let serial = prefix(&d[5..], 4);
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        // The Woolworth wallet card and the 1962 advertising number, both voided by the SSA.
        && !matches!(number(d), 78_051_120 | 219_099_999)
}

/// A US Individual Taxpayer Identification Number: 9 digits starting with 9 whose fourth and
/// fifth digits are 50-65, 70-88, 90-92 or 94-99.
pub fn us_itin(text: &str) -> bool {
    let Some(d) = Digits::<9>::of(text) else {
        return false;
    };
    let d = d.as_slice();
    if d.len() != 9 || d[0] != 9 || prefix(&d[5..], 4) == 0 {
        return false;
    }
    let group = prefix(&d[3..], 2);
    matches!(group, 50..=65 | 70..=88 | 90..=92 | 94..=99)
}

/// An ABA routing transit number: 9 digits with the 3-7-1 weighted check (sum divisible by
/// 10) and a Federal Reserve prefix (00-12, 21-32, 61-72, 80).
pub fn aba_routing(text: &str) -> bool {
    let Some(d) = Digits::<9>::of(text) else {
        return false;
    };
    let d = d.as_slice();
    if d.len() != 9 || all_same(d) {
        return false;
    }
    let sum: u32 = d
        .iter()
        .zip([3, 7, 1].iter().cycle())
        .map(|(&x, &w)| u32::from(x) * w)
        .sum();
    sum.is_multiple_of(10) && matches!(prefix(d, 2), 0..=12 | 21..=32 | 61..=72 | 80)
}

// ---------------------------------------------------------------------------------------------
// Network addresses
// ---------------------------------------------------------------------------------------------

/// An IPv4 address in dotted-quad form that names a host: not `0.0.0.0/8`, not a broadcast
/// address and not a netmask (`255.255.255.0`, `255.255.0.0`).
pub fn ipv4(text: &str) -> bool {
    let Ok(ip) = text.parse::<Ipv4Addr>() else {
        return false;
    };
    let v = u32::from(ip);
    let is_mask = v.leading_ones() + v.trailing_zeros() == 32 && v.leading_ones() >= 8;
    ip.octets()[0] != 0 && !ip.is_broadcast() && !is_mask
}

/// An IPv6 address (any textual form `std` parses, zone ids excluded) that contains a digit
/// and is not the unspecified address `::`; rules out C++/Rust paths such as `add::face`.
pub fn ipv6(text: &str) -> bool {
    let Ok(ip) = text.parse::<Ipv6Addr>() else {
        return false;
    };
    !ip.is_unspecified() && text.bytes().any(|b| b.is_ascii_digit())
}

/// A MAC-48 address with one separator style throughout (`:` or `-` between octets, or `.`
/// between Cisco-style 4-digit groups), not all zeros and not the broadcast address.
pub fn mac_address(text: &str) -> bool {
    let mut value = [0u8; 12];
    let mut n = 0;
    let mut sep = None;
    for b in text.bytes() {
        if b.is_ascii_hexdigit() {
            if n == 12 {
                return false;
            }
            value[n] = b.to_ascii_lowercase();
            n += 1;
        } else if matches!(b, b':' | b'-' | b'.') {
            if sep.is_some_and(|s| s != b) {
                return false;
            }
            sep = Some(b);
        } else {
            return false;
        }
    }
    n == 12 && !value.iter().all(|&c| c == b'0') && !value.iter().all(|&c| c == b'f')
}

// ---------------------------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------------------------

/// ITU-T E.164 country calling codes in use. The set is prefix-free, so a number has at most
/// one reading.
const COUNTRY_CODES: &[u16] = &[
    1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54,
    55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98, 211,
    212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234,
    235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253,
    254, 255, 256, 257, 258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297, 298,
    299, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376, 377,
    378, 379, 380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502, 503, 504, 505,
    506, 507, 508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674, 675,
    676, 677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 800, 808, 850,
    852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888, 960, 961, 962, 963, 964, 965, 966,
    967, 968, 970, 971, 972, 973, 974, 975, 976, 977, 979, 992, 993, 994, 995, 996, 998,
];

/// Countries whose national numbers carry a trunk prefix `0` that is dropped after the
/// country code (`+44 (0)20...`, `+49 030...` as people write them).
const TRUNK_ZERO: &[u16] = &[
    7, 20, 27, 30, 31, 32, 33, 36, 40, 41, 43, 44, 46, 49, 51, 52, 53, 54, 55, 56, 57, 58, 60, 61,
    62, 63, 64, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98, 353, 358, 380, 880, 886,
];

/// NANP (US, Canada, Caribbean) national number: area code and exchange both `[2-9]XX` and
/// not `N11`; area codes with 9 in the middle are reserved.
fn nanp_nsn(d: &[u8]) -> bool {
    d.len() == 10
        && d[0] >= 2
        && !(d[1] == 1 && d[2] == 1)
        && d[1] != 9
        && d[3] >= 2
        && !(d[4] == 1 && d[5] == 1)
        && !all_same(&d[3..])
}

/// UK national significant number (after the trunk 0): 10 digits starting 1, 2, 3, 5, 7, 8 or
/// 9; 9 digits for a few 01 areas and 0800 freephone.
fn uk_nsn(d: &[u8]) -> bool {
    match d.len() {
        10 => matches!(d[0], 1 | 2 | 3 | 5 | 7 | 8 | 9),
        9 => d[0] == 1 || d.starts_with(&[8, 0, 0]),
        _ => false,
    }
}

/// German national number (after the trunk 0): mobile 15x/16x/17x with 10-11 digits, service
/// numbers 180/800/900 with 10-11, geographic numbers starting 2-9 with 7-11.
fn de_nsn(d: &[u8]) -> bool {
    let n = d.len();
    match d.first() {
        Some(1) => {
            (matches!(d.get(1), Some(5..=7)) && (10..=11).contains(&n))
                || (d.starts_with(&[1, 8, 0]) && (9..=11).contains(&n))
        }
        Some(8 | 9) if d.starts_with(&[8, 0, 0]) || d.starts_with(&[9, 0, 0]) => {
            (10..=11).contains(&n)
        }
        Some(2..=9) => (7..=11).contains(&n),
        _ => false,
    }
}

/// French national number (after the trunk 0): 9 digits starting 1-9.
fn fr_nsn(d: &[u8]) -> bool {
    d.len() == 9 && d[0] != 0
}

/// Indian national number (after the trunk 0): 10 digits, not starting with 0.
fn in_nsn(d: &[u8]) -> bool {
    d.len() == 10 && d[0] != 0 && !all_same(&d[1..])
}

/// Brazilian area codes (DDD).
const BR_DDD: &[u8] = &[
    11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38, 41, 42, 43,
    44, 45, 46, 47, 48, 49, 51, 53, 54, 55, 61, 62, 63, 64, 65, 66, 67, 68, 69, 71, 73, 74, 75, 77,
    79, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95, 96, 97, 98, 99,
];

/// Brazilian national number: a valid DDD, then 9 digits starting 9 (mobile) or 8 digits
/// starting 2-5 (fixed line).
fn br_nsn(d: &[u8]) -> bool {
    let n = d.len();
    (n == 10 || n == 11)
        && BR_DDD.contains(&(d[0] * 10 + d[1]))
        && if n == 11 {
            d[2] == 9
        } else {
            (2..=5).contains(&d[2])
        }
}

/// Japanese national number (after the trunk 0): 10 digits for mobile, IP and M2M numbers
/// (70/80/90/50/20) and 0800 freephone, 9 digits for fixed lines and 0120 freephone.
fn jp_nsn(d: &[u8]) -> bool {
    let mobile = matches!((d.first(), d.get(1)), (Some(2 | 5 | 7 | 8 | 9), Some(0)));
    match d.len() {
        10 => mobile || d.starts_with(&[8, 0, 0]),
        9 => d[0] != 0 && !mobile,
        _ => false,
    }
}

/// The national-number check for a country code, where the plan is known.
fn nsn_for(cc: u16, d: &[u8]) -> bool {
    match cc {
        1 => nanp_nsn(d),
        44 => uk_nsn(d),
        49 => de_nsn(d),
        33 => fr_nsn(d),
        91 => in_nsn(d),
        55 => br_nsn(d),
        81 => jp_nsn(d),
        _ => (6..=12).contains(&d.len()) && !all_same(d),
    }
}

/// A phone number in international form: `+` or `00`, a country code in use, then a national
/// number that fits that country's numbering plan (NANP, UK, DE, FR, IN, BR, JP; 6-12 digits
/// for other countries), at most 15 digits in all. A trunk `(0)` or a stray leading trunk 0 is
/// dropped.
pub fn phone_intl(text: &str) -> bool {
    let rest = if let Some(r) = text.strip_prefix('+') {
        r
    } else if let Some(r) = text.strip_prefix("00") {
        r
    } else {
        return false;
    };
    let mut buf = [0u8; 20];
    let mut n = 0;
    let bytes = rest.as_bytes();
    let mut i = 0;
    let mut trunk_in_parens = false;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"(0)") {
            trunk_in_parens = true;
            i += 3;
            continue;
        }
        let b = bytes[i];
        if b.is_ascii_digit() {
            if n == buf.len() {
                return false;
            }
            buf[n] = b - b'0';
            n += 1;
        }
        i += 1;
    }
    let d = &buf[..n];
    for k in 1..=3.min(n) {
        let cc = prefix(d, k) as u16;
        if COUNTRY_CODES.contains(&cc) {
            let mut nsn = &d[k..];
            if trunk_in_parens && !TRUNK_ZERO.contains(&cc) {
                return false;
            }
            if nsn.first() == Some(&0) && TRUNK_ZERO.contains(&cc) {
                nsn = &nsn[1..];
            }
            return k + nsn.len() <= 15 && nsn_for(cc, nsn);
        }
    }
    false
}

/// A North American number without `+1`: `(212) 555-0123`, `212-555-0123`, `1-212-555-0123`,
/// with area code and exchange checked against the NANP rules.
pub fn phone_nanp(text: &str) -> bool {
    let Some(d) = Digits::<11>::of(text) else {
        return false;
    };
    let d = d.as_slice();
    match d.len() {
        10 => nanp_nsn(d),
        11 => d[0] == 1 && nanp_nsn(&d[1..]),
        _ => false,
    }
}

/// Digit groups of a phone number as written, and the separators between them.
struct Groups {
    digits: [u8; 16],
    len: usize,
    sizes: [u8; 8],
    count: usize,
    /// Separator characters seen (space, `-`, `.`, `/`, parentheses).
    space: bool,
    dash: bool,
    dot: bool,
    slash: bool,
    paren: bool,
}

impl Groups {
    fn parse(text: &str) -> Option<Groups> {
        let mut g = Groups {
            digits: [0; 16],
            len: 0,
            sizes: [0; 8],
            count: 0,
            space: false,
            dash: false,
            dot: false,
            slash: false,
            paren: false,
        };
        let mut in_group = false;
        for b in text.bytes() {
            if b.is_ascii_digit() {
                if g.len == g.digits.len() {
                    return None;
                }
                if !in_group {
                    if g.count == g.sizes.len() {
                        return None;
                    }
                    g.count += 1;
                    in_group = true;
                }
                g.digits[g.len] = b - b'0';
                g.len += 1;
                g.sizes[g.count - 1] += 1;
            } else {
                in_group = false;
                match b {
                    b' ' | b'\t' => g.space = true,
                    b'-' => g.dash = true,
                    b'.' => g.dot = true,
                    b'/' => g.slash = true,
                    b'(' | b')' => g.paren = true,
                    _ => return None,
                }
            }
        }
        Some(g)
    }

    fn digits(&self) -> &[u8] {
        &self.digits[..self.len]
    }

    fn sizes(&self) -> &[u8] {
        &self.sizes[..self.count]
    }

    fn contiguous(&self) -> bool {
        self.count == 1
    }
}

/// A national number written with its trunk 0, in the grouping one of these countries uses:
/// UK (`020 7946 0958`, `07700 900123`), Germany (`030 12345678`, `0151/23456789`), France
/// (`01 23 45 67 89`), Japan (`03-1234-5678`, `090-1234-5678`), India (`098765 43210`,
/// `011-23456789`).
pub fn phone_national(text: &str) -> bool {
    let Some(g) = Groups::parse(text) else {
        return false;
    };
    let d = g.digits();
    if d.first() != Some(&0) || d.get(1) == Some(&0) || all_same(&d[1..]) || sequential(d) {
        return false;
    }
    let nsn = &d[1..];
    let sizes = g.sizes();
    let uk = !g.dash
        && !g.dot
        && !g.slash
        && matches!(
            sizes,
            [3, 4, 4] | [4, 3, 4] | [5, 6] | [5, 3, 3] | [4, 7] | [11]
        )
        && uk_nsn(nsn)
        && (sizes != [3, 4, 4] || nsn[0] == 2);
    let de = !g.dot
        && ((g.contiguous() && nsn.len() >= 10 && matches!(nsn[..2], [1, 5..=7]))
            || (sizes.len() >= 2 && (3..=6).contains(&sizes[0]) && nsn.len() >= 8))
        && de_nsn(nsn);
    let fr = ((sizes == [2, 2, 2, 2, 2] && !g.slash && !g.paren) || sizes == [10]) && fr_nsn(nsn);
    let jp = !g.space
        && !g.dot
        && !g.slash
        && (g.contiguous() || (sizes.len() == 3 && (2..=5).contains(&sizes[0])))
        && jp_nsn(nsn);
    let india = !g.dot
        && !g.slash
        && !g.paren
        && ((matches!(sizes, [6, 5] | [11]) && (6..=9).contains(&nsn[0]))
            || matches!(sizes, [3, 8] | [4, 7] | [5, 6]))
        && in_nsn(nsn);
    uk || de || fr || jp || india
}

/// An Indian mobile number without prefix, grouped 5-5: `98765 43210`, `98765-43210`.
pub fn phone_in_mobile(text: &str) -> bool {
    let Some(g) = Groups::parse(text) else {
        return false;
    };
    let d = g.digits();
    g.sizes() == [5, 5] && (6..=9).contains(&d[0]) && in_nsn(d)
}

/// A Brazilian number without `+55`: `(11) 91234-5678`, `11 91234-5678`; fixed lines
/// (8 digits) only with the area code in parentheses, `(21) 2345-6789`.
pub fn phone_br(text: &str) -> bool {
    let Some(g) = Groups::parse(text) else {
        return false;
    };
    let d = g.digits();
    br_nsn(d) && (g.paren || d.len() == 11)
}

/// A phone number without country code in any national format this module knows: NANP
/// ([`phone_nanp`]), trunk-0 numbers ([`phone_national`]), Indian mobiles
/// ([`phone_in_mobile`]) or Brazilian numbers ([`phone_br`]).
pub fn phone_local(text: &str) -> bool {
    phone_nanp(text) || phone_national(text) || phone_in_mobile(text) || phone_br(text)
}

/// A phone number written as one run of digits, as found after a word such as "phone": a
/// NANP number (10 digits, or 11 with the leading 1), an Indian mobile or a Brazilian number.
pub fn phone_plain(text: &str) -> bool {
    let Some(d) = Digits::<11>::of(text) else {
        return false;
    };
    let d = d.as_slice();
    if sequential(d) {
        return false;
    }
    match d.len() {
        10 => nanp_nsn(d) || ((6..=9).contains(&d[0]) && in_nsn(d)) || br_nsn(d),
        11 => (d[0] == 1 && nanp_nsn(&d[1..])) || br_nsn(d),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// United Kingdom
// ---------------------------------------------------------------------------------------------

/// A UK National Insurance number: two prefix letters (first not D, F, I, Q, U, V; second not
/// D, F, I, O, Q, U, V; not BG, GB, KN, NK, NT, TN, ZZ), six digits, suffix A-D.
pub fn uk_nino(text: &str) -> bool {
    let Some((s, len)) = compact::<9>(text) else {
        return false;
    };
    if len != 9 || !s[2..8].iter().all(u8::is_ascii_digit) || !(b'A'..=b'D').contains(&s[8]) {
        return false;
    }
    let (a, b) = (s[0], s[1]);
    a.is_ascii_uppercase()
        && b.is_ascii_uppercase()
        && !b"DFIQUV".contains(&a)
        && !b"DFIOQUV".contains(&b)
        && !matches!(
            &s[..2],
            b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ"
        )
}

/// An NHS number (England, Wales, Isle of Man): 10 digits whose last is the modulus-11 check
/// of the first nine (weights 10 down to 2; a check of 10 is never issued).
pub fn uk_nhs(text: &str) -> bool {
    let Some(d) = Digits::<10>::of(text) else {
        return false;
    };
    let d = d.as_slice();
    if d.len() != 10 || all_same(d) {
        return false;
    }
    let sum: u32 = d[..9]
        .iter()
        .zip((2..=10).rev())
        .map(|(&x, w)| u32::from(x) * w)
        .sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return false,
        c => c,
    };
    u32::from(d[9]) == check
}

// ---------------------------------------------------------------------------------------------
// Continental Europe
// ---------------------------------------------------------------------------------------------

/// A German tax identification number (Steuerliche Identifikationsnummer): 11 digits, no
/// leading 0; in the first ten, exactly one digit occurs twice or three times (three times
/// never in three adjacent places) and the rest at most once; the last is the ISO 7064
/// MOD 11,10 check digit.
pub fn de_tax_id(text: &str) -> bool {
    let Some(d) = Digits::<11>::of(text) else {
        return false;
    };
    let d = d.as_slice();
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        counts[usize::from(x)] += 1;
    }
    let mut repeated = (0..10u8).filter(|&i| counts[usize::from(i)] > 1);
    let (Some(r), None) = (repeated.next(), repeated.next()) else {
        return false;
    };
    match counts[usize::from(r)] {
        2 => {}
        3 if !d[..10].windows(3).any(|w| w.iter().all(|&x| x == r)) => {}
        _ => return false,
    }
    let mut product = 10u32;
    for &x in &d[..10] {
        let mut sum = (u32::from(x) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (2 * sum) % 11;
    }
    let check = (11 - product) % 10;
    u32::from(d[10]) == check
}

/// A French social security number (NIR): sex 1/2 (3/4/7/8 for special cases), birth year,
/// month 01-12 or 20-42/50-99 when unknown, department (2A/2B for Corsica), commune, order
/// number, and the key `97 - (first 13 digits mod 97)` (2A/2B counted as 19/18).
pub fn fr_nir(text: &str) -> bool {
    let Some((s, len)) = compact::<15>(text) else {
        return false;
    };
    if len != 15 {
        return false;
    }
    let s = &s[..15];
    let corsica = match &s[5..7] {
        b"2A" => Some(19u64),
        b"2B" => Some(18u64),
        _ => None,
    };
    let digit_positions_ok = s
        .iter()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || (corsica.is_some() && (5..7).contains(&i)));
    if !digit_positions_ok || !matches!(s[0], b'1' | b'2' | b'3' | b'4' | b'7' | b'8') {
        return false;
    }
    let month = u32::from(s[3] - b'0') * 10 + u32::from(s[4] - b'0');
    if !matches!(month, 1..=12 | 20..=42 | 50..=99) {
        return false;
    }
    let value = |bytes: &[u8]| {
        bytes
            .iter()
            .fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'))
    };
    let body = match corsica {
        Some(dept) => (value(&s[..5]) * 100 + dept) * 1_000_000 + value(&s[7..13]),
        None => value(&s[..13]),
    };
    let key = value(&s[13..15]);
    (1..=97).contains(&key) && 97 - body % 97 == key
}

/// The check letters of Spanish DNI/NIE numbers, indexed by the number modulo 23.
const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// A Spanish DNI/NIF: 8 digits and the letter `TRWAGMYFPDXBNJZSQVHLCKE[n mod 23]`; eight
/// digits that read as a `YYYYMMDD` date are taken for a compact timestamp.
pub fn es_dni(text: &str) -> bool {
    let Some((s, len)) = compact::<9>(text) else {
        return false;
    };
    if len != 9 || !s[..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = s[..8]
        .iter()
        .fold(0u32, |n, &c| n * 10 + u32::from(c - b'0'));
    // `20240115T` is a compact date-time, not an identity number.
    let compact_date = real_date(n % 100, n / 100 % 100, n / 10_000, 4);
    n != 0 && !compact_date && DNI_LETTERS[(n % 23) as usize] == s[8]
}

/// A Spanish foreigner's number (NIE): X, Y or Z (read as 0, 1, 2), 7 digits, and the DNI
/// check letter of the resulting 8-digit number.
pub fn es_nie(text: &str) -> bool {
    let Some((s, len)) = compact::<9>(text) else {
        return false;
    };
    if len != 9 || !s[1..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let lead = match s[0] {
        b'X' => 0,
        b'Y' => 1,
        b'Z' => 2,
        _ => return false,
    };
    let n = s[1..8]
        .iter()
        .fold(lead, |n, &c| n * 10 + u32::from(c - b'0'));
    DNI_LETTERS[(n % 23) as usize] == s[8]
}

/// Values of characters in odd (1st, 3rd, ...) positions of an Italian fiscal code; digits
/// take the value of the letter at the same index (0 as A, 1 as B, ...).
const CF_ODD: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

/// The letters that replace digits in an Italian fiscal code when two people would otherwise
/// share one (omocodia), in digit order.
const CF_OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";

/// An Italian fiscal code (codice fiscale): 6 letters (surname, name), birth year, month
/// letter, day (plus 40 for women), municipality code, and a check letter computed from
/// the odd/even position tables; digits may be replaced by the omocodia letters.
pub fn it_fiscal_code(text: &str) -> bool {
    let Some((s, len)) = compact::<16>(text) else {
        return false;
    };
    if len != 16 {
        return false;
    }
    let s = &s[..16];
    let is_num = |c: u8| c.is_ascii_digit() || CF_OMOCODIA.contains(&c);
    let shape = s[..6].iter().all(u8::is_ascii_uppercase)
        && is_num(s[6])
        && is_num(s[7])
        && b"ABCDEHLMPRST".contains(&s[8])
        && is_num(s[9])
        && is_num(s[10])
        && s[11].is_ascii_uppercase()
        && s[12..15].iter().all(|&c| is_num(c))
        && s[15].is_ascii_uppercase();
    if !shape {
        return false;
    }
    // The day (with 40 added for women) must be 1-31 or 41-71.
    let num = |c: u8| -> u32 {
        if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            CF_OMOCODIA
                .iter()
                .position(|&l| l == c)
                .map_or(0, |p| p as u32)
        }
    };
    let day = num(s[9]) * 10 + num(s[10]);
    if !matches!(day, 1..=31 | 41..=71) {
        return false;
    }
    let index = |c: u8| -> usize {
        if c.is_ascii_digit() {
            usize::from(c - b'0')
        } else {
            usize::from(c - b'A')
        }
    };
    let sum: u32 = s[..15]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i % 2 == 0 {
                CF_ODD[index(c)]
            } else {
                index(c) as u32
            }
        })
        .sum();
    s[15] == b'A' + (sum % 26) as u8
}

// ---------------------------------------------------------------------------------------------
// India, Canada, Australia
// ---------------------------------------------------------------------------------------------

/// Multiplication in the dihedral group D5, as used by the Verhoeff check.
const VERHOEFF_D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

/// The Verhoeff position permutations: row `i` is the base permutation applied `i` times.
const VERHOEFF_P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// The Verhoeff check over all digits of `text` (check digit last).
pub fn verhoeff(text: &str) -> bool {
    let mut c = 0u8;
    let mut count = 0;
    for (i, b) in text.bytes().filter(u8::is_ascii_digit).rev().enumerate() {
        c = VERHOEFF_D[usize::from(c)][usize::from(VERHOEFF_P[i % 8][usize::from(b - b'0')])];
        count += 1;
    }
    count >= 2 && c == 0
}

/// An Aadhaar number: 12 digits, the first 2-9, passing the Verhoeff check, not a palindrome
/// nor one digit repeated.
pub fn in_aadhaar(text: &str) -> bool {
    let Some(d) = Digits::<12>::of(text) else {
        return false;
    };
    let d = d.as_slice();
    d.len() == 12 && d[0] >= 2 && !all_same(d) && !d.iter().eq(d.iter().rev()) && verhoeff(text)
}

/// An Indian PAN: five letters (the fourth the holder type: P person, C company, H family,
/// F firm, A association, T trust, B body, L local authority, J juridical person, G
/// government), four digits not all zero, a letter.
pub fn in_pan(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[..5].iter().all(u8::is_ascii_uppercase)
        && b"PCHFATBLJG".contains(&b[3])
        && b[5..9].iter().all(u8::is_ascii_digit)
        && &b[5..9] != b"0000"
        && b[9].is_ascii_uppercase()
}

/// A Canadian Social Insurance Number: 9 digits passing Luhn, first digit not 0 or 8.
pub fn ca_sin(text: &str) -> bool {
    let Some(d) = Digits::<9>::of(text) else {
        return false;
    };
    let d = d.as_slice();
    d.len() == 9 && d[0] != 0 && d[0] != 8 && !all_same(d) && luhn(text)
}

/// An Australian Tax File Number: 9 digits with weights 1,4,3,7,5,8,6,9,10 (or 8 digits
/// with 10,7,8,4,6,3,5,1) summing to a multiple of 11.
pub fn au_tfn(text: &str) -> bool {
    let Some(d) = Digits::<9>::of(text) else {
        return false;
    };
    let d = d.as_slice();
    let weights: &[u32] = match d.len() {
        9 => &[1, 4, 3, 7, 5, 8, 6, 9, 10],
        8 => &[10, 7, 8, 4, 6, 3, 5, 1],
        _ => return false,
    };
    let sum: u32 = d.iter().zip(weights).map(|(&x, w)| u32::from(x) * w).sum();
    !all_same(d) && sum.is_multiple_of(11)
}

// ---------------------------------------------------------------------------------------------
// Banking identifiers
// ---------------------------------------------------------------------------------------------

/// ISO 3166-1 alpha-2 country codes (and XK, which SWIFT uses for Kosovo).
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI \
BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ \
GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN \
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS \
MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT \
PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF \
TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA \
ZM ZW";

/// Whether `code` is an assigned ISO 3166-1 alpha-2 country code.
pub fn is_country(code: &[u8]) -> bool {
    code.len() == 2 && COUNTRIES.as_bytes().chunks(3).any(|c| &c[..2] == code)
}

/// A SWIFT/BIC code (ISO 9362): four letters (institution), an assigned country code, a
/// two-character location (second character not `O`), and optionally a 3-character branch.
pub fn swift_bic(text: &str) -> bool {
    let b = text.as_bytes();
    (b.len() == 8 || b.len() == 11)
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && is_country(&b[4..6])
        && b[6..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b[7] != b'O'
}

// ---------------------------------------------------------------------------------------------
// Crypto-currency addresses
// ---------------------------------------------------------------------------------------------

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// A legacy Bitcoin address (P2PKH or P2SH, main or test network): Base58 for 25 bytes, a
/// known version byte, and the first four bytes of double SHA-256 as checksum.
fn bitcoin_base58(text: &str) -> bool {
    if !(25..=35).contains(&text.len()) {
        return false;
    }
    let mut out = [0u8; 25];
    for c in text.bytes() {
        let Some(v) = BASE58.iter().position(|&a| a == c) else {
            return false;
        };
        let mut carry = v as u32;
        for byte in out.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = carry as u8;
            carry >>= 8;
        }
        if carry != 0 {
            return false;
        }
    }
    // Canonical encoding: each leading `1` stands for one leading zero byte, and no more.
    let ones = text.bytes().take_while(|&c| c == b'1').count();
    let zeros = out.iter().take_while(|&&b| b == 0).count();
    if ones != zeros.min(25) {
        return false;
    }
    if !matches!(out[0], 0x00 | 0x05 | 0x6f | 0xc4) {
        return false;
    }
    let first = Sha256::digest(&out[..21]);
    let second = Sha256::digest(first);
    second[..4] == out[21..]
}

const BECH32: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// The BCH checksum state of BIP-173 over a sequence of 5-bit values.
fn bech32_polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk = 1u32;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// A SegWit Bitcoin address (BIP-173 bech32 for version 0, BIP-350 bech32m for versions
/// 1-16) on the main (`bc`) or test (`tb`) network, in one case throughout.
fn bitcoin_bech32(text: &str) -> bool {
    if !(14..=90).contains(&text.len()) {
        return false;
    }
    let lower = text.bytes().any(|b| b.is_ascii_lowercase());
    let upper = text.bytes().any(|b| b.is_ascii_uppercase());
    if lower && upper {
        return false;
    }
    let Some(sep) = text.rfind('1') else {
        return false;
    };
    let (hrp, data) = (&text[..sep], &text.as_bytes()[sep + 1..]);
    if !hrp.eq_ignore_ascii_case("bc") && !hrp.eq_ignore_ascii_case("tb") {
        return false;
    }
    if data.len() < 7 {
        return false;
    }
    let mut values = [0u8; 90];
    for (slot, &c) in values.iter_mut().zip(data) {
        let Some(v) = BECH32.iter().position(|&a| a == c.to_ascii_lowercase()) else {
            return false;
        };
        *slot = v as u8;
    }
    let values = &values[..data.len()];
    let hrp = hrp.as_bytes();
    let expanded = hrp
        .iter()
        .map(|c| c.to_ascii_lowercase() >> 5)
        .chain(std::iter::once(0))
        .chain(hrp.iter().map(|c| c.to_ascii_lowercase() & 31))
        .chain(values.iter().copied());
    let residue = bech32_polymod(expanded);
    let version = values[0];
    let constant = if version == 0 { 1 } else { 0x2bc8_30a3 };
    if version > 16 || residue != constant {
        return false;
    }
    // The witness program: 5-bit groups back to bytes; at most 4 zero padding bits.
    let program = &values[1..values.len() - 6];
    let bits = program.len() * 5;
    let bytes = bits / 8;
    let pad = bits % 8;
    if pad > 4 {
        return false;
    }
    let last = program.last().copied().unwrap_or(0);
    if pad > 0 && last & ((1 << pad) - 1) != 0 {
        return false;
    }
    (2..=40).contains(&bytes) && (version != 0 || bytes == 20 || bytes == 32)
}

/// A Bitcoin address: legacy Base58Check (`1...`, `3...`, test network `m`/`n`/`2`) or
/// SegWit bech32/bech32m (`bc1...`, `tb1...`), with its checksum verified.
pub fn bitcoin_address(text: &str) -> bool {
    let lower_prefix = text.get(..3).map(str::to_ascii_lowercase);
    if matches!(lower_prefix.as_deref(), Some("bc1" | "tb1")) {
        bitcoin_bech32(text)
    } else {
        bitcoin_base58(text)
    }
}

/// The 40 hex digits of an Ethereum address, without its `0x`.
fn eth_hex(text: &str) -> Option<&[u8]> {
    let hex = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    (hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex.as_bytes())
}

/// An Ethereum address in mixed case whose case pattern is its EIP-55 checksum: a letter is
/// upper case exactly when the matching nibble of Keccak-256 of the lower-case hex is >= 8.
pub fn ethereum_checksummed(text: &str) -> bool {
    let Some(hex) = eth_hex(text) else {
        return false;
    };
    let has_lower = hex.iter().any(u8::is_ascii_lowercase);
    let has_upper = hex.iter().any(u8::is_ascii_uppercase);
    if !(has_lower && has_upper) {
        return false;
    }
    let mut lower = [0u8; 40];
    for (l, &c) in lower.iter_mut().zip(hex) {
        *l = c.to_ascii_lowercase();
    }
    let hash = Keccak256::digest(lower);
    hex.iter().enumerate().all(|(i, &c)| {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
        !c.is_ascii_alphabetic() || c.is_ascii_uppercase() == (nibble >= 8)
    })
}

/// An Ethereum address in one case (all lower or all upper): well formed, but without the
/// EIP-55 checksum to confirm it; not one digit repeated (the zero address, `0xfff...`).
pub fn ethereum_single_case(text: &str) -> bool {
    let Some(hex) = eth_hex(text) else {
        return false;
    };
    let has_lower = hex.iter().any(u8::is_ascii_lowercase);
    let has_upper = hex.iter().any(u8::is_ascii_uppercase);
    let mixed = has_lower && has_upper;
    !mixed && !all_same(hex)
}

// ---------------------------------------------------------------------------------------------
// Documents found by their label
// ---------------------------------------------------------------------------------------------

/// A passport number after a "passport" label: 6-9 letters and digits with at least six
/// digits (US 9 digits or a letter and 8, UK 9 digits, DE `C` + 8, FR `12AB34567`, IN/AU a
/// letter and 7, ...), not one digit repeated nor a run like `123456789`.
pub fn passport(text: &str) -> bool {
    let Some((s, len)) = compact::<10>(text) else {
        return false;
    };
    let s = &s[..len];
    let Some(d) = Digits::<10>::of(text) else {
        return false;
    };
    let d = d.as_slice();
    (6..=10).contains(&len)
        && d.len() >= 5
        && s.iter().all(u8::is_ascii_alphanumeric)
        && !all_same(d)
        && !sequential(d)
}

/// A driving licence number after its label: 5-16 letters and digits (hyphens and spaces
/// allowed between) holding at least four digits, not one digit repeated.
pub fn driver_license(text: &str) -> bool {
    let Some((_, len)) = compact::<20>(text) else {
        return false;
    };
    let Some(d) = Digits::<20>::of(text) else {
        return false;
    };
    let d = d.as_slice();
    (5..=16).contains(&len) && d.len() >= 4 && !all_same(d) && !sequential(d)
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

/// Month names (English, German, French, Spanish, Italian), matched by their first letters.
const MONTHS: &[(&str, u32)] = &[
    ("jan", 1),
    ("feb", 2),
    ("fév", 2),
    ("fev", 2),
    ("mar", 3),
    ("mär", 3),
    ("maer", 3),
    ("apr", 4),
    ("avr", 4),
    ("abr", 4),
    ("may", 5),
    ("mai", 5),
    ("mayo", 5),
    ("mag", 5),
    ("jun", 6),
    ("juin", 6),
    ("giu", 6),
    ("jul", 7),
    ("juil", 7),
    ("lug", 7),
    ("aug", 8),
    ("aoû", 8),
    ("aou", 8),
    ("ago", 8),
    ("sep", 9),
    ("set", 9),
    ("oct", 10),
    ("okt", 10),
    ("ott", 10),
    ("nov", 11),
    ("dec", 12),
    ("dez", 12),
    ("déc", 12),
    ("dic", 12),
    ("ene", 1),
    ("gen", 1),
    ("janv", 1),
];

fn month_from_name(word: &str) -> Option<u32> {
    let lower = word.to_lowercase();
    // "juillet"/"juin" before "jui..."; longest known prefix wins.
    MONTHS
        .iter()
        .filter(|(p, _)| lower.starts_with(p))
        .max_by_key(|(p, _)| p.len())
        .map(|&(_, m)| m)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// Whether day/month/year form a real date in 1900-2099 (two-digit years allowed).
fn real_date(day: u32, month: u32, year: u32, year_digits: usize) -> bool {
    let year = match year_digits {
        2 => 1900 + year,
        4 if (1900..=2099).contains(&year) => year,
        _ => return false,
    };
    (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day)
}

/// A calendar date as people write birth dates: `31/12/1985`, `12-31-85`, `1985-12-31`,
/// `31.12.1985`, `3 March 1985`, `March 3rd, 1985`, `3. März 1985`, `3 de marzo de 1985`;
/// day and month must exist (29 February only in leap years), years 1900-2099.
pub fn date(text: &str) -> bool {
    let mut numbers = [(0u32, 0usize); 3];
    let mut count = 0;
    let mut month_name = None;
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let digits_end = word.bytes().take_while(u8::is_ascii_digit).count();
        if digits_end > 0 {
            let suffix = &word[digits_end..];
            if !matches!(suffix, "" | "st" | "nd" | "rd" | "th" | "er" | "o" | "º") {
                return false;
            }
            if count == 3 || digits_end > 4 {
                return false;
            }
            let value = word[..digits_end]
                .bytes()
                .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
            numbers[count] = (value, digits_end);
            count += 1;
        } else if let Some(m) = month_from_name(word) {
            if month_name.is_some() {
                return false;
            }
            month_name = Some(m);
        } else if !matches!(word.to_lowercase().as_str(), "of" | "de" | "del" | "the") {
            return false;
        }
    }
    let numbers = &numbers[..count];
    match (month_name, numbers) {
        (Some(m), [(d, dl), (y, yl)]) => *dl <= 2 && real_date(*d, m, *y, *yl),
        (None, [(y, 4), (m, ml), (d, dl)]) => *ml <= 2 && *dl <= 2 && real_date(*d, *m, *y, 4),
        (None, [(a, al), (b, bl), (y, yl)]) if *al <= 2 && *bl <= 2 => {
            real_date(*a, *b, *y, *yl) || real_date(*b, *a, *y, *yl)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards() {
        assert!(credit_card("4111 1111 1111 1111"));
        assert!(credit_card("5555-5555-5555-4444"));
        assert!(credit_card("378282246310005"));
        assert!(credit_card("6011111111111117"));
        assert!(credit_card("3530111333300000"));
        assert!(credit_card("2223003122003222"));
        assert!(!credit_card("4111 1111 1111 1112"));
        // Luhn-valid but no issuer uses the range.
        assert!(!credit_card("1234567812345670"));
        assert!(!credit_card("0000000000000000"));
    }

    #[test]
    fn ibans() {
        assert!(iban("DE89 3704 0044 0532 0130 00"));
        assert!(iban("GB82WEST12345698765432"));
        assert!(iban("NO9386011117947"));
        assert!(!iban("DE89 3704 0044 0532 0130 01"));
        assert!(!iban("XX89 3704 0044 0532 0130 00"));
        assert!(!iban("DE89 3704 0044 0532 0130"));
        assert_eq!(iban_length("FR"), Some(27));
    }

    #[test]
    fn us_numbers() {
        assert!(us_ssn("536-22-1234"));
        assert!(!us_ssn("666-22-1234"));
        assert!(!us_ssn("000-22-1234"));
        assert!(!us_ssn("536-00-1234"));
        assert!(!us_ssn("536-22-0000"));
        assert!(!us_ssn("912-70-1234"));
        assert!(us_itin("912-70-1234"));
        assert!(!us_itin("912-40-1234"));
        assert!(aba_routing("021000021"));
        assert!(aba_routing("011401533"));
        assert!(!aba_routing("021000022"));
    }

    #[test]
    fn network() {
        assert!(ipv4("192.168.1.20"));
        assert!(!ipv4("255.255.255.0"));
        assert!(!ipv4("0.0.0.0"));
        assert!(!ipv4("1.2.3"));
        assert!(ipv6("2001:db8::8a2e:370:7334"));
        assert!(ipv6("::1"));
        assert!(!ipv6("::"));
        assert!(!ipv6("add::face"));
        assert!(mac_address("00:1A:2B:3C:4D:5E"));
        assert!(mac_address("001a.2b3c.4d5e"));
        assert!(!mac_address("00:1A-2B:3C:4D:5E"));
        assert!(!mac_address("ff:ff:ff:ff:ff:ff"));
    }

    #[test]
    fn phones() {
        assert!(phone_intl("+44 20 7946 0958"));
        assert!(phone_intl("+44 (0)20 7946 0958"));
        assert!(phone_intl("+1 (212) 555-0123"));
        assert!(phone_intl("+49 30 12345678"));
        assert!(phone_intl("+49 030 12345678"));
        assert!(phone_intl("+33 1 23 45 67 89"));
        assert!(phone_intl("+91 98765 43210"));
        assert!(phone_intl("+55 11 91234-5678"));
        assert!(phone_intl("+81 3-1234-5678"));
        assert!(phone_intl("0044 20 7946 0958"));
        assert!(phone_intl("+353 1 234 5678"));
        assert!(!phone_intl("+1 123 456 7890"));
        assert!(!phone_intl("+44 40 1234 5678"));
        assert!(!phone_intl("+28 1234 5678"));
        assert!(!phone_intl("+1 2"));
        assert!(phone_nanp("(212) 555-0123"));
        assert!(phone_nanp("1-800-555-0199"));
        assert!(!phone_nanp("(911) 555-0123"));
        assert!(!phone_nanp("212-911-0123"));
        assert!(phone_national("020 7946 0958"));
        assert!(phone_national("07700 900123"));
        assert!(phone_national("030 12345678"));
        assert!(phone_national("0151/23456789"));
        assert!(phone_national("01 42 68 53 00"));
        assert!(!phone_national("01 23 45 67 89"));
        assert!(phone_national("06.12.34.56.78"));
        assert!(phone_national("03-1234-5678"));
        assert!(phone_national("090-1234-5678"));
        assert!(phone_national("094480 12345"));
        assert!(!phone_national("05.06.2024"));
        assert!(!phone_national("01-05"));
        assert!(!phone_national("0044 20 7946 0958"));
        assert!(phone_in_mobile("98765 43210"));
        assert!(!phone_in_mobile("12345 67890"));
        assert!(phone_br("(11) 91234-5678"));
        assert!(phone_br("(21) 2345-6789"));
        assert!(!phone_br("21 2020-2021"));
        assert!(phone_plain("2125550123"));
        assert!(phone_plain("9845012345"));
        assert!(!phone_plain("9876543210"));
        assert!(!phone_plain("1234567890"));
    }

    #[test]
    fn national_ids() {
        assert!(uk_nino("AB 12 34 56 C"));
        assert!(!uk_nino("GB 12 34 56 C"));
        assert!(!uk_nino("DA 12 34 56 C"));
        assert!(uk_nhs("943 476 5919"));
        assert!(!uk_nhs("943 476 5918"));
        assert!(de_tax_id("86095742719"));
        assert!(!de_tax_id("86095742718"));
        assert!(!de_tax_id("12345678901"));
        assert!(fr_nir("2 55 08 14 168 025 38"));
        assert!(!fr_nir("2 55 08 14 168 025 39"));
        assert!(es_dni("12345678Z"));
        assert!(!es_dni("12345678A"));
        assert!(es_nie("X1234567L"));
        assert!(!es_nie("X1234567A"));
        assert!(it_fiscal_code("RSSMRA85T10A562S"));
        assert!(!it_fiscal_code("RSSMRA85T10A562T"));
        assert!(in_aadhaar("2341 2341 2346"));
        assert!(!in_aadhaar("2341 2341 2347"));
        assert!(in_pan("ABCPE1234F"));
        assert!(!in_pan("ABCXE1234F"));
        assert!(ca_sin("130 692 544"));
        assert!(!ca_sin("046 454 286"));
        assert!(!ca_sin("130 692 545"));
        assert!(au_tfn("123 456 782"));
        assert!(!au_tfn("123 456 781"));
    }

    #[test]
    fn banking_and_crypto() {
        assert!(swift_bic("DEUTDEFF"));
        assert!(swift_bic("COBADEFFXXX"));
        assert!(!swift_bic("DATAQQSE"));
        assert!(bitcoin_address("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
        assert!(bitcoin_address("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"));
        assert!(!bitcoin_address("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"));
        assert!(bitcoin_address(
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
        ));
        assert!(bitcoin_address(
            "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"
        ));
        assert!(bitcoin_address(
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
        ));
        assert!(!bitcoin_address(
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"
        ));
        assert!(ethereum_checksummed(
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
        ));
        assert!(ethereum_checksummed(
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
        ));
        assert!(!ethereum_checksummed(
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"
        ));
        assert!(ethereum_single_case(
            "0xde709f2102306220921060314715629080e2fb77"
        ));
        assert!(!ethereum_single_case(
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
        ));
    }

    #[test]
    fn dates() {
        assert!(date("31/12/1985"));
        assert!(date("12/31/1985"));
        assert!(date("1985-12-31"));
        assert!(date("3 March 1985"));
        assert!(date("March 3rd, 1985"));
        assert!(date("3. März 1985"));
        assert!(date("3 de marzo de 1985"));
        assert!(date("29.02.2000"));
        assert!(!date("29.02.1900"));
        assert!(!date("32/01/1985"));
        assert!(!date("13/13/1985"));
        assert!(!date("3 Smarch 1985"));
    }

    #[test]
    fn email_domains() {
        assert!(email_domain("jane@example.org"));
        assert!(!email_domain("icon@2x.png"));
    }

    #[test]
    fn no_panics_on_odd_input() {
        for (_, v) in VALIDATORS {
            for s in [
                "",
                "+",
                "00",
                "é",
                "0x",
                "bc1",
                "1",
                "(0)",
                "@",
                "\u{0}",
                "ÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿ",
            ] {
                let _ = v(s);
            }
        }
    }
}
