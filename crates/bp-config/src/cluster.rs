//! `redis+cluster://` URLs: the seed nodes of a Redis Cluster, from which
//! the client learns the whole cluster's slot map (and follows it as it
//! changes).
//!
//! The form is `redis+cluster://[[user]:password@]host:port[,host:port…]`:
//! any nodes of the cluster, at least one; more let the service start
//! while one of them is down. The credentials are every node's. A cluster
//! has only database 0, so the URL has no path. TLS to a cluster is not
//! supported.

use crate::sentinel::{parse_nodes, split_scheme, url_host};

/// The scheme that selects Redis Cluster.
pub const CLUSTER_SCHEME: &str = "redis+cluster";

/// A parsed `redis+cluster://` URL. `Debug` leaves the credentials out.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterUrl {
    /// Each seed node's host and port, in the URL's order.
    pub nodes: Vec<(String, u16)>,
    /// `user:password` or `:password` as written (percent-encoded);
    /// `None` without credentials.
    pub userinfo: Option<String>,
}

impl std::fmt::Debug for ClusterUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterUrl")
            .field("nodes", &self.nodes)
            .field("credentials", &self.userinfo.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ClusterUrl {
    /// A `redis://` URL for each seed node, with the credentials.
    pub fn node_urls(&self) -> Vec<String> {
        let auth = self
            .userinfo
            .as_ref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        self.nodes
            .iter()
            .map(|(host, port)| format!("redis://{auth}{}", url_host(host, *port)))
            .collect()
    }

    /// `redis+cluster://` with the nodes and without the password, for
    /// logs and messages.
    pub fn redacted(&self) -> String {
        let auth = if self.userinfo.is_some() { "***@" } else { "" };
        let nodes: Vec<String> = self.nodes.iter().map(|(h, p)| url_host(h, *p)).collect();
        format!("{CLUSTER_SCHEME}://{auth}{}", nodes.join(","))
    }
}

/// Parses `url` when its scheme is `redis+cluster`: `Ok(None)` for any
/// other scheme, an error naming what is wrong (never the password) for a
/// malformed cluster URL.
pub fn parse_cluster_url(url: &str) -> Result<Option<ClusterUrl>, String> {
    let Some((userinfo, rest)) = split_scheme(url, CLUSTER_SCHEME) else {
        return Ok(None);
    };
    let hosts = match rest.split_once('/') {
        Some((hosts, "" | "0")) => hosts,
        Some(_) => {
            return Err("has a path; a cluster has only database 0, so the URL ends after the nodes".into());
        }
        None => rest,
    };
    if hosts.contains(['?', '#']) {
        return Err("has options after the nodes; none are supported".into());
    }
    let nodes = parse_nodes(hosts, 6379)?;
    if nodes.is_empty() {
        return Err("names no node; expected redis+cluster://host:port[,host:port…]".into());
    }
    Ok(Some(ClusterUrl {
        nodes,
        userinfo: userinfo.filter(|u| !u.is_empty()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_nodes_and_credentials_of_a_cluster_url() {
        let url = parse_cluster_url("redis+cluster://:s3cret@10.0.0.1:7000, 10.0.0.2,[::1]:7002")
            .unwrap()
            .unwrap();
        assert_eq!(
            url.nodes,
            vec![
                ("10.0.0.1".to_owned(), 7000),
                ("10.0.0.2".to_owned(), 6379),
                ("::1".to_owned(), 7002)
            ]
        );
        assert_eq!(
            url.node_urls(),
            vec![
                "redis://:s3cret@10.0.0.1:7000",
                "redis://:s3cret@10.0.0.2:6379",
                "redis://:s3cret@[::1]:7002"
            ]
        );
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(
            url.redacted(),
            "redis+cluster://***@10.0.0.1:7000,10.0.0.2:6379,[::1]:7002"
        );
        assert_eq!(parse_cluster_url("redis://localhost").unwrap(), None);
        assert!(parse_cluster_url("redis+cluster://a:1/").unwrap().is_some());
        assert!(
            parse_cluster_url("REDIS+Cluster://a:1").unwrap().is_some(),
            "schemes are case-insensitive"
        );
    }

    #[test]
    fn says_what_is_wrong_without_the_password() {
        for (bad, says) in [
            ("redis+cluster://:pw@", "no node"),
            ("redis+cluster://:pw@h:port", "not a port"),
            ("redis+cluster://:pw@h:1/3", "only database 0"),
            ("redis+cluster://:pw@h:1?tls=1", "options"),
            ("redis+cluster://:p/w@[::1:1", "IPv6"),
        ] {
            let err = parse_cluster_url(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
            assert!(!err.contains("pw") && !err.contains("p/w"), "{bad}: {err}");
        }
    }
}
