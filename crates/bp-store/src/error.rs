//! Store errors, phrased for the operator: each names the problem and the fix
//! (the guide's troubleshooting list) and never contains a password.

use serde_json::Value;
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
    /// An operator request that cannot be carried out (a bad URL, more down
    /// steps than are applied); the message says why.
    #[error("{0}")]
    Rejected(String),
    /// The row asked for does not exist (or is not the caller's).
    #[error("{entity} not found")]
    NotFound {
        /// What was looked up (`user`, `history item`, ...).
        entity: &'static str,
    },
    /// The row exists but belongs to someone else.
    #[error("{entity} belongs to another user")]
    Forbidden {
        /// What was looked up.
        entity: &'static str,
    },
    /// A unique constraint refused the write; `constraint` names it
    /// (`users_email_key`, `users_username_key`, ...).
    #[error("conflict on {constraint}")]
    Conflict {
        /// The violated constraint or unique index.
        constraint: String,
    },
    /// An input failed validation before any SQL ran, or a check or foreign
    /// key constraint refused it; nothing was written.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending field (or constraint when the database refused it).
        field: String,
        /// Why.
        reason: String,
    },
    /// The database is unreachable, shutting down, or the pool timed out.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored value could not be sealed or opened (a missing key, altered
    /// ciphertext); the message names the key id, never a value.
    #[error("{0}")]
    Crypto(#[from] crate::crypto::CryptoError),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    /// Maps SQLSTATE classes to variants so callers never parse messages.
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => Self::NotFound { entity: "row" },
            sqlx::Error::ColumnDecode { source, .. } if source.is::<crate::crypto::CryptoError>() => {
                match source.downcast_ref::<crate::crypto::CryptoError>() {
                    Some(crypto) => Self::Crypto(crypto.clone()),
                    None => Self::Database(err),
                }
            }
            // A connection that broke mid-exchange (the server was killed or
            // restarted) surfaces as an I/O, protocol, TLS or worker error:
            // all of them mean "the database is not answering right now".
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(err.to_string()),
            sqlx::Error::Database(db) => {
                let constraint = db.constraint().unwrap_or("unknown").to_owned();
                match db.code().as_deref() {
                    Some("23505") => Self::Conflict { constraint },
                    Some("23514" | "23503" | "23502") => Self::Invalid {
                        field: constraint,
                        reason: db.message().to_owned(),
                    },
                    Some(code) if code.starts_with("22") => Self::Invalid {
                        field: "value".into(),
                        reason: db.message().to_owned(),
                    },
                    // Connection exceptions (08), operator intervention
                    // (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
                    // cannot_connect_now) and too many connections (53300).
                    // Also: statement timeout (57014), serialization failure
                    // and deadlock (40001, 40P01), a read-only standby
                    // (25006), insufficient resources (53xxx), I/O error
                    // (58030), lock not available (55P03), rejected
                    // credentials of the service's own pool (28000, 28P01),
                    // and its database closed to connections (55000, as
                    // after ALLOW_CONNECTIONS false) or gone (3D000).
                    Some(code)
                        if code.starts_with("08")
                            || code.starts_with("57P")
                            || code.starts_with("53")
                            || matches!(
                                code,
                                "57014"
                                    | "40001"
                                    | "40P01"
                                    | "25006"
                                    | "58030"
                                    | "55P03"
                                    | "55000"
                                    | "3D000"
                                    | "28000"
                                    | "28P01"
                            ) =>
                    {
                        Self::Unavailable(db.message().to_owned())
                    }
                    _ => Self::Database(err),
                }
            }
            _ => Self::Database(err),
        }
    }
}

/// Checks a text input against its column: `min..=max` characters, no NUL.
pub(crate) fn check_text(field: &str, value: &str, min: usize, max: usize) -> Result<(), StoreError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(invalid(field, format!("must be {min} to {max} characters")));
    }
    if value.contains('\0') {
        return Err(invalid(field, "must not contain NUL characters"));
    }
    Ok(())
}

/// Checks an optional value against an allow-list.
pub(crate) fn check_one_of(field: &str, value: Option<&str>, allowed: &[&str]) -> Result<(), StoreError> {
    match value {
        Some(v) if !allowed.contains(&v) => {
            Err(invalid(field, format!("must be one of {}", allowed.join(", "))))
        }
        _ => Ok(()),
    }
}

/// Checks an optional text against its column: at most `max` characters, no NUL.
pub(crate) fn check_opt_text(field: &str, value: Option<&str>, max: usize) -> Result<(), StoreError> {
    value.map_or(Ok(()), |v| check_text(field, v, 0, max))
}

/// `Ok` when a write touched exactly one row, else [`StoreError::NotFound`]
/// for `entity` (missing, or not the caller's).
pub(crate) fn one_row(done: &sqlx::postgres::PgQueryResult, entity: &'static str) -> Result<(), StoreError> {
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound { entity })
    }
}

/// Checks that `name` is a lowercase identifier of 1 to 100 characters
/// (`code_generation`, `chain_of_thought`).
pub(crate) fn check_identifier(field: &str, name: &str) -> Result<(), StoreError> {
    let shaped = !name.is_empty()
        && name.len() <= 100
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if shaped {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be a lowercase name of letters, digits and '_' (at most 100 characters)",
        ))
    }
}

/// Checks that an optional JSON value is an object.
pub(crate) fn check_object(field: &str, value: Option<&Value>) -> Result<(), StoreError> {
    match value {
        None | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(invalid(field, "must be a JSON object")),
    }
}

/// Checks that an optional count or duration is not negative.
pub(crate) fn check_non_negative(field: &str, value: Option<i32>) -> Result<(), StoreError> {
    match value {
        Some(v) if v < 0 => Err(invalid(field, "must not be negative")),
        _ => Ok(()),
    }
}

/// Checks a look-back window of `days` days: 1 to `max`.
pub(crate) fn check_days(days: u32, max: u32) -> Result<(), StoreError> {
    if days == 0 || days > max {
        return Err(invalid("days", format!("must be 1 to {max}")));
    }
    Ok(())
}

/// Validates every row of a batch before any SQL runs; an invalid field is
/// named with its row (`rows[3].intent`).
pub(crate) fn validate_rows<T>(
    rows: &[T],
    validate: impl Fn(&T) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    for (i, row) in rows.iter().enumerate() {
        validate(row).map_err(|e| match e {
            StoreError::Invalid { field, reason } => invalid(&format!("rows[{i}].{field}"), reason),
            other => other,
        })?;
    }
    Ok(())
}

/// Shorthand for [`StoreError::Invalid`].
pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        field: field.to_owned(),
        reason: reason.into(),
    }
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
