//! Hot standbys of an instance's PostgreSQL: each one is cloned with the
//! bundle's `pg_basebackup` (`-R` writes its `primary_conninfo`), streams
//! from the primary through a physical replication slot of its own
//! (`bp_replica_<n>`), and listens on a loopback port of its own. Loopback
//! ports stand in for hosts: the same steps on two machines are the
//! standard streaming replication setup.
//!
//! The slot keeps the WAL a replica still needs, so a replica that was
//! stopped catches up when it starts again; `infra down --purge` deletes
//! the replicas with the primary that holds their slots.

use std::fs;
use std::path::PathBuf;

use bp_config::Secret;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::error::{InfraError, Result};
use crate::postgres::{PgInstall, PgServer};
use crate::process::run;
use crate::service_user::{self, RunAs};
use crate::state::{Credentials, InfraState};
use crate::{APP_DATABASE, Infra};

/// One hot standby as last started.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReplicaState {
    /// 1-based number; the slot is `bp_replica_<index>`.
    pub index: u32,
    /// 127.0.0.1 port.
    pub port: u16,
    /// Pid when last started.
    pub pid: Option<u32>,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Log file.
    pub log_file: PathBuf,
}

impl ReplicaState {
    /// The replication slot the replica streams through.
    pub fn slot(&self) -> String {
        slot_name(self.index)
    }

    /// The application role's URL on this replica (read-only: a standby
    /// refuses writes).
    pub fn url(&self, creds: &Credentials) -> Secret {
        Secret::new(format!(
            "postgres://{APP_DATABASE}:{}@127.0.0.1:{}/{APP_DATABASE}",
            creds.app_password.expose(),
            self.port
        ))
    }
}

fn slot_name(index: u32) -> String {
    format!("bp_replica_{index}")
}

/// The cluster superuser `postgres` on the server at `port` (statement
/// logging off: nothing it runs may show a password).
pub fn superuser(port: u16, creds: &Credentials) -> PgConnectOptions {
    PgConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username("postgres")
        .password(creds.superuser_password.expose())
        .database("postgres")
        .disable_statement_logging()
}

impl Infra {
    pub(crate) fn replica_dir(&self, run_as: &RunAs, index: u32) -> PathBuf {
        service_user::postgres_base(&self.home, run_as)
            .join("instances")
            .join(&self.instance)
            .join(format!("replica-{index}"))
    }

    /// Brings the instance to `count` running hot standbys: clones the
    /// missing ones from the running primary and starts any that are
    /// stopped. Replicas beyond `count` are left as they are. Needs
    /// `infra up` first.
    pub async fn replicas_up(&self, count: u32, progress: &dyn Fn(&str)) -> Result<Vec<ReplicaState>> {
        let run_as = RunAs::for_postgres()?;
        let _lock = self.lock()?;
        let dir = self.instance_dir();
        let mut state = InfraState::load(&dir)?
            .filter(InfraState::postgres_answers)
            .ok_or_else(|| {
                InfraError::Other("the instance is not running; run `betterprompts infra up` first".into())
            })?;
        let creds = Credentials::load(&dir)?;
        let install = install_of(&state);
        // After a failover the primary runs in a former replica's directory:
        // that number is taken.
        let primary_dir = state.postgres.data_dir.parent().map(std::path::Path::to_path_buf);
        let indexes: Vec<u32> = (1..)
            .filter(|i| primary_dir.as_ref() != Some(&self.replica_dir(&run_as, *i)))
            .take(count as usize)
            .collect();
        for index in indexes {
            let server = PgServer {
                install: &install,
                dir: self.replica_dir(&run_as, index),
                run_as: &run_as,
            };
            if !server.data_dir().join("PG_VERSION").is_file() {
                progress(&format!(
                    "cloning replica {index} from the primary with pg_basebackup"
                ));
                clone(&server, state.postgres.port, index, &creds).await?;
            }
            let known = state.replicas.iter().find(|r| r.index == index).cloned();
            let port = match server
                .pid()
                .and_then(|_| crate::state::postmaster_port(&server.data_dir()))
            {
                Some(port) => port,
                None => {
                    let port = crate::pick_port(known.as_ref().map(|r| r.port))?;
                    progress(&format!("starting replica {index} on 127.0.0.1:{port}"));
                    server.start(port)?;
                    port
                }
            };
            let replica = ReplicaState {
                index,
                port,
                pid: server.pid(),
                data_dir: server.data_dir(),
                log_file: server.log_file(),
            };
            state.replicas.retain(|r| r.index != index);
            state.replicas.push(replica);
        }
        state.replicas.sort_by_key(|r| r.index);
        state.save(&dir)?;
        Ok(state.replicas)
    }

