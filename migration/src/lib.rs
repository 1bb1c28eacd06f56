//! Database migrations of the todo service, for PostgreSQL and SQLite.
//!
//! Every step is idempotent: the tables Better Auth owns (`"user"`, `session`, `account`,
//! `verification`) are created only when absent, and columns the service needs are added
//! only when missing, so the migrations run cleanly on a database where Better Auth created
//! its tables first, and Better Auth's own migration finds nothing to do after them.

pub use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DatabaseConnection, DbBackend, Statement, TransactionTrait};

mod backfill;
mod m20260101_000001_better_auth;
mod m20260101_000002_task;
mod m20260102_000003_adopt_fastapi_task;
mod m20261125_000004_task_organising;
mod m20261126_000005_task_search;
mod m20261201_000006_task_sync;
mod m20261203_000007_better_auth_core;
mod m20261203_000008_lists;
mod m20261203_000009_trash;
mod m20261203_000010_list_orders;
mod m20261203_000011_member_archived;
mod m20261204_000012_change_log;
mod m20261204_000013_webhooks;
mod m20261204_000014_webhook_claim;
mod url;

pub use url::{normalize_database_url, redact_url_secrets};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_better_auth::Migration),
            Box::new(m20260101_000002_task::Migration),
            Box::new(m20260102_000003_adopt_fastapi_task::Migration),
            Box::new(m20261125_000004_task_organising::Migration),
            Box::new(m20261126_000005_task_search::Migration),
            Box::new(m20261201_000006_task_sync::Migration),
            Box::new(m20261203_000007_better_auth_core::Migration),
            Box::new(m20261203_000008_lists::Migration),
            Box::new(m20261203_000009_trash::Migration),
            Box::new(m20261203_000010_list_orders::Migration),
            Box::new(m20261203_000011_member_archived::Migration),
            Box::new(m20261204_000012_change_log::Migration),
            Box::new(m20261204_000013_webhooks::Migration),
            Box::new(m20261204_000014_webhook_claim::Migration),
        ]
    }
}

/// Key of the PostgreSQL advisory lock held while migrating ("todo-mig").
const MIGRATION_LOCK_KEY: i64 = 0x746f_646f_2d6d_6967;

/// Applies every pending migration. On PostgreSQL this happens in one transaction holding
/// a transaction-level advisory lock, so instances starting together take turns (the
/// later ones find nothing left to do) and a failed migration leaves nothing half-applied.
pub async fn up_locked(db: &DatabaseConnection) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let txn = db.begin().await?;
            txn.execute_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"),
            ))
            .await?;
            Migrator::up(&txn, None).await?;
            txn.commit().await?;
        }
        _ => Migrator::up(db, None).await?,
    }
    fill_derived_columns(db).await
}

/// Gives the search keys and a position to tasks that have none: those written by an
/// earlier version of the service after the migrations that added them ran (during a
/// rolling deploy, say). Cheap when there are none; every start and `migrate` runs it.
pub async fn fill_derived_columns(db: &DatabaseConnection) -> Result<(), DbErr> {
    let manager = SchemaManager::new(db);
    m20261126_000005_task_search::backfill(&manager).await?;
    m20261201_000006_task_sync::backfill_positions(&manager).await?;
    m20261203_000008_lists::backfill_inboxes(&manager).await
}

/// How many migrations are not applied yet (0 on a database this version can serve).
///
/// Read-only: never creates the `seaql_migrations` table, so a readiness probe can call
/// it on every request (a missing table means every migration is pending).
pub async fn pending(db: &DatabaseConnection) -> Result<usize, DbErr> {
    Ok(Migrator::get_pending_migrations_read_only(db).await?.len())
}
