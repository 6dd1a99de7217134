//! Per-test databases cloned from a migrated template.

use std::time::{Duration, Instant};

use bp_store::{PgPool, PoolSettings};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::sync::OnceCell;

use crate::{keep_databases, run_detached, test_env};

/// Advisory lock key that serialises template builds across test processes.
const TEMPLATE_LOCK: i64 = 0x6270_7465_6d70;

/// A database of the test's own, migrated, with a pool on it.
pub struct TestDb {
    name: String,
    pool: PgPool,
    options: PgConnectOptions,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn maintenance_options() -> PgConnectOptions {
    let url = &test_env().database_url;
    // The URL came from our own infra or the operator; a bad one is a setup error.
    #[expect(
        clippy::expect_used,
        reason = "a malformed test DATABASE_URL is a broken test setup"
    )]
    bp_store::connect_options(url).expect("DATABASE_URL for tests must parse")
}

async fn maintenance() -> PgConnection {
    let options = maintenance_options();
    match PgConnection::connect_with(&options).await {
        Ok(conn) => conn,
        Err(e) => panic!("{}", bp_store::StoreError::from_connect(e, &options)),
    }
}

/// `bp_tpl_` + a hash of every migration's version and checksum, so a
/// changed migration gets a new template and an unchanged one is reused.
fn template_name() -> String {
    let mut hasher = Sha256::new();
    for m in bp_store::migrate::MIGRATOR.iter() {
        hasher.update(m.version.to_le_bytes());
        hasher.update(&*m.checksum);
    }
    format!("bp_tpl_{}", &hex::encode(hasher.finalize())[..16])
}

async fn execute_formatted(
    conn: &mut PgConnection,
    format_sql: &str,
    args: &[&str],
) -> Result<(), sqlx::Error> {
    // Identifiers are quoted by the server (format %I) from bound parameters.
    let mut query = sqlx::query_scalar::<_, String>(format_sql);
    for arg in args {
        query = query.bind(*arg);
    }
    let statement = query.fetch_one(&mut *conn).await?;
    sqlx::raw_sql(&statement).execute(conn).await?;
    Ok(())
}

/// Runs a statement that needs a database nobody is connected to (clone,
/// rename). Backends of a just-closed pool exit a moment after the close, so
/// SQLSTATE 55006 ("being accessed by other users") is retried until a
/// deadline instead of sleeping blindly.
async fn execute_when_unused(
    conn: &mut PgConnection,
    format_sql: &str,
    args: &[&str],
) -> Result<(), sqlx::Error> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match execute_formatted(conn, format_sql, args).await {
            Err(sqlx::Error::Database(db))
                if db.code().as_deref() == Some("55006") && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => return other,
        }
    }
}

/// Who is connected to `database`, for error messages.
async fn sessions_on(conn: &mut PgConnection, database: &str) -> String {
    let rows: Result<Vec<String>, _> = sqlx::query_scalar(
        "SELECT concat_ws(' / ', backend_type, application_name, state, left(query, 80))
         FROM pg_stat_activity WHERE datname = $1",
    )
    .bind(database)
    .fetch_all(conn)
    .await;
    format!("{rows:?}")
}

async fn ensure_template() -> String {
    let name = template_name();
    let mut conn = maintenance().await;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&name)
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if !exists {
        let building = format!("{name}_building");
        execute_formatted(
            &mut conn,
            "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', $1::text)",
            &[&building],
        )
        .await
        .unwrap_or_else(|e| panic!("dropping a half-built template: {e}"));
        execute_formatted(
            &mut conn,
            "SELECT format('CREATE DATABASE %I', $1::text)",
            &[&building],
        )
        .await
        .unwrap_or_else(|e| panic!("creating the template database: {e}"));
        let pool =
            bp_store::pool::connect_with(maintenance_options().database(&building), &PoolSettings::small())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        bp_store::migrate::run_up(&pool, &bp_store::migrate::MIGRATOR)
            .await
            .unwrap_or_else(|e| panic!("migrating the template database: {e}"));
        pool.close().await;
        // Under the advisory lock no one else uses the database being built:
        // a session still on it is a straggler of the pool just closed. End
        // it, as DROP DATABASE ... WITH (FORCE) would (the role may signal its own backends).
        let _ = sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&building)
        .execute(&mut conn)
        .await;
        let renamed = execute_when_unused(
            &mut conn,
            "SELECT format('ALTER DATABASE %I RENAME TO %I', $1::text, $2::text)",
            &[&building, &name],
        )
        .await;
        if let Err(e) = renamed {
            let holders = sessions_on(&mut conn, &building).await;
            panic!("renaming the template database: {e}; sessions on it: {holders}");
        }
    }
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(TEMPLATE_LOCK)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    name
}

impl TestDb {
    /// Clones a fresh database from the migrated template.
    pub async fn new() -> Self {
        static TEMPLATE: OnceCell<String> = OnceCell::const_new();
        let template = TEMPLATE.get_or_init(ensure_template).await;
        let name = format!("bp_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = maintenance().await;
        execute_when_unused(
            &mut conn,
            "SELECT format('CREATE DATABASE %I TEMPLATE %I', $1::text, $2::text)",
            &[&name, template],
        )
        .await
        .unwrap_or_else(|e| panic!("cloning test database {name} from {template}: {e}"));
        let _ = conn.close().await;
        let options = maintenance_options().database(&name);
        let pool = bp_store::pool::connect_with(options.clone(), &PoolSettings::small())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Self { name, pool, options }
    }

    /// The pool on this test's database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A new pool on this database acting as the service's role `bp_app`
    /// (DML only, row-level security), as `serve` connects.
    pub async fn app_pool(&self) -> PgPool {
        let settings = PoolSettings {
            role: Some("bp_app".into()),
            ..PoolSettings::small()
        };
        bp_store::pool::connect_with(self.options.clone(), &settings)
            .await
            .unwrap_or_else(|e| panic!("connecting as bp_app (is the login role a member?): {e}"))
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connect options for this database (for tests that need their own connection).
    pub fn connect_options(&self) -> PgConnectOptions {
        self.options.clone()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::thread::panicking() || keep_databases() {
            eprintln!("kept test database {}", self.name);
            return;
        }
        let name = self.name.clone();
        // The pool's connections belong to the test's runtime, which is
        // blocked in this drop: do not wait for them; FORCE ends them.
        run_detached(move || async move {
            let mut conn = maintenance().await;
            let _ = execute_formatted(
                &mut conn,
                "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', $1::text)",
                &[&name],
            )
            .await;
            let _ = conn.close().await;
        });
    }
}
