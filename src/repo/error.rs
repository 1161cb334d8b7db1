/// Errors of the metadata store.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored row is not valid: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("cannot open the database: {0}")]
    Open(String),
    #[error(
        "the database is at schema version {found}, newer than this assetlib {release} knows \
         (up to {known}): a newer release migrated it, and migrations only go forward. Run that \
         release, or restore the backup taken before the upgrade (docs/OPERATIONS.md, Upgrades)"
    )]
    NewerSchema {
        found: i64,
        known: i64,
        release: &'static str,
    },
}

impl RepoError {
    /// Transient failures worth retrying (busy database, lost connection, pool timeout).
    pub fn is_retryable(&self) -> bool {
        match self {
            RepoError::Database(e) => {
                matches!(
                    e,
                    sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
                ) || e
                    .as_database_error()
                    .is_some_and(|d| d.message().contains("locked") || d.message().contains("busy"))
            }
            _ => false,
        }
    }

    /// The database cannot be reached right now (down, restarting, refusing connections, or
    /// every pooled connection busy past the acquire timeout). Requests answer 503.
    pub fn is_unavailable(&self) -> bool {
        match self {
            RepoError::Database(e) => match e {
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(d) => d.code().is_some_and(|code| {
                    // 08xxx connection exceptions; 57P01-57P03 shutdown / not yet accepting
                    // connections; 53300 too many connections.
                    code.starts_with("08")
                        || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
                }),
                _ => false,
            },
            _ => false,
        }
    }
}
