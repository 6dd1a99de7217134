//! PII encryption at rest. Names, email addresses, client addresses, user
//! agents and feedback text are stored as AES-256-GCM envelopes
//! (`enc:v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`) in their
//! ordinary text columns; the email stays findable and unique through a
//! keyed blind index (HMAC-SHA-256 of the trimmed, lower-cased address,
//! `auth.users.email_bidx`).
//!
//! The process installs one [`Keyring`] at start ([`install`]): several
//! keys, each with an id, one of them active. Writes seal under the active
//! key ([`seal`]); reads open under whichever key the envelope names, as the
//! row is decoded ([`Pii`], [`PiiOpt`]), so plaintext exists only on the way
//! out. A value without the envelope prefix is a row written before
//! encryption existed and reads back as it is; [`rotate`] converts those and
//! re-encrypts everything else under the active key.

use std::fmt;
use std::sync::{Arc, OnceLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::postgres::{PgTypeInfo, PgValueRef};
use sqlx::{Decode, Postgres, Type};

/// Every envelope starts with this.
pub const PREFIX: &str = "enc:v1:";

/// Associated data bound into every envelope: a ciphertext made by another
/// application (or another envelope version) does not open.
const AAD: &[u8] = b"betterprompts-pii-v1";

const NONCE_LEN: usize = 12;

/// Why a key set or an envelope was refused. Never contains key material
/// or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The key configuration is unusable.
    #[error("encryption keys: {0}")]
    Keys(String),
    /// An envelope names a key this process does not have.
    #[error(
        "a stored value is encrypted under key `{0}`, which is not in BP_ENCRYPTION_KEYS; add it back (keys are removed only after `betterprompts keys rotate`)"
    )]
    UnknownKey(String),
    /// An envelope is damaged or was made under different key material.
    #[error(
        "a stored value under key `{0}` does not decrypt: the key material differs or the value was altered"
    )]
    Damaged(String),
    /// No keyring was installed in this process.
    #[error("encryption keys are not loaded in this process")]
    NotLoaded,
}

/// One key: an id and its AES-256-GCM cipher.
struct Key {
    id: String,
    cipher: Aes256Gcm,
}

/// The keys of a process: every key that may have sealed a stored value,
/// the active one that seals new values, and the blind-index key.
pub struct Keyring {
    keys: Vec<Key>,
    active: usize,
    index: Hmac<Sha256>,
    prompts: bool,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field(
                "keys",
                &self.keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
            )
            .field("active", &self.active_id())
            .field("prompts", &self.prompts)
            .finish_non_exhaustive()
    }
}

/// A fresh random 256-bit key, base64 (no padding), for a key file or
/// `BP_ENCRYPTION_KEYS`.
pub fn generate_key() -> Result<String, CryptoError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| CryptoError::Keys(format!("no randomness: {e}")))?;
    Ok(B64.encode(bytes))
}

fn check_key_id(id: &str) -> Result<(), CryptoError> {
    let ok = (1..=32).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(CryptoError::Keys(format!(
            "key id `{id}` must be 1 to 32 letters, digits, '_', '-' or '.'"
        )))
    }
}

fn decode_key(what: &str, text: &str) -> Result<[u8; 32], CryptoError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .or_else(|_| B64.decode(text.trim()))
        .map_err(|_| CryptoError::Keys(format!("{what} is not base64")))?;
    bytes
        .try_into()
        .map_err(|_| CryptoError::Keys(format!("{what} must be 32 bytes (256 bits) of base64")))
}

