//! What manual ordering, incremental sync and idempotent creation need:
//!
//! - `task.series_time`: the local time of day (microseconds after midnight) a repeating
//!   task's series keeps while a daylight-saving gap moved its current occurrence.
//! - `task.position`, a fractional index (base-62 digits compared byte by byte, so
//!   `COLLATE "C"` on PostgreSQL), with an index for the `position` sort. Existing rows get
//!   the position a new task created at their creation time would get, so the manual order
//!   starts as the creation order.
//! - `task_tombstone`: one row per deleted task (id, owner, when), kept for the configured
//!   retention so that a client syncing with `updated_since` learns of deletions.
//! - `idempotency_key`: per user, the key a create was sent with, a fingerprint of its
//!   body and the task it created, kept for 24 hours.
//!
//! Tables and indexes are created only when absent, the column only when missing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Value};
use todo_domain::{Position, TaskId};

use crate::m20260101_000001_better_auth::User;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000006_task_sync"
    }
}

#[derive(DeriveIden)]
enum Task {
    Table,
    Id,
    UserId,
    /// `Position`: base-62 digits, compared byte by byte.
    Position,
    SeriesTime,
}

#[derive(DeriveIden)]
enum TaskTombstone {
    Table,
    /// The deleted task's id.
    Id,
    UserId,
    DeletedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKey {
    Table,
    UserId,
    /// The client's `Idempotency-Key` header.
    Key,
    /// A hash of the request body, to refuse the same key with another body.
    Fingerprint,
    /// The task the first request created.
    TaskId,
    CreatedAt,
}

fn position_column(backend: DbBackend) -> ColumnDef {
    let mut column = ColumnDef::new(Task::Position);
    column.text().not_null().default("");
    if backend == DbBackend::Postgres {
        column.extra(r#"COLLATE "C""#);
    }
    column
}

fn owner_key<T: IntoIden + 'static>(name: &str, table: T, column: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(User::Table, User::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn tables() -> [TableCreateStatement; 2] {
    [
        Table::create()
            .table(TaskTombstone::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(TaskTombstone::Id)
                    .uuid()
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(TaskTombstone::UserId).text().not_null())
            .col(
                ColumnDef::new(TaskTombstone::DeletedAt)
                    .timestamp_with_time_zone()
                    .not_null(),
            )
            .foreign_key(&mut owner_key(
                "task_tombstone_user_id_fkey",
                TaskTombstone::Table,
                TaskTombstone::UserId,
            ))
            .to_owned(),
        Table::create()
            .table(IdempotencyKey::Table)
            .if_not_exists()
            .col(ColumnDef::new(IdempotencyKey::UserId).text().not_null())
            .col(ColumnDef::new(IdempotencyKey::Key).text().not_null())
            .col(
                ColumnDef::new(IdempotencyKey::Fingerprint)
                    .text()
                    .not_null(),
            )
            .col(ColumnDef::new(IdempotencyKey::TaskId).uuid().not_null())
            .col(
                ColumnDef::new(IdempotencyKey::CreatedAt)
                    .timestamp_with_time_zone()
                    .not_null(),
            )
            .primary_key(
                Index::create()
                    .col(IdempotencyKey::UserId)
                    .col(IdempotencyKey::Key),
            )
            .foreign_key(&mut owner_key(
                "idempotency_key_user_id_fkey",
                IdempotencyKey::Table,
                IdempotencyKey::UserId,
            ))
            .to_owned(),
    ]
}

/// The `position` sort; a user's tombstones in sync order; expired rows for the purge.
fn indexes() -> [IndexCreateStatement; 4] {
    [
        Index::create()
            .if_not_exists()
            .name("idx_task_user_position")
            .table(Task::Table)
            .col(Task::UserId)
            .col(Task::Position)
            .col(Task::Id)
            .to_owned(),
        Index::create()
            .if_not_exists()
            .name("idx_task_tombstone_user_deleted")
            .table(TaskTombstone::Table)
            .col(TaskTombstone::UserId)
            .col(TaskTombstone::DeletedAt)
            .col(TaskTombstone::Id)
            .to_owned(),
        Index::create()
            .if_not_exists()
            .name("idx_task_tombstone_deleted")
            .table(TaskTombstone::Table)
            .col(TaskTombstone::DeletedAt)
            .to_owned(),
        Index::create()
            .if_not_exists()
            .name("idx_idempotency_key_created")
            .table(IdempotencyKey::Table)
            .col(IdempotencyKey::CreatedAt)
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        if !manager.has_column("task", "position").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Task::Table)
                        .add_column(position_column(backend))
                        .to_owned(),
                )
                .await?;
        }
        if !manager.has_column("task", "series_time").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Task::Table)
                        .add_column(ColumnDef::new(Task::SeriesTime).big_integer().null())
                        .to_owned(),
                )
                .await?;
        }
        // Before the index exists, so that filling the column in does not maintain it.
        backfill_positions(manager).await?;
        for table in tables() {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .if_exists()
                    .name("idx_task_user_position")
                    .to_owned(),
            )
            .await?;
        for table in [
            IdempotencyKey::Table.into_iden(),
            TaskTombstone::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        for (name, column) in [
            ("series_time", Task::SeriesTime),
            ("position", Task::Position),
        ] {
            if manager.has_column("task", name).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Task::Table)
                            .drop_column(column)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

/// Gives every task without a position (`''`) the one the service gives a new task,
/// `Position::initial(created_at, id)`.
pub(crate) async fn backfill_positions(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    crate::backfill::backfill_tasks(
        manager,
        "id, created_at",
        "position = ''",
        &["position"],
        |row| {
            let id: uuid::Uuid = row.try_get("", "id")?;
            let created_at: chrono::DateTime<chrono::Utc> = row.try_get("", "created_at")?;
            let position = Position::initial(created_at, TaskId::from_uuid(id));
            Ok(vec![Value::from(position.as_str())])
        },
    )
    .await
}
