//! `betterprompts infra install|up|failover|down|status`.

use anyhow::Context;
use bp_config::{Settings, redact_url};
use bp_infra::{Credentials, InfraState, ServiceState};
use bp_store::PoolSettings;
use serde_json::json;

use crate::cli::InfraCommand;
use crate::progress::Progress;
use crate::resolve;

/// Exit status of `status` when the instance is not running (as systemctl does).
pub const NOT_RUNNING: u8 = 3;

/// Runs one `infra` subcommand; returns the process exit code.
pub async fn run(settings: &Settings, instance: Option<&str>, command: InfraCommand) -> anyhow::Result<u8> {
    let infra = resolve::infra(settings, instance)?;
    match command {
        InfraCommand::Install => {
            let progress = Progress::start("looking for PostgreSQL 16 + pgvector and Redis 7");
            let installed = infra.install(&|s| progress.step(s))?;
            progress.finish(&format!(
                "PostgreSQL {} with pgvector {} ({}) and Redis {} ({}) are installed",
                installed.postgres.version,
                installed.postgres.pgvector_version,
                installed.postgres.bin_dir.display(),
                installed.redis.version,
                installed.redis.binary.display()
            ));
            Ok(0)
        }
        InfraCommand::Up {
            ephemeral,
            no_migrate,
            replicas,
        } => {
            let progress = Progress::start("starting PostgreSQL and Redis");
            let infra = infra.ephemeral(ephemeral);
            let state = infra.up(&|s| progress.step(s)).await?;
            let standbys = if replicas > 0 {
                let up = infra.replicas_up(replicas, &|s| progress.step(s)).await?;
                format!(
                    "; {} replica(s) on {}",
                    up.len(),
                    up.iter()
                        .map(|r| format!("127.0.0.1:{}", r.port))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                String::new()
            };
            // The sentence model is optional at run time (the service falls
            // back to lexical features), so a failed install warns.
            let model = match super::model::install(&settings.engine.model_dir, false, &progress).await {
                Ok(_) => "sentence model installed".to_owned(),
                Err(e) => {
                    tracing::warn!("the sentence model could not be installed: {e:#}");
                    format!("sentence model NOT installed ({e:#}); run `betterprompts model install`")
                }
            };
            let mut migrated = String::from("migrations skipped");
            if !no_migrate {
                progress.step("running migrations");
                let endpoints = infra
                    .endpoints()?
                    .context("the servers started but do not answer")?;
                let pool = bp_store::connect(endpoints.database_url.expose(), &PoolSettings::small()).await?;
                let applied = bp_store::migrate::run_up(&pool, &bp_store::migrate::MIGRATOR).await?;
                if super::keys::convert_legacy_rows(settings, &pool).await?.is_some() {
                    progress.step("encrypted the rows from before PII encryption");
                }
                pool.close().await;
                migrated = format!("{} migrations applied, schema current", applied.len());
            }
            progress.finish(&format!(
                "instance `{}` is up: PostgreSQL {} on 127.0.0.1:{}{standbys}, Redis {} on 127.0.0.1:{}; {migrated}; {model}",
                state.instance,
                state.postgres.version,
                state.postgres.port,
                state.redis.version,
                state.redis.port
            ));
            Ok(0)
        }
        InfraCommand::Failover => {
            let progress = Progress::start("failing over to a replica");
            let done = infra.failover(&|s| progress.step(s)).await?;
            progress.finish(&format!(
                "replica {} on 127.0.0.1:{} is the primary now (replayed to WAL byte {}); {} replica(s) follow it; \
                 restart `serve` or point DATABASE_URL at it (`infra status --env`)",
                done.promoted.index,
                done.promoted.port,
                done.position,
                done.followers.len()
            ));
            Ok(0)
        }
        InfraCommand::Down { purge } => {
            let stopped = infra.down(purge)?;
            let what = if stopped {
                "stopped PostgreSQL and Redis"
            } else {
                "nothing was running"
            };
            let purged = if purge { "; its data was deleted" } else { "" };
            println!("instance `{}`: {what}{purged}", instance_name(settings, instance));
            Ok(0)
        }
        InfraCommand::Status { json, env } => {
            let Some(state) = infra.state()? else {
                if json {
                    println!(
                        "{}",
                        json!({ "instance": instance_name(settings, instance), "running": false })
                    );
                } else if !env {
                    println!(
                        "instance `{}` has not been started under {}; run `betterprompts infra up`",
                        instance_name(settings, instance),
                        settings.home.home.display()
                    );
                }
                return Ok(NOT_RUNNING);
            };
            let creds = Credentials::load(&infra.instance_dir())?;
            let endpoints = state.endpoints(&creds);
            let answering = state.postgres_answers() && state.redis_answers();
            let replicas = infra.replica_report().await?;
            let read_urls: Vec<&str> = replicas
                .iter()
                .filter(|r| r.answering)
                .map(|r| r.url.expose())
                .collect();
            if json {
                let value = json!({
                    "instance": state.instance,
                    "home": settings.home.home,
                    "running": answering,
                    "ephemeral": state.ephemeral,
                    "postgres": service_json(&state.postgres, state.postgres_answers()),
                    "redis": service_json(&state.redis, state.redis_answers()),
                    "database_url": endpoints.database_url.expose(),
                    "redis_url": endpoints.redis_url.expose(),
                    "replicas": replicas.iter().map(|r| json!({
                        "index": r.replica.index,
                        "port": r.replica.port,
                        "slot": r.replica.slot(),
                        "answering": r.answering,
                        "state": r.state,
                        "lag_bytes": r.lag_bytes,
                        "lag_seconds": r.lag_seconds,
                        "url": r.url.expose(),
                        "data_dir": r.replica.data_dir,
                        "log_file": r.replica.log_file,
                    })).collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else if env {
                if answering {
                    println!("DATABASE_URL='{}'", endpoints.database_url.expose());
                    println!("REDIS_URL='{}'", endpoints.redis_url.expose());
                    if !read_urls.is_empty() {
                        println!("DATABASE_READ_URL='{}'", read_urls.join(","));
                    }
                }
            } else {
                print_human(&state, &endpoints);
                for r in &replicas {
                    println!(
                        "replica {} 127.0.0.1:{}  slot {}  {}  lag {}",
                        r.replica.index,
                        r.replica.port,
                        r.replica.slot(),
                        r.state
                            .as_deref()
                            .unwrap_or(if r.answering { "not streaming" } else { "stopped" }),
                        r.lag_bytes.map_or("-".to_owned(), |b| format!("{b} bytes")),
                    );
                }
            }
            Ok(if answering { 0 } else { NOT_RUNNING })
        }
    }
}

fn instance_name(settings: &Settings, instance: Option<&str>) -> String {
    instance.map_or_else(|| settings.home.instance.clone(), str::to_owned)
}

fn service_json(s: &ServiceState, answers: bool) -> serde_json::Value {
    json!({
        "version": s.version,
        "pgvector_version": s.extra_version,
        "source": s.source,
        "port": s.port,
        "pid": s.pid.filter(|_| s.running()),
        "running": s.running(),
        "answering": answers,
        "data_dir": s.data_dir,
        "log_file": s.log_file,
        "run_as": s.run_as,
    })
}

fn print_human(state: &InfraState, endpoints: &bp_infra::Endpoints) {
    let line = |name: &str, s: &ServiceState, answers: bool, extra: String| {
        let pid = s
            .pid
            .filter(|_| s.running())
            .map_or("-".to_owned(), |p| p.to_string());
        let health = if answers {
            "answering"
        } else if s.running() {
            "NOT ANSWERING"
        } else {
            "stopped"
        };
        println!(
            "{name:<9} {}{extra}  127.0.0.1:{}  pid {pid}  {health}",
            s.version, s.port
        );
        println!(
            "{:<9} data {}  log {}",
            "",
            s.data_dir.display(),
            s.log_file.display()
        );
    };
    println!(
        "instance  {}{}",
        state.instance,
        if state.ephemeral { " (ephemeral)" } else { "" }
    );
    let pgvector = state.postgres.extra_version.as_deref().unwrap_or("?");
    let run_as = state.postgres.run_as.as_deref().unwrap_or("?");
    line(
        "postgres",
        &state.postgres,
        state.postgres_answers(),
        format!(
            " (pgvector {pgvector}, {}, runs as {run_as})",
            state.postgres.source
        ),
    );
    line("redis", &state.redis, state.redis_answers(), String::new());
    println!("DATABASE_URL {}", redact_url(endpoints.database_url.expose()));
    println!("REDIS_URL    {}", endpoints.redis_url.expose());
}
