//! Store errors, phrased for the operator: each names the problem and the fix
//! (the guide's troubleshooting list) and never contains a password.

use sqlx::postgres::PgConnectOptions;

/// Why a database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Nothing listens at the address.
    #[error(
        "cannot connect to PostgreSQL at {target}: connection refused; is the server running? \
         Start it with `betterprompts infra up` or fix the host and port in DATABASE_URL"
    )]
    ConnectionRefused {
        /// `host:port`.
        target: String,
    },
    /// The server is unreachable for another reason (DNS, timeout, TLS).
    #[error(
        "cannot reach PostgreSQL at {target} ({reason}); check DATABASE_URL's host and that the server is running"
    )]
    Unreachable {
        /// `host:port`.
        target: String,
        /// The driver's reason.
        reason: String,
    },
    /// Wrong user or password.
    #[error(
        "PostgreSQL at {target} rejected user `{user}`: authentication failed; check the user and password in DATABASE_URL"
    )]
    AuthenticationFailed {
        /// `host:port`.
        target: String,
        /// The role name.
        user: String,
    },
    /// The database in the URL does not exist.
    #[error(
        "database `{database}` does not exist on {target}; create it (CREATE DATABASE {database}) \
         or run `betterprompts infra up`, or fix the name in DATABASE_URL"
    )]
    DatabaseMissing {
        /// `host:port`.
        target: String,
        /// The database name.
        database: String,
    },
    /// A migration failed; its transaction was rolled back.
    #[error(
        "migration {file} failed at line {line}, statement `{statement}`: {message}; the schema was left as it was"
    )]
    Migration {
        /// `0002_auth.up.sql`.
        file: String,
        /// 1-based line in the file where the failing statement starts.
        line: usize,
        /// The start of the failing statement.
        statement: String,
        /// PostgreSQL's message.
        message: String,
    },
    /// The migration history does not match the files (edited or missing migration).
    #[error(
        "migration history does not match the migration files: {0}; restore the original files and add a new migration instead"
    )]
    MigrationHistory(String),
    /// Asked for something the data cannot do (e.g. more down steps than applied).
    #[error("{0}")]
    Invalid(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// Turns a connection-time error into the variant that explains it.
    pub fn from_connect(err: sqlx::Error, options: &PgConnectOptions) -> Self {
        let target = format!("{}:{}", options.get_host(), options.get_port());
        match &err {
            sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                Self::ConnectionRefused { target }
            }
            sqlx::Error::Io(io) => Self::Unreachable {
                target,
                reason: io.to_string(),
            },
            sqlx::Error::Tls(e) => Self::Unreachable {
                target,
                reason: e.to_string(),
            },
            sqlx::Error::PoolTimedOut => Self::Unreachable {
                target,
                reason: "timed out".into(),
            },
            sqlx::Error::Database(db) => match db.code().as_deref() {
                Some("28P01" | "28000") => Self::AuthenticationFailed {
                    target,
                    user: options.get_username().to_owned(),
                },
                Some("3D000") => Self::DatabaseMissing {
                    target,
                    database: options.get_database().unwrap_or_default().to_owned(),
                },
                _ => Self::Database(err),
            },
            _ => Self::Database(err),
        }
    }
}
