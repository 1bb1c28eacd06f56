use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, NullOrdering, Query};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    IdenStatic, IntoSimpleExpr, Iterable, Order, QueryFilter, QueryOrder, QueryResult, QuerySelect,
    QueryTrait, Statement, TransactionTrait, TryInsertResult, Value,
};
use todo_application::ports::{IdempotentInsert, PortError, Purged, TaskRepository};
use todo_domain::{
    Change, Due, DueWindow, IdempotencyKey, ListCursor, Position, Priority, Recurrence, Sort,
    SortKey, SortValue, Status, Tag, Tags, Task, TaskDescription, TaskFilter, TaskId, TaskQuery,
    TaskStats, TaskTitle, TimeZone, Timestamp, Tombstone, UserId, merge_changes, search_keys,
};

use crate::db::Db;
use crate::entities::task::{self, Column, Entity};
use crate::entities::{idempotency_key, task_tombstone, task_write};
use crate::error::{corrupt, map_db_err};
use crate::sql_cache::SqlCache;

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

/// Tags are stored joined with a line feed: a tag has no control characters, so the
/// separator is unambiguous, and no tags is the empty string.
const TAG_SEPARATOR: char = '\n';

fn tags_to_stored(tags: &Tags) -> String {
    let mut stored = String::new();
    for (i, tag) in tags.as_slice().iter().enumerate() {
        if i > 0 {
            stored.push(TAG_SEPARATOR);
        }
        stored.push_str(tag.as_str());
    }
    stored
}

fn tags_from_stored(stored: &str) -> Result<Tags, PortError> {
    if stored.is_empty() {
        return Ok(Tags::default());
    }
    let raw: Vec<&str> = stored.split(TAG_SEPARATOR).collect();
    // Each one must be a tag exactly as written (parsing trims).
    for r in &raw {
        let tag = Tag::parse(r).map_err(|e| corrupt("tags", e))?;
        if tag.as_str() != *r {
            return Err(corrupt("tags", format!("{r:?} is not trimmed")));
        }
    }
    Tags::parse(&raw).map_err(|e| corrupt("tags", e))
}

/// A task row read for the domain. On PostgreSQL sqlx decodes the columns itself: for an
/// `Option<T>` field SeaORM decodes a `T` and turns the error a NULL gives into `None`,
/// after formatting its message — 13% of the instructions of a 50-task page, where most
/// optional fields are NULL (docs/performance.md). Other backends read as SeaORM does.
struct TaskRow(task::Model);

impl FromQueryResult for TaskRow {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        use sea_orm::sqlx::{self, Row, postgres::Postgres};

        // By position when the select list is the entity's columns in order (it is for
        // every read of a task), else by name: a name costs a hash lookup per column per row.
        fn col<'r, T>(row: &'r sqlx::postgres::PgRow, column: Column) -> Result<T, DbErr>
        where
            T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
        {
            let name = column.as_str();
            let index = column as usize;
            let decoded = if row
                .columns()
                .get(index)
                .is_some_and(|c| sqlx::Column::name(c) == name)
            {
                row.try_get(index)
            } else {
                row.try_get(name)
            };
            decoded.map_err(|e| DbErr::Type(format!("task.{name}: {e}")))
        }

        let Some(row) = res.try_as_pg_row().filter(|_| pre.is_empty()) else {
            return task::Model::from_query_result(res, pre).map(Self);
        };
        Ok(Self(task::Model {
            id: col(row, Column::Id)?,
            user_id: col(row, Column::UserId)?,
            title: col(row, Column::Title)?,
            description: col(row, Column::Description)?,
            completed: col(row, Column::Completed)?,
            created_at: col(row, Column::CreatedAt)?,
            updated_at: col(row, Column::UpdatedAt)?,
            priority: col(row, Column::Priority)?,
            tags: col(row, Column::Tags)?,
            due_at: col(row, Column::DueAt)?,
            due_all_day: col(row, Column::DueAllDay)?,
            remind_at: col(row, Column::RemindAt)?,
            completed_at: col(row, Column::CompletedAt)?,
            recurrence: col(row, Column::Recurrence)?,
            time_zone: col(row, Column::TimeZone)?,
            occurrences_done: col(row, Column::OccurrencesDone)?,
            version: col(row, Column::Version)?,
            position: col(row, Column::Position)?,
            series_time: col(row, Column::SeriesTime)?,
        }))
    }
}