    /// Stops replica `index` (fast shutdown), keeping its data and slot:
    /// started again, it catches up. Tests use it to take a replica away
    /// under load.
    pub fn stop_replica(&self, index: u32) -> Result<()> {
        let run_as = RunAs::for_postgres()?;
        let Some(state) = self.state()? else { return Ok(()) };
        let install = install_of(&state);
        let server = PgServer {
            install: &install,
            dir: self.replica_dir(&run_as, index),
            run_as: &run_as,
        };
        server.stop()
    }
}

/// A slot's name, its walsender state, lag in bytes and in seconds.
type SlotRow = (String, Option<String>, Option<i64>, Option<f64>);

/// What `infra status` says of one replica.
#[derive(Debug, Clone)]
pub struct ReplicaReport {
    /// The recorded replica.
    pub replica: ReplicaState,
    /// Its server accepts connections.
    pub answering: bool,
    /// The primary's walsender state for it (`streaming`, `catchup`), when
    /// it is connected.
    pub state: Option<String>,
    /// WAL bytes the primary has written that it has not replayed.
    pub lag_bytes: Option<i64>,
    /// The primary's measure of its replay lag (null when idle).
    pub lag_seconds: Option<f64>,
    /// The application role's URL on it.
    pub url: Secret,
}

impl Infra {
    /// Each recorded replica with its streaming state and lag, as the
    /// primary sees them (`pg_replication_slots` joined with
    /// `pg_stat_replication`).
    pub async fn replica_report(&self) -> Result<Vec<ReplicaReport>> {
        let dir = self.instance_dir();
        let Some(state) = InfraState::load(&dir)? else {
            return Ok(Vec::new());
        };
        if state.replicas.is_empty() {
            return Ok(Vec::new());
        }
        let creds = Credentials::load(&dir)?;
        let mut seen: Vec<SlotRow> = Vec::new();
        if state.postgres_answers()
            && let Ok(mut conn) = PgConnection::connect_with(&superuser(state.postgres.port, &creds)).await
        {
            seen = sqlx::query_as(
                "SELECT s.slot_name::text, r.state, (pg_current_wal_lsn() - r.replay_lsn)::bigint,
                        extract(epoch FROM r.replay_lag)::float8
                 FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
                 WHERE s.slot_name LIKE 'bp\\_replica\\_%'",
            )
            .fetch_all(&mut conn)
            .await?;
            conn.close().await?;
        }
        Ok(state
            .replicas
            .iter()
            .map(|r| {
                let row = seen.iter().find(|(slot, ..)| *slot == r.slot());
                ReplicaReport {
                    answering: crate::process::port_answers(r.port),
                    state: row.and_then(|x| x.1.clone()),
                    lag_bytes: row.and_then(|x| x.2),
                    lag_seconds: row.and_then(|x| x.3),
                    url: r.url(&creds),
                    replica: r.clone(),
                }
            })
            .collect())
    }
}

/// What `infra failover` did.
#[derive(Debug, Clone)]
pub struct Failover {
    /// The replica that is now the primary.
    pub promoted: ReplicaState,
    /// Its replay position when chosen (WAL bytes).
    pub position: u64,
    /// Replicas now streaming from it.
    pub followers: Vec<u32>,
}

