//! SeaORM adapters of the todo service's ports, for PostgreSQL and SQLite.

mod changelog;
mod connect;
mod db;
mod direct;
mod entities;
mod error;
mod health;
mod jwks;
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
    let url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    sea_orm::Database::connect(url).await.unwrap()
}
