//! What a task is organised by: priority, tags, a due date or time, a reminder, when it was
//! completed, how it repeats and in which time zone, and a version for optimistic
//! concurrency. Columns are added only when missing; existing rows keep every value and
//! get the defaults (no priority, no tags, not due, version 1), and a completed one gets
//! its last update as its completion time.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000004_task_organising"
    }
}

#[derive(DeriveIden)]
enum Task {
    Table,
    Completed,
    UpdatedAt,
    /// `Priority::rank`: 1 (low) to 3 (high).
    Priority,
    /// The tags joined with a line feed (tags have no control characters); empty: none.
    Tags,
    /// The due instant; for an all-day date, its midnight UTC.
    DueAt,
    DueAllDay,
    RemindAt,
    CompletedAt,
    /// The recurrence rule in its canonical form.
    Recurrence,
    /// An IANA time zone name.
    TimeZone,
    OccurrencesDone,
    Version,
}

/// The added columns, in order, each with its name (as `has_column` looks it up).
fn columns() -> [(&'static str, ColumnDef); 10] {
    [
        (
            "priority",
            ColumnDef::new(Task::Priority)
                .small_integer()
                .null()
                .to_owned(),
        ),
        (
            "tags",
            ColumnDef::new(Task::Tags)
                .text()
                .not_null()
                .default("")
                .to_owned(),
        ),
        (
            "due_at",
            ColumnDef::new(Task::DueAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ),
        (
            "due_all_day",
            ColumnDef::new(Task::DueAllDay)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
        ),
        (
            "remind_at",
            ColumnDef::new(Task::RemindAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ),
        (
            "completed_at",
            ColumnDef::new(Task::CompletedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ),
        (
            "recurrence",
            ColumnDef::new(Task::Recurrence).text().null().to_owned(),
        ),
        (
            "time_zone",
            ColumnDef::new(Task::TimeZone).text().null().to_owned(),
        ),
        (
            "occurrences_done",
            ColumnDef::new(Task::OccurrencesDone)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
        ),
        (
            "version",
            ColumnDef::new(Task::Version)
                .big_integer()
                .not_null()
                .default(1)
                .to_owned(),
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time. A NOT NULL column has a
        // default, which existing rows get.
        for (name, column) in columns() {
            if !manager.has_column("task", name).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Task::Table)
                            .add_column(column)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        // Tasks completed before completion times were kept: their last update is the
        // best estimate.
        manager
            .exec_stmt(
                Query::update()
                    .table(Task::Table)
                    .value(Task::CompletedAt, Expr::col(Task::UpdatedAt))
                    .and_where(Expr::col(Task::Completed).eq(true))
                    .and_where(Expr::col(Task::CompletedAt).is_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in columns().into_iter().rev() {
            if manager.has_column("task", name).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Task::Table)
                            .drop_column(Alias::new(name))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
