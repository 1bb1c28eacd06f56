//! The statements of one task's reads and writes, and of deleting tasks with their tombstones.

use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, Iterable,
    QueryFilter, QuerySelect, QueryTrait, Statement, TransactionTrait, Value,
};
use todo_application::ports::PortError;
use todo_domain::{Gap, Task, TaskId, Timestamp, UserId};

use super::row::{TaskRow, to_row};
use crate::entities::task::{Column, Entity};
use crate::entities::{task_tombstone, task_write};
use crate::error::map_db_err;
use crate::sql_cache::SqlCache;

/// `owner`'s task `id`, if there is one.
pub(super) async fn find_owned(
    conn: &impl ConnectionTrait,
    owner: &UserId,
    id: TaskId,
) -> Result<Option<Task>, PortError> {
    TaskRow::find_by_statement(find_owned_statement(conn.get_database_backend(), owner, id))
        .one(conn)
        .await
        .map_err(map_db_err)?
        .map(TaskRow::task)
        .transpose()
}

/// The query of [`find_owned`], as SeaORM writes it.
fn find_owned_query(owner: &UserId, id: TaskId) -> sea_orm::Select<Entity> {
    Entity::find().filter(owned(owner, id)).limit(1)
}

/// [`find_owned_query`]'s statement, its SQL written once per backend.
fn find_owned_statement(backend: DbBackend, owner: &UserId, id: TaskId) -> Statement {
    static SQL: SqlCache = SqlCache::new();
    let values = vec![id.as_uuid().into(), owner.as_str().into(), 1_u64.into()];
    SQL.statement(backend, values, || {
        find_owned_query(owner, id).build(backend)
    })
}

fn owned(owner: &UserId, id: TaskId) -> Condition {
    Condition::all()
        .add(Column::Id.eq(id.as_uuid()))
        .add(Column::UserId.eq(owner.as_str()))
}

/// `owned`, and only at version `expected` when given.
pub(super) fn owned_at(owner: &UserId, id: TaskId, expected: Option<i64>) -> Condition {
    owned(owner, id).add_option(expected.map(|v| Column::Version.eq(v)))
}

/// The conditional write of every mutable column of `t` (not its id, owner or creation
/// time) if its stored version is `expected`.
pub(super) fn replace_statement(
    t: &Task,
    expected: i64,
) -> sea_orm::UpdateMany<task_write::Entity> {
    let row = task_write::ActiveModel {
        id: NotSet,
        user_id: NotSet,
        created_at: NotSet,
        ..to_row(t)
    };
    task_write::Entity::update_many()
        .set(row)
        .filter(owned_at(&t.owner, t.id, Some(expected)))
}

/// No task of `owner` but `moving` has a position strictly inside `gap`. Rows written by
/// a version that had no positions (`''`, read as their creation-time position) do not
/// count: until the start-up backfill gives them one, they would fill every gap that
/// reaches the top of the list.
fn gap_is_empty(owner: &UserId, moving: TaskId, gap: &Gap) -> SimpleExpr {
    let other = Alias::new("other");
    let column = |c: Column| Expr::col((other.clone(), c));
    let inside = Query::select()
        .expr(Expr::cust("1"))
        .from_as(Entity, other.clone())
        .and_where(column(Column::UserId).eq(owner.as_str()))
        .and_where(column(Column::Id).ne(moving.as_uuid()))
        .and_where(column(Column::Position).ne(""))
        .and_where_option(
            gap.low
                .as_ref()
                .map(|low| column(Column::Position).gt(low.as_str())),
        )
        .and_where_option(
            gap.high
                .as_ref()
                .map(|high| column(Column::Position).lt(high.as_str())),
        )
        .to_owned();
    Expr::exists(inside).not()
}

/// The write of a move: [`replace_statement`], only while no other task of the owner lies
/// inside `gap`.
pub(super) fn move_statement(
    t: &Task,
    expected: i64,
    gap: &Gap,
) -> sea_orm::UpdateMany<task_write::Entity> {
    replace_statement(t, expected).filter(gap_is_empty(&t.owner, t.id, gap))
}

/// The first key of the PostgreSQL advisory locks that serialise one owner's moves (the
/// second is a hash of the owner's id): "move" in ASCII.
const MOVE_LOCK_SPACE: i32 = 0x6d6f_7665;

/// Takes the lock that serialises `owner`'s moves until the transaction ends
/// (PostgreSQL; transaction-scoped, so a transaction-mode pooler is fine). Two owners
/// whose ids hash alike merely take turns.
pub(super) fn move_lock_statement(owner: &UserId) -> Statement {
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        [MOVE_LOCK_SPACE.into(), owner.as_str().into()],
    )
}

/// A toggle of `owner`'s task `id` at `now`, only at version `expected` when given.
pub(super) struct Toggle<'a> {
    pub(super) owner: &'a UserId,
    pub(super) id: TaskId,
    pub(super) now: Timestamp,
    pub(super) expected: Option<i64>,
}

