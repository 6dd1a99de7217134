//! What least privilege costs on the history paths: the service's pool acting
//! as `bp_app` with each call in a transaction scoped to its user
//! (`Db::for_user` with `BP_DB_ROW_SECURITY` on: `BEGIN`, `set_config('bp.user_id', ...)`, the
//! statement, `COMMIT`), against the owner's pool running the bare
//! statement as before. The role alone (policies evaluated, scope unset) is
//! measured too, to tell the policy's cost from the transaction's.

use std::time::{Duration, Instant};

use anyhow::Context;
use bp_store::history::{self, HistoryFilter, NewPromptHistory, SortDirection};
use bp_store::{Db, PgPool, PoolSettings};
use uuid::Uuid;

use super::{Figure, percentile_ms};

/// Rows per second of `save_history` from `clients` callers for `run`, each
/// call on a connection of [`Db::for_user`]: a transaction scoped to the
/// row's user when `db` has row security on, else a plain pooled one.
async fn insert_rate(db: &Db, row: &NewPromptHistory, clients: u32, run: Duration) -> anyhow::Result<f64> {
    let user = row.user_id.context("the sample row has a user")?;
    super::per_second(clients, run, |_, lap| {
        let (db, row) = (db.clone(), row.clone());
        async move {
            while lap.going() {
                let mut conn = db.for_user(user).await?;
                history::save_history(&mut *conn, &row).await?;
                conn.finish().await?;
                lap.count();
            }
            Ok(())
        }
    })
    .await
}

/// Latencies of `pages` first pages of 50 of `user`'s history, each read
/// on a connection of [`Db::read_for`].
async fn page_latencies(db: &Db, user: Uuid, pages: usize) -> anyhow::Result<Vec<Duration>> {
    let filter = HistoryFilter::default();
    let mut out = Vec::with_capacity(pages);
    for _ in 0..pages {
        let t = Instant::now();
        let mut conn = db.read_for(user).await?;
        history::page_history_after(&mut *conn, user, &filter, SortDirection::Desc, None, 50).await?;
        conn.finish().await?;
        out.push(t.elapsed());
    }
    Ok(out)
}

/// The figures: `owner` is the bench's own pool; `url` connects the
/// `bp_app` pool; `row` is the store bench's sample row; `heavy` owns a
/// tenth of the loaded history.
pub async fn run(
    owner: &PgPool,
    url: &str,
    row: &NewPromptHistory,
    heavy: Uuid,
    pages: usize,
    run: Duration,
) -> anyhow::Result<Vec<Figure>> {
    let settings = PoolSettings {
        max_connections: 16,
        ..PoolSettings::small()
    };
    let app = Db::new(
        bp_store::connect(
            url,
            &PoolSettings {
                role: Some("bp_app".into()),
                ..settings.clone()
            },
        )
        .await
        .context("connecting as bp_app (run `betterprompts infra up` to create and grant it)")?,
        None,
    )
    .with_row_security(true);
    let role_only_db = app.clone().with_row_security(false);
    let owner = Db::new(owner.clone(), None);
    let clients = 8;
    let (mut bare, mut role_only, mut scoped) = (0f64, 0f64, 0f64);
    insert_rate(&app, row, clients, Duration::from_secs(1)).await?;
    // Alternating rounds, best of each: the two cores are shared with the server.
    for _ in 0..2 {
        bare = bare.max(insert_rate(&owner, row, clients, run).await?);
        role_only = role_only.max(insert_rate(&role_only_db, row, clients, run).await?);
        scoped = scoped.max(insert_rate(&app, row, clients, run).await?);
    }
    let (mut page_bare, mut page_scoped) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        page_bare.extend(page_latencies(&owner, heavy, pages / 2).await?);
        page_scoped.extend(page_latencies(&app, heavy, pages / 2).await?);
    }
    app.close().await;
    let owner_label =
        |what: &str| format!("the same {what} as the owner, no transaction (row security bypassed)");
    Ok(vec![
        Figure {
            name: format!("history_insert_rls_c{clients}"),
            unit: "rows/s",
            value: scoped,
            baseline: Some(bare),
            baseline_label: owner_label(&format!(
                "save_history, {clients} callers, a pool acquire per call,"
            )),
        },
        Figure {
            name: format!("history_insert_app_role_c{clients}"),
            unit: "rows/s",
            value: role_only,
            baseline: Some(bare),
            baseline_label: "bp_app without a scope (policies evaluated, no transaction) vs the owner".into(),
        },
        Figure {
            name: "history_page_rls_p50_ms".into(),
            unit: "ms",
            value: percentile_ms(&mut page_scoped, 50.0),
            baseline: Some(percentile_ms(&mut page_bare, 50.0)),
            baseline_label: owner_label("first page of 50 of the heavy user"),
        },
    ])
}
