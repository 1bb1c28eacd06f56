//! The statements of one task's reads and writes, and of deleting tasks with their
//! subtasks and tombstones.

use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, OnConflict, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    Iterable, QueryFilter, QueryResult, QuerySelect, QueryTrait, Statement, Value,
};
use todo_application::ports::PortError;
use todo_domain::{Edit, Gap, ListId, Role, Task, TaskId, Timestamp, UserId};

use super::access::{Lists, no_open_subtask, visible};
use super::filter::tasks;
use super::row::{SUBTASKS, TaskRow, to_row};
use crate::changelog;
use crate::entities::task::{Column, Entity};
use crate::entities::{list_member, task_tombstone, task_write};
use crate::error::{corrupt, map_db_err};
use crate::raw::{Raw, begin_write};
use crate::sql_cache::SqlCache;

/// A task read with the reader's role in its list.
struct GetRow(TaskRow, String);

/// The name the reader's role is selected as.
const ROLE: &str = "role";

impl FromQueryResult for GetRow {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        let role = match res.try_as_pg_row().filter(|_| pre.is_empty()) {
            Some(row) => super::row::after_columns(row, 1, ROLE)?,
            None => res.try_get(pre, ROLE)?,
        };
        Ok(Self(TaskRow::from_query_result(res, pre)?, role))
    }
}

/// Task `id` with `caller`'s role in its list, if there is one and they are a member.
pub(super) async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &UserId,
    id: TaskId,
) -> Result<Option<(Task, Role)>, PortError> {
    let statement = find_visible_statement(conn.get_database_backend(), caller, id);
    let found = conn.query_one_raw(statement).await.map_err(map_db_err)?;
    found.as_ref().map(task_and_role).transpose()
}

/// [`find_visible`] outside a transaction, on PostgreSQL straight on the pool
/// ([`crate::direct`]).
pub(super) async fn find_visible_now(
    db: &crate::db::Conn,
    caller: &UserId,
    id: TaskId,
) -> Result<Option<(Task, Role)>, PortError> {
    let statement = find_visible_statement(db.backend(), caller, id);
    let found = crate::direct::one(db, statement)
        .await
        .map_err(map_db_err)?;
    found.as_ref().map(task_and_role).transpose()
}

/// A row of [`find_visible_statement`].
fn task_and_role(found: &QueryResult) -> Result<(Task, Role), PortError> {
    let GetRow(row, role) = GetRow::from_query_result(found, "").map_err(map_db_err)?;
    let role = Role::from_stored(&role).ok_or_else(|| corrupt("role", role))?;
    Ok((row.task()?, role))
}

/// The insert of `t`: a plain one, or, with `max_open`, one that writes nothing when
/// `t`'s list holds that many open tasks already (`INSERT … SELECT … WHERE NOT EXISTS`
/// the `max_open`-th open task: the scan stops there, and costs little for a list far from
/// the limit). Its SQL is written once per backend and shape ([`built_insert`] is the
/// statement built afresh, which a test holds it equal to).
pub(super) fn insert_statement(backend: DbBackend, t: &Task, max_open: Option<u32>) -> Statement {
    static PLAIN: SqlCache = SqlCache::new();
    static LIMITED: SqlCache = SqlCache::new();
    let row = to_row(t);
    let mut values: Vec<Value> = task_write::Column::iter()
        .filter_map(|c| sea_orm::ActiveModelTrait::get(&row, c).into_value())
        .collect();
    let Some(max) = max_open else {
        return PLAIN.statement(backend, values, || built_insert(backend, t, None));
    };
    values.extend([
        Value::from(1_i32),
        Value::from(t.list.as_uuid()),
        Value::from(false),
        Value::from(1_u64),
        Value::from(u64::from(max.saturating_sub(1))),
    ]);
    LIMITED.statement(backend, values, || built_insert(backend, t, max_open))
}

