//! Which PostgreSQL and Redis a command talks to: DATABASE_URL / REDIS_URL
//! when set, else the embedded instance under BP_HOME, started if needed.

use anyhow::Context;
use bp_config::{Secret, Settings};
use bp_infra::{Endpoints, Infra};

use crate::progress::Progress;

/// The embedded instance named by `--instance` / `BP_INFRA_INSTANCE`.
pub fn infra(settings: &Settings, instance: Option<&str>) -> anyhow::Result<Infra> {
    let name = bp_config::instance_name(
        instance
            .map(str::to_owned)
            .or_else(|| Some(settings.home.instance.clone())),
    )?;
    Ok(Infra::new(&settings.home.home, name))
}

/// Whether the endpoints came from the environment or the embedded instance.
pub enum Source {
    /// DATABASE_URL and REDIS_URL.
    Configured,
    /// The embedded instance (which may just have been started).
    Embedded,
}

/// The URLs to use, starting the embedded instance when nothing is configured.
pub async fn endpoints(settings: &Settings, instance: Option<&str>) -> anyhow::Result<(Endpoints, Source)> {
    match (&settings.database.url, &settings.redis.url) {
        (Some(db), Some(redis)) => {
            return Ok((
                Endpoints {
                    database_url: db.clone(),
                    redis_url: redis.clone(),
                },
                Source::Configured,
            ));
        }
        (Some(_), None) | (None, Some(_)) => {
            anyhow::bail!(
                "set both DATABASE_URL and REDIS_URL to use external servers, or neither to use the embedded ones"
            )
        }
        (None, None) => {}
    }
    let infra = infra(settings, instance)?;
    if let Some(found) = infra.endpoints()? {
        return Ok((found, Source::Embedded));
    }
    let progress = Progress::start("starting the embedded PostgreSQL and Redis");
    let state = infra
        .up(&|step| progress.step(step))
        .await
        .context("starting the embedded infrastructure")?;
    progress.finish(&format!(
        "embedded PostgreSQL on 127.0.0.1:{} and Redis on 127.0.0.1:{} are up",
        state.postgres.port, state.redis.port
    ));
    let found = infra
        .endpoints()?
        .context("the embedded servers started but do not answer")?;
    Ok((found, Source::Embedded))
}

/// Only the database URL (for `migrate`), with the same rules as [`endpoints`]
/// except that REDIS_URL is not required when DATABASE_URL is set.
pub async fn database_url(settings: &Settings, instance: Option<&str>) -> anyhow::Result<Secret> {
    if let Some(url) = &settings.database.url {
        return Ok(url.clone());
    }
    let mut settings = settings.clone();
    settings.redis.url = None;
    Ok(endpoints(&settings, instance).await?.0.database_url)
}

/// The URL of PostgreSQL itself for `what` (migrations, a backup, a
/// restore), which a transaction pooler would break: session advisory
/// locks and one snapshot across statements. `DATABASE_DIRECT_URL` when
/// set; else the database URL, refused with a clear message when it
/// reaches a server listening on another port than the URL's (PgBouncer
/// on 6432 in front of PostgreSQL on 5432, or any proxy).
pub async fn direct_database_url(
    settings: &Settings,
    instance: Option<&str>,
    what: &str,
) -> anyhow::Result<Secret> {
    if let Some(url) = &settings.database.direct_url {
        return Ok(url.clone());
    }
    let url = database_url(settings, instance).await?;
    let options = bp_store::connect_options(url.expose())?;
    // A restore may find its database dropped: the server's own
    // `postgres` database answers the question as well.
    let connected: Result<sqlx::PgConnection, sqlx::Error> =
        match sqlx::Connection::connect_with(&options).await {
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
                sqlx::Connection::connect_with(&options.clone().database("postgres")).await
            }
            other => other,
        };
    let mut conn = connected.map_err(|e| bp_store::StoreError::from_connect(e, &options))?;
    // The simple protocol: a pooler in transaction mode may hand this
    // client a server connection that still holds another client's
    // prepared statements.
    let row = sqlx::raw_sql("SELECT inet_server_port()")
        .fetch_one(&mut conn)
        .await
        .map_err(bp_store::StoreError::from)?;
    let server_port: Option<i32> = sqlx::Row::try_get(&row, 0).map_err(bp_store::StoreError::from)?;
    let _ = sqlx::Connection::close(conn).await;
    if let Some(server_port) = server_port
        && server_port != i32::from(options.get_port())
    {
        anyhow::bail!(
            "{what} needs a direct connection to PostgreSQL, and DATABASE_URL reaches it through a pooler or proxy \
             (the URL's port is {}, the server listens on {server_port}): a transaction pooler breaks session \
             advisory locks, a backup's single snapshot and statements prepared outside a transaction. Set DATABASE_DIRECT_URL to PostgreSQL itself \
             (to the same URL if the port is only forwarded).",
            options.get_port()
        );
    }
    Ok(url)
}

/// Only the Redis URL (for `cache`), with the same rules as [`endpoints`]
/// except that DATABASE_URL is not required when REDIS_URL is set.
pub async fn redis_url(settings: &Settings, instance: Option<&str>) -> anyhow::Result<Secret> {
    if let Some(url) = &settings.redis.url {
        return Ok(url.clone());
    }
    let mut settings = settings.clone();
    settings.database.url = None;
    Ok(endpoints(&settings, instance).await?.0.redis_url)
}
