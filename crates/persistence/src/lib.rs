//! SeaORM adapters of the todo service's ports, for PostgreSQL and SQLite.

mod entities;
mod error;
mod sessions;
mod tasks;
mod users;

use std::time::Duration;

use async_trait::async_trait;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend};
use todo_application::ports::{PortError, ReadinessProbe};

pub use sea_orm::DatabaseConnection;
pub use sessions::{SeaJwksSource, SeaSessionRepository};
pub use tasks::SeaTaskRepository;
pub use todo_migration::{normalize_database_url, redact_url_secrets};
pub use users::SeaUserRepository;

use error::map_db_err;

/// Connection pool sizing and timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub min_connections: u32,
    /// How long a query waits for a connection (and a new connection for the server)
    /// before the request fails with "unavailable".
    pub acquire_timeout: Duration,
    pub idle_timeout: Option<Duration>,
    pub max_lifetime: Option<Duration>,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(2),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
        }
    }
}

/// Why no pool could be made. Messages never include the URL (it may hold a password).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Url(String),
    #[error("cannot create the directory of the SQLite database: {0}")]
    Directory(#[source] std::io::Error),
    /// The driver's message, with the URL's password (if any) replaced by `***`.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
}

/// Opens a pool on `url` (normalised first, see [`normalize_database_url`]).
///
/// SQLite files (and their directory) are created when missing and use WAL journaling;
/// an in-memory SQLite database gets a single connection that is never recycled, so every
/// query sees the same database.
pub async fn connect(url: &str, pool: &PoolSettings) -> Result<DatabaseConnection, ConnectError> {
    let url = normalize_database_url(url).map_err(ConnectError::Url)?;
    let memory = url.starts_with("sqlite::memory:") || url.contains("mode=memory");
    let sqlite_file = url
        .strip_prefix("sqlite://")
        .filter(|_| !memory)
        .and_then(|rest| rest.split('?').next())
        .map(str::to_owned);
    if let Some(path) = &sqlite_file
        && let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(ConnectError::Directory)?;
    }
    let failed =
        |e: sea_orm::DbErr| ConnectError::Connect(redact_url_secrets(&e.to_string(), &url));
    let mut options = ConnectOptions::new(url.clone());
    options
        .acquire_timeout(pool.acquire_timeout)
        .connect_timeout(pool.acquire_timeout)
        .sqlx_logging(false);
    if memory {
        options
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None::<Duration>)
            .max_lifetime(None::<Duration>);
    } else {
        options
            .max_connections(pool.max_connections)
            .min_connections(pool.min_connections)
            .idle_timeout(pool.idle_timeout)
            .max_lifetime(pool.max_lifetime);
    }
    let db = Database::connect(options).await.map_err(failed)?;
    if sqlite_file.is_some() {
        db.execute_unprepared("PRAGMA journal_mode=WAL")
            .await
            .map_err(failed)?;
    }
    Ok(db)
}

/// `"postgres"` or `"sqlite"`, for logs.
#[must_use]
pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Postgres => "postgres",
        DbBackend::Sqlite => "sqlite",
        _ => "other",
    }
}

/// Applies pending migrations (under an advisory lock on PostgreSQL).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), PortError> {
    todo_migration::up_locked(db).await.map_err(map_db_err)
}

/// Ready when the database answers and no migration is pending.
pub struct SeaReadiness {
    db: DatabaseConnection,
}

impl SeaReadiness {
    #[must_use]
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ReadinessProbe for SeaReadiness {
    async fn check(&self) -> Result<(), PortError> {
        self.db.ping().await.map_err(|e| {
            let mapped = map_db_err(e);
            match mapped {
                PortError::Other(cause) => PortError::Unavailable(cause),
                other => other,
            }
        })?;
        match todo_migration::pending(&self.db)
            .await
            .map_err(map_db_err)?
        {
            0 => Ok(()),
            n => Err(PortError::Other(format!("{n} migrations pending").into())),
        }
    }
}

/// Pool occupancy of a SeaORM connection, for `/metrics`.
pub struct SeaPoolMetrics {
    db: DatabaseConnection,
    max: u32,
}

impl SeaPoolMetrics {
    #[must_use]
    pub fn new(db: DatabaseConnection, max: u32) -> Self {
        Self { db, max }
    }
}

impl todo_application::ports::PoolMetrics for SeaPoolMetrics {
    fn stats(&self) -> todo_application::ports::PoolStats {
        let (size, idle) = match self.db.get_database_backend() {
            DbBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            DbBackend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => (0, 0),
        };
        todo_application::ports::PoolStats {
            size,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max: self.max,
        }
    }
}
