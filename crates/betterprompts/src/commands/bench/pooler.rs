//! What PgBouncer in transaction mode costs the store (`BP_DB_POOLER=transaction`:
//! each statement in a transaction of its own, no statement cache), against
//! the same calls on a direct connection: a history insert and a read of one
//! row by key, from 8 callers each with a pool acquire per call, as the API
//! makes them. PgBouncer gets 4 server connections for the 8 callers, the
//! point of a transaction pooler. Skipped, with a note, where `pgbouncer`
//! is not installed.

use std::time::Duration;

use anyhow::Context;
use bp_infra::pgbouncer::{PgBouncer, PoolMode, Upstream};
use bp_store::history::{self, NewPromptHistory};
use bp_store::{Db, PoolSettings};
use uuid::Uuid;

use super::Figure;
use crate::progress::Progress;

const CALLERS: u32 = 8;

/// Inserts and key reads per second through `db`.
async fn rates(db: &Db, row: &NewPromptHistory, id: Uuid, run: Duration) -> anyhow::Result<(f64, f64)> {
    let user = row.user_id.context("the sample row has a user")?;
    let inserts = super::per_second(CALLERS, run, |_, lap| {
        let (db, row) = (db.clone(), row.clone());
        async move {
            while lap.going() {
                history::save_history(db.pool(), &row).await?;
                lap.count();
            }
            Ok(())
        }
    })
    .await?;
    let reads = super::per_second(CALLERS, run, |_, lap| {
        let db = db.clone();
        async move {
            while lap.going() {
                let found: Option<Uuid> =
                    sqlx::query_scalar("SELECT id FROM prompts.history WHERE id = $1 AND user_id = $2")
                        .bind(id)
                        .bind(user)
                        .fetch_optional(db.pool())
                        .await?;
                anyhow::ensure!(found == Some(id), "the row read back is not the one written");
                lap.count();
            }
            Ok(())
        }
    })
    .await?;
    Ok((inserts, reads))
}

/// The figures, on the database at `url` (PgBouncer connects with its
/// credentials); `row` is the store bench's sample row.
pub async fn run(
    url: &str,
    row: &NewPromptHistory,
    run: Duration,
    progress: &Progress,
) -> anyhow::Result<Vec<Figure>> {
    if !bp_infra::pgbouncer::binary().is_file() {
        progress.step("pooler: skipped, pgbouncer is not installed (Debian's pgbouncer package)");
        return Ok(Vec::new());
    }
    progress.step("pooler: PgBouncer in transaction mode vs a direct connection");
    let dir = tempfile::tempdir()?;
    let upstream = Upstream::from_url(url)?;
    let bouncer = PgBouncer::start(&upstream, PoolMode::Transaction, 4, dir.path())?;
    let settings = PoolSettings {
        max_connections: 16,
        ..PoolSettings::small()
    };
    let direct = Db::new(bp_store::connect(url, &settings).await?, None);
    let pooled_settings = PoolSettings {
        transaction_pooler: true,
        ..settings
    };
    let pooled = Db::new(
        bp_store::connect(&bouncer.url(&upstream.user), &pooled_settings)
            .await
            .context("connecting through pgbouncer")?,
        None,
    )
    .with_transaction_pooler(Some(bp_store::PoolerSession {
        statement_timeout: pooled_settings.statement_timeout,
        role: None,
    }));
    let id = history::save_history(direct.pool(), row).await?.id;
    // A short warm-up opens both pools' connections.
    rates(&pooled, row, id, Duration::from_millis(500)).await?;
    rates(&direct, row, id, Duration::from_millis(500)).await?;
    // Alternating rounds, best of each: the two cores are shared with the
    // server and PgBouncer.
    let (mut direct_best, mut pooled_best) = ((0f64, 0f64), (0f64, 0f64));
    for _ in 0..2 {
        let d = rates(&direct, row, id, run).await?;
        let p = rates(&pooled, row, id, run).await?;
        direct_best = (direct_best.0.max(d.0), direct_best.1.max(d.1));
        pooled_best = (pooled_best.0.max(p.0), pooled_best.1.max(p.1));
    }
    pooled.close().await;
    direct.close().await;
    drop(bouncer);
    let label = |what: &str| {
        format!("the same {what}, {CALLERS} callers, on a direct connection with the statement cache")
    };
    Ok(vec![
        Figure {
            name: format!("pooler_history_insert_c{CALLERS}"),
            unit: "rows/s",
            value: pooled_best.0,
            baseline: Some(direct_best.0),
            baseline_label: label("save_history"),
        },
        Figure {
            name: format!("pooler_key_read_c{CALLERS}"),
            unit: "reads/s",
            value: pooled_best.1,
            baseline: Some(direct_best.1),
            baseline_label: label("read of one history row by key"),
        },
    ])
}
