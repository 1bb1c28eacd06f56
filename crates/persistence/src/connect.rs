//! Opening the database at start-up: pool settings, connecting, and migrating.

use std::time::Duration;

use sea_orm::sqlx::Connection as _;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use todo_application::ports::PortError;
use todo_migration::{normalize_database_url, redact_url_secrets};

use crate::db::Db;
use crate::error::map_db_err;
use crate::went_away;

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

/// Pooled connections idle at least this long are pinged before use.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);

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
    let mut options = connect_options(&url, pool);
    if memory {
        options
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None::<Duration>)
            .max_lifetime(None::<Duration>);
    }
    let db = Database::connect(options).await.map_err(failed)?;
    if sqlite_file.is_some() {
        db.execute_unprepared("PRAGMA journal_mode=WAL")
            .await
            .map_err(failed)?;
    }
    Ok(db)
}

/// Like [`connect`], for a server whose requests are served by `threads` single-threaded
/// runtimes (actix-web workers): on PostgreSQL each such thread gets its own pool of
/// `pool.max_connections / threads` (at least one) connections, opened on first use, so
/// that connections are driven by the thread that uses them (see [`Db`]); start-up work
/// gets a small shared pool. SQLite keeps one shared pool.
pub async fn connect_per_thread(
    url: &str,
    pool: &PoolSettings,
    threads: u32,
) -> Result<Db, ConnectError> {
    let normalized = normalize_database_url(url).map_err(ConnectError::Url)?;
    if !normalized.starts_with("postgres://") {
        return Ok(Db::from(connect(url, pool).await?));
    }
    let startup = PoolSettings {
        max_connections: pool.max_connections.min(2),
        min_connections: pool.min_connections.min(2),
        ..pool.clone()
    };
    let shared = connect(url, &startup).await?;
    let threads = threads.max(1);
    let per_thread = PoolSettings {
        max_connections: pool.max_connections.div_ceil(threads).max(1),
        min_connections: 0,
        ..pool.clone()
    };
    Ok(Db::new(
        shared,
        Some(connect_options(&normalized, &per_thread)),
    ))
}

fn connect_options(url: &str, pool: &PoolSettings) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .acquire_timeout(pool.acquire_timeout)
        .connect_timeout(pool.acquire_timeout)
        // Pinging every connection on checkout would double the round trips of every
        // query; only connections idle long enough to have been dropped by the server, a
        // pooler or a firewall are pinged. A connection that dies while hot fails its
        // query (503) and is discarded.
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        // Once a server restart or failover has been seen, every connection that sat idle
        // through it is dead too: ping those before use, discarding the dead ones, rather
        // than fail one more request with each.
        .map_sqlx_postgres_before_acquire(|conn, meta| {
            Box::pin(async move {
                if went_away::suspect(meta.idle_for) {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .sqlx_logging(false)
        .max_connections(pool.max_connections)
        .min_connections(pool.min_connections)
        .idle_timeout(pool.idle_timeout)
        .max_lifetime(pool.max_lifetime);
    options
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
