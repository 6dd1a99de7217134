//! What `backup` records and `restore` checks: the row count and a content
//! checksum of every application table, taken inside the snapshot the dump
//! reads, and the database-level statements around a restore (creating,
//! renaming and dropping databases, counting the other sessions on one).
//!
//! Table names come from the catalog and database names from the operator;
//! both are quoted by the server (`format('%I')` of a bound parameter), never
//! spliced into SQL text here.

use sqlx::{PgConnection, PgExecutor};

use crate::error::StoreError;

/// The schemas the migrations create; with `public._sqlx_migrations` they
/// hold everything a backup must bring back.
pub const APP_SCHEMAS: [&str; 3] = ["auth", "prompts", "analytics"];

/// One table's size and content fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TableFingerprint {
    /// `schema.table`.
    pub name: String,
    /// Exact row count.
    pub rows: i64,
    /// Sum of a 64-bit hash of every row's text form: independent of row
    /// order and physical layout, changed by any edited, added or lost row.
    pub checksum: String,
}

/// How much [`fingerprints`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Exact row counts only (the checksum is left empty).
    Counts,
    /// Row counts and content checksums (hashes every row).
    Checksums,
}

impl Depth {
    /// The per-table statement, a `format()` template quoting schema and table.
    fn template(self) -> &'static str {
        match self {
            Self::Counts => "SELECT count(*), ''::text FROM %I.%I",
            Self::Checksums => {
                "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text FROM %I.%I t"
            }
        }
    }
}

/// Row count (and with [`Depth::Checksums`] the checksum) of every
/// application table, partitions counted through their parent, ordered by
/// name. Run it in the transaction whose snapshot the dump uses so both see
/// the same rows.
pub async fn fingerprints(
    conn: &mut PgConnection,
    depth: Depth,
) -> Result<Vec<TableFingerprint>, StoreError> {
    // One statement per table, written by the server: the template is one
    // of ours and format(%I) quotes the catalog's names.
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT n.nspname || '.' || c.relname, format($2, n.nspname, c.relname)
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
            AND (n.nspname = ANY($1) OR (n.nspname = 'public' AND c.relname = '_sqlx_migrations'))
          ORDER BY 1",
    )
    .bind(APP_SCHEMAS.as_slice())
    .bind(depth.template())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(tables.len());
    for (name, statement) in tables {
        let (rows, checksum): (i64, String) = sqlx::query_as(&statement).fetch_one(&mut *conn).await?;
        out.push(TableFingerprint { name, rows, checksum });
    }
    Ok(out)
}

/// Starts a read-only repeatable-read transaction on `conn` and exports its
/// snapshot for `pg_dump --snapshot`; the snapshot lives until `conn`
/// commits, so keep the transaction open until the dump has started.
pub async fn export_snapshot(conn: &mut PgConnection) -> Result<String, StoreError> {
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *conn)
        .await?;
    let id = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *conn)
        .await?;
    Ok(id)
}

/// Whether a database named `name` exists on the server.
pub async fn database_exists<'e>(db: impl PgExecutor<'e>, name: &str) -> Result<bool, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(db)
            .await?,
    )
}

/// Sessions other than this one connected to database `name`, leaving out
/// autovacuum workers (the server ends those itself for a rename or drop).
pub async fn other_sessions<'e>(db: impl PgExecutor<'e>, name: &str) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type <> 'autovacuum worker'",
    )
    .bind(name)
    .fetch_one(db)
    .await?)
}

/// Runs a utility statement whose identifiers the server quotes: `template`
/// is a `format()` string taking the `names` as `%I` arguments.
async fn utility(conn: &mut PgConnection, template: &str, names: &[&str]) -> Result<(), StoreError> {
    let sql = match names {
        [a] => sqlx::query_scalar("SELECT format($1, $2::text)")
            .bind(template)
            .bind(a),
        [a, b] => sqlx::query_scalar("SELECT format($1, $2::text, $3::text)")
            .bind(template)
            .bind(a)
            .bind(b),
        _ => {
            return Err(StoreError::Rejected(
                "utility statements take one or two names".into(),
            ));
        }
    };
    let stmt: String = sql.fetch_one(&mut *conn).await?;
    sqlx::raw_sql(&stmt).execute(&mut *conn).await?;
    Ok(())
}

/// `CREATE DATABASE name` (from `template1`, which carries `vector` on the
/// embedded server).
pub async fn create_database(conn: &mut PgConnection, name: &str) -> Result<(), StoreError> {
    utility(conn, "CREATE DATABASE %I", &[name]).await
}

/// `DROP DATABASE IF EXISTS name`.
pub async fn drop_database(conn: &mut PgConnection, name: &str) -> Result<(), StoreError> {
    utility(conn, "DROP DATABASE IF EXISTS %I", &[name]).await
}

/// `ALTER DATABASE from RENAME TO to` (needs no session on `from`).
pub async fn rename_database(conn: &mut PgConnection, from: &str, to: &str) -> Result<(), StoreError> {
    utility(conn, "ALTER DATABASE %I RENAME TO %I", &[from, to]).await
}
