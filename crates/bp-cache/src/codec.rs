//! How values are stored: JSON, LZ4-compressed above 1 KiB, behind a
//! one-byte format tag.
//!
//! JSON because the cached values are mostly API responses that are JSON
//! already and stay readable with `redis-cli` when small; LZ4 above 1 KiB
//! because enhanced prompts are text that compresses 3-5x at a cost of a few
//! microseconds, where MessagePack would only drop the quotes and field
//! names. The tag lets the format change without flushing the cache: an
//! unknown tag or a value that fails to decode is a miss.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{CacheError, invalid};

/// Values larger than this (encoded) are refused: a cache is not a blob store.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// Above this, JSON is compressed.
pub const COMPRESS_ABOVE: usize = 1024;

const TAG_JSON: u8 = b'j';
const TAG_LZ4: u8 = b'z';

/// Encodes `value` for storage.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CacheError> {
    let json = serde_json::to_vec(value).map_err(|e| invalid("value", format!("does not serialise: {e}")))?;
    encode_json(&json)
}

/// Encodes JSON already serialised (the caller vouches that it is JSON).
pub fn encode_json(json: &[u8]) -> Result<Vec<u8>, CacheError> {
    let out = if json.len() > COMPRESS_ABOVE {
        let mut out = vec![TAG_LZ4];
        out.extend_from_slice(&lz4_flex::compress_prepend_size(json));
        out
    } else {
        let mut out = Vec::with_capacity(json.len() + 1);
        out.push(TAG_JSON);
        out.extend_from_slice(json);
        out
    };
    if out.len() > MAX_VALUE_BYTES {
        return Err(invalid(
            "value",
            format!("is {} bytes encoded; the limit is {MAX_VALUE_BYTES}", out.len()),
        ));
    }
    Ok(out)
}

/// Decodes a stored value; `None` when it is not ours or does not decode
/// (the caller treats that as a miss and deletes the key).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let (&tag, body) = bytes.split_first()?;
    match tag {
        TAG_JSON => serde_json::from_slice(body).ok(),
        TAG_LZ4 => serde_json::from_slice(&decompress(body)?).ok(),
        _ => None,
    }
}

/// The stored JSON itself, unparsed (for an answer sent as it was stored);
/// `None` when the value is not ours or does not decompress.
pub fn decode_json(bytes: &[u8]) -> Option<Vec<u8>> {
    let (&tag, body) = bytes.split_first()?;
    match tag {
        TAG_JSON => Some(body.to_vec()),
        TAG_LZ4 => decompress(body),
        _ => None,
    }
}

fn decompress(body: &[u8]) -> Option<Vec<u8>> {
    // The prepended size is untrusted: bound it before allocating.
    let size = u32::from_le_bytes(body.get(..4)?.try_into().ok()?) as usize;
    if size > MAX_VALUE_BYTES * 8 {
        return None;
    }
    lz4_flex::decompress_size_prepended(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn small_values_are_tagged_json_and_large_ones_compressed() {
        let small = encode(&json!({"a": 1})).unwrap();
        assert_eq!(small[0], TAG_JSON);
        assert_eq!(decode::<Value>(&small), Some(json!({"a": 1})));

        let text = "think step by step and explain. ".repeat(200);
        let large = encode(&json!({ "enhanced": text })).unwrap();
        assert_eq!(large[0], TAG_LZ4);
        assert!(large.len() < text.len() / 3, "{} bytes", large.len());
        assert_eq!(decode::<Value>(&large), Some(json!({ "enhanced": text })));
    }

    #[test]
    fn garbage_and_oversized_claims_decode_to_nothing() {
        assert_eq!(decode::<Value>(b""), None);
        assert_eq!(decode::<Value>(b"x{}"), None);
        assert_eq!(decode::<Value>(b"j{not json"), None);
        let mut bomb = vec![TAG_LZ4];
        bomb.extend_from_slice(&u32::MAX.to_le_bytes());
        bomb.extend_from_slice(b"\x00\x00");
        assert_eq!(decode::<Value>(&bomb), None);
    }

    #[test]
    fn values_over_the_limit_are_refused() {
        // xorshift letters: text that LZ4 cannot shrink below the limit.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let big: String = (0..MAX_VALUE_BYTES + 10)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'a' + (x % 26) as u8)
            })
            .collect();
        assert!(matches!(
            encode(&big),
            Err(CacheError::Invalid { field: "value", .. })
        ));
    }
}