impl Toggle<'_> {
    /// Flips `completed` (stamping or clearing `completed_at`) unless the task is open and
    /// recurring. Every right-hand side reads the row as it was before the statement.
    fn update(&self) -> sea_orm::UpdateMany<Entity> {
        Entity::update_many()
            .col_expr(Column::Completed, Expr::col(Column::Completed).not())
            .col_expr(
                Column::CompletedAt,
                Expr::case(Expr::col(Column::Completed), Expr::null())
                    .finally(Expr::value(self.now))
                    .into(),
            )
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            // A literal, not a parameter: the statement reads as it is.
            .col_expr(
                Column::Version,
                Expr::col(Column::Version).add(Expr::Constant(1.into())),
            )
            .filter(owned_at(self.owner, self.id, self.expected))
            // An open recurring task is completed by recording an occurrence instead.
            .filter(
                Condition::any()
                    .add(Expr::col(Column::Completed))
                    .add(Column::Recurrence.is_null()),
            )
    }

    /// [`Self::update`] returning the row, as `exec_with_returning` writes it: every column
    /// of the entity, in order.
    fn returning(&self, backend: DbBackend) -> Statement {
        let mut query = self.update().into_query();
        query.returning(
            Query::returning()
                .exprs(Column::iter().map(|c| c.select_as(c.into_returning_expr(backend)))),
        );
        backend.build(&query)
    }

    /// [`Self::returning`], its SQL written once per backend and shape.
    pub(super) fn statement(&self, backend: DbBackend) -> Statement {
        static ANY_VERSION: SqlCache = SqlCache::new();
        static AT_VERSION: SqlCache = SqlCache::new();
        let mut values: Vec<Value> = vec![
            self.now.into(),
            self.now.into(),
            self.id.as_uuid().into(),
            self.owner.as_str().into(),
        ];
        let sql = match self.expected {
            Some(version) => {
                values.push(version.into());
                &AT_VERSION
            }
            None => &ANY_VERSION,
        };
        sql.statement(backend, values, || self.returning(backend))
    }
}

/// Tombstones written per statement on SQLite (three parameters each).
const TOMBSTONE_BATCH: usize = 300;

