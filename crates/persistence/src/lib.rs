//! SeaORM adapters of the todo service's ports, for PostgreSQL and SQLite.

mod connect;
mod db;
mod direct;
mod entities;
mod error;
mod health;
mod jwks;
mod lists;
mod raw;
mod sessions;
mod sql_cache;
mod tasks;
mod trash;
mod users;
mod went_away;

pub use connect::{ConnectError, PoolSettings, backend_name, connect, connect_per_thread, migrate};
pub use db::Db;
pub use health::{SeaPoolMetrics, SeaReadiness};
pub use jwks::SeaJwksSource;
pub use lists::SeaListRepository;
pub use sea_orm::DatabaseConnection;
pub use sessions::SeaSessionRepository;
pub use tasks::SeaTaskRepository;
pub use todo_migration::{normalize_database_url, redact_url_secrets};
pub use trash::SeaTrashRepository;
pub use users::SeaUserRepository;