/// [`insert_statement`], built by SeaORM and sea-query for this task.
fn built_insert(backend: DbBackend, t: &Task, max_open: Option<u32>) -> Statement {
    let Some(max) = max_open else {
        return task_write::Entity::insert(to_row(t)).build(backend);
    };
    let row = to_row(t);
    let mut columns = Vec::new();
    let mut values = Vec::new();
    for column in task_write::Column::iter() {
        if let Some(value) = sea_orm::ActiveModelTrait::get(&row, column).into_value() {
            columns.push(column);
            values.push(Expr::val(value));
        }
    }
    // Room while there is no `max`-th open task: the scan stops there.
    let full = Query::select()
        .expr(Expr::val(1))
        .from(Entity)
        .and_where(Column::ListId.eq(t.list.as_uuid()))
        .and_where(Column::Completed.eq(false))
        .limit(1)
        .offset(u64::from(max.saturating_sub(1)))
        .to_owned();
    let room = Expr::exists(full).not();
    let select = Query::select().exprs(values).and_where(room).to_owned();
    let mut statement = Query::insert();
    statement.into_table(task_write::Entity).columns(columns);
    match statement.select_from(select) {
        Ok(statement) => backend.build(&statement.to_owned()),
        // Only when the columns and the values differ in number, which they cannot.
        Err(_) => task_write::Entity::insert(to_row(t)).build(backend),
    }
}

/// The query of [`find_visible`], as SeaORM writes it: the task joined with the
/// caller's membership of its list.
fn find_visible_query(caller: &UserId, id: TaskId) -> sea_orm::Select<Entity> {
    let m = Alias::new("m");
    let mut select = tasks()
        .expr_as(Expr::col((m.clone(), list_member::Column::Role)), ROLE)
        .filter(Column::Id.eq(id.as_uuid()))
        .limit(1);
    QuerySelect::query(&mut select).join_as(
        JoinType::InnerJoin,
        list_member::Entity,
        m.clone(),
        Expr::col((m.clone(), list_member::Column::ListId))
            .equals((Entity, Column::ListId))
            .and(Expr::col((m, list_member::Column::UserId)).eq(caller.as_str())),
    );
    select
}

/// [`find_visible_query`]'s statement, its SQL written once per backend.
fn find_visible_statement(backend: DbBackend, caller: &UserId, id: TaskId) -> Statement {
    static SQL: SqlCache = SqlCache::new();
    let values = vec![caller.as_str().into(), id.as_uuid().into(), 1_u64.into()];
    SQL.statement(backend, values, || {
        find_visible_query(caller, id).build(backend)
    })
}

/// Task `id`, and only at version `expected` when given.
pub(super) fn at_version(id: TaskId, expected: Option<i64>) -> Condition {
    Condition::all()
        .add(Column::Id.eq(id.as_uuid()))
        .add_option(expected.map(|v| Column::Version.eq(v)))
}

/// The conditional write of every mutable column of `t` (not its id, creator or creation
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
        .filter(at_version(t.id, Some(expected)))
}

/// The ids of the tasks below `root` at every depth, as the recursive table `sub(id)`
/// (`UNION`, not `UNION ALL`: it ends even on a cycle an old bug may have stored).
fn subtree_of(raw: &mut Raw, root: TaskId) -> String {
    format!(
        "WITH RECURSIVE sub(id) AS (SELECT id FROM task WHERE parent_id = {} \
         UNION SELECT c.id FROM task c JOIN sub ON c.parent_id = sub.id) ",
        raw.p(root.as_uuid())
    )
}

