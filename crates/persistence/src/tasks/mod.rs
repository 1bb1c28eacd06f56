//! The task repository: `SeaTaskRepository`, and how it carries out each `TaskRepository` call.
//!
//! Its parts: `row` is a task's stored form, `filter` what a list selects and in which
//! order, and `statements` the statements of one task's reads and writes and of deletes.

use async_trait::async_trait;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    IntoSimpleExpr, QueryFilter, QueryOrder, QuerySelect, TransactionTrait, TryInsertResult,
};
use todo_application::ports::{IdempotentInsert, PortError, Purged, TaskRepository};
use todo_domain::{
    Change, DueWindow, Gap, IdempotencyKey, ListCursor, Priority, Sort, SortKey, Tags, Task,
    TaskFilter, TaskId, TaskQuery, TaskStats, TimeZone, Timestamp, Tombstone, UserId,
    merge_changes,
};

use crate::db::Db;
use crate::entities::task::{Column, Entity};
use crate::entities::{idempotency_key, task_tombstone, task_write};
use crate::error::{corrupt, map_db_err};

mod filter;
mod row;
mod statements;

use filter::{cursor_value, due_before_now, due_today, search_statement};
use row::{StatsRow, TaskRow, tags_from_stored, to_row};
use statements::{
    Toggle, delete_with_tombstones, find_owned, move_lock_statement, move_statement, owned_at,
    replace_statement,
};

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

    async fn move_into(&self, t: &Task, expected: i64, gap: &Gap) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let write = move_statement(t, expected, gap);
        if db.get_database_backend() == DbBackend::Postgres {
            // Under READ COMMITTED two moves into one gap would each see the other's task
            // not there yet: the owner's lock makes them take turns, and the write of the
            // second sees the first's, committed before the lock was released.
            let txn = db.begin().await.map_err(map_db_err)?;
            txn.execute_raw(move_lock_statement(&t.owner))
                .await
                .map_err(map_db_err)?;
            let result = write.exec(&txn).await.map_err(map_db_err)?;
            txn.commit().await.map_err(map_db_err)?;
            return Ok(result.rows_affected == 1);
        }
        // SQLite runs one writing statement at a time, from its first read to its last
        // write: the check and the write, one statement, cannot be interleaved.
        let result = write.exec(&*db).await.map_err(map_db_err)?;
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
    ) -> Result<Purged, PortError> {
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
        Ok(Purged {
            tombstones: tombstones.rows_affected,
            keys: keys.rows_affected,
        })
    }
}