impl Keyring {
    /// Parses `id:base64key` entries separated by commas or newlines (the
    /// `BP_ENCRYPTION_KEYS` format; `#` starts a comment line). `active`
    /// names the sealing key; `None` means the last entry. `index_key` is
    /// the base64 blind-index key.
    pub fn parse(spec: &str, active: Option<&str>, index_key: &str) -> Result<Self, CryptoError> {
        let mut keys: Vec<Key> = Vec::new();
        for entry in spec
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.starts_with('#'))
        {
            let (id, material) = entry
                .split_once(':')
                .ok_or_else(|| CryptoError::Keys("each key must be written `id:base64key`".into()))?;
            let id = id.trim();
            check_key_id(id)?;
            if keys.iter().any(|k| k.id == id) {
                return Err(CryptoError::Keys(format!("key id `{id}` appears twice")));
            }
            let bytes = decode_key(&format!("key `{id}`"), material)?;
            keys.push(Key {
                id: id.to_owned(),
                cipher: Aes256Gcm::new(&bytes.into()),
            });
        }
        if keys.is_empty() {
            return Err(CryptoError::Keys("no keys given".into()));
        }
        let active = match active {
            Some(name) => keys
                .iter()
                .position(|k| k.id == name)
                .ok_or_else(|| CryptoError::Keys(format!("the active key `{name}` is not among the keys")))?,
            None => keys.len() - 1,
        };
        let index_bytes = decode_key("the blind-index key", index_key)?;
        let index = <Hmac<Sha256> as Mac>::new_from_slice(&index_bytes)
            .map_err(|_| CryptoError::Keys("the blind-index key is unusable".into()))?;
        Ok(Self {
            keys,
            active,
            index,
            prompts: false,
        })
    }

    /// Also seal prompt text (history input and output; `BP_ENCRYPT_PROMPTS`).
    pub fn with_prompt_encryption(mut self, on: bool) -> Self {
        self.prompts = on;
        self
    }

    /// True when prompt text is sealed.
    pub fn seals_prompts(&self) -> bool {
        self.prompts
    }

    /// Prompt text as stored: sealed when prompt encryption is on, and also
    /// when the text itself looks like an envelope (so that reading it back
    /// can never mistake it for one); otherwise as it is.
    pub fn seal_prompt<'a>(&self, text: &'a str) -> Result<std::borrow::Cow<'a, str>, CryptoError> {
        if self.prompts || text.starts_with(PREFIX) {
            Ok(std::borrow::Cow::Owned(self.seal(text)?))
        } else {
            Ok(std::borrow::Cow::Borrowed(text))
        }
    }

    /// The id of the key new values are sealed under.
    pub fn active_id(&self) -> &str {
        &self.keys[self.active].id
    }

    /// Every key id, in the order given.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Seals `plaintext` under the active key.
    pub fn seal(&self, plaintext: &str) -> Result<String, CryptoError> {
        let key = &self.keys[self.active];
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| CryptoError::Keys(format!("no randomness: {e}")))?;
        let sealed = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: AAD,
                },
            )
            .map_err(|_| CryptoError::Damaged(key.id.clone()))?;
        let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}:{}", key.id, B64.encode(body)))
    }

    /// Seals an optional value under the active key.
    pub fn seal_opt(&self, plaintext: Option<&str>) -> Result<Option<String>, CryptoError> {
        plaintext.map(|p| self.seal(p)).transpose()
    }

    /// The plaintext of a stored value: an envelope is opened under the key
    /// it names; any other value is a row from before encryption and is
    /// returned as it is.
    pub fn open(&self, stored: &str) -> Result<String, CryptoError> {
        let Some((id, body)) = envelope(stored) else {
            return Ok(stored.to_owned());
        };
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_owned()))?;
        let damaged = || CryptoError::Damaged(id.to_owned());
        let bytes = B64.decode(body).map_err(|_| damaged())?;
        if bytes.len() < NONCE_LEN {
            return Err(damaged());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = key
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: AAD,
                },
            )
            .map_err(|_| damaged())?;
        String::from_utf8(plain).map_err(|_| damaged())
    }

    /// The blind index of an email address: hex HMAC-SHA-256 of the
    /// trimmed, lower-cased address. Equal addresses (in any letter case)
    /// have equal indexes; the index reveals nothing else without the key.
    pub fn email_index(&self, email: &str) -> String {
        let mut mac = self.index.clone();
        mac.update(normalise_email(email).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The form of an address the blind index is computed over.
fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// `(key id, body)` of an envelope; `None` for any other text.
fn envelope(stored: &str) -> Option<(&str, &str)> {
    stored.strip_prefix(PREFIX)?.split_once(':')
}

/// The key id a stored value is sealed under; `None` for plaintext.
pub fn key_id_of(stored: &str) -> Option<&str> {
    envelope(stored).map(|(id, _)| id)
}

static KEYRING: OnceLock<Arc<Keyring>> = OnceLock::new();

/// Installs the process's keyring. The first call wins (the keyring is
/// configuration, fixed for the life of the process); a later call with a
/// keyring whose active key differs is refused.
pub fn install(keyring: Keyring) -> Result<(), CryptoError> {
    let active = keyring.active_id().to_owned();
    let installed = KEYRING.get_or_init(|| Arc::new(keyring));
    if installed.active_id() == active {
        Ok(())
    } else {
        Err(CryptoError::Keys(format!(
            "this process already seals under key `{}`",
            installed.active_id()
        )))
    }
}

/// The installed keyring.
pub fn keyring() -> Result<Arc<Keyring>, CryptoError> {
    KEYRING.get().cloned().ok_or(CryptoError::NotLoaded)
}

/// Seals `plaintext` with the installed keyring.
pub fn seal(plaintext: &str) -> Result<String, CryptoError> {
    keyring()?.seal(plaintext)
}

/// Seals an optional value with the installed keyring.
pub fn seal_opt(plaintext: Option<&str>) -> Result<Option<String>, CryptoError> {
    keyring()?.seal_opt(plaintext)
}

/// The blind index of `email` with the installed keyring.
pub fn email_index(email: &str) -> Result<String, CryptoError> {
    Ok(keyring()?.email_index(email))
}

/// A non-null PII column, opened as it is decoded from a row. Use with
/// `#[sqlx(try_from = "Pii")]` on a `String` field.
pub struct Pii(String);

/// A nullable PII column, opened as it is decoded. Use with
/// `#[sqlx(try_from = "PiiOpt")]` on an `Option<String>` field.
pub struct PiiOpt(Option<String>);

impl Type<Postgres> for Pii {
    fn type_info() -> PgTypeInfo {
        <String as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as Type<Postgres>>::compatible(ty)
    }
}

impl Type<Postgres> for PiiOpt {
    fn type_info() -> PgTypeInfo {
        <String as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for Pii {
    fn decode(value: PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let stored = <&str as Decode<Postgres>>::decode(value)?;
        Ok(Self(keyring()?.open(stored)?))
    }
}

impl<'r> Decode<'r, Postgres> for PiiOpt {
    fn decode(value: PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        match <Option<&str> as Decode<Postgres>>::decode(value)? {
            None => Ok(Self(None)),
            Some(stored) => Ok(Self(Some(keyring()?.open(stored)?))),
        }
    }
}

impl From<Pii> for String {
    fn from(value: Pii) -> Self {
        value.0
    }
}

impl From<PiiOpt> for Option<String> {
    fn from(value: PiiOpt) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const K2: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
    const IDX: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";

    fn ring(spec: &str, active: Option<&str>) -> Keyring {
        Keyring::parse(spec, active, IDX).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_sealed_value_opens_and_hides_the_plaintext() {
        let keys = ring(&format!("a:{K1}"), None);
        let sealed = keys.seal("Ada Lovelace").unwrap_or_else(|e| panic!("{e}"));
        assert!(sealed.starts_with("enc:v1:a:"), "{sealed}");
        assert!(!sealed.contains("Ada"));
        assert_ne!(
            sealed,
            keys.seal("Ada Lovelace").unwrap_or_default(),
            "nonces repeat"
        );
        assert_eq!(keys.open(&sealed).as_deref(), Ok("Ada Lovelace"));
        assert_eq!(key_id_of(&sealed), Some("a"));
    }

    #[test]
    fn the_last_key_is_active_unless_named_and_old_keys_still_open() {
        let old = ring(&format!("a:{K1}"), None);
        let sealed = old.seal("x").unwrap_or_default();
        let both = ring(&format!("a:{K1},b:{K2}"), None);
        assert_eq!(both.active_id(), "b");
        assert_eq!(both.open(&sealed).as_deref(), Ok("x"));
        assert_eq!(ring(&format!("a:{K1},b:{K2}"), Some("a")).active_id(), "a");
        let only_b = ring(&format!("b:{K2}"), None);
        assert_eq!(only_b.open(&sealed), Err(CryptoError::UnknownKey("a".into())));
    }

    #[test]
    fn altered_envelopes_and_wrong_material_are_refused() {
        let keys = ring(&format!("a:{K1}"), None);
        let sealed = keys.seal("secret").unwrap_or_default();
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap_or_default();
        assert_eq!(keys.open(&flipped), Err(CryptoError::Damaged("a".into())));
        let other = ring(&format!("a:{K2}"), None);
        assert_eq!(other.open(&sealed), Err(CryptoError::Damaged("a".into())));
        assert_eq!(keys.open("enc:v1:a:!!"), Err(CryptoError::Damaged("a".into())));
    }

    #[test]
    fn plaintext_from_before_encryption_reads_as_it_is() {
        let keys = ring(&format!("a:{K1}"), None);
        assert_eq!(keys.open("Grace").as_deref(), Ok("Grace"));
        assert_eq!(key_id_of("Grace"), None);
    }

    #[test]
    fn the_email_index_ignores_case_and_spaces_and_depends_on_the_key() {
        let keys = ring(&format!("a:{K1}"), None);
        assert_eq!(
            keys.email_index(" Ada@Example.com"),
            keys.email_index("ada@example.com")
        );
        assert_ne!(
            keys.email_index("ada@example.com"),
            keys.email_index("bob@example.com")
        );
        let other = Keyring::parse(&format!("a:{K1}"), None, K2).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(
            other.email_index("ada@example.com"),
            keys.email_index("ada@example.com")
        );
        assert_eq!(keys.email_index("x").len(), 64);
    }

    #[test]
    fn bad_key_sets_are_refused_without_echoing_material() {
        for (spec, active, wanted) in [
            ("", None, "no keys"),
            ("nocolon", None, "id:base64key"),
            ("a:c2hvcnQ", None, "32 bytes"),
            ("a b:AAAA", None, "key id"),
            (&format!("a:{K1},a:{K2}") as &str, None, "twice"),
            (&format!("a:{K1}"), Some("z"), "active key `z`"),
        ] {
            let err = Keyring::parse(spec, active, IDX)
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert!(err.contains(wanted), "{spec}: {err}");
            assert!(!err.contains(K1) && !err.contains(K2), "{err}");
        }
        let debug = format!("{:?}", ring(&format!("a:{K1}"), None));
        assert!(debug.contains("\"a\"") && !debug.contains(K1), "{debug}");
    }
}