impl TaskRow {
    fn task(self) -> Result<Task, PortError> {
        to_domain(self.0)
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

fn to_domain(m: task::Model) -> Result<Task, PortError> {
    Ok(Task {
        id: TaskId::from_uuid(m.id),
        owner: UserId::parse(&m.user_id).map_err(|e| corrupt("user id", e))?,
        title: TaskTitle::parse(&m.title).map_err(|e| corrupt("title", e))?,
        description: match m.description {
            Some(d) => TaskDescription::parse(&d).map_err(|e| corrupt("description", e))?,
            None => None,
        },
        completed: m.completed,
        created_at: m.created_at,
        updated_at: m.updated_at,
        priority: m
            .priority
            .map(|rank| {
                Priority::from_rank(rank)
                    .ok_or_else(|| corrupt("priority", format!("unknown rank {rank}")))
            })
            .transpose()?,
        tags: tags_from_stored(&m.tags)?,
        due: m.due_at.map(|at| {
            if m.due_all_day {
                Due::Date(at.date_naive())
            } else {
                Due::At(at)
            }
        }),
        remind_at: m.remind_at,
        completed_at: m.completed_at,
        recurrence: m
            .recurrence
            .as_deref()
            .map(Recurrence::parse)
            .transpose()
            .map_err(|e| corrupt("recurrence", e))?,
        time_zone: m
            .time_zone
            .as_deref()
            .map(|name| TimeZone::parse("time_zone", name))
            .transpose()
            .map_err(|e| corrupt("time zone", e))?,
        occurrences_done: u32::try_from(m.occurrences_done)
            .map_err(|_| corrupt("occurrences done", m.occurrences_done))?,
        version: m.version,
        // A row an earlier version wrote (during a rolling deploy) has none until the next
        // start fills it in: the one it would have been given.
        position: if m.position.is_empty() {
            Position::initial(m.created_at, TaskId::from_uuid(m.id))
        } else {
            Position::parse(&m.position).map_err(|e| corrupt("position", e))?
        },
        series_time: m
            .series_time
            .map(|micros| {
                series_time_from_stored(micros).ok_or_else(|| corrupt("series time", micros))
            })
            .transpose()?,
    })
}

/// A time of day as stored: microseconds after midnight.
fn series_time_to_stored(t: chrono::NaiveTime) -> i64 {
    use chrono::Timelike;
    i64::from(t.num_seconds_from_midnight()) * 1_000_000 + i64::from(t.nanosecond() / 1_000)
}

fn series_time_from_stored(micros: i64) -> Option<chrono::NaiveTime> {
    let secs = u32::try_from(micros.div_euclid(1_000_000)).ok()?;
    let nanos = u32::try_from(micros.rem_euclid(1_000_000))
        .ok()?
        .checked_mul(1_000)?;
    chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)
}

/// Every column of `t`, as stored, with the keys derived from it.
fn to_row(t: &Task) -> task_write::ActiveModel {
    task_write::ActiveModel {
        id: Set(t.id.as_uuid()),
        user_id: Set(t.owner.as_str().to_owned()),
        title: Set(t.title.as_str().to_owned()),
        description: Set(t.description.as_ref().map(|d| d.as_str().to_owned())),
        completed: Set(t.completed),
        created_at: Set(t.created_at),
        updated_at: Set(t.updated_at),
        priority: Set(t.priority.map(Priority::rank)),
        tags: Set(tags_to_stored(&t.tags)),
        due_at: Set(t.due.as_ref().map(Due::starts_at_utc)),
        due_all_day: Set(matches!(t.due, Some(Due::Date(_)))),
        remind_at: Set(t.remind_at),
        completed_at: Set(t.completed_at),
        recurrence: Set(t.recurrence.as_ref().map(ToString::to_string)),
        time_zone: Set(t.time_zone.map(|z| z.name().to_owned())),
        // A series ends at `Recurrence::MAX_COUNT` occurrences: far below `i32::MAX`.
        occurrences_done: Set(i32::try_from(t.occurrences_done).unwrap_or(i32::MAX)),
        version: Set(t.version),
        position: Set(t.position.as_str().to_owned()),
        series_time: Set(t.series_time.map(series_time_to_stored)),
        title_key: Set(search_keys::title_key(t.title.as_str())),
        search_key: Set(search_keys::search_key(
            t.title.as_str(),
            t.description.as_ref().map(TaskDescription::as_str),
        )),
        tags_key: Set(search_keys::tags_key(
            t.tags.as_slice().iter().map(Tag::as_str),
        )),
    }
}

/// The escape character of every LIKE pattern, named in its `ESCAPE` clause (SQLite has
/// none by default; PostgreSQL's default is this one).
const LIKE_ESCAPE: char = '\\';

/// A LIKE pattern matching any text that contains `literal`, whose `%`, `_` and escape
/// characters stand for themselves.
fn containing(literal: &str) -> LikeExpr {
    let mut pattern = String::with_capacity(literal.len() + 2);
    pattern.push('%');
    for c in literal.chars() {
        if matches!(c, '%' | '_' | LIKE_ESCAPE) {
            pattern.push(LIKE_ESCAPE);
        }
        pattern.push(c);
    }
    pattern.push('%');
    LikeExpr::new(pattern).escape(LIKE_ESCAPE)
}

/// `owner`'s tasks that pass `filter`, "overdue" and "due today" judged by `window`.
fn matching(owner: &UserId, filter: &TaskFilter, window: &DueWindow) -> Condition {
    let mut all = Condition::all().add(Column::UserId.eq(owner.as_str()));
    match filter.status {
        Status::All => {}
        Status::Pending => all = all.add(Column::Completed.eq(false)),
        Status::Completed => all = all.add(Column::Completed.eq(true)),
    }
    if !filter.priorities.is_empty() {
        all = all.add(Column::Priority.is_in(filter.priorities.iter().map(|p| p.rank())));
    }
    for tag in &filter.tags {
        let needle = search_keys::tag_needle(tag.as_str());
        all = all.add(task_write::Column::TagsKey.like(containing(&needle)));
    }
    if let Some(text) = &filter.text {
        all = all.add(task_write::Column::SearchKey.like(containing(&text.folded())));
    }
    if let Some(before) = filter.due_before {
        all = all.add(Column::DueAt.lt(before));
    }
    if let Some(from) = filter.due_after {
        all = all.add(Column::DueAt.gte(from));
    }
    if filter.overdue {
        if filter.status != Status::Pending {
            all = all.add(Column::Completed.eq(false));
        }
        all = all.add(due_before_now(window));
    }
    if filter.due_today {
        all = all.add(due_today(window));
    }
    if let Some(since) = filter.updated_since {
        all = all.add(Column::UpdatedAt.gte(since));
    }
    all
}

/// Due before now (all-day tasks: before today), whether open or not.
fn due_before_now(window: &DueWindow) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(Column::DueAllDay.eq(true))
                .add(Column::DueAt.lt(window.dates_before)),
        )
        .add(
            Condition::all()
                .add(Column::DueAllDay.eq(false))
                .add(Column::DueAt.lt(window.instants_before)),
        )
}

