//! The task repository: `SeaTaskRepository`, and how it carries out each `TaskRepository` call.
//!
//! Its parts: `row` is a task's stored form, `filter` what a list selects and in which
//! order, and `statements` the statements of one task's reads and writes and of deletes.

use async_trait::async_trait;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, QueryTrait, TransactionTrait, TryInsertResult,
};
use todo_application::ports::{IdempotentInsert, Lineage, PortError, Purged, TaskRepository};
use todo_domain::{
    Change, ChangeKind, DueWindow, Edit, Gap, IdempotencyKey, ListCursor, ListId, Priority, Role,
    Sort, SortKey, Tags, Task, TaskFilter, TaskId, TaskQuery, TaskStats, TimeZone, Timestamp,
    Tombstone, UserId, merge_changes,
};

use crate::changelog;
use crate::db::Db;
use crate::entities::task::{Column, Entity};
use crate::entities::{idempotency_key, list_access_lost, task_tombstone, task_write};
use crate::error::{corrupt, map_db_err};
use crate::raw::{Raw, begin_write};

mod access;
mod filter;
mod row;
mod statements;

use access::{Lists, visible};
use filter::{
    SPELLED_LISTS, cursor_value, due_before_now, due_today, plain_statement, search_statement,
    searched_lists, spelled_statement,
};
use row::{StatsRow, TaskRow, tags_from_stored, to_row};
use statements::{
    Toggle, at_version, before_write, cascade, delete_with_tombstones, find_visible,
    find_visible_now, insert_statement, move_lock_statement, move_statement, replace_statement,
};

/// Tasks in the `task` table; every read is scoped to the lists of its caller.
pub struct SeaTaskRepository {
    db: Db,
}

impl SeaTaskRepository {
    #[must_use]
    pub fn new(db: impl Into<Db>) -> Self {
        Self { db: db.into() }
    }
}