/// What follows from writing `t` over `before` (its list and whether it was completed):
/// its subtasks at every depth follow it into its list, and are completed with it; each
/// gets `edit`'s record for subtasks ([`Edit::for_subtasks`]).
pub(super) async fn cascade(
    conn: &impl ConnectionTrait,
    t: &Task,
    before: (Option<uuid::Uuid>, bool),
    edit: &Edit,
) -> Result<(), PortError> {
    let backend = conn.get_database_backend();
    let (list, completed) = before;
    let sub_edit = edit.for_subtasks();
    // Runs one cascading update and records the tasks it wrote.
    let run = |statement: Statement| async {
        let rows = conn.query_all_raw(statement).await.map_err(map_db_err)?;
        if let Some(sub_edit) = &sub_edit {
            let targets = rows
                .iter()
                .map(|row| {
                    Ok(changelog::Target {
                        list: row.try_get("", "list_id").map_err(map_db_err)?,
                        task: Some(row.try_get("", "id").map_err(map_db_err)?),
                        subject: None,
                        version: Some(row.try_get("", "version").map_err(map_db_err)?),
                    })
                })
                .collect::<Result<Vec<_>, PortError>>()?;
            changelog::record(conn, sub_edit, &targets, t.updated_at).await?;
        }
        Ok::<_, PortError>(())
    };
    if list != Some(t.list.as_uuid()) {
        let mut raw = Raw::new(backend);
        let sql = format!(
            "{}UPDATE task SET list_id = {}, updated_at = {}, version = version + 1 \
             WHERE id IN (SELECT id FROM sub) RETURNING id, list_id, version",
            subtree_of(&mut raw, t.id),
            raw.p(t.list.as_uuid()),
            raw.p(t.updated_at),
        );
        run(raw.statement(sql)).await?;
    }
    if t.completed && !completed {
        let mut raw = Raw::new(backend);
        let sql = format!(
            "{}UPDATE task SET completed = {}, completed_at = {}, updated_at = {}, \
             version = version + 1 WHERE id IN (SELECT id FROM sub) AND NOT completed \
             RETURNING id, list_id, version",
            subtree_of(&mut raw, t.id),
            raw.p(true),
            raw.p(t.updated_at),
            raw.p(t.updated_at),
        );
        run(raw.statement(sql)).await?;
    }
    Ok(())
}

/// The list and completion of task `id` at version `expected`, if it is there.
pub(super) async fn before_write(
    conn: &impl ConnectionTrait,
    id: TaskId,
    expected: i64,
) -> Result<Option<(Option<uuid::Uuid>, bool)>, PortError> {
    let backend = conn.get_database_backend();
    let mut raw = Raw::new(backend);
    let sql = format!(
        "SELECT list_id, completed FROM task WHERE id = {} AND version = {}{}",
        raw.p(id.as_uuid()),
        raw.p(expected),
        crate::raw::for_update(backend),
    );
    let Some(row) = conn
        .query_one_raw(raw.statement(sql))
        .await
        .map_err(map_db_err)?
    else {
        return Ok(None);
    };
    Ok(Some((
        row.try_get("", "list_id").map_err(map_db_err)?,
        row.try_get("", "completed").map_err(map_db_err)?,
    )))
}

/// No task of `moving`'s list but `moving` has a position strictly inside `gap`. Rows
/// written by a version that had no positions (`''`, read as their creation-time
/// position) do not count: until the start-up backfill gives them one, they would fill
/// every gap that reaches the top of the list.
fn gap_is_empty(list: ListId, moving: TaskId, gap: &Gap) -> SimpleExpr {
    let other = Alias::new("other");
    let column = |c: Column| Expr::col((other.clone(), c));
    let inside = Query::select()
        .expr(Expr::cust("1"))
        .from_as(Entity, other.clone())
        .and_where(column(Column::ListId).eq(list.as_uuid()))
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

/// The write of a move: [`replace_statement`], only while no other task of its list lies
/// inside `gap`. Positions order the tasks of one list: a list is what a client shows in
/// order, whoever created its tasks.
pub(super) fn move_statement(
    t: &Task,
    expected: i64,
    gap: &Gap,
) -> sea_orm::UpdateMany<task_write::Entity> {
    replace_statement(t, expected).filter(gap_is_empty(t.list, t.id, gap))
}

/// The first key of the PostgreSQL advisory locks that serialise the moves within one
/// list (the second is a hash of the list's id): "move" in ASCII.
const MOVE_LOCK_SPACE: i32 = 0x6d6f_7665;

/// Takes the lock that serialises the moves within `list` until the transaction ends
/// (PostgreSQL; transaction-scoped, so a transaction-mode pooler is fine). Two lists
/// whose ids hash alike merely take turns.
pub(super) fn move_lock_statement(list: ListId) -> Statement {
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        [MOVE_LOCK_SPACE.into(), list.to_string().into()],
    )
}

