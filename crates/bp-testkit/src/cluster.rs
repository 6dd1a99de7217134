//! A Redis Cluster of a test's own: three masters sharing the 16,384 slots,
//! optionally with a replica of the first, all `redis-server` processes on
//! free loopback ports (each with its cluster bus port), killed on drop.
//! Tests kill the first master to make the cluster fail over, as a crash
//! would.

use std::path::PathBuf;
use std::time::Duration;

use crate::sentinel::{Node, ask, free_port, start_node, until_reply_has};

/// The masters' slot ranges: the 16,384 slots in three.
const SLOT_RANGES: [(u16, u16); 3] = [(0, 5460), (5461, 10922), (10923, 16383)];

/// Three masters and, when asked for, a replica of the first.
#[derive(Debug)]
pub struct TestCluster {
    dir: PathBuf,
    /// The masters in slot order, then the replica if any.
    nodes: Vec<Node>,
}

impl TestCluster {
    /// Three masters, no replica; a node is called down after 5 s without
    /// an answer, so that a slow moment of a loaded machine is not taken
    /// for a crash.
    pub async fn start() -> Self {
        Self::start_with(false, Duration::from_secs(5)).await
    }

    /// Starts the cluster (with a replica of the first master when
    /// `replica`), a node being called down after `node_timeout`, and waits
    /// until every node sees the whole cluster as ok and the replica has
    /// synced.
    pub async fn start_with(replica: bool, node_timeout: Duration) -> Self {
        let dir = std::env::temp_dir().join(format!("bp-cluster-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let mut cluster = Self {
            dir,
            nodes: Vec::new(),
        };
        let count = SLOT_RANGES.len() + usize::from(replica);
        let mut buses = Vec::new();
        for i in 0..count {
            let data = cluster.dir.join(format!("node{i}"));
            std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{e}"));
            let bus = std::cell::Cell::new(0u16);
            let node = start_node(&cluster.dir.join(format!("node{i}.log")), |port| {
                bus.set(free_port());
                [
                    "--port",
                    &port.to_string(),
                    "--cluster-port",
                    &bus.get().to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    &data.join("nodes.conf").to_string_lossy(),
                    "--cluster-node-timeout",
                    &node_timeout.as_millis().to_string(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    &data.to_string_lossy(),
                ]
                .iter()
                .map(|s| s.to_string())
                .collect()
            });
            buses.push(bus.get());
            cluster.nodes.push(node);
        }
        let ports = cluster.ports();
        for (port, (first, last)) in ports.iter().zip(SLOT_RANGES) {
            let added: redis::RedisResult<()> = ask(
                *port,
                redis::cmd("CLUSTER").arg("ADDSLOTSRANGE").arg(first).arg(last),
            )
            .await;
            added.unwrap_or_else(|e| panic!("assigning slots to 127.0.0.1:{port}: {e}"));
        }
        for (port, bus) in ports.iter().zip(&buses).skip(1) {
            let met: redis::RedisResult<()> = ask(
                ports[0],
                redis::cmd("CLUSTER")
                    .arg("MEET")
                    .arg("127.0.0.1")
                    .arg(*port)
                    .arg(*bus),
            )
            .await;
            met.unwrap_or_else(|e| panic!("introducing 127.0.0.1:{port}: {e}"));
        }
        for port in ports.clone() {
            until_reply_has(
                port,
                &["CLUSTER", "INFO"],
                &format!("cluster_known_nodes:{count}"),
                "every node knows the others",
            )
            .await;
        }
        if replica {
            let master_id: String = ask(ports[0], redis::cmd("CLUSTER").arg("MYID"))
                .await
                .unwrap_or_else(|e| panic!("the first master's id: {e}"));
            let replica_port = ports[SLOT_RANGES.len()];
            let made: redis::RedisResult<()> = ask(
                replica_port,
                redis::cmd("CLUSTER").arg("REPLICATE").arg(&master_id),
            )
            .await;
            made.unwrap_or_else(|e| panic!("making 127.0.0.1:{replica_port} a replica: {e}"));
            for port in ports.clone() {
                crate::eventually(
                    Duration::from_secs(30),
                    "every node lists the replica",
                    || async move {
                        let slots: redis::RedisResult<Vec<Vec<redis::Value>>> =
                            ask(port, redis::cmd("CLUSTER").arg("SLOTS")).await;
                        // The first range's entry: start, end, master, replicas.
                        slots.is_ok_and(|ranges| ranges.iter().any(|r| r.len() > 3))
                    },
                )
                .await;
            }
            until_reply_has(
                replica_port,
                &["INFO", "replication"],
                "master_link_status:up",
                "the replica syncs with its master",
            )
            .await;
        }
        for port in ports {
            until_reply_has(
                port,
                &["CLUSTER", "INFO"],
                "cluster_state:ok",
                "every node sees the cluster as ok",
            )
            .await;
        }
        cluster
    }

    /// Every node's port: the masters in slot order, then the replica.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// `redis+cluster://` naming every node as a seed.
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self.ports().iter().map(|p| format!("127.0.0.1:{p}")).collect();
        format!("redis+cluster://{}", nodes.join(","))
    }

    /// The first master's port at the start.
    pub fn first_master_port(&self) -> u16 {
        self.nodes[0].port
    }

    /// The replica's port, when the cluster has one.
    pub fn replica_port(&self) -> Option<u16> {
        self.nodes.get(SLOT_RANGES.len()).map(|n| n.port)
    }

    /// Whether the node at `port` says it is a master.
    pub async fn is_master(&self, port: u16) -> bool {
        let role: redis::RedisResult<Vec<redis::Value>> = ask(port, &redis::cmd("ROLE")).await;
        matches!(role.as_deref(), Ok([redis::Value::BulkString(b), ..]) if b == b"master")
    }

    /// Waits until every write the first master has taken is on its
    /// replica (`WAIT 1`): the replication point a failover keeps.
    pub async fn wait_replicated(&self) {
        crate::sentinel::wait_replicated(self.nodes[0].port).await;
    }

    /// Kills the first master, as a crash would.
    pub fn kill_first_master(&mut self) {
        self.nodes[0].kill();
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
