//! `anonymize()` results: the masked text and the vault that restores it.

use napi::JsString;
use napi_derive::napi;

use crate::error::Code;
use crate::text;

/// The original values behind the placeholders of one `anonymize()` call.
///
/// The values stay in native memory (wiped when the vault is garbage-collected) and are
/// never shown when the vault is logged or inspected.
#[napi]
pub struct Vault {
    inner: vallum::Vault,
}

impl Vault {
    pub(crate) fn new(inner: vallum::Vault) -> Vault {
        Vault { inner }
    }
}

#[napi]
impl Vault {
    /// Puts the original values back where `text` (typically the model's answer) has
    /// their placeholders. Lightly altered placeholders are recognised too (any letter
    /// case, other or no brackets, `EMAIL 1` or `EMAIL-1`); placeholders this vault did not
    /// issue are left as they are.
    #[napi]
    pub fn restore(&self, text: JsString<'_>) -> napi::Result<String, Code> {
        let utf8 = text::utf8(text, "text")?;
        Ok(self.inner.restore(text::as_str(&utf8)?))
    }

    /// How many distinct values it holds.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.inner.len()).unwrap_or(u32::MAX)
    }

    /// The placeholders it issued, as they appear in the masked text (e.g. `<EMAIL_1>`).
    #[napi]
    pub fn placeholders(&self) -> Vec<String> {
        self.inner.placeholders().collect()
    }

    /// `Vault { placeholders: [...] }`: the values are never part of the string.
    #[napi(js_name = "toString")]
    pub fn to_js_string(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// What `anonymize()` returns.
#[napi(object, object_from_js = false)]
pub struct Anonymized {
    /// The text with stable numbered placeholders in place of personal data and secrets.
    pub text: String,
    /// Restores the original values.
    pub vault: Vault,
}
