//! Key material: user text never appears in a key. It is normalised and
//! hashed (SHA-256, hex), so keys have a fixed size and a Redis dump shows
//! no prompts, tokens or e-mail addresses.

use sha2::{Digest, Sha256};

/// Where `betterprompts backup` records its last success (Unix seconds),
/// for every `serve` to expose as `bp_backup_last_success_timestamp_seconds`.
pub const BACKUP_LAST_SUCCESS: &str = "backup:last-success";

/// How long that record lives: a backup older than this shows as no backup
/// at all (the series is absent).
pub const BACKUP_RECORD_TTL: std::time::Duration = std::time::Duration::from_secs(90 * 24 * 3600);

/// Hex SHA-256 of the parts, each length-prefixed so `("ab","c")` and
/// `("a","bc")` differ.
pub fn hash_parts(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Canonical request parameters: JSON is re-serialised compactly with its
/// object keys sorted (so key order and whitespace do not matter); other
/// text has its whitespace runs collapsed.
pub fn canonical_params(params: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(params) {
        // serde_json's map is ordered by key (no preserve_order feature).
        Ok(value) => value.to_string(),
        Err(_) => collapse_whitespace(params),
    }
}

/// Prompt text as the classifier sees it: lower-case, whitespace collapsed.
pub fn normalise_text(text: &str) -> String {
    collapse_whitespace(&text.to_lowercase())
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A position in `0..100` for percentage rollouts, stable for a
/// (flag, user) pair on every process and every run.
pub fn rollout_bucket(flag: &str, user: &str) -> u8 {
    let digest = Sha256::digest(format!("{flag}:{user}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % 100) as u8
}

/// Where the API records the primary's WAL position after a user's write
/// (`write-position:<user id>`), so that the user's reads, on any `serve`,
/// go to the primary until a replica has replayed it.
pub fn write_position(user: &str) -> String {
    format!("write-position:{user}")
}

/// How long a recorded write position matters: past it, any replica within
/// the lag limit has replayed the write.
pub const WRITE_POSITION_TTL: std::time::Duration = std::time::Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_params_are_canonical_regardless_of_key_order_and_whitespace() {
        let a = canonical_params(r#"{"b": 1, "a": {"y": [1, 2], "x": "t"}}"#);
        let b = canonical_params("{\"a\":{\"x\":\"t\",\"y\":[1,2]},\n  \"b\":1}");
        assert_eq!(a, b);
        assert_eq!(a, r#"{"a":{"x":"t","y":[1,2]},"b":1}"#);
        assert_eq!(canonical_params("  plain   text\n"), "plain text");
    }

    #[test]
    fn hashes_are_fixed_size_and_separate_their_parts() {
        assert_eq!(hash_parts(&["ab", "c"]).len(), 64);
        assert_ne!(hash_parts(&["ab", "c"]), hash_parts(&["a", "bc"]));
        assert_eq!(normalise_text("  Write A\tPoem "), "write a poem");
    }

    #[test]
    fn rollout_buckets_are_stable_and_spread() {
        assert_eq!(rollout_bucket("f", "user-1"), rollout_bucket("f", "user-1"));
        let in_half = (0..10_000)
            .filter(|i| rollout_bucket("new-ui", &format!("user-{i}")) < 50)
            .count();
        assert!(
            (4_500..5_500).contains(&in_half),
            "{in_half} of 10000 in a 50% rollout"
        );
    }
}