impl Infra {
    /// Promotes the most advanced replica that answers to primary: stops
    /// the old primary (it may already be dead) so it takes no more
    /// writes, runs `pg_ctl promote` on the replica, records it as the
    /// instance's PostgreSQL (so `infra status --env` and a restarted
    /// `serve` use it), and points the other replicas at it through slots
    /// of their own on it. The old primary's data is left where it was,
    /// stopped (`down --purge` deletes it with the rest).
    pub async fn failover(&self, progress: &dyn Fn(&str)) -> Result<Failover> {
        let run_as = RunAs::for_postgres()?;
        let _lock = self.lock()?;
        let dir = self.instance_dir();
        let mut state = InfraState::load(&dir)?.ok_or_else(|| {
            InfraError::Other("the instance was never started; nothing to fail over".into())
        })?;
        let creds = Credentials::load(&dir)?;
        let install = install_of(&state);
        let mut best: Option<(u64, ReplicaState)> = None;
        for r in &state.replicas {
            let Ok(mut conn) = PgConnection::connect_with(&superuser(r.port, &creds)).await else {
                continue;
            };
            let position: Option<i64> =
                sqlx::query_scalar("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint")
                    .fetch_one(&mut conn)
                    .await?;
            conn.close().await?;
            let position = position.and_then(|p| u64::try_from(p).ok()).unwrap_or(0);
            if best.as_ref().is_none_or(|(p, _)| position > *p) {
                best = Some((position, r.clone()));
            }
        }
        let (position, chosen) =
            best.ok_or_else(|| InfraError::Other("no replica answers: there is nothing to promote".into()))?;
        let old = PgServer {
            install: &install,
            dir: state
                .postgres
                .data_dir
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default(),
            run_as: &run_as,
        };
        progress("stopping the old primary");
        old.stop()?;
        let promoted = PgServer {
            install: &install,
            dir: self.replica_dir(&run_as, chosen.index),
            run_as: &run_as,
        };
        progress(&format!(
            "promoting replica {} on 127.0.0.1:{}",
            chosen.index, chosen.port
        ));
        let mut promote = promoted.tool("pg_ctl");
        promote
            .arg("-D")
            .arg(promoted.data_dir())
            .args(["-w", "-t", "60", "promote"]);
        run(&mut promote)?;
        state.postgres.port = chosen.port;
        state.postgres.pid = promoted.pid();
        state.postgres.data_dir = promoted.data_dir();
        state.postgres.log_file = promoted.log_file();
        state.replicas.retain(|r| r.index != chosen.index);
        state.save(&dir)?;
        let mut followers = Vec::new();
        let mut conn = PgConnection::connect_with(&superuser(chosen.port, &creds)).await?;
        for r in &state.replicas {
            progress(&format!("pointing replica {} at the new primary", r.index));
            sqlx::query(
                "SELECT pg_create_physical_replication_slot($1, true) \
                 WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)",
            )
            .bind(r.slot())
            .execute(&mut conn)
            .await?;
            let standby = PgServer {
                install: &install,
                dir: self.replica_dir(&run_as, r.index),
                run_as: &run_as,
            };
            standby.stop()?;
            repoint(&standby.data_dir(), chosen.port)?;
            standby.start(r.port)?;
            followers.push(r.index);
        }
        conn.close().await?;
        let mut saved = state.clone();
        for r in &mut saved.replicas {
            r.pid = PgServer {
                install: &install,
                dir: self.replica_dir(&run_as, r.index),
                run_as: &run_as,
            }
            .pid();
        }
        saved.save(&dir)?;
        Ok(Failover {
            promoted: chosen,
            position,
            followers,
        })
    }
}

/// Rewrites the port in a standby's `primary_conninfo` (written by
/// `pg_basebackup -R` into `postgresql.auto.conf`, which keeps its owner
/// and mode when written in place).
fn repoint(data_dir: &std::path::Path, port: u16) -> Result<()> {
    let path = data_dir.join("postgresql.auto.conf");
    let text = fs::read_to_string(&path).map_err(InfraError::io("reading", &path))?;
    let rewritten: Vec<String> = text
        .lines()
        .map(|line| {
            if !line.trim_start().starts_with("primary_conninfo") {
                return line.to_owned();
            }
            line.split(' ')
                .map(|part| match part.strip_prefix("port=") {
                    Some(_) => format!("port={port}"),
                    None => part.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    fs::write(&path, rewritten.join("\n") + "\n").map_err(InfraError::io("writing", &path))
}

/// The installation a recorded state ran.
pub(crate) fn install_of(state: &InfraState) -> PgInstall {
    PgInstall {
        bin_dir: state.postgres.program.clone(),
        version: state.postgres.version.clone(),
        pgvector_version: String::new(),
        source: state.postgres.source.clone(),
    }
}

/// `pg_basebackup` of the primary on `primary_port` into `server`'s data
/// directory, through a new slot, with `standby.signal` and
/// `primary_conninfo` written (`-R`). The password goes in the
/// environment, never on the command line.
async fn clone(server: &PgServer<'_>, primary_port: u16, index: u32, creds: &Credentials) -> Result<()> {
    fs::create_dir_all(&server.dir).map_err(InfraError::io("creating", &server.dir))?;
    server.run_as.own(&server.dir)?;
    // A slot left by a replica whose data was deleted by hand would make
    // `--create-slot` fail; it is nobody's now.
    let mut conn = PgConnection::connect_with(&superuser(primary_port, creds)).await?;
    sqlx::query(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active",
    )
    .bind(slot_name(index))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    let mut cmd = server
        .run_as
        .command(server.install.bin_dir.join("pg_basebackup"), &server.dir);
    cmd.env("PGPASSWORD", creds.superuser_password.expose())
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &primary_port.to_string(),
            "-U",
            "postgres",
            "-D",
        ])
        .arg(server.data_dir())
        .args([
            "-R",
            "-X",
            "stream",
            "-C",
            "-S",
            &slot_name(index),
            "--no-sync",
            "--checkpoint=fast",
        ]);
    if let Err(e) = run(&mut cmd) {
        let _ = fs::remove_dir_all(server.data_dir());
        return Err(e);
    }
    Ok(())
}
