//! HS256 access tokens. The header names its key (`kid`), so a rotated
//! secret can be replaced while tokens signed with the previous one stay
//! valid until they expire. Verification accepts exactly `alg: HS256` (never
//! `none`, never another algorithm), a known key id, a valid signature
//! (constant-time comparison), our issuer, `nbf <= now < exp`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// The `iss` of every token we issue and accept.
pub const ISSUER: &str = "betterprompts";

/// Clock skew tolerated on `nbf` and `exp`, seconds.
const LEEWAY_SECS: i64 = 5;

/// Access-token claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id (as text).
    pub sub: String,
    /// The user id.
    pub user_id: Uuid,
    /// The user's email.
    pub email: String,
    /// The user's roles (`user`, `developer`, `admin`).
    pub roles: Vec<String>,
    /// The user's rate-limit tier.
    #[serde(default)]
    pub tier: String,
    /// The session (`auth.sessions.id`) the token belongs to.
    pub sid: Uuid,
    /// Issuer.
    pub iss: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Not before (unix seconds).
    pub nbf: i64,
    /// Expires (unix seconds).
    pub exp: i64,
    /// Token id; its SHA-256 is the session's `token_hash`.
    pub jti: String,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

/// One signing secret and its id.
#[derive(Clone)]
struct Key {
    kid: String,
    secret: Vec<u8>,
}

impl Key {
    fn new(secret: &[u8]) -> Self {
        // The id reveals nothing useful: 8 bytes of a hash of the secret.
        let kid = hex::encode(&Sha256::digest([b"bp-kid:".as_slice(), secret].concat())[..8]);
        Self {
            kid,
            secret: secret.to_vec(),
        }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
        HmacSha256::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
    }
}

/// Why a token was refused (logged at debug; the client only sees 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts of JSON.
    #[error("malformed token")]
    Malformed,
    /// `alg` other than HS256.
    #[error("algorithm not accepted")]
    Algorithm,
    /// Unknown `kid`.
    #[error("unknown key id")]
    UnknownKey,
    /// Signature mismatch.
    #[error("bad signature")]
    Signature,
    /// Wrong issuer.
    #[error("wrong issuer")]
    Issuer,
    /// Not yet valid.
    #[error("token not yet valid")]
    NotYetValid,
    /// Expired.
    #[error("token expired")]
    Expired,
}

/// The signing key and the keys still accepted.
#[derive(Clone)]
pub struct JwtKeys {
    current: Key,
    previous: Option<Key>,
    /// Unix seconds after which the previous key is no longer accepted
    /// (the rotation's grace period); `None`: until it is removed.
    previous_until: Option<i64>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("current_kid", &self.current.kid)
            .field("previous_kid", &self.previous.as_ref().map(|k| &k.kid))
            .field("previous_until", &self.previous_until)
            .finish()
    }
}

impl JwtKeys {
    /// Signs with `current`; also accepts tokens signed with `previous`.
    pub fn new(current: &[u8], previous: Option<&[u8]>) -> Self {
        Self {
            current: Key::new(current),
            previous: previous.map(Key::new),
            previous_until: None,
        }
    }

    /// Accepts the previous key only until `until` (unix seconds): the
    /// grace period of a rotation, after which its tokens are refused even
    /// when they have not expired.
    pub fn previous_until(mut self, until: Option<i64>) -> Self {
        self.previous_until = until;
        self
    }

    /// The id of the signing key.
    pub fn current_kid(&self) -> &str {
        &self.current.kid
    }

