//! Passwords: the policy (8..=72 bytes; upper, lower, digit, special; not a
//! common password) and bcrypt hashing, run on the blocking pool so a
//! 250 ms hash never stalls the async workers.

use crate::error::ApiError;

/// Passwords (and their stems) refused as too common.
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "qwerty",
    "qwertyuiop",
    "letmein",
    "welcome",
    "admin",
    "administrator",
    "iloveyou",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "sunshine",
    "princess",
    "abc123",
    "123456",
    "12345678",
    "123456789",
    "1234567890",
    "trustno1",
    "master",
    "shadow",
    "superman",
    "michael",
    "changeme",
    "secret",
    "login",
    "starwars",
    "whatever",
    "hello",
    "freedom",
    "betterprompts",
];

/// Checks the password policy; the error says which rule failed.
pub fn check_policy(password: &str) -> Result<(), ApiError> {
    let bad = |msg: &str| Err(ApiError::BadRequest(format!("password {msg}")));
    if password.len() < 8 {
        return bad("must be at least 8 characters");
    }
    if password.len() > 72 {
        // bcrypt ignores everything after byte 72.
        return bad("must be at most 72 bytes");
    }
    if !password.chars().any(char::is_uppercase) {
        return bad("must contain an upper-case letter");
    }
    if !password.chars().any(char::is_lowercase) {
        return bad("must contain a lower-case letter");
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        return bad("must contain a digit");
    }
    if password.chars().all(char::is_alphanumeric) {
        return bad("must contain a special character");
    }
    let lower = password.to_lowercase();
    let stem = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    let stem = stem.trim_start_matches(|c: char| !c.is_alphabetic());
    if COMMON.contains(&lower.as_str()) || COMMON.contains(&stem) {
        return bad("is too common");
    }
    Ok(())
}

/// bcrypt hash of `password` at `cost`, computed off the async workers.
pub async fn hash(password: &str, cost: u32) -> Result<String, ApiError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || bcrypt::hash(password, cost))
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?
        .map_err(|e| ApiError::Internal(Box::new(e)))
}

/// True when `password` matches `hash`; a malformed stored hash is `false`.
pub async fn verify(password: &str, hash: &str) -> Result<bool, ApiError> {
    let (password, hash) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::check_policy;

    #[test]
    fn the_policy_names_the_rule_that_failed() {
        let reason = |p: &str| check_policy(p).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(reason("Ab1!").contains("at least 8"));
        assert!(reason(&format!("Ab1!{}", "x".repeat(70))).contains("72 bytes"));
        assert!(reason("abcdefg1!").contains("upper-case"));
        assert!(reason("ABCDEFG1!").contains("lower-case"));
        assert!(reason("Abcdefgh!").contains("digit"));
        assert!(reason("Abcdefgh1").contains("special"));
        assert!(reason("Password123!").contains("too common"));
        assert!(reason("!Qwerty2024").contains("too common"));
        assert!(check_policy("Tr0ub4dor&3x").is_ok());
    }
}