/// The rows of a filtered search on PostgreSQL, in `txn`: the caller's lists first, then
/// a page of each (named one by one, up to [`SPELLED_LISTS`]).
async fn spelled_search(
    txn: &sea_orm::DatabaseTransaction,
    owner: &UserId,
    query: &TaskQuery,
    limit: u32,
    after: Option<&ListCursor>,
) -> Result<Vec<TaskRow>, PortError> {
    let backend = txn.get_database_backend();
    // `SET LOCAL plan_cache_mode = force_custom_plan` in the same round trip (once per list
    // read; without any, no statement follows).
    let mut read = searched_lists(owner, &query.filter);
    read.expr(Expr::cust(
        "set_config('plan_cache_mode', 'force_custom_plan', true)",
    ));
    let lists = txn
        .query_all_raw(backend.build(&read))
        .await
        .map_err(map_db_err)?
        .iter()
        .map(|row| row.try_get::<uuid::Uuid>("", "list_id"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(map_db_err)?;
    if lists.is_empty() {
        return Ok(Vec::new());
    }
    let statement = if lists.len() <= SPELLED_LISTS {
        spelled_statement(&lists, query, limit, after)?
    } else {
        search_statement(backend, owner, query, limit, after)?
    };
    TaskRow::find_by_statement(backend.build(&statement))
        .all(txn)
        .await
        .map_err(map_db_err)
}

#[async_trait]
impl TaskRepository for SeaTaskRepository {
    async fn insert(&self, t: &Task, max_open: Option<u32>) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.backend();
        let statement = insert_statement(backend, t, max_open);
        let edit = Edit::created(t);
        let written = if backend == DbBackend::Postgres {
            // The insert and its record, one statement: as many records as tasks.
            let statement = changelog::recording_write(statement, &edit, t.created_at);
            crate::direct::execute(&db, statement)
                .await
                .map_err(map_db_err)?
                == 1
        } else {
            let txn = begin_write(&db).await?;
            let written = txn.execute_raw(statement).await.map_err(map_db_err)?;
            if written.rows_affected() == 1 {
                record_task(&txn, &edit, t.id, t.created_at).await?;
            }
            txn.commit().await.map_err(map_db_err)?;
            written.rows_affected() == 1
        };
        if written {
            self.db.written();
        }
        Ok(written)
    }

    async fn get(&self, caller: &UserId, id: TaskId) -> Result<Option<(Task, Role)>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        find_visible_now(&db, caller, id).await
    }

    async fn search(
        &self,
        owner: &UserId,
        query: &TaskQuery,
        limit: u32,
        after: Option<ListCursor>,
    ) -> Result<Vec<Task>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.backend();
        if backend != DbBackend::Postgres || query.is_plain() {
            // The plain list has one plan for every caller: their lists, then the
            // `(list_id, created_at, id)` index of each.
            let statement = if query.is_plain() {
                plain_statement(backend, owner, limit, after.as_ref())?
            } else {
                backend.build(&search_statement(
                    backend,
                    owner,
                    query,
                    limit,
                    after.as_ref(),
                )?)
            };
            return crate::direct::all(&db, statement)
                .await
                .map_err(map_db_err)?
                .iter()
                .map(TaskRow::read)
                .collect();
        }
        // A filtered search is planned with this caller's values every time: the statement
        // is prepared once per connection, and after five executions PostgreSQL would plan
        // it once for any caller, as if every list had the average number of tasks; for a
        // list of thousands it then sorts them all instead of walking the sort's index.
        // Its lists are read first and named as values (up to `SPELLED_LISTS`), so that
        // each list's page is planned with that list's statistics. In a transaction, so
        // that the setting (made by the read of the lists) ends with it and survives a
        // transaction-mode pooler.
        let txn = db.begin().await.map_err(map_db_err)?;
        // Ended here on every path: a transaction left open on an error would hold its
        // connection until it is dropped.
        let rows = match spelled_search(&txn, owner, query, limit, after.as_ref()).await {
            Ok(rows) => rows,
            Err(e) => {
                txn.rollback().await.map_err(map_db_err)?;
                return Err(e);
            }
        };
        txn.commit().await.map_err(map_db_err)?;
        rows.into_iter().map(TaskRow::task).collect()
    }

    async fn replace(&self, t: &Task, expected: i64, edit: &Edit) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.backend();
        // Most writes leave the task in its list and complete nothing: one statement,
        // conditional on that too (with its record, on PostgreSQL).
        // `completed >= t.completed`: for a completed task, only while it was completed
        // already; for an open one, always (one statement text for both, prepared once).
        let nothing_follows = replace_statement(t, expected)
            .filter(
                Condition::all()
                    .add(task_write::Column::ListId.eq(t.list.as_uuid()))
                    .add(task_write::Column::Completed.gte(t.completed)),
            )
            .build(backend);
        if backend == DbBackend::Postgres {
            let statement = changelog::recording_write(nothing_follows, edit, t.updated_at);
            if crate::direct::execute(&db, statement)
                .await
                .map_err(map_db_err)?
                == 1
            {
                self.db.written();
                return Ok(true);
            }
        } else {
            let txn = begin_write(&db).await?;
            let written = txn.execute_raw(nothing_follows).await.map_err(map_db_err)?;
            if written.rows_affected() == 1 {
                record_task(&txn, edit, t.id, t.updated_at).await?;
                txn.commit().await.map_err(map_db_err)?;
                self.db.written();
                return Ok(true);
            }
            txn.rollback().await.map_err(map_db_err)?;
        }
        // Else the row as it is (locked on PostgreSQL until the end), to know what
        // follows from the write: its version only grows, so the write at `expected`
        // writes over exactly what was read.
        let txn = begin_write(&db).await?;
        let Some(before) = before_write(&txn, t.id, expected).await? else {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        };
        let result = replace_statement(t, expected)
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        if result.rows_affected != 1 {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        record_task(&txn, edit, t.id, t.updated_at).await?;
        cascade(&txn, t, before, edit).await?;
        txn.commit().await.map_err(map_db_err)?;
        self.db.written();
        Ok(true)
    }

    async fn lineage(&self, id: TaskId, limit: u32) -> Result<Lineage, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.backend();
        let mut raw = Raw::new(backend);
        let up = format!(
            "WITH RECURSIVE up(id, parent_id, depth) AS (\
             SELECT id, parent_id, 0 FROM task WHERE id = {} \
             UNION ALL SELECT t.id, t.parent_id, up.depth + 1 FROM task t \
             JOIN up ON t.id = up.parent_id WHERE up.depth < {}) \
             SELECT id FROM up WHERE depth > 0 ORDER BY depth",
            raw.p(id.as_uuid()),
            raw.p(i64::from(limit)),
        );
        let ancestors = db
            .query_all_raw(raw.statement(up))
            .await
            .map_err(map_db_err)?
            .iter()
            .map(|row| row.try_get("", "id").map(TaskId::from_uuid))
            .collect::<Result<Vec<_>, _>>()
            .map_err(map_db_err)?;
        let mut raw = Raw::new(backend);
        let down = format!(
            "WITH RECURSIVE down(id, depth) AS (\
             SELECT id, 0 FROM task WHERE id = {} \
             UNION ALL SELECT t.id, down.depth + 1 FROM task t \
             JOIN down ON t.parent_id = down.id WHERE down.depth < {}) \
             SELECT CAST(COALESCE(MAX(depth), 0) AS BIGINT) AS depth FROM down",
            raw.p(id.as_uuid()),
            raw.p(i64::from(limit)),
        );
        let depth: i64 = match db
            .query_one_raw(raw.statement(down))
            .await
            .map_err(map_db_err)?
        {
            Some(row) => row.try_get("", "depth").map_err(map_db_err)?,
            None => 0,
        };
        Ok(Lineage {
            ancestors,
            depth_below: u32::try_from(depth).map_err(|_| corrupt("depth", depth))?,
        })
    }

    async fn open_in_list(&self, list: ListId) -> Result<u64, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let n: Option<i64> = Entity::find()
            .select_only()
            .expr_as(Func::count(Expr::col(Column::Id)), "n")
            .filter(Column::ListId.eq(list.as_uuid()))
            .filter(Column::Completed.eq(false))
            .into_tuple()
            .one(&*db)
            .await
            .map_err(map_db_err)?;
        let n = n.unwrap_or(0);
        u64::try_from(n).map_err(|_| corrupt("count", n))
    }

    async fn move_into(
        &self,
        t: &Task,
        expected: i64,
        gap: &Gap,
        edit: &Edit,
    ) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let write = move_statement(t, expected, gap);
        // SQLite: the write transaction runs one writer at a time, from its first read to
        // its last write: the check and the write cannot be interleaved.
        let txn = begin_write(&db).await?;
        if db.backend() == DbBackend::Postgres {
            // Under READ COMMITTED two moves into one gap would each see the other's task
            // not there yet: the list's lock makes them take turns, and the write of the
            // second sees the first's, committed before the lock was released.
            txn.execute_raw(move_lock_statement(t.list))
                .await
                .map_err(map_db_err)?;
        }
        let result = write.exec(&txn).await.map_err(map_db_err)?;
        if result.rows_affected != 1 {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        record_task(&txn, edit, t.id, t.updated_at).await?;
        txn.commit().await.map_err(map_db_err)?;
        self.db.written();
        Ok(true)
    }

    async fn toggle_completed(
        &self,
        caller: &UserId,
        id: TaskId,
        now: Timestamp,
        expected: Option<i64>,
    ) -> Result<Option<Task>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let toggle = Toggle {
            caller,
            id,
            now,
            expected,
        };
        let backend = db.backend();
        let statement = toggle.statement(backend);
        let toggled = if backend == DbBackend::Postgres {
            let statement = changelog::recording_toggle(
                statement,
                &Edit::toggled(caller, true),
                &Edit::toggled(caller, false),
                now,
            );
            crate::direct::one(&db, statement)
                .await
                .map_err(map_db_err)?
                .as_ref()
                .map(TaskRow::read)
                .transpose()?
        } else {
            let txn = begin_write(&db).await?;
            let row = txn.query_one_raw(statement).await.map_err(map_db_err)?;
            let toggled = row.as_ref().map(TaskRow::read).transpose()?;
            if let Some(task) = &toggled {
                record_task(&txn, &Edit::toggled(caller, task.completed), task.id, now).await?;
            }
            txn.commit().await.map_err(map_db_err)?;
            toggled
        };
        if toggled.is_some() {
            self.db.written();
        }
        Ok(toggled)
    }

    async fn complete_occurrence(
        &self,
        finished: &Task,
        next: &Task,
        expected: i64,
        edit: &Edit,
    ) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let txn = begin_write(&db).await?;
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
        record_task(&txn, edit, next.id, next.updated_at).await?;
        let created = Edit::new(ChangeKind::TaskCreated, edit.actor.clone(), Vec::new());
        record_task(&txn, &created, finished.id, finished.created_at).await?;
        txn.commit().await.map_err(map_db_err)?;
        self.db.written();
        Ok(true)
    }

    async fn delete(
        &self,
        caller: &UserId,
        id: TaskId,
        expected: Option<i64>,
        now: Timestamp,
    ) -> Result<bool, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let root = at_version(id, expected).add(visible(caller, Lists::Editable));
        let deleted = delete_with_tombstones(&db, root, now, caller).await?;
        if deleted > 0 {
            self.db.written();
        }
        Ok(deleted > 0)
    }

    async fn delete_completed(&self, caller: &UserId, now: Timestamp) -> Result<u64, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let completed = Condition::all()
            .add(visible(caller, Lists::Editable))
            .add(Column::Completed.eq(true));
        let deleted = delete_with_tombstones(&db, completed, now, caller).await?;
        if deleted > 0 {
            self.db.written();
        }
        Ok(deleted)
    }

    async fn changes(
        &self,
        caller: &UserId,
        since: Timestamp,
        limit: u32,
        after: Option<ListCursor>,
    ) -> Result<Vec<Change>, PortError> {
        // The changed tasks are the list `updated_since=since&sort=updated_at`, archived
        // lists included.
        let changed = TaskQuery {
            filter: TaskFilter {
                updated_since: Some(since),
                archived: true,
                ..TaskFilter::default()
            },
            sort: Sort::SYNC,
            window: DueWindow::at(since, TimeZone::UTC),
        };
        let db = self.db.conn().await.map_err(map_db_err)?;
        let backend = db.backend();
        let tasks = search_statement(backend, caller, &changed, limit, after.as_ref())?;
        let tombstones = tombstones_statement(backend, caller, since, limit, after.as_ref())?;
        let tasks = TaskRow::find_by_statement(backend.build(&tasks))
            .all(&*db)
            .await
            .map_err(map_db_err)?
            .into_iter()
            .map(TaskRow::task)
            .collect::<Result<Vec<_>, _>>()?;
        let tombstones = db
            .query_all_raw(tombstones)
            .await
            .map_err(map_db_err)?
            .iter()
            .map(|row| {
                let user_id: String = row.try_get("", "user_id").map_err(map_db_err)?;
                Ok(Tombstone {
                    id: TaskId::from_uuid(row.try_get("", "id").map_err(map_db_err)?),
                    owner: UserId::parse(&user_id).map_err(|e| corrupt("user id", e))?,
                    deleted_at: row.try_get("", "deleted_at").map_err(map_db_err)?,
                })
            })
            .collect::<Result<Vec<_>, PortError>>()?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(merge_changes(tasks, tombstones, limit))
    }

    async fn tag_lists(&self, caller: &UserId) -> Result<Vec<(Tags, u64)>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        let rows: Vec<(String, i64)> = Entity::find()
            .select_only()
            .column(Column::Tags)
            .expr_as(Func::count(Expr::col(Column::Id)), "n")
            .filter(visible(caller, Lists::Unarchived))
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

    async fn stats(&self, caller: &UserId, window: &DueWindow) -> Result<TaskStats, PortError> {
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
            .filter(visible(caller, Lists::Unarchived));
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
        max_open: Option<u32>,
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
            let statement = insert_statement(txn.get_database_backend(), t, max_open);
            let result = txn.execute_raw(statement).await.map_err(map_db_err)?;
            if result.rows_affected() != 1 {
                txn.rollback().await.map_err(map_db_err)?;
                return Ok(IdempotentInsert::Full);
            }
            record_task(&txn, &Edit::created(t), t.id, t.created_at).await?;
            txn.commit().await.map_err(map_db_err)?;
            self.db.written();
            return Ok(IdempotentInsert::Inserted);
        }
        let used = Keys::find()
            .filter(this_key())
            .one(&txn)
            .await
            .map_err(map_db_err)?
            .ok_or_else(|| corrupt("idempotency key", "conflicted but cannot be read"))?;
        let task = find_visible(&txn, &t.owner, TaskId::from_uuid(used.task_id))
            .await?
            .map(|(task, _)| task);
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
        list_access_lost::Entity::delete_many()
            .filter(list_access_lost::Column::LostAt.lt(tombstones_before))
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