/// A toggle by `caller` of task `id` at `now`, only at version `expected` when given.
pub(super) struct Toggle<'a> {
    pub(super) caller: &'a UserId,
    pub(super) id: TaskId,
    pub(super) now: Timestamp,
    pub(super) expected: Option<i64>,
}

impl Toggle<'_> {
    /// Flips `completed` (stamping or clearing `completed_at`) unless the task is open and
    /// recurring, only in a list where the caller is an editor or the owner and only for a
    /// task without open subtasks. Every right-hand side reads the row as it was before
    /// the statement.
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
            .filter(at_version(self.id, self.expected))
            // An open recurring task is completed by recording an occurrence instead.
            .filter(
                Condition::any()
                    .add(Expr::col(Column::Completed))
                    .add(Column::Recurrence.is_null()),
            )
            .filter(visible(self.caller, Lists::Editable))
            // Completing it would complete them: that is a replace.
            .filter(no_open_subtask())
    }

    /// [`Self::update`] returning the row, as `exec_with_returning` writes it (every
    /// column of the entity, in order), and its subtask count.
    fn returning(&self, backend: DbBackend) -> Statement {
        let mut query = self.update().into_query();
        query.returning(
            Query::returning().exprs(
                Column::iter()
                    .map(|c| c.select_as(c.into_returning_expr(backend)))
                    .chain([Expr::cust(format!(
                        r#"{} AS "{SUBTASKS}""#,
                        super::access::SUBTASK_COUNT
                    ))]),
            ),
        );
        backend.build(&query)
    }

    /// [`Self::returning`], its SQL written once per backend and shape.
    pub(super) fn statement(&self, backend: DbBackend) -> Statement {
        static ANY_VERSION: SqlCache = SqlCache::new();
        static AT_VERSION: SqlCache = SqlCache::new();
        let mut values: Vec<Value> =
            vec![self.now.into(), self.now.into(), self.id.as_uuid().into()];
        let sql = match self.expected {
            Some(version) => {
                values.push(version.into());
                &AT_VERSION
            }
            None => &ANY_VERSION,
        };
        values.push(self.caller.as_str().into());
        sql.statement(backend, values, || self.returning(backend))
    }
}

/// Tombstones written per statement on SQLite (four parameters each).
const TOMBSTONE_BATCH: usize = 200;