    /// A signed token for `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header {
            alg: "HS256".into(),
            typ: Some("JWT".into()),
            kid: Some(self.current.kid.clone()),
        };
        // Serialising these plain structs cannot fail.
        let header = serde_json::to_vec(&header).unwrap_or_default();
        let claims = serde_json::to_vec(claims).unwrap_or_default();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut mac = self.current.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The claims of a valid token at `now` (unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, JwtError> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header: Header = URL_SAFE_NO_PAD
            .decode(header_b64)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(JwtError::Malformed)?;
        if header.alg != "HS256" {
            return Err(JwtError::Algorithm);
        }
        let key = match header.kid.as_deref() {
            Some(kid) if kid == self.current.kid => &self.current,
            Some(kid) => self
                .previous
                .as_ref()
                .filter(|k| k.kid == kid && self.previous_until.is_none_or(|until| now <= until))
                .ok_or(JwtError::UnknownKey)?,
            None => return Err(JwtError::UnknownKey),
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| JwtError::Malformed)?;
        let mut mac = key.mac();
        mac.update(header_b64.as_bytes());
        mac.update(b".");
        mac.update(claims_b64.as_bytes());
        mac.verify_slice(&signature).map_err(|_| JwtError::Signature)?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(claims_b64)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(JwtError::Malformed)?;
        if claims.iss != ISSUER {
            return Err(JwtError::Issuer);
        }
        if claims.nbf > now + LEEWAY_SECS {
            return Err(JwtError::NotYetValid);
        }
        if claims.exp <= now - LEEWAY_SECS {
            return Err(JwtError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: i64, ttl: i64) -> Claims {
        let id = Uuid::new_v4();
        Claims {
            sub: id.to_string(),
            user_id: id,
            email: "a@example.com".into(),
            roles: vec!["user".into()],
            tier: "free".into(),
            sid: Uuid::new_v4(),
            iss: ISSUER.into(),
            iat: now,
            nbf: now,
            exp: now + ttl,
            jti: "j".into(),
        }
    }

    #[test]
    fn a_signed_token_verifies_and_tampering_is_refused() {
        let keys = JwtKeys::new(b"secret-one", None);
        let c = claims(1000, 900);
        let token = keys.sign(&c);
        assert_eq!(keys.verify(&token, 1000), Ok(c.clone()));
        assert_eq!(keys.verify(&token, 1900 + LEEWAY_SECS), Err(JwtError::Expired));
        assert_eq!(keys.verify(&token, 900), Err(JwtError::NotYetValid));
        // Another payload under the same signature.
        let mut forged = c;
        forged.roles = vec!["admin".into()];
        let other = keys.sign(&forged);
        let mut parts: Vec<&str> = token.split('.').collect();
        let other_parts: Vec<&str> = other.split('.').collect();
        parts[1] = other_parts[1];
        assert_eq!(keys.verify(&parts.join("."), 1000), Err(JwtError::Signature));
        assert_eq!(keys.verify("a.b", 1000), Err(JwtError::Malformed));
        assert_eq!(
            JwtKeys::new(b"other", None).verify(&token, 1000),
            Err(JwtError::UnknownKey)
        );
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let keys = JwtKeys::new(b"secret-one", None);
        let token = keys.sign(&claims(1000, 900));
        let payload = token.split('.').nth(1).unwrap_or_default();
        for alg in ["none", "HS512", "RS256", "hs256"] {
            let header =
                URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","kid":"{}"}}"#, keys.current_kid()));
            assert_eq!(
                keys.verify(&format!("{header}.{payload}."), 1000),
                Err(JwtError::Algorithm),
                "{alg}"
            );
        }
    }

    #[test]
    fn the_previous_key_is_accepted_after_rotation_and_dropped_later() {
        let old = JwtKeys::new(b"old-secret", None);
        let token = old.sign(&claims(1000, 900));
        let rotated = JwtKeys::new(b"new-secret", Some(b"old-secret"));
        assert!(rotated.verify(&token, 1000).is_ok());
        assert!(rotated.verify(&rotated.sign(&claims(1000, 900)), 1000).is_ok());
        let later = JwtKeys::new(b"new-secret", None);
        assert_eq!(later.verify(&token, 1000), Err(JwtError::UnknownKey));
    }

    #[test]
    fn the_previous_key_works_during_the_grace_period_and_fails_after() {
        let old = JwtKeys::new(b"old-secret", None);
        let token = old.sign(&claims(1000, 900));
        let rotated = JwtKeys::new(b"new-secret", Some(b"old-secret")).previous_until(Some(1300));
        assert!(rotated.verify(&token, 1000).is_ok());
        assert!(rotated.verify(&token, 1300).is_ok());
        assert_eq!(rotated.verify(&token, 1301), Err(JwtError::UnknownKey));
        let fresh = rotated.sign(&claims(1301, 900));
        assert!(
            rotated.verify(&fresh, 1400).is_ok(),
            "the current key has no deadline"
        );
    }

    #[test]
    fn a_wrong_issuer_is_refused() {
        let keys = JwtKeys::new(b"s", None);
        let mut c = claims(1000, 900);
        c.iss = "someone-else".into();
        assert_eq!(keys.verify(&keys.sign(&c), 1000), Err(JwtError::Issuer));
    }
}
