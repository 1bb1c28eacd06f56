//! Lists, their members, subtasks and assignees:
//!
//! - `task_list`: a list (name, colour, manual position, archived, version). `owner_id` is
//!   its owner; `inbox_of` is set (to the owner's id, unique) only on a user's Inbox.
//! - `list_member`: who may see a list and in which role (`owner`, `editor`, `viewer`);
//!   the owner is a member too, so that every access check reads this one table.
//! - `list_access_lost`: when a user stopped being a member of a list (removed, left, the
//!   list deleted), so that their sync feed can tell them to drop its tasks.
//! - `task.list_id`, `task.parent_id`, `task.assignee_id`; `task_tombstone.list_id`.
//!
//! Every existing task goes into its owner's Inbox, created here. Tables, columns and
//! indexes are created only when absent.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement, Value};
use todo_domain::{ListId, Position};

use crate::m20260101_000001_better_auth::User;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000008_lists"
    }
}

#[derive(DeriveIden)]
enum TaskList {
    Table,
    Id,
    OwnerId,
    Name,
    Colour,
    /// `Position`: base-62 digits, compared byte by byte.
    Position,
    Archived,
    /// The owner's id on their Inbox; NULL on every other list.
    InboxOf,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum ListMember {
    Table,
    ListId,
    UserId,
    /// `owner`, `editor` or `viewer`.
    Role,
    AddedAt,
}

#[derive(DeriveIden)]
enum ListAccessLost {
    Table,
    ListId,
    UserId,
    LostAt,
}

#[derive(DeriveIden)]
enum Task {
    Table,
    Id,
    ListId,
    ParentId,
    AssigneeId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TaskTombstone {
    Table,
    ListId,
}

fn position_column(backend: DbBackend) -> ColumnDef {
    let mut column = ColumnDef::new(TaskList::Position);
    column.text().not_null();
    if backend == DbBackend::Postgres {
        column.extra(r#"COLLATE "C""#);
    }
    column
}

fn user_key<T: IntoIden + 'static>(
    name: &str,
    table: T,
    column: T,
    action: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(User::Table, User::Id)
        .on_delete(action)
        .to_owned()
}

fn list_key<T: IntoIden + 'static>(name: &str, table: T, column: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(TaskList::Table, TaskList::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A timestamp that is always set.
fn at(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn tables(backend: DbBackend) -> [TableCreateStatement; 3] {
    [
        Table::create()
            .table(TaskList::Table)
            .if_not_exists()
            .col(ColumnDef::new(TaskList::Id).uuid().not_null().primary_key())
            .col(ColumnDef::new(TaskList::OwnerId).text().not_null())
            .col(ColumnDef::new(TaskList::Name).text().not_null())
            .col(ColumnDef::new(TaskList::Colour).text().null())
            .col(position_column(backend))
            .col(
                ColumnDef::new(TaskList::Archived)
                    .boolean()
                    .not_null()
                    .default(false),
            )
            .col(ColumnDef::new(TaskList::InboxOf).text().null().unique_key())
            .col(at(TaskList::CreatedAt))
            .col(at(TaskList::UpdatedAt))
            .col(
                ColumnDef::new(TaskList::Version)
                    .big_integer()
                    .not_null()
                    .default(1),
            )
            .foreign_key(&mut user_key(
                "task_list_owner_id_fkey",
                TaskList::Table,
                TaskList::OwnerId,
                ForeignKeyAction::Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(ListMember::Table)
            .if_not_exists()
            .col(ColumnDef::new(ListMember::ListId).uuid().not_null())
            .col(ColumnDef::new(ListMember::UserId).text().not_null())
            .col(ColumnDef::new(ListMember::Role).text().not_null())
            .col(at(ListMember::AddedAt))
            .primary_key(
                Index::create()
                    .col(ListMember::ListId)
                    .col(ListMember::UserId),
            )
            .foreign_key(&mut list_key(
                "list_member_list_id_fkey",
                ListMember::Table,
                ListMember::ListId,
            ))
            .foreign_key(&mut user_key(
                "list_member_user_id_fkey",
                ListMember::Table,
                ListMember::UserId,
                ForeignKeyAction::Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(ListAccessLost::Table)
            .if_not_exists()
            .col(ColumnDef::new(ListAccessLost::ListId).uuid().not_null())
            .col(ColumnDef::new(ListAccessLost::UserId).text().not_null())
            .col(at(ListAccessLost::LostAt))
            .primary_key(
                Index::create()
                    .col(ListAccessLost::UserId)
                    .col(ListAccessLost::ListId)
                    .col(ListAccessLost::LostAt),
            )
            .foreign_key(&mut user_key(
                "list_access_lost_user_id_fkey",
                ListAccessLost::Table,
                ListAccessLost::UserId,
                ForeignKeyAction::Cascade,
            ))
            .to_owned(),
    ]
}

/// A member's lists; the lists of an owner; a list's tasks in the plain order; a task's
/// subtasks; expired access records for the purge.
fn indexes() -> [IndexCreateStatement; 6] {
    [
        Index::create()
            .if_not_exists()
            .name("idx_list_member_user")
            .table(ListMember::Table)
            .col(ListMember::UserId)
            .col(ListMember::ListId)
            .to_owned(),
        Index::create()
            .if_not_exists()
            .name("idx_task_list_owner")
            .table(TaskList::Table)
            .col(TaskList::OwnerId)
            .to_owned(),
        Index::create()
            .if_not_exists()
            .name("idx_task_list_created")
            .table(Task::Table)
            .col(Task::ListId)
            .col(Task::CreatedAt)
            .col(Task::Id)
            .to_owned(),
        Index::create()
            .if_not_exists()
            .name("idx_task_parent")
            .table(Task::Table)
            .col(Task::ParentId)
            .to_owned(),
        Index::create()
            .if_not_exists()
            .name("idx_task_tombstone_list")
            .table(TaskTombstone::Table)
            .col(TaskTombstone::ListId)
            .to_owned(),
        Index::create()
            .if_not_exists()
            .name("idx_list_access_lost_at")
            .table(ListAccessLost::Table)
            .col(ListAccessLost::LostAt)
            .to_owned(),
    ]
}

/// The columns added to existing tables: `(table, column, definition, reference)`, the
/// reference written inline (`ALTER TABLE … ADD COLUMN … REFERENCES …`), which both
/// backends accept on a column that may be NULL.
fn columns() -> [(Task, ColumnDef, &'static str); 3] {
    [
        (
            Task::ListId,
            ColumnDef::new(Task::ListId).uuid().null().to_owned(),
            "REFERENCES task_list (id) ON DELETE CASCADE",
        ),
        (
            Task::ParentId,
            ColumnDef::new(Task::ParentId).uuid().null().to_owned(),
            "REFERENCES task (id) ON DELETE CASCADE",
        ),
        (
            Task::AssigneeId,
            ColumnDef::new(Task::AssigneeId).text().null().to_owned(),
            "REFERENCES \"user\" (id) ON DELETE SET NULL",
        ),
    ]
}

/// `ALTER TABLE task ADD COLUMN …` for `column`, with `reference` after its type.
fn add_task_column(backend: DbBackend, column: ColumnDef, reference: &str) -> String {
    let alter = Table::alter()
        .table(Task::Table)
        .add_column(column)
        .to_owned();
    let sql = match backend {
        DbBackend::Postgres => alter.to_string(PostgresQueryBuilder),
        _ => alter.to_string(SqliteQueryBuilder),
    };
    format!("{sql} {reference}")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        // The tables first: the new task columns refer to them.
        for table in tables(backend) {
            manager.create_table(table).await?;
        }
        for (column, definition, reference) in columns() {
            if !manager.has_column("task", &column.to_string()).await? {
                let sql = add_task_column(backend, definition, reference);
                manager.get_connection().execute_unprepared(&sql).await?;
            }
        }
        if !manager.has_column("task_tombstone", "list_id").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(TaskTombstone::Table)
                        .add_column(ColumnDef::new(TaskTombstone::ListId).uuid().null())
                        .to_owned(),
                )
                .await?;
        }
        backfill_inboxes(manager).await?;
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["idx_task_list_created", "idx_task_parent"] {
            manager
                .drop_index(Index::drop().if_exists().name(name).to_owned())
                .await?;
        }
        for (table, name) in [
            ("task", "list_id"),
            ("task", "parent_id"),
            ("task", "assignee_id"),
            ("task_tombstone", "list_id"),
        ] {
            if manager.has_column(table, name).await? {
                let sql = format!("ALTER TABLE {table} DROP COLUMN {name}");
                manager.get_connection().execute_unprepared(&sql).await?;
            }
        }
        for table in [
            ListAccessLost::Table.into_iden(),
            ListMember::Table.into_iden(),
            TaskList::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Puts every task that is in no list (those written before lists existed, or by an
/// earlier version of the service during a rolling deploy) into its owner's Inbox,
/// creating the Inboxes that are missing with their owners as members.
pub(crate) async fn backfill_inboxes(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = db.get_database_backend();
    let owners = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT DISTINCT t.user_id AS owner FROM task t \
             WHERE t.list_id IS NULL \
             AND NOT EXISTS (SELECT 1 FROM task_list l WHERE l.inbox_of = t.user_id)",
        ))
        .await?;
    let now = todo_domain::to_stored_precision(chrono::Utc::now());
    let p = |n: usize| {
        if backend == DbBackend::Postgres {
            format!("${n}")
        } else {
            "?".to_owned()
        }
    };
    for row in owners {
        let owner: String = row.try_get("", "owner")?;
        let id = ListId::from_uuid(uuid::Uuid::now_v7());
        let position = Position::initial_of(now, id.as_uuid());
        let list = Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO task_list \
                 (id, owner_id, name, colour, position, archived, inbox_of, created_at, updated_at, version) \
                 VALUES ({}, {}, 'Inbox', NULL, {}, {}, {}, {}, {}, 1)",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5),
                p(6),
                p(7)
            ),
            [
                Value::from(id.as_uuid()),
                Value::from(owner.as_str()),
                Value::from(position.as_str()),
                Value::from(false),
                Value::from(owner.as_str()),
                Value::from(now),
                Value::from(now),
            ],
        );
        db.execute_raw(list).await?;
        let member = Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO list_member (list_id, user_id, role, added_at) \
                 VALUES ({}, {}, 'owner', {})",
                p(1),
                p(2),
                p(3)
            ),
            [
                Value::from(id.as_uuid()),
                Value::from(owner.as_str()),
                Value::from(now),
            ],
        );
        db.execute_raw(member).await?;
    }
    db.execute_unprepared(
        "UPDATE task SET list_id = \
         (SELECT l.id FROM task_list l WHERE l.inbox_of = task.user_id) \
         WHERE list_id IS NULL",
    )
    .await?;
    Ok(())
}