/// Appends `edit`'s record of task `id` as it is now, at `at`, in `txn`.
async fn record_task(
    txn: &impl ConnectionTrait,
    edit: &Edit,
    id: TaskId,
    at: Timestamp,
) -> Result<(), PortError> {
    changelog::record_tasks(txn, edit, at, |raw| format!("id = {}", raw.p(id.as_uuid()))).await
}

/// The tombstones of `caller`'s sync feed, in `(deleted_at, id)` order: those of tasks
/// deleted from their lists (or, deleted before lists existed, their own), and for each
/// list they lost access to (and are not a member of again), one at the last such
/// instant for every task it holds or held.
fn tombstones_statement(
    backend: sea_orm::DbBackend,
    caller: &UserId,
    since: Timestamp,
    limit: u32,
    after: Option<&ListCursor>,
) -> Result<sea_orm::Statement, PortError> {
    let mut raw = Raw::new(backend);
    let lost = |raw: &mut Raw| {
        format!(
            "(SELECT a.list_id, MAX(a.lost_at) AS lost_at FROM list_access_lost a \
             WHERE a.user_id = {} AND a.list_id NOT IN \
             (SELECT list_id FROM list_member WHERE user_id = {}) GROUP BY a.list_id)",
            raw.p(caller.as_str()),
            raw.p(caller.as_str()),
        )
    };
    let deleted = format!(
        "SELECT t.id, t.user_id, t.deleted_at FROM task_tombstone t \
         WHERE t.list_id IN (SELECT list_id FROM list_member WHERE user_id = {}) \
         OR (t.list_id IS NULL AND t.user_id = {})",
        raw.p(caller.as_str()),
        raw.p(caller.as_str()),
    );
    let held = format!(
        "SELECT k.id, k.user_id, g.lost_at AS deleted_at FROM {} g JOIN task k ON k.list_id = g.list_id",
        lost(&mut raw)
    );
    let gone = format!(
        "SELECT t.id, t.user_id, g.lost_at AS deleted_at FROM {} g \
         JOIN task_tombstone t ON t.list_id = g.list_id",
        lost(&mut raw)
    );
    let mut sql = format!(
        "SELECT x.id, x.user_id, x.deleted_at FROM ({deleted} UNION ALL {held} UNION ALL {gone}) x \
         WHERE x.deleted_at >= {}",
        raw.p(since)
    );
    if let Some(cursor) = after
        && let Some(value) = cursor_value(SortKey::UpdatedAt, &cursor.value)?
    {
        let v1 = raw.p(value.clone());
        let v2 = raw.p(value);
        let id = raw.p(cursor.id.as_uuid());
        sql.push_str(&format!(
            " AND (x.deleted_at > {v1} OR (x.deleted_at = {v2} AND x.id > {id}))"
        ));
    }
    sql.push_str(&format!(
        " ORDER BY x.deleted_at, x.id LIMIT {}",
        raw.p(i64::from(limit))
    ));
    Ok(raw.statement(sql))
}
