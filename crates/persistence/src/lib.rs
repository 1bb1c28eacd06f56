//! SeaORM adapters of the todo service's ports, for PostgreSQL and SQLite.

mod changelog;
mod connect;
mod db;
mod direct;
mod entities;
mod error;
mod health;
mod jwks;
mod kept;
mod lists;
mod owned;
mod raw;
mod sessions;
mod signal;
mod sql_cache;
mod tasks;
mod trash;
mod users;
mod webhook_deliveries;
mod webhook_rows;
mod webhooks;
mod went_away;

pub use changelog::SeaChangeLog;
pub use connect::{ConnectError, PoolSettings, backend_name, connect, connect_per_thread, migrate};
pub use db::Db;
pub use health::{SeaPoolMetrics, SeaReadiness};
pub use jwks::SeaJwksSource;
pub use lists::SeaListRepository;
pub use sea_orm::DatabaseConnection;
pub use sessions::SeaSessionRepository;
pub use signal::SeaChangeSignal;
pub use tasks::SeaTaskRepository;
pub use todo_migration::{normalize_database_url, redact_url_secrets};
pub use trash::SeaTrashRepository;
pub use users::SeaUserRepository;
pub use webhook_deliveries::SeaWebhookDeliveries;
pub use webhooks::SeaWebhookRepository;

/// The PostgreSQL server of the tests: `TEST_DATABASE_URL`, as the adapter tests read it.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) async fn test_postgres() -> DatabaseConnection {
    sea_orm::Database::connect(test_database_url())
        .await
        .unwrap()
}

#[cfg(test)]
fn test_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A handle on the tests' PostgreSQL server whose serving threads (a current-thread runtime,
/// as `#[tokio::test]`'s) each get a pool of `max_connections`, as the server's do.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) async fn test_thread_db(max_connections: u32) -> Db {
    let mut options = sea_orm::ConnectOptions::new(test_database_url());
    options
        .max_connections(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(1))
        .sqlx_logging(false);
    Db::new(test_postgres().await, Some(options))
}
