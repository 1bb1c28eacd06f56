//! The trash: what a user deleted, kept so that they can restore it.
//!
//! - `trash_entry`: one deleted task (with the subtasks deleted with it) or list (with its
//!   tasks and members), in its deleter's trash; its id is the task's or the list's.
//! - `trash_task`, `trash_list`, `trash_member`: the deleted rows as they were, each with
//!   the id of its entry (`trash_id`), so that a restore writes them back unchanged. They
//!   have the columns of `task`, `task_list` and `list_member` as of this migration,
//!   without their keys: **a later migration that adds a column to one of those tables
//!   adds it to its trash table too.**
//!
//! Deleting an entry (restored, forgotten, purged, its owner deleted) deletes its rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20260101_000001_better_auth::User;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000009_trash"
    }
}

#[derive(DeriveIden)]
enum TrashEntry {
    Table,
    Id,
    /// Whose trash it is in: who deleted it.
    UserId,
    /// `task` or `list`.
    Kind,
    /// The task's title or the list's name.
    Title,
    /// The list the task was in, or the list itself.
    ListId,
    /// How many tasks it holds.
    Tasks,
    DeletedAt,
}

/// The tables whose deleted rows the trash keeps, with their trash tables.
const KEPT: [(&str, &str); 3] = [
    ("task", "trash_task"),
    ("task_list", "trash_list"),
    ("list_member", "trash_member"),
];

fn entry_table() -> TableCreateStatement {
    Table::create()
        .table(TrashEntry::Table)
        .if_not_exists()
        .col(
            ColumnDef::new(TrashEntry::Id)
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(TrashEntry::UserId).text().not_null())
        .col(ColumnDef::new(TrashEntry::Kind).text().not_null())
        .col(ColumnDef::new(TrashEntry::Title).text().not_null())
        .col(ColumnDef::new(TrashEntry::ListId).uuid().not_null())
        .col(ColumnDef::new(TrashEntry::Tasks).integer().not_null())
        .col(
            ColumnDef::new(TrashEntry::DeletedAt)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("trash_entry_user_id_fkey")
                .from(TrashEntry::Table, TrashEntry::UserId)
                .to(User::Table, User::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

/// A user's trash, newest first; expired entries for the purge.
fn indexes() -> [IndexCreateStatement; 2] {
    [
        Index::create()
            .if_not_exists()
            .name("idx_trash_entry_user_deleted")
            .table(TrashEntry::Table)
            .col(TrashEntry::UserId)
            .col(TrashEntry::DeletedAt)
            .col(TrashEntry::Id)
            .to_owned(),
        Index::create()
            .if_not_exists()
            .name("idx_trash_entry_deleted")
            .table(TrashEntry::Table)
            .col(TrashEntry::DeletedAt)
            .to_owned(),
    ]
}

/// The statements that create `trash` with the columns of `table` and a `trash_id`
/// referring to its entry: `LIKE` on PostgreSQL (types, collations and NOT NULL, no keys),
/// `AS SELECT` on SQLite (the columns' affinities).
fn kept_table(backend: DbBackend, table: &str, trash: &str) -> [String; 3] {
    let create = if backend == DbBackend::Postgres {
        format!("CREATE TABLE {trash} (LIKE {table})")
    } else {
        format!("CREATE TABLE {trash} AS SELECT * FROM {table} WHERE 0")
    };
    let uuid = if backend == DbBackend::Postgres {
        "uuid"
    } else {
        "uuid_text"
    };
    [
        create,
        format!(
            "ALTER TABLE {trash} ADD COLUMN trash_id {uuid} REFERENCES trash_entry (id) ON DELETE CASCADE"
        ),
        format!("CREATE INDEX idx_{trash}_trash_id ON {trash} (trash_id)"),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager.create_table(entry_table()).await?;
        for index in indexes() {
            manager.create_index(index).await?;
        }
        for (table, trash) in KEPT {
            if manager.has_table(trash).await? {
                continue;
            }
            for sql in kept_table(backend, table, trash) {
                manager.get_connection().execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (_, trash) in KEPT {
            manager
                .drop_table(
                    Table::drop()
                        .table(Alias::new(trash))
                        .if_exists()
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(
                Table::drop()
                    .table(TrashEntry::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
