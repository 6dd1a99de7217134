//! `redis+sentinel://` URLs: where the Redis Sentinels listen and which
//! master they watch, so that the service follows a failover by itself.
//!
//! The form is `redis+sentinel://[[user]:password@]host:port[,host:port…]/master[/db]`,
//! as several clients write it (one address per Sentinel; the master's name
//! as in `sentinel monitor <name> …`). The credentials and the database
//! number are for the Redis servers the Sentinels name; the Sentinels
//! themselves are asked without credentials. TLS through Sentinel is not
//! supported.

/// The scheme that selects Sentinel.
pub const SENTINEL_SCHEME: &str = "redis+sentinel";

/// A parsed `redis+sentinel://` URL. `Debug` leaves the credentials out.
#[derive(Clone, PartialEq, Eq)]
pub struct SentinelUrl {
    /// Each Sentinel's host and port, in the URL's order.
    pub sentinels: Vec<(String, u16)>,
    /// The name the Sentinels know the master by.
    pub master: String,
    /// `user:password` or `:password` as written (percent-encoded), for the
    /// master; `None` without credentials.
    pub userinfo: Option<String>,
    /// The database number on the master (0 unless given).
    pub db: i64,
}

impl std::fmt::Debug for SentinelUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelUrl")
            .field("sentinels", &self.sentinels)
            .field("master", &self.master)
            .field("credentials", &self.userinfo.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .finish()
    }
}

impl SentinelUrl {
    /// A `redis://` URL for the master at `host:port`, with this URL's
    /// credentials and database.
    pub fn master_url(&self, host: &str, port: u16) -> String {
        let auth = self
            .userinfo
            .as_ref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        format!("redis://{auth}{}/{}", url_host(host, port), self.db)
    }
}

/// Parses `url` when its scheme is `redis+sentinel`: `Ok(None)` for any
/// other scheme, an error naming what is wrong (never the password) for a
/// malformed Sentinel URL.
pub fn parse_sentinel_url(url: &str) -> Result<Option<SentinelUrl>, String> {
    let Some((userinfo, rest)) = split_scheme(url, SENTINEL_SCHEME) else {
        return Ok(None);
    };
    let (hosts, path) = rest.split_once('/').unwrap_or((rest, ""));
    // 26379 is Sentinel's own default port.
    let sentinels = parse_nodes(hosts, 26379)?;
    if sentinels.is_empty() {
        return Err("names no Sentinel; expected redis+sentinel://host:port[,host:port…]/master".into());
    }
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    let master = parts
        .next()
        .ok_or("names no master; expected redis+sentinel://host:port[,host:port…]/master")?
        .to_owned();
    let db = match parts.next() {
        None => 0,
        Some(db) => db
            .parse::<i64>()
            .ok()
            .filter(|d| *d >= 0)
            .ok_or_else(|| format!("`{db}` is not a database number"))?,
    };
    if parts.next().is_some() || master.contains(['?', '#']) {
        return Err("has more than /master/db after the Sentinels".into());
    }
    Ok(Some(SentinelUrl {
        sentinels,
        master,
        userinfo: userinfo.filter(|u| !u.is_empty()),
        db,
    }))
}

/// For a URL of `scheme`: its credentials (`user:password` as written, if
/// any) and the rest after them; `None` for another scheme. The
/// credentials end at the last `@` (no host list, master name or database
/// number has one), so that a password holding `/`, `?` or `#` is never
/// mistaken for a host or a path, nor quoted in an error.
pub(crate) fn split_scheme<'a>(url: &'a str, scheme: &str) -> Option<(Option<String>, &'a str)> {
    // A scheme is case-insensitive (RFC 3986): `REDIS+CLUSTER://` too.
    let head = url.get(..scheme.len())?;
    let rest = head
        .eq_ignore_ascii_case(scheme)
        .then(|| &url[scheme.len()..])?
        .strip_prefix("://")?;
    Some(match rest.rsplit_once('@') {
        Some((user, rest)) => (Some(user.to_owned()), rest),
        None => (None, rest),
    })
}

/// The `host[:port]` list of a several-host URL (`a:1,b,[::1]:3`), with
/// `default_port` where none is given; an error names the bad node.
pub(crate) fn parse_nodes(hosts: &str, default_port: u16) -> Result<Vec<(String, u16)>, String> {
    let mut nodes = Vec::new();
    for node in hosts.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let (host, port) = match node.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').ok_or_else(|| {
                    format!("`{node}` opens an IPv6 address with `[` but does not close it")
                })?;
                (host, after.strip_prefix(':').unwrap_or(""))
            }
            None => node.rsplit_once(':').unwrap_or((node, "")),
        };
        if host.is_empty() {
            return Err(format!("`{node}` names no host"));
        }
        let port = if port.is_empty() {
            default_port
        } else {
            port.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("`{port}` in `{node}` is not a port"))?
        };
        nodes.push((host.to_owned(), port));
    }
    Ok(nodes)
}

/// `host:port`, with an IPv6 host in brackets, for a URL.
pub(crate) fn url_host(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_part_of_a_sentinel_url() {
        let url =
            parse_sentinel_url("redis+sentinel://:s3cret@10.0.0.1:26379, 10.0.0.2:26380,[::1]:26381/cache/2")
                .unwrap()
                .unwrap();
        assert_eq!(
            url.sentinels,
            vec![
                ("10.0.0.1".to_owned(), 26379),
                ("10.0.0.2".to_owned(), 26380),
                ("::1".to_owned(), 26381)
            ]
        );
        assert_eq!(url.master, "cache");
        assert_eq!(url.db, 2);
        assert_eq!(
            url.master_url("10.0.0.9", 6379),
            "redis://:s3cret@10.0.0.9:6379/2"
        );
        assert_eq!(url.master_url("::2", 6379), "redis://:s3cret@[::2]:6379/2");
        assert!(!format!("{url:?}").contains("s3cret"));
        let slash = parse_sentinel_url("redis+sentinel://:pa/ss@h:26379/m")
            .unwrap()
            .unwrap();
        assert_eq!(
            (slash.userinfo.as_deref(), slash.master.as_str()),
            (Some(":pa/ss"), "m")
        );
    }

    #[test]
    fn defaults_the_port_and_database_and_ignores_other_schemes() {
        let url = parse_sentinel_url("redis+sentinel://sentinel-a,sentinel-b/mymaster")
            .unwrap()
            .unwrap();
        assert_eq!(url.sentinels[1], ("sentinel-b".to_owned(), 26379));
        assert_eq!((url.db, url.userinfo), (0, None));
        assert_eq!(parse_sentinel_url("redis://localhost:6379").unwrap(), None);
    }

    #[test]
    fn says_what_is_wrong_without_the_password() {
        for (bad, says) in [
            ("redis+sentinel://:pw@/m", "no Sentinel"),
            ("redis+sentinel://:pw@h:1", "no master"),
            ("redis+sentinel://:pw@h:port/m", "not a port"),
            ("redis+sentinel://:pw@h:1/m/x", "not a database"),
            ("redis+sentinel://:pw@h:1/m/0/extra", "more than"),
            ("redis+sentinel://:pw@[::1:1/m", "IPv6"),
            ("redis+sentinel://:p/w@h:port/m", "not a port"),
            ("redis+sentinel://u:p?w#/x@/m", "no Sentinel"),
        ] {
            let err = parse_sentinel_url(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(
                !err.contains("pw") && !err.contains("p/w") && !err.contains("p?w"),
                "{bad}: {err}"
            );
        }
    }
}
