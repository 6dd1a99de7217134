//! Liveness and version queries used by `/ready`, `infra status` and `db health`.

use sqlx::PgPool;

use crate::error::StoreError;

/// Server and extension versions.
#[derive(Debug, Clone)]
pub struct ServerVersions {
    /// `server_version`, e.g. `16.14`.
    pub postgres: String,
    /// The installed `vector` extension's version, if installed.
    pub pgvector: Option<String>,
}

/// One round trip: `SELECT 1`.
pub async fn ping(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

/// The server's version and pgvector's.
pub async fn versions(pool: &PgPool) -> Result<ServerVersions, StoreError> {
    let (postgres, pgvector): (String, Option<String>) = sqlx::query_as(
        "SELECT current_setting('server_version'), (SELECT extversion FROM pg_extension WHERE extname = 'vector')",
    )
    .fetch_one(pool)
    .await?;
    Ok(ServerVersions { postgres, pgvector })
}
