//! Connecting to the data platform the way `serve` does: the configured
//! servers, else the embedded instance (started and kept migrated).

use std::sync::Arc;

use anyhow::Context;

use bp_cache::{Cache, CacheSettings};
use bp_config::Settings;
use bp_service::EnhanceService;
use bp_store::Db;
use bp_store::migrate::{self, MIGRATOR};

use crate::resolve::{self, Source};

/// Whose privileges the pools carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The login role (the owner): one-shot commands such as `seed`.
    Owner,
    /// `BP_DB_APP_ROLE` (`bp_app`: DML only, row-level security), as
    /// `serve` runs.
    App,
}

/// The pools and the cache. The checks (pending migrations, rows from
/// before PII encryption) run as the owner; with [`Role::App`] the pools
/// handed back then act as the application role.
pub async fn platform(
    settings: &Settings,
    instance: Option<&str>,
    role: Role,
) -> anyhow::Result<(Db, Cache)> {
    let (endpoints, source) = resolve::endpoints(settings, instance).await?;
    let app_role = settings
        .database
        .app_role
        .as_deref()
        .filter(|_| role == Role::App);
    let owner_config = bp_config::DatabaseConfig {
        app_role: None,
        // A pool replaced after the checks keeps no idle connections.
        min_connections: if app_role.is_some() {
            0
        } else {
            settings.database.min_connections
        },
        ..settings.database.clone()
    };
    let db = Db::connect(endpoints.database_url.expose(), &owner_config).await?;
    let pending = migrate::status(db.primary(), &MIGRATOR)
        .await?
        .iter()
        .filter(|m| m.applied_at.is_none())
        .count();
    if pending > 0 {
        match source {
            // The embedded default is a development instance: keep it current.
            Source::Embedded => {
                migrate::run_up(db.primary(), &MIGRATOR).await?;
            }
            Source::Configured => anyhow::bail!(
                "{pending} migrations are pending on DATABASE_URL's database; run `betterprompts migrate up` first"
            ),
        }
    }
    super::keys::install(settings, matches!(source, Source::Embedded))?;
    if bp_store::rotate::unconverted_accounts(db.pool()).await? {
        match source {
            Source::Embedded => {
                let done = super::keys::convert_legacy_rows(settings, db.primary()).await?;
                tracing::info!(
                    summary = done.as_deref().unwrap_or(""),
                    "encrypted rows from before PII encryption"
                );
            }
            Source::Configured => anyhow::bail!(
                "accounts from before PII encryption are not converted yet; run `betterprompts keys rotate` first"
            ),
        }
    }
    let db = match app_role {
        Some(app_role) => {
            db.close().await;
            Db::connect(endpoints.database_url.expose(), &settings.database)
                .await
                .with_context(|| {
                    format!(
                        "connecting as the application role {app_role}: the login role must be a member \
                         (`GRANT {app_role} TO <login role>`; `betterprompts infra up` does this for the \
                         embedded instance), or set BP_DB_APP_ROLE=none"
                    )
                })?
        }
        None => db,
    };
    let cache = Cache::connect_with(
        endpoints.redis_url.expose(),
        CacheSettings::from_config(&settings.redis),
    )
    .await?;
    Ok((db, cache))
}

/// The enhancement service over `db` and `cache`, with the configured embedder.
pub async fn service(settings: &Settings, db: Db, cache: Cache) -> anyhow::Result<Arc<EnhanceService>> {
    let embedder = bp_service::embedder_from_config(&settings.engine)?;
    Ok(EnhanceService::start(db, cache, embedder).await?)
}
