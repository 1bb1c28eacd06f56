//! `change_log`: one row per committed change of a task, a list or a membership, written
//! in the same transaction as the change; the event stream and the collection ETags read
//! it. `change_log_pruned`: one row, the place up to which old records were pruned (a
//! reader resuming from before it has missed records and must resync).
//!
//! Readers read in `(tx, id)` order. On PostgreSQL `tx` is the writing transaction's id
//! (`pg_current_xact_id()`): a reader reads only records of transactions older than every
//! transaction still running (`pg_snapshot_xmin`), so a record whose id was handed out
//! before another's but committed after it is never skipped. On SQLite writes take turns
//! and `tx` is 0.
//!
//! No foreign keys: a record outlives the task, list or user it names.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000012_change_log"
    }
}

#[derive(DeriveIden)]
enum ChangeLog {
    Table,
    Id,
    /// The writing transaction's id on PostgreSQL, 0 on SQLite.
    Tx,
    /// `task.created`, `list.updated`, `member.removed`, ...
    Kind,
    ListId,
    TaskId,
    /// Who made the change.
    ActorId,
    /// The member a membership change concerns.
    SubjectId,
    /// The task's or list's version after the change.
    Version,
    /// The names of the changed fields, comma-separated.
    Fields,
    At,
}

#[derive(DeriveIden)]
enum ChangeLogPruned {
    Table,
    Id,
    Tx,
    Record,
}

fn log_table(backend: DbBackend) -> TableCreateStatement {
    let mut id = ColumnDef::new(ChangeLog::Id);
    let mut tx = ColumnDef::new(ChangeLog::Tx);
    tx.big_integer().not_null();
    let mut table = Table::create();
    if backend == DbBackend::Postgres {
        // The readers' order is the key: one index to maintain per record, not two.
        id.big_integer().not_null().auto_increment();
        tx.default(Expr::cust("(pg_current_xact_id()::text::bigint)"));
        table.primary_key(Index::create().col(ChangeLog::Tx).col(ChangeLog::Id));
    } else {
        // SQLite: AUTOINCREMENT needs the column to be `INTEGER PRIMARY KEY`, and keeps ids
        // from being reused after the newest records are pruned; `tx` is always 0.
        id.integer().not_null().primary_key().auto_increment();
        tx.default(0);
    }
    table
        .table(ChangeLog::Table)
        .if_not_exists()
        .col(&mut id)
        .col(&mut tx)
        .col(ColumnDef::new(ChangeLog::Kind).text().not_null())
        .col(ColumnDef::new(ChangeLog::ListId).uuid().null())
        .col(ColumnDef::new(ChangeLog::TaskId).uuid().null())
        .col(ColumnDef::new(ChangeLog::ActorId).text().not_null())
        .col(ColumnDef::new(ChangeLog::SubjectId).text().null())
        .col(ColumnDef::new(ChangeLog::Version).big_integer().null())
        .col(
            ColumnDef::new(ChangeLog::Fields)
                .text()
                .not_null()
                .default(""),
        )
        .col(
            ColumnDef::new(ChangeLog::At)
                .timestamp_with_time_zone()
                .not_null(),
        )
        .to_owned()
}

fn pruned_table() -> TableCreateStatement {
    Table::create()
        .table(ChangeLogPruned::Table)
        .if_not_exists()
        .col(
            ColumnDef::new(ChangeLogPruned::Id)
                .integer()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(ChangeLogPruned::Tx).big_integer().not_null())
        .col(
            ColumnDef::new(ChangeLogPruned::Record)
                .big_integer()
                .not_null(),
        )
        .to_owned()
}

/// The pruning's: on PostgreSQL a BRIN index (records are appended in time order, so a
/// range summary per block finds the old ones at a fraction of a B-tree's upkeep per
/// insert); on SQLite a B-tree, beside the readers' order.
fn indexes(backend: DbBackend) -> Vec<String> {
    if backend == DbBackend::Postgres {
        return vec![
            "CREATE INDEX IF NOT EXISTS idx_change_log_at ON change_log USING brin (at)".to_owned(),
        ];
    }
    vec![
        "CREATE INDEX IF NOT EXISTS idx_change_log_order ON change_log (tx, id)".to_owned(),
        "CREATE INDEX IF NOT EXISTS idx_change_log_at ON change_log (at)".to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager.create_table(log_table(backend)).await?;
        for index in indexes(backend) {
            manager.get_connection().execute_unprepared(&index).await?;
        }
        manager.create_table(pruned_table()).await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO change_log_pruned (id, tx, record) VALUES (1, 0, 0) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ChangeLogPruned::Table.into_iden(),
            ChangeLog::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
