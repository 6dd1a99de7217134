//! A string that never prints: `Debug` and `Display` show `[redacted]`.

use std::fmt;

/// A secret value (password, key, URL with credentials). Read it with
/// [`Secret::expose`] at the one place that needs the real value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The real value; call only where it is handed to a driver or a hasher.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Returns `url` with any password replaced by `***`, for logs and errors.
/// A string that does not parse as a URL is reported as `<unparseable url>`.
pub fn redact_url(url: &str) -> String {
    // Several hosts (`redis+sentinel://:pw@a:26379,b:26379/m`) are not a
    // URL the `url` crate reads: the credentials go whole.
    if let Ok(Some(cluster)) = crate::parse_cluster_url(url) {
        return cluster.redacted();
    }
    if let Ok(Some(sentinel)) = crate::parse_sentinel_url(url) {
        let hosts: Vec<String> = sentinel
            .sentinels
            .iter()
            .map(|(h, p)| format!("{h}:{p}"))
            .collect();
        let auth = if sentinel.userinfo.is_some() { "***@" } else { "" };
        return format!(
            "{}://{auth}{}/{}/{}",
            crate::SENTINEL_SCHEME,
            hosts.join(","),
            sentinel.master,
            sentinel.db
        );
    }
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Setting a password only fails for URLs that cannot have one,
                // and this one already has one.
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<unparseable url>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentinel_url_is_redacted_whole() {
        assert_eq!(
            redact_url("redis+sentinel://app:hunter2@10.0.0.1:26379,10.0.0.2/cache"),
            "redis+sentinel://***@10.0.0.1:26379,10.0.0.2:26379/cache/0"
        );
        assert_eq!(
            redact_url("redis+cluster://:hunter2@10.0.0.1:7000,10.0.0.2:7001"),
            "redis+cluster://***@10.0.0.1:7000,10.0.0.2:7001"
        );
    }

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn redact_url_hides_the_password_only() {
        let r = redact_url("postgres://bp:topsecret@127.0.0.1:5432/db");
        assert_eq!(r, "postgres://bp:***@127.0.0.1:5432/db");
        assert_eq!(redact_url("not a url"), "<unparseable url>");
    }
}
