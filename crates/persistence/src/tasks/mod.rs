use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    IntoSimpleExpr, Iterable, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
    TransactionTrait, TryInsertResult, Value,
};
use todo_application::ports::{IdempotentInsert, PortError, TaskRepository};
use todo_domain::{
    Change, DueWindow, IdempotencyKey, ListCursor, Priority, Sort, SortKey, Tags, Task, TaskFilter,
    TaskId, TaskQuery, TaskStats, TimeZone, Timestamp, Tombstone, UserId, merge_changes,
};

use crate::db::Db;
use crate::entities::task::{Column, Entity};
use crate::entities::{idempotency_key, task_tombstone, task_write};
use crate::error::{corrupt, map_db_err};
use crate::sql_cache::SqlCache;

mod filter;
mod row;

use filter::{cursor_value, due_before_now, due_today, search_statement};
use row::{StatsRow, TaskRow, tags_from_stored, to_row};

/// Tasks in the `task` table; every query is scoped by owner.
pub struct SeaTaskRepository {
    db: Db,
}

impl SeaTaskRepository {
    #[must_use]
    pub fn new(db: impl Into<Db>) -> Self {
        Self { db: db.into() }
    }
}

/// `owner`'s task `id`, if there is one.
async fn find_owned(
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
fn owned_at(owner: &UserId, id: TaskId, expected: Option<i64>) -> Condition {
    owned(owner, id).add_option(expected.map(|v| Column::Version.eq(v)))
}

/// The conditional write of every mutable column of `t` (not its id, owner or creation
/// time) if its stored version is `expected`.
fn replace_statement(t: &Task, expected: i64) -> sea_orm::UpdateMany<task_write::Entity> {
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

/// A toggle of `owner`'s task `id` at `now`, only at version `expected` when given.
struct Toggle<'a> {
    owner: &'a UserId,
    id: TaskId,
    now: Timestamp,
    expected: Option<i64>,
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
    fn statement(&self, backend: DbBackend) -> Statement {
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

#[async_trait]
impl TaskRepository for SeaTaskRepository {
    async fn insert(&self, t: &Task) -> Result<(), PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        task_write::Entity::insert(to_row(t))
            .exec_without_returning(&*db)
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn get(&self, owner: &UserId, id: TaskId) -> Result<Option<Task>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        find_owned(&*db, owner, id).await
    }

    async fn search(
        &self,
        owner: &UserId,
        query: &TaskQuery,
        limit: u32,
        after: Option<ListCursor>,
    ) -> Result<Vec<Task>, PortError> {
        let select = search_statement(owner, query, limit, after.as_ref())?.into_model::<TaskRow>();
        let db = self.db.conn().await.map_err(map_db_err)?;
        // The plain list has one plan for every owner: the `(user_id, created_at, id)` index.
        let rows = if db.get_database_backend() == DbBackend::Postgres && !query.is_plain() {
            // The statement is prepared once per connection; after five executions
            // PostgreSQL would plan it once for any owner, as if every owner had the
            // average number of tasks, and for an owner with thousands it then sorts them
            // all instead of walking the sort's index. Planned with this owner's values every
            // time, in a transaction so that the setting ends with it (and survives a
            // transaction-mode pooler).
            let txn = db.begin().await.map_err(map_db_err)?;
            txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
                .await
                .map_err(map_db_err)?;
            let rows = select.all(&txn).await.map_err(map_db_err)?;
            txn.commit().await.map_err(map_db_err)?;
            rows
        } else {
            select.all(&*db).await.map_err(map_db_err)?
        };
        rows.into_iter().map(TaskRow::task).collect()
    }

    async fn replace(&self, t: &Task, expected: i64) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let result = replace_statement(t, expected)
            .exec(&*db)
            .await
            .map_err(map_db_err)?;
        Ok(result.rows_affected == 1)
    }

    async fn toggle_completed(
        &self,
        owner: &UserId,
        id: TaskId,
        now: Timestamp,
        expected: Option<i64>,
    ) -> Result<Option<Task>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let toggle = Toggle {
            owner,
            id,
            now,
            expected,
        };
        TaskRow::find_by_statement(toggle.statement(db.get_database_backend()))
            .all(&*db)
            .await
            .map_err(map_db_err)?
            .into_iter()
            .next()
            .map(TaskRow::task)
            .transpose()
    }

    async fn complete_occurrence(
        &self,
        finished: &Task,
        next: &Task,
        expected: i64,
    ) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = db.begin().await.map_err(map_db_err)?;
        let advanced = replace_statement(next, expected)
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        if advanced.rows_affected != 1 {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        // A failure drops the transaction, which rolls it back.
        task_write::Entity::insert(to_row(finished))
            .exec_without_returning(&txn)
            .await
            .map_err(map_db_err)?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(true)
    }

    async fn delete(
        &self,
        owner: &UserId,
        id: TaskId,
        expected: Option<i64>,
        now: Timestamp,
    ) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let deleted = delete_with_tombstones(&db, owned_at(owner, id, expected), now).await?;
        Ok(deleted > 0)
    }

    async fn delete_completed(&self, owner: &UserId, now: Timestamp) -> Result<u64, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let completed = Condition::all()
            .add(Column::UserId.eq(owner.as_str()))
            .add(Column::Completed.eq(true));
        delete_with_tombstones(&db, completed, now).await
    }

    async fn changes(
        &self,
        owner: &UserId,
        since: Timestamp,
        limit: u32,
        after: Option<ListCursor>,
    ) -> Result<Vec<Change>, PortError> {
        // The changed tasks are the list `updated_since=since&sort=updated_at`.
        let changed = TaskQuery {
            filter: TaskFilter {
                updated_since: Some(since),
                ..TaskFilter::default()
            },
            sort: Sort::SYNC,
            window: DueWindow::at(since, TimeZone::UTC),
        };
        let tasks = search_statement(owner, &changed, limit, after.as_ref())?;
        let mut tombstones = task_tombstone::Entity::find()
            .filter(task_tombstone::Column::UserId.eq(owner.as_str()))
            .filter(task_tombstone::Column::DeletedAt.gte(since));
        if let Some(cursor) = &after
            && let Some(value) = cursor_value(SortKey::UpdatedAt, &cursor.value)?
        {
            tombstones = tombstones.filter(
                Expr::tuple([
                    task_tombstone::Column::DeletedAt.into_simple_expr(),
                    task_tombstone::Column::Id.into_simple_expr(),
                ])
                .gt(Expr::tuple([
                    Expr::val(value),
                    Expr::val(cursor.id.as_uuid()),
                ])),
            );
        }
        let db = self.db.conn().await.map_err(map_db_err)?;
        let tasks = tasks
            .into_model::<TaskRow>()
            .all(&*db)
            .await
            .map_err(map_db_err)?
            .into_iter()
            .map(TaskRow::task)
            .collect::<Result<Vec<_>, _>>()?;
        let tombstones = tombstones
            .order_by_asc(task_tombstone::Column::DeletedAt)
            .order_by_asc(task_tombstone::Column::Id)
            .limit(u64::from(limit))
            .all(&*db)
            .await
            .map_err(map_db_err)?
            .into_iter()
            .map(|row| {
                Ok(Tombstone {
                    id: TaskId::from_uuid(row.id),
                    owner: UserId::parse(&row.user_id).map_err(|e| corrupt("user id", e))?,
                    deleted_at: row.deleted_at,
                })
            })
            .collect::<Result<Vec<_>, PortError>>()?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(merge_changes(tasks, tombstones, limit))
    }

    async fn tag_lists(&self, owner: &UserId) -> Result<Vec<(Tags, u64)>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let rows: Vec<(String, i64)> = Entity::find()
            .select_only()
            .column(Column::Tags)
            .expr_as(Func::count(Expr::col(Column::Id)), "n")
            .filter(Column::UserId.eq(owner.as_str()))
            .filter(Column::Tags.ne(""))
            .group_by(Column::Tags)
            .into_tuple()
            .all(&*db)
            .await
            .map_err(map_db_err)?;
        rows.into_iter()
            .map(|(stored, n)| {
                let count = u64::try_from(n).map_err(|_| corrupt("tag count", n))?;
                Ok((tags_from_stored(&stored)?, count))
            })
            .collect()
    }

    async fn stats(&self, owner: &UserId, window: &DueWindow) -> Result<TaskStats, PortError> {
        let open = || Column::Completed.eq(false);
        let open_with = |priority: Option<Priority>| {
            Condition::all().add(open()).add(match priority {
                Some(p) => Column::Priority.eq(p.rank()),
                None => Column::Priority.is_null(),
            })
        };
        let counted = [
            ("pending", Condition::all().add(open())),
            (
                "completed",
                Condition::all().add(Column::Completed.eq(true)),
            ),
            ("high", open_with(Some(Priority::High))),
            ("medium", open_with(Some(Priority::Medium))),
            ("low", open_with(Some(Priority::Low))),
            ("no_priority", open_with(None)),
            (
                "overdue",
                Condition::all().add(open()).add(due_before_now(window)),
            ),
            ("due_today", due_today(window)),
        ];
        let mut select = Entity::find()
            .select_only()
            .expr_as(Func::count(Expr::col(Column::Id)), "total")
            .filter(Column::UserId.eq(owner.as_str()));
        for (name, condition) in counted {
            let one_if: Expr = Expr::case(condition, Expr::cust("1"))
                .finally(Expr::cust("0"))
                .into();
            select = select.expr_as(
                Func::coalesce([Func::sum(one_if).into(), Expr::cust("0")]),
                name,
            );
        }
        let db = self.db.conn().await.map_err(map_db_err)?;
        let row = select
            .into_model::<StatsRow>()
            .one(&*db)
            .await
            .map_err(map_db_err)?
            .unwrap_or_default();
        let n = |v: i64| u64::try_from(v).map_err(|_| corrupt("count", v));
        Ok(TaskStats {
            total: n(row.total)?,
            pending: n(row.pending)?,
            completed: n(row.completed)?,
            pending_high: n(row.high)?,
            pending_medium: n(row.medium)?,
            pending_low: n(row.low)?,
            pending_no_priority: n(row.no_priority)?,
            overdue: n(row.overdue)?,
            due_today: n(row.due_today)?,
        })
    }

    async fn insert_idempotent(
        &self,
        t: &Task,
        key: &IdempotencyKey,
        fingerprint: &str,
        expired_before: Timestamp,
    ) -> Result<IdempotentInsert, PortError> {
        use idempotency_key::{ActiveModel as KeyRow, Column as K, Entity as Keys};
        let owner = t.owner.as_str();
        let this_key = || {
            Condition::all()
                .add(K::UserId.eq(owner))
                .add(K::Key.eq(key.as_str()))
        };
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = db.begin().await.map_err(map_db_err)?;
        // A key used longer ago than the window is free again.
        Keys::delete_many()
            .filter(this_key().add(K::CreatedAt.lt(expired_before)))
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        // A concurrent request with the same key waits here (PostgreSQL: on the primary
        // key; SQLite: on the write lock) until the first commits, then finds its row.
        let claimed = Keys::insert(KeyRow {
            user_id: Set(owner.to_owned()),
            key: Set(key.as_str().to_owned()),
            fingerprint: Set(fingerprint.to_owned()),
            task_id: Set(t.id.as_uuid()),
            created_at: Set(t.created_at),
        })
        .on_conflict_do_nothing_on([K::UserId, K::Key])
        .exec_without_returning(&txn)
        .await
        .map_err(map_db_err)?;
        if matches!(claimed, TryInsertResult::Inserted(1)) {
            // A failure drops the transaction, which rolls the key back with it.
            task_write::Entity::insert(to_row(t))
                .exec_without_returning(&txn)
                .await
                .map_err(map_db_err)?;
            txn.commit().await.map_err(map_db_err)?;
            return Ok(IdempotentInsert::Inserted);
        }
        let used = Keys::find()
            .filter(this_key())
            .one(&txn)
            .await
            .map_err(map_db_err)?
            .ok_or_else(|| corrupt("idempotency key", "conflicted but cannot be read"))?;
        let task = find_owned(&txn, &t.owner, TaskId::from_uuid(used.task_id)).await?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(IdempotentInsert::Existing {
            fingerprint: used.fingerprint,
            task,
        })
    }

    async fn purge(
        &self,
        tombstones_before: Timestamp,
        keys_before: Timestamp,
    ) -> Result<(u64, u64), PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let tombstones = task_tombstone::Entity::delete_many()
            .filter(task_tombstone::Column::DeletedAt.lt(tombstones_before))
            .exec(&*db)
            .await
            .map_err(map_db_err)?;
        let keys = idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::CreatedAt.lt(keys_before))
            .exec(&*db)
            .await
            .map_err(map_db_err)?;
        Ok((tombstones.rows_affected, keys.rows_affected))
    }
}

/// Tombstones written per statement on SQLite (three parameters each).
const TOMBSTONE_BATCH: usize = 300;

/// Deletes the tasks `condition` selects and records a tombstone for each, deleted at
/// `now`, atomically: in one statement on PostgreSQL (a data-modifying `WITH`), in a
/// transaction on SQLite (which has no such statement). How many were deleted.
async fn delete_with_tombstones(
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
    use sea_orm::{DbBackend, IdenStatic};
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