/// Deletes the tasks `roots` selects with their subtasks at every depth, records a
/// tombstone for each (with its list) and keeps them in `trash_owner`'s trash, all at
/// `now`, in one transaction. The roots are locked first (PostgreSQL: `FOR UPDATE`, which
/// judges `roots` again on a row another transaction changed meanwhile, so a version
/// condition in it holds until the end; SQLite: the write lock). How many were deleted.
pub(super) async fn delete_with_tombstones(
    db: &sea_orm::DatabaseConnection,
    roots: Condition,
    now: Timestamp,
    trash_owner: &UserId,
) -> Result<u64, PortError> {
    let backend = db.get_database_backend();
    let txn = begin_write(db).await?;
    let mut locked = Query::select();
    locked
        .column((Entity, Column::Id))
        .from(Entity)
        .cond_where(roots);
    if backend == DbBackend::Postgres {
        locked.lock(sea_orm::sea_query::LockType::Update);
    }
    let roots = backend.build(&locked);
    let values = roots.values.unwrap_or_else(|| sea_orm::Values(Vec::new()));
    let subtree = format!(
        "WITH RECURSIVE sub(id) AS (SELECT id FROM task WHERE id IN ({}) \
         UNION SELECT c.id FROM task c JOIN sub ON c.parent_id = sub.id) ",
        strip_lock(&roots.sql)
    );
    // The roots, locked; then every task to delete.
    txn.query_all_raw(Statement::from_sql_and_values(
        backend,
        roots.sql.clone(),
        values.clone(),
    ))
    .await
    .map_err(map_db_err)?;
    let gone = txn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "{subtree}SELECT id, parent_id, title, user_id, list_id FROM task \
                 WHERE id IN (SELECT id FROM sub)"
            ),
            values.clone(),
        ))
        .await
        .map_err(map_db_err)?;
    if gone.is_empty() {
        txn.rollback().await.map_err(map_db_err)?;
        return Ok(0);
    }
    let deleted = gone
        .iter()
        .map(crate::trash::Deleted::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    crate::trash::keep_tasks(&txn, trash_owner, &deleted, now).await?;
    let targets = gone
        .iter()
        .map(|row| {
            Ok(changelog::Target {
                list: row.try_get("", "list_id").map_err(map_db_err)?,
                task: Some(row.try_get("", "id").map_err(map_db_err)?),
                subject: None,
                version: None,
            })
        })
        .collect::<Result<Vec<_>, PortError>>()?;
    changelog::record(&txn, &Edit::deleted(trash_owner), &targets, now).await?;
    let tombstones = gone
        .iter()
        .map(|row| {
            Ok(task_tombstone::ActiveModel {
                id: Set(row.try_get("", "id").map_err(map_db_err)?),
                user_id: Set(row.try_get("", "user_id").map_err(map_db_err)?),
                deleted_at: Set(now),
                list_id: Set(row.try_get("", "list_id").map_err(map_db_err)?),
            })
        })
        .collect::<Result<Vec<_>, PortError>>()?;
    for batch in tombstones.chunks(TOMBSTONE_BATCH) {
        task_tombstone::Entity::insert_many(batch.to_vec())
            .on_conflict(
                OnConflict::column(task_tombstone::Column::Id)
                    .update_columns([
                        task_tombstone::Column::UserId,
                        task_tombstone::Column::DeletedAt,
                        task_tombstone::Column::ListId,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(map_db_err)?;
    }
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("{subtree}DELETE FROM task WHERE id IN (SELECT id FROM sub)"),
        values,
    ))
    .await
    .map_err(map_db_err)?;
    txn.commit().await.map_err(map_db_err)?;
    Ok(u64::try_from(gone.len()).unwrap_or(u64::MAX))
}

/// `sql` without a trailing `FOR UPDATE` (a locking clause cannot stand in a subquery).
fn strip_lock(sql: &str) -> &str {
    sql.strip_suffix(" FOR UPDATE").unwrap_or(sql)
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
                    find_visible_statement(backend, owner, id),
                    find_visible_query(owner, id).build(backend)
                );
            }
        }
        let (owner, id) = &tasks[1];
        let sql = find_visible_statement(DbBackend::Postgres, owner, TaskId::from_uuid(*id)).sql;
        assert!(
            sql.ends_with(
                r#" AS "role" FROM "task" INNER JOIN "list_member" AS "m" ON "m"."list_id" = "task"."list_id" AND "m"."user_id" = $1 WHERE "task"."id" = $2 LIMIT $3"#
            ),
            "{sql}"
        );
    }

    /// An insert's statement, its SQL built once per backend and shape (limited or not),
    /// is the one built afresh for each task: with and without its optional values.
    #[test]
    fn insert_statements_are_built_afresh_ones_with_each_tasks_values() {
        let owner = UserId::parse("alice").unwrap();
        let list = ListId::from_uuid(uuid::Uuid::from_u128(9));
        let now = chrono::DateTime::UNIX_EPOCH;
        let plain = Task::new(
            TaskId::from_uuid(uuid::Uuid::from_u128(1)),
            owner.clone(),
            list,
            TaskTitle::parse("plain").unwrap(),
            None,
            now,
        );
        let mut full = Task::new(
            TaskId::from_uuid(uuid::Uuid::from_u128(2)),
            owner.clone(),
            ListId::from_uuid(uuid::Uuid::from_u128(10)),
            TaskTitle::parse("full").unwrap(),
            todo_domain::TaskDescription::parse("notes").unwrap(),
            now,
        );
        full.parent = Some(TaskId::from_uuid(uuid::Uuid::from_u128(3)));
        full.assignee = Some(owner);
        full.priority = Some(todo_domain::Priority::High);
        full.tags = todo_domain::Tags::parse(&["home"]).unwrap();
        full.set_completed(true, now);
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            for max in [None, Some(10_000), Some(1)] {
                for t in [&plain, &full, &plain] {
                    assert_eq!(
                        insert_statement(backend, t, max),
                        built_insert(backend, t, max),
                        "{backend:?} {max:?}"
                    );
                }
            }
        }
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
                caller: owner,
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
                r#" AND "task"."version" = $4 AND ("completed" OR "task"."recurrence" IS NULL) AND "task"."list_id" IN (SELECT "m"."list_id" FROM "list_member" AS "m" WHERE "m"."user_id" = $5 AND "m"."role" <> ('viewer')) AND (("task"."subtask_count" = 0 OR NOT EXISTS (SELECT 1 FROM "task" AS "c" WHERE "c"."parent_id" = "task"."id" AND NOT "c"."completed"))) RETURNING {}, {} AS "subtasks""#,
                columns.join(", "),
                super::super::access::SUBTASK_COUNT
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
            ListId::from_uuid(uuid::Uuid::nil()),
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
                r#" WHERE "task"."id" = $23 AND "task"."version" = $24 AND (NOT EXISTS(SELECT 1 FROM "task" AS "other" WHERE "other"."list_id" = $25 AND "other"."id" <> $26 AND "other"."position" <> $27 AND "other"."position" > $28 AND "other"."position" < $29))"#
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
            ListId::from_uuid(uuid::Uuid::nil()),
            TaskTitle::parse("x").unwrap(),
            None,
            chrono::DateTime::UNIX_EPOCH,
        );
        assert_eq!(
            task_write::Entity::insert(to_row(&t))
                .build(DbBackend::Postgres)
                .sql,
            r#"INSERT INTO "task" ("id", "user_id", "title", "description", "completed", "created_at", "updated_at", "priority", "tags", "due_at", "due_all_day", "remind_at", "completed_at", "recurrence", "time_zone", "occurrences_done", "version", "position", "series_time", "list_id", "parent_id", "assignee_id", "title_key", "search_key", "tags_key") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"#
        );
        assert_eq!(
            Toggle {
                caller: &t.owner,
                id: t.id,
                now: t.created_at,
                expected: None,
            }
            .update()
            .build(DbBackend::Postgres)
            .sql,
            r#"UPDATE "task" SET "completed" = NOT "completed", "completed_at" = (CASE WHEN ("completed") THEN NULL ELSE $1 END), "updated_at" = $2, "version" = "version" + 1 WHERE "task"."id" = $3 AND ("completed" OR "task"."recurrence" IS NULL) AND "task"."list_id" IN (SELECT "m"."list_id" FROM "list_member" AS "m" WHERE "m"."user_id" = $4 AND "m"."role" <> ('viewer')) AND (("task"."subtask_count" = 0 OR NOT EXISTS (SELECT 1 FROM "task" AS "c" WHERE "c"."parent_id" = "task"."id" AND NOT "c"."completed")))"#
        );
    }
}
