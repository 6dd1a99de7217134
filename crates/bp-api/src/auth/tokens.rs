//! Random tokens (refresh tokens, API keys, verification tokens) and the
//! SHA-256 digests stored in their place.

use sha2::{Digest, Sha256};

use crate::error::ApiError;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The prefix of every API key.
pub const API_KEY_PREFIX: &str = "bp_";

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("no randomness: {e}").into()))?;
    Ok(bytes)
}

/// Base62 of `bytes` as a big number (no padding, digits only from `BASE62`).
pub fn base62(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::with_capacity(bytes.len() * 2);
    let mut number: Vec<u8> = bytes.to_vec();
    while number.iter().any(|&b| b != 0) {
        let mut remainder = 0u32;
        for byte in &mut number {
            let acc = (remainder << 8) | u32::from(*byte);
            *byte = (acc / 62) as u8;
            remainder = acc % 62;
        }
        digits.push(BASE62[remainder as usize]);
    }
    digits.reverse();
    String::from_utf8_lossy(&digits).into_owned()
}

/// An opaque token of 32 random bytes in base62.
pub fn random_token() -> Result<String, ApiError> {
    Ok(base62(&random_bytes::<32>()?))
}

/// A new API key: `bp_` + 32 random bytes in base62.
pub fn new_api_key() -> Result<String, ApiError> {
    Ok(format!("{API_KEY_PREFIX}{}", random_token()?))
}

/// Lower-case hex SHA-256: what the database stores instead of a token.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets (token hashes, keys) in time that depends only on
/// their lengths, never on where they first differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn base62_is_positional_and_api_keys_have_the_prefix_and_enough_entropy() {
        assert_eq!(base62(&[0, 61]), "z");
        assert_eq!(base62(&[0, 62]), "10");
        let key = new_api_key().unwrap_or_default();
        assert!(key.starts_with("bp_"));
        // 32 bytes = 256 bits; 62^42 < 2^256 <= 62^43.
        assert!((40..=43).contains(&(key.len() - 3)), "{key}");
        assert!(key[3..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(new_api_key().unwrap_or_default(), key);
        assert_eq!(digest("abc").len(), 64);
    }
}