/// Due today (all-day tasks: on today's date).
fn due_today(window: &DueWindow) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(Column::DueAllDay.eq(true))
                .add(Column::DueAt.eq(window.today_date)),
        )
        .add(
            Condition::all()
                .add(Column::DueAllDay.eq(false))
                .add(Column::DueAt.gte(window.today_from))
                .add(Column::DueAt.lt(window.today_until)),
        )
}

/// The column `key` orders by, and whether it may be NULL (such tasks come last).
fn sort_column(key: SortKey) -> (Expr, bool) {
    match key {
        SortKey::CreatedAt => (Column::CreatedAt.into_simple_expr(), false),
        SortKey::UpdatedAt => (Column::UpdatedAt.into_simple_expr(), false),
        SortKey::Due => (Column::DueAt.into_simple_expr(), true),
        SortKey::Priority => (Column::Priority.into_simple_expr(), true),
        SortKey::Title => (task_write::Column::TitleKey.into_simple_expr(), false),
        SortKey::Position => (Column::Position.into_simple_expr(), false),
    }
}

/// The stored form of a cursor's value for `key` (`None`: NULL, no value).
fn cursor_value(key: SortKey, value: &SortValue) -> Result<Option<Value>, PortError> {
    match (key, value) {
        (SortKey::CreatedAt | SortKey::UpdatedAt | SortKey::Due, SortValue::Instant(at)) => {
            Ok(at.map(Value::from))
        }
        (SortKey::Priority, SortValue::Rank(rank)) => Ok(rank.map(Value::from)),
        (SortKey::Title | SortKey::Position, SortValue::Text(text)) => {
            Ok(Some(Value::from(text.as_str())))
        }
        _ => Err(PortError::Other(
            format!(
                "a cursor holding {value:?} does not fit the {} sort",
                key.as_str()
            )
            .into(),
        )),
    }
}