/// Deletes the tasks `condition` selects and records a tombstone for each, deleted at
/// `now`, atomically: in one statement on PostgreSQL (a data-modifying `WITH`), in a
/// transaction on SQLite (which has no such statement). How many were deleted.
pub(super) async fn delete_with_tombstones(
    db: &sea_orm::DatabaseConnection,
    condition: Condition,
    now: Timestamp,
) -> Result<u64, PortError> {
    let delete = Query::delete()
        .from_table(Entity)
        .cond_where(condition)
        .returning(Query::returning().columns([Column::Id, Column::UserId]))
        .to_owned();
    let backend = db.get_database_backend();
    let mut statement = backend.build(&delete);
    if backend == DbBackend::Postgres {
        let mut values = statement
            .values
            .take()
            .unwrap_or_else(|| sea_orm::Values(Vec::new()));
        values.0.push(Value::from(now));
        let sql = format!(
            "WITH gone AS ({}) INSERT INTO task_tombstone (id, user_id, deleted_at) \
             SELECT id, user_id, ${} FROM gone",
            statement.sql,
            values.0.len()
        );
        let result = db
            .execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .map_err(map_db_err)?;
        return Ok(result.rows_affected());
    }
    let txn = db.begin().await.map_err(map_db_err)?;
    let gone = txn.query_all_raw(statement).await.map_err(map_db_err)?;
    let tombstones = gone
        .iter()
        .map(|row| {
            Ok(task_tombstone::ActiveModel {
                id: Set(row.try_get("", "id").map_err(map_db_err)?),
                user_id: Set(row.try_get("", "user_id").map_err(map_db_err)?),
                deleted_at: Set(now),
            })
        })
        .collect::<Result<Vec<_>, PortError>>()?;
    for batch in tombstones.chunks(TOMBSTONE_BATCH) {
        task_tombstone::Entity::insert_many(batch.to_vec())
            .exec_without_returning(&txn)
            .await
            .map_err(map_db_err)?;
    }
    txn.commit().await.map_err(map_db_err)?;
    Ok(u64::try_from(gone.len()).unwrap_or(u64::MAX))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sea_orm::IdenStatic;
    use todo_domain::TaskTitle;

    /// A get's statement, its SQL built once per backend, is the one SeaORM builds for the
    /// query with that task's values, whichever task was read first.
    #[test]
    fn get_statements_are_seaorms_with_each_tasks_values() {
        let tasks = [
            (UserId::parse("alice").unwrap(), uuid::Uuid::from_u128(1)),
            (
                UserId::parse("PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr").unwrap(),
                uuid::Uuid::from_u128(u128::MAX - 7),
            ),
        ];
        for backend in [DbBackend::Postgres, DbBackend::Sqlite, DbBackend::MySql] {
            for (owner, id) in &tasks {
                let id = TaskId::from_uuid(*id);
                assert_eq!(
                    find_owned_statement(backend, owner, id),
                    find_owned_query(owner, id).build(backend)
                );
            }
        }
        let (owner, id) = &tasks[1];
        let sql = find_owned_statement(DbBackend::Postgres, owner, TaskId::from_uuid(*id)).sql;
        assert!(
            sql.ends_with(
                r#" FROM "task" WHERE "task"."id" = $1 AND "task"."user_id" = $2 LIMIT $3"#
            ),
            "{sql}"
        );
    }

    /// A toggle's statement, its SQL built once per backend and shape (with or without a
    /// version to match), is the one built afresh for that task, time and version.
    #[test]
    fn toggle_statements_are_built_afresh_ones_with_each_tasks_values() {
        // Four tasks of different users at different times, two with a version to match.
        let owners: Vec<UserId> = (1..=4)
            .map(|n| UserId::parse(&format!("user{n}")).unwrap())
            .collect();
        let toggles: Vec<Toggle> = owners
            .iter()
            .zip(1_u16..)
            .map(|(owner, n)| Toggle {
                owner,
                id: TaskId::from_uuid(uuid::Uuid::from_u128(u128::from(n))),
                now: chrono::DateTime::from_timestamp(1_764_063_000 + i64::from(n), 123_456_000)
                    .unwrap(),
                expected: (n % 2 == 0).then_some(i64::from(n) + 5),
            })
            .collect();
        for backend in [DbBackend::Postgres, DbBackend::Sqlite, DbBackend::MySql] {
            for toggle in &toggles {
                assert_eq!(toggle.statement(backend), toggle.returning(backend));
            }
        }
        let sql = toggles.last().unwrap().statement(DbBackend::Postgres).sql;
        let columns: Vec<String> = Column::iter()
            .map(|c| format!(r#""{}""#, c.as_str()))
            .collect();
        assert!(
            sql.ends_with(&format!(
                r#" AND "task"."version" = $5 AND ("completed" OR "task"."recurrence" IS NULL) RETURNING {}"#,
                columns.join(", ")
            )),
            "{sql}"
        );
    }

    /// A move's write is the full replace, only at the version read and only while no
    /// other task of the owner lies strictly inside the gap (the moving one does not count).
    #[test]
    fn a_moves_write_is_conditional_on_its_gap_being_empty() {
        let mut t = Task::new(
            TaskId::from_uuid(uuid::Uuid::nil()),
            UserId::parse("alice").unwrap(),
            TaskTitle::parse("x").unwrap(),
            None,
            chrono::DateTime::UNIX_EPOCH,
        );
        t.position = todo_domain::Position::parse("c").unwrap();
        let position = |p: &str| todo_domain::Position::parse(p).unwrap();
        let inner = Gap {
            low: Some(position("V")),
            high: Some(position("k")),
        };
        let sql = move_statement(&t, 3, &inner).build(DbBackend::Postgres).sql;
        assert!(
            sql.ends_with(
                r#" WHERE "task"."id" = $20 AND "task"."user_id" = $21 AND "task"."version" = $22 AND (NOT EXISTS(SELECT 1 FROM "task" AS "other" WHERE "other"."user_id" = $23 AND "other"."id" <> $24 AND "other"."position" <> $25 AND "other"."position" > $26 AND "other"."position" < $27))"#
            ),
            "{sql}"
        );
        let top = Gap {
            low: None,
            high: Some(position("k")),
        };
        let sql = move_statement(&t, 3, &top).build(DbBackend::Sqlite).sql;
        assert!(
            sql.ends_with(r#" AND "other"."position" <> ? AND "other"."position" < ?))"#),
            "{sql}"
        );
    }

    /// bench/run.py has pgbench run these statements (plus the RETURNING clause SeaORM
    /// adds to the toggle: every column, in the entity's order): change it with them.
    #[test]
    fn create_and_toggle_are_the_statements_the_benchmark_mirrors() {
        let t = Task::new(
            TaskId::from_uuid(uuid::Uuid::nil()),
            UserId::parse("alice").unwrap(),
            TaskTitle::parse("x").unwrap(),
            None,
            chrono::DateTime::UNIX_EPOCH,
        );
        assert_eq!(
            task_write::Entity::insert(to_row(&t))
                .build(DbBackend::Postgres)
                .sql,
            r#"INSERT INTO "task" ("id", "user_id", "title", "description", "completed", "created_at", "updated_at", "priority", "tags", "due_at", "due_all_day", "remind_at", "completed_at", "recurrence", "time_zone", "occurrences_done", "version", "position", "series_time", "title_key", "search_key", "tags_key") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"#
        );
        assert_eq!(
            Toggle {
                owner: &t.owner,
                id: t.id,
                now: t.created_at,
                expected: None,
            }
            .update()
            .build(DbBackend::Postgres)
            .sql,
            r#"UPDATE "task" SET "completed" = NOT "completed", "completed_at" = (CASE WHEN ("completed") THEN NULL ELSE $1 END), "updated_at" = $2, "version" = "version" + 1 WHERE "task"."id" = $3 AND "task"."user_id" = $4 AND ("completed" OR "task"."recurrence" IS NULL)"#
        );
    }
}