/// The tasks strictly after `cursor` in `sort`'s order: `(value, id)` beyond the cursor's,
/// where NULL values come after every other, in both directions.
fn after_cursor(sort: Sort, cursor: &ListCursor) -> Result<Condition, PortError> {
    let (column, nullable) = sort_column(sort.key);
    let beyond = |left: Expr, right: Expr| {
        if sort.descending {
            left.lt(right)
        } else {
            left.gt(right)
        }
    };
    let id = Expr::val(cursor.id.as_uuid());
    Ok(match cursor_value(sort.key, &cursor.value)? {
        // A row comparison: both backends bound an index range scan with it.
        Some(value) => {
            let later = Condition::any().add(beyond(
                Expr::tuple([column.clone(), Column::Id.into_simple_expr()]),
                Expr::tuple([Expr::val(value), id]),
            ));
            if nullable {
                later.add(column.is_null())
            } else {
                later
            }
        }
        None => Condition::all()
            .add(column.is_null())
            .add(beyond(Column::Id.into_simple_expr(), id)),
    })
}

/// The one statement of [`TaskRepository::search`].
fn search_statement(
    owner: &UserId,
    query: &TaskQuery,
    limit: u32,
    after: Option<&ListCursor>,
) -> Result<sea_orm::Select<Entity>, PortError> {
    let sort = query.sort;
    let mut select = Entity::find().filter(matching(owner, &query.filter, &query.window));
    if let Some(cursor) = after {
        select = select.filter(after_cursor(sort, cursor)?);
    }
    let order = if sort.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    let (column, nullable) = sort_column(sort.key);
    // NULLS LAST only where there can be NULLs: a NOT NULL column keeps the plain order,
    // which every index on it serves in both directions.
    select = if nullable {
        select.order_by_with_nulls(column, order.clone(), NullOrdering::Last)
    } else {
        select.order_by(column, order.clone())
    };
    Ok(select.order_by(Column::Id, order).limit(u64::from(limit)))
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

/// The counts of [`TaskRepository::stats`], as one row.
#[derive(Debug, Default, FromQueryResult)]
struct StatsRow {
    total: i64,
    pending: i64,
    completed: i64,
    high: i64,
    medium: i64,
    low: i64,
    no_priority: i64,
    overdue: i64,
    due_today: i64,
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
    use sea_orm::DbBackend;

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

    /// The plain list is the statement `list` issues; a filtered one adds its conditions,
    /// a sort by a column that may be NULL orders NULLs last, and a cursor continues with a
    /// row comparison (or, past a value, with the NULLs).
    #[test]
    fn search_statements_read_as_intended() {
        let owner = UserId::parse("alice").unwrap();
        let window = DueWindow::at(chrono::DateTime::UNIX_EPOCH, TimeZone::UTC);
        let get = Entity::find().build(DbBackend::Postgres).sql;
        let list_columns = get.split_once(" FROM ").unwrap().0;
        let sql = |filter: TaskFilter, sort: &str, after: Option<ListCursor>| {
            let query = TaskQuery {
                filter,
                sort: Sort::parse(sort).unwrap(),
                window,
            };
            let select = search_statement(&owner, &query, 51, after.as_ref()).unwrap();
            let sql = select.build(DbBackend::Postgres).sql;
            // The columns: those of `task`, as `get` and `list` read them.
            let (columns, rest) = sql.split_once(" FROM ").unwrap();
            assert_eq!(columns, list_columns);
            rest.to_owned()
        };
        let list = Entity::find()
            .filter(Column::UserId.eq(owner.as_str()))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .limit(51)
            .build(DbBackend::Postgres)
            .sql;
        assert!(list.ends_with(&format!(
            " FROM {}",
            sql(TaskFilter::default(), "created_at", None)
        )));
        let filter = TaskFilter {
            status: Status::Pending,
            tags: vec![Tag::parse("Work").unwrap()],
            text: Some(todo_domain::SearchText::parse("50%").unwrap()),
            overdue: true,
            ..TaskFilter::default()
        };
        let id = TaskId::from_uuid(uuid::Uuid::nil());
        assert_eq!(
            sql(
                filter.clone(),
                "-due",
                Some(ListCursor {
                    value: SortValue::Instant(Some(chrono::DateTime::UNIX_EPOCH)),
                    id
                })
            ),
            r#""task" WHERE "task"."user_id" = $1 AND "task"."completed" = $2 AND "task"."tags_key" LIKE $3 ESCAPE E'\\' AND "task"."search_key" LIKE $4 ESCAPE E'\\' AND (("task"."due_all_day" = $5 AND "task"."due_at" < $6) OR ("task"."due_all_day" = $7 AND "task"."due_at" < $8)) AND (("task"."due_at", "task"."id") < ($9, $10) OR "task"."due_at" IS NULL) ORDER BY "task"."due_at" DESC NULLS LAST, "task"."id" DESC LIMIT $11"#
        );
        assert_eq!(
            sql(
                filter,
                "-due",
                Some(ListCursor {
                    value: SortValue::Instant(None),
                    id
                })
            ),
            r#""task" WHERE "task"."user_id" = $1 AND "task"."completed" = $2 AND "task"."tags_key" LIKE $3 ESCAPE E'\\' AND "task"."search_key" LIKE $4 ESCAPE E'\\' AND (("task"."due_all_day" = $5 AND "task"."due_at" < $6) OR ("task"."due_all_day" = $7 AND "task"."due_at" < $8)) AND "task"."due_at" IS NULL AND "task"."id" < $9 ORDER BY "task"."due_at" DESC NULLS LAST, "task"."id" DESC LIMIT $10"#
        );
        assert_eq!(
            sql(
                TaskFilter::default(),
                "title",
                Some(ListCursor {
                    value: SortValue::Text("b".to_owned()),
                    id
                })
            ),
            r#""task" WHERE "task"."user_id" = $1 AND ("task"."title_key", "task"."id") > ($2, $3) ORDER BY "task"."title_key" ASC, "task"."id" ASC LIMIT $4"#
        );
    }

    #[test]
    fn search_keys_are_folded_beyond_ascii() {
        let mut t = Task::new(
            TaskId::from_uuid(uuid::Uuid::nil()),
            UserId::parse("alice").unwrap(),
            TaskTitle::parse("ÄPFEL & Birnen").unwrap(),
            TaskDescription::parse("Für den KUCHEN\nzwei Kilo").unwrap(),
            chrono::DateTime::UNIX_EPOCH,
        );
        t.tags = Tags::parse(&["Work", "ÉTÉ", "home"]).unwrap();
        let keys = |t: &Task| {
            let row = to_row(t);
            (
                row.title_key.unwrap(),
                row.search_key.unwrap(),
                row.tags_key.unwrap(),
            )
        };
        assert_eq!(
            keys(&t),
            (
                "äpfel & birnen".to_owned(),
                "äpfel & birnen\nfür den kuchen\nzwei kilo".to_owned(),
                "\nhome\nwork\nété\n".to_owned()
            )
        );
        t.description = None;
        t.tags = Tags::default();
        let (_, search, tags) = keys(&t);
        assert_eq!(search, "äpfel & birnen\n");
        assert_eq!(tags, "");
    }

    #[test]
    fn like_patterns_take_wildcards_literally() {
        let pattern = |literal: &str| {
            Entity::find()
                .filter(task_write::Column::SearchKey.like(containing(literal)))
                .build(DbBackend::Sqlite)
                .values
                .unwrap()
                .0
        };
        assert_eq!(pattern("100%_a\\b"), [Value::from("%100\\%\\_a\\\\b%")]);
        assert_eq!(pattern("\nwork\n"), [Value::from("%\nwork\n%")]);
    }

    #[test]
    fn tags_are_stored_one_per_line() {
        let tags = Tags::parse(&["work", "Küche", "日本"]).unwrap();
        let stored = tags_to_stored(&tags);
        assert_eq!(stored, "Küche\nwork\n日本");
        assert_eq!(tags_from_stored(&stored).unwrap(), tags);
        assert_eq!(tags_to_stored(&Tags::default()), "");
        assert_eq!(tags_from_stored("").unwrap(), Tags::default());
        for bad in ["a\n\nb", "a\n", " a", "a,b", "a\tb"] {
            assert!(tags_from_stored(bad).is_err(), "{bad:?}");
        }
    }
}
