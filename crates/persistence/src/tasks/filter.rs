//! Which of an owner's tasks a list reads, in which order: filters, sorts and cursors.

use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, IntoIden, JoinType, LikeExpr, NullOrdering, Query,
    SelectStatement, SimpleExpr, UnionType,
};
use sea_orm::{
    ColumnTrait, Condition, DbBackend, EntityTrait, IdenStatic, IntoSimpleExpr, Order, QueryFilter,
    QuerySelect, QueryTrait, Statement, Value,
};
use todo_application::ports::PortError;
use todo_domain::{
    DueWindow, ListCursor, Sort, SortKey, SortValue, Status, TaskFilter, TaskQuery, UserId,
    search_keys,
};

use super::access::{Lists, member_lists, subtask_count, unarchived, visible};
use super::row::SUBTASKS;
use crate::entities::list_member;
use crate::entities::task::{Column, Entity};
use crate::entities::task_write;
use crate::sql_cache::SqlCache;

/// Every column of `task` and its subtask count: what every read of tasks selects.
pub(super) fn tasks() -> sea_orm::Select<Entity> {
    Entity::find().expr_as(subtask_count(), SUBTASKS)
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

/// Which of `caller`'s lists a search reads: the one `filter.list` names (archived or not,
/// if they are a member), all of them with `filter.archived`, else the unarchived ones.
fn lists_read(filter: &TaskFilter) -> Lists {
    if filter.list.is_some() || filter.archived {
        Lists::All
    } else {
        Lists::Unarchived
    }
}

/// The tasks `caller` may see that pass `filter`, "overdue" and "due today" judged by
/// `window`: those of the lists they are a member of, archived ones only with
/// `filter.archived` or when `filter.list` names one.
fn matching(caller: &UserId, filter: &TaskFilter, window: &DueWindow) -> Condition {
    let mut all = Condition::all();
    if let Some(list) = filter.list {
        all = all.add(Column::ListId.eq(list.as_uuid()));
    }
    passing(all.add(visible(caller, lists_read(filter))), filter, window)
}

/// `all` and the conditions of `filter` but for the lists it reads.
fn passing(mut all: Condition, filter: &TaskFilter, window: &DueWindow) -> Condition {
    match filter.parent {
        None => {}
        Some(None) => all = all.add(Column::ParentId.is_null()),
        Some(Some(parent)) => all = all.add(Column::ParentId.eq(parent.as_uuid())),
    }
    if let Some(assignee) = &filter.assignee {
        all = all.add(Column::AssigneeId.eq(assignee.as_str()));
    }
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
pub(super) fn due_before_now(window: &DueWindow) -> Condition {
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
pub(super) fn due_today(window: &DueWindow) -> Condition {
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
fn sort_column(key: SortKey) -> (&'static str, bool) {
    match key {
        SortKey::CreatedAt => (Column::CreatedAt.as_str(), false),
        SortKey::UpdatedAt => (Column::UpdatedAt.as_str(), false),
        SortKey::Due => (Column::DueAt.as_str(), true),
        SortKey::Priority => (Column::Priority.as_str(), true),
        SortKey::Title => (task_write::Column::TitleKey.as_str(), false),
        SortKey::Position => (Column::Position.as_str(), false),
    }
}

/// The stored form of a cursor's value for `key` (`None`: NULL, no value).
pub(super) fn cursor_value(key: SortKey, value: &SortValue) -> Result<Option<Value>, PortError> {
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
    let (name, nullable) = sort_column(sort.key);
    let column = Expr::col((Entity, Alias::new(name)));
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

/// The one statement of
/// [`TaskRepository::search`](todo_application::ports::TaskRepository::search) on `backend`.
///
/// On PostgreSQL it reads a page of each of the caller's lists (each list's tasks in the
/// order asked for, from that list's index) and keeps the first `limit` of those: a list of
/// 10 000 tasks is read 100 rows at a time, not sorted whole for every page. The caller's
/// id is a sub-select, so that the plan PostgreSQL makes for any caller costs the same as
/// one made for a given caller, and the prepared statement is planned once (it would
/// otherwise be planned again at every execution, which costs more than running it).
/// SQLite reads the tasks of the caller's lists with one condition (it has no LATERAL).
pub(super) fn search_statement(
    backend: DbBackend,
    caller: &UserId,
    query: &TaskQuery,
    limit: u32,
    after: Option<&ListCursor>,
) -> Result<SelectStatement, PortError> {
    let filter = &query.filter;
    if backend != DbBackend::Postgres {
        let select = tasks().filter(matching(caller, filter, &query.window));
        return Ok(ordered(select, query.sort, limit, after)?.into_query());
    }
    let (m, t) = (Alias::new("m"), Alias::new("t"));
    let page = list_page(
        Expr::col((Entity, Column::ListId)).equals((m.clone(), list_member::Column::ListId)),
        query,
        limit,
        after,
    )?;
    let mut lists = Condition::all().add(
        Expr::col((m.clone(), list_member::Column::UserId))
            .eq(Expr::cust_with_values("(SELECT $1)", [caller.as_str()])),
    );
    if let Some(list) = filter.list {
        lists = lists.add(Expr::col((m.clone(), list_member::Column::ListId)).eq(list.as_uuid()));
    }
    if lists_read(filter) == Lists::Unarchived {
        lists = lists.add(unarchived(&m));
    }
    let mut select = Query::select();
    select
        .column((t.clone(), Asterisk))
        .from_as(list_member::Entity, m)
        .join_lateral(JoinType::InnerJoin, page, t.clone(), Expr::cust("TRUE"))
        .cond_where(lists);
    order_and_limit(&mut select, t, query.sort, limit);
    Ok(select)
}

/// One list's page of a search: the tasks of the list `on` selects that pass the query's
/// filter, in its order, from after `after`, at most `limit` (with the title's sort key
/// when it sorts by title, for the order of the page of pages).
fn list_page(
    on: SimpleExpr,
    query: &TaskQuery,
    limit: u32,
    after: Option<&ListCursor>,
) -> Result<SelectStatement, PortError> {
    let mut page = tasks().filter(passing(
        Condition::all().add(on),
        &query.filter,
        &query.window,
    ));
    if query.sort.key == SortKey::Title {
        // Not a column of the entity: selected for the order of the page of pages.
        page = page.column(task_write::Column::TitleKey);
    }
    Ok(ordered(page, query.sort, limit, after)?.into_query())
}

/// The most lists [`spelled_statement`] names one by one; a caller with more is searched
/// with [`search_statement`].
pub(super) const SPELLED_LISTS: usize = 32;

/// The caller's lists a search of `filter` reads: [`lists_read`], only `filter.list` when
/// it names one.
pub(super) fn searched_lists(caller: &UserId, filter: &TaskFilter) -> SelectStatement {
    let mut select = member_lists(caller, lists_read(filter));
    if let Some(list) = filter.list {
        select.and_where(
            Expr::col((Alias::new("m"), list_member::Column::ListId)).eq(list.as_uuid()),
        );
    }
    select
}

/// A filtered search on PostgreSQL over `lists` (the caller's [`searched_lists`], read
/// just before in the same transaction, at least one): a page of each list with the list's
/// id as a value, then the first `limit` of those. Planned for these values (the filtered
/// path plans every execution), each page is planned with its own list's statistics: a
/// page of a list of 10 000 tasks walks the sort's index to the page's end, where the one
/// statement for any list ([`search_statement`], with the list a join parameter estimated at
/// the average list) reads the list's every match and sorts them.
pub(super) fn spelled_statement(
    lists: &[uuid::Uuid],
    query: &TaskQuery,
    limit: u32,
    after: Option<&ListCursor>,
) -> Result<SelectStatement, PortError> {
    let page = |i: usize, list: uuid::Uuid| -> Result<SelectStatement, PortError> {
        Ok(Query::select()
            .column(Asterisk)
            .from_subquery(
                list_page(Column::ListId.eq(list), query, limit, after)?,
                Alias::new(format!("p{i}")),
            )
            .to_owned())
    };
    let Some((first, rest)) = lists.split_first() else {
        return Err(PortError::Other("a search of no list".into()));
    };
    let mut pages = page(0, *first)?;
    for (i, list) in rest.iter().enumerate() {
        pages.union(UnionType::All, page(i + 1, *list)?);
    }
    let t = Alias::new("t");
    let mut select = Query::select();
    select
        .column((t.clone(), Asterisk))
        .from_subquery(pages, t.clone());
    order_and_limit(&mut select, t, query.sort, limit);
    Ok(select)
}

/// [`search_statement`] for the plain list (every task of the caller's unarchived lists,
/// oldest first), from after `after`: its SQL written once per backend, with and without a
/// cursor, bound to this call's values (a test holds it equal to the one built afresh).
pub(super) fn plain_statement(
    backend: DbBackend,
    caller: &UserId,
    limit: u32,
    after: Option<&ListCursor>,
) -> Result<Statement, PortError> {
    static FIRST: SqlCache = SqlCache::new();
    static LATER: SqlCache = SqlCache::new();
    let limit_value = Value::from(u64::from(limit));
    let caller_value = Value::from(caller.as_str());
    let query = TaskQuery {
        filter: TaskFilter::default(),
        sort: Sort::default(),
        window: DueWindow::at(chrono::DateTime::UNIX_EPOCH, todo_domain::TimeZone::UTC),
    };
    let built = || -> Result<Statement, PortError> {
        Ok(backend.build(&search_statement(backend, caller, &query, limit, after)?))
    };
    let mut cursor = Vec::new();
    if let Some(at) = after {
        // A creation time is never NULL; a cursor without one has a statement of its own.
        let Some(value) = cursor_value(SortKey::CreatedAt, &at.value)? else {
            return built();
        };
        cursor.extend([value, Value::from(at.id.as_uuid())]);
    }
    let values = if backend == DbBackend::Postgres {
        cursor.extend([limit_value.clone(), caller_value, limit_value]);
        cursor
    } else {
        let mut values = vec![caller_value];
        values.extend(cursor);
        values.push(limit_value);
        values
    };
    let cache = if after.is_some() { &LATER } else { &FIRST };
    cache.try_statement(backend, values, built)
}

/// `select` in `sort`'s order from after `after`, at most `limit` rows.
fn ordered(
    mut select: sea_orm::Select<Entity>,
    sort: Sort,
    limit: u32,
    after: Option<&ListCursor>,
) -> Result<sea_orm::Select<Entity>, PortError> {
    if let Some(cursor) = after {
        select = select.filter(after_cursor(sort, cursor)?);
    }
    order_and_limit(QueryTrait::query(&mut select), Entity, sort, limit);
    Ok(select)
}

/// Orders `select` by `sort`'s column of `table`, then its id, and keeps `limit` rows.
fn order_and_limit(select: &mut SelectStatement, table: impl IntoIden, sort: Sort, limit: u32) {
    let table = table.into_iden();
    let order = if sort.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    let (name, nullable) = sort_column(sort.key);
    let column = Expr::col((table.clone(), Alias::new(name)));
    // NULLS LAST only where there can be NULLs: a NOT NULL column keeps the plain order,
    // which every index on it serves in both directions.
    if nullable {
        select.order_by_expr_with_nulls(column, order.clone(), NullOrdering::Last);
    } else {
        select.order_by_expr(column, order.clone());
    }
    select
        .order_by_expr(Expr::col((table, Column::Id)), order)
        .limit(u64::from(limit));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, QueryTrait};
    use todo_domain::{Tag, TaskId, TimeZone};

    fn statement(
        backend: DbBackend,
        filter: TaskFilter,
        sort: &str,
        after: Option<ListCursor>,
    ) -> String {
        let query = TaskQuery {
            filter,
            sort: Sort::parse(sort).unwrap(),
            window: DueWindow::at(chrono::DateTime::UNIX_EPOCH, TimeZone::UTC),
        };
        let caller = UserId::parse("alice").unwrap();
        let select = search_statement(backend, &caller, &query, 51, after.as_ref()).unwrap();
        backend.build(&select).sql
    }

    fn overdue_work() -> TaskFilter {
        TaskFilter {
            status: Status::Pending,
            tags: vec![Tag::parse("Work").unwrap()],
            text: Some(todo_domain::SearchText::parse("50%").unwrap()),
            overdue: true,
            ..TaskFilter::default()
        }
    }

    fn after(value: SortValue) -> Option<ListCursor> {
        Some(ListCursor {
            value,
            id: TaskId::from_uuid(uuid::Uuid::nil()),
        })
    }

    /// A filtered search on PostgreSQL once the caller's lists are read: a page of each
    /// list with the list's id a value of its own (planned with that list's statistics),
    /// the filter, cursor and order inside each, then the first of those in the same order.
    #[test]
    fn a_spelled_search_names_each_list_and_keeps_the_first_of_their_pages() {
        let lists = [uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2)];
        let query = TaskQuery {
            filter: overdue_work(),
            sort: Sort::parse("-due").unwrap(),
            window: DueWindow::at(chrono::DateTime::UNIX_EPOCH, TimeZone::UTC),
        };
        let select = spelled_statement(&lists, &query, 51, None).unwrap();
        let built = DbBackend::Postgres.build(&select);
        let sql = built.sql;
        assert_eq!(sql.matches(r#""task"."list_id" = $"#).count(), 2, "{sql}");
        assert_eq!(sql.matches("UNION ALL").count(), 1, "{sql}");
        assert_eq!(
            sql.matches(r#"ORDER BY "task"."due_at" DESC NULLS LAST, "task"."id" DESC LIMIT"#)
                .count(),
            2,
            "{sql}"
        );
        let outer = sql.rsplit_once(r#") AS "t" "#).unwrap().1;
        assert!(
            outer.starts_with(r#"ORDER BY "t"."due_at" DESC NULLS LAST, "t"."id" DESC LIMIT $"#),
            "{sql}"
        );
        let values = built.values.unwrap().0;
        assert!(values.contains(&Value::from(lists[0])) && values.contains(&Value::from(lists[1])));
        assert!(!sql.contains("list_member"), "the lists are values: {sql}");
    }

    #[test]
    fn searched_lists_are_the_named_one_or_the_unarchived_ones() {
        let caller = UserId::parse("alice").unwrap();
        let all = DbBackend::Postgres
            .build(&searched_lists(&caller, &overdue_work()))
            .sql;
        assert!(
            all.contains(r#"NOT "m"."list_archived""#) && !all.contains("task_list"),
            "{all}"
        );
        let named = TaskFilter {
            list: Some(todo_domain::ListId::from_uuid(uuid::Uuid::from_u128(7))),
            ..overdue_work()
        };
        let one = DbBackend::Postgres
            .build(&searched_lists(&caller, &named))
            .sql;
        assert!(
            !one.contains("archived") && one.contains(r#""m"."list_id" = $2"#),
            "{one}"
        );
    }

    /// On PostgreSQL: a page of each of the caller's unarchived lists from its own index
    /// (the filter, the cursor and the order inside), then the first of those; the
    /// columns are those of `task` and the subtask count, as `get` reads them.
    #[test]
    fn postgres_reads_a_page_of_each_list_then_the_first_of_those() {
        let get = tasks().build(DbBackend::Postgres).sql;
        let columns = get.split_once(" FROM ").unwrap().0;
        assert_eq!(
            columns,
            r#"SELECT "task"."id", "task"."user_id", "task"."title", "task"."description", "task"."completed", "task"."created_at", "task"."updated_at", "task"."priority", "task"."tags", "task"."due_at", "task"."due_all_day", "task"."remind_at", "task"."completed_at", "task"."recurrence", "task"."time_zone", "task"."occurrences_done", "task"."version", "task"."position", "task"."series_time", "task"."list_id", "task"."parent_id", "task"."assignee_id", "task"."subtask_count" AS "subtasks""#
        );
        let page = |rest: &str| {
            format!(
                r#"SELECT "t".* FROM "list_member" AS "m" INNER JOIN LATERAL (SELECT "task"."id", "task"."user_id", "task"."title", "task"."description", "task"."completed", "task"."created_at", "task"."updated_at", "task"."priority", "task"."tags", "task"."due_at", "task"."due_all_day", "task"."remind_at", "task"."completed_at", "task"."recurrence", "task"."time_zone", "task"."occurrences_done", "task"."version", "task"."position", "task"."series_time", "task"."list_id", "task"."parent_id", "task"."assignee_id", "task"."subtask_count" AS "subtasks" FROM "task" WHERE "task"."list_id" = "m"."list_id"{rest}"#
            )
        };
        let unarchived = r#"(NOT "m"."list_archived")"#;
        assert_eq!(
            statement(
                DbBackend::Postgres,
                TaskFilter::default(),
                "created_at",
                None
            ),
            page(&format!(
                r#" ORDER BY "task"."created_at" ASC, "task"."id" ASC LIMIT $1) AS "t" ON TRUE WHERE "m"."user_id" = ((SELECT $2)) AND {unarchived} ORDER BY "t"."created_at" ASC, "t"."id" ASC LIMIT $3"#
            ))
        );
        assert_eq!(
            statement(
                DbBackend::Postgres,
                overdue_work(),
                "-due",
                after(SortValue::Instant(Some(chrono::DateTime::UNIX_EPOCH)))
            ),
            page(&format!(
                r#" AND "task"."completed" = $1 AND "task"."tags_key" LIKE $2 ESCAPE E'\\' AND "task"."search_key" LIKE $3 ESCAPE E'\\' AND (("task"."due_all_day" = $4 AND "task"."due_at" < $5) OR ("task"."due_all_day" = $6 AND "task"."due_at" < $7)) AND (("task"."due_at", "task"."id") < ($8, $9) OR "task"."due_at" IS NULL) ORDER BY "task"."due_at" DESC NULLS LAST, "task"."id" DESC LIMIT $10) AS "t" ON TRUE WHERE "m"."user_id" = ((SELECT $11)) AND {unarchived} ORDER BY "t"."due_at" DESC NULLS LAST, "t"."id" DESC LIMIT $12"#
            ))
        );
        // The title key is not a column of the entity: selected for the outer order.
        assert_eq!(
            statement(DbBackend::Postgres, TaskFilter::default(), "title", after(SortValue::Text("b".to_owned()))),
            page(&format!(r#" AND ("task"."title_key", "task"."id") > ($1, $2) ORDER BY "task"."title_key" ASC, "task"."id" ASC LIMIT $3) AS "t" ON TRUE WHERE "m"."user_id" = ((SELECT $4)) AND {unarchived} ORDER BY "t"."title_key" ASC, "t"."id" ASC LIMIT $5"#))
                .replace(r#""subtasks" FROM"#, r#""subtasks", "task"."title_key" FROM"#)
        );
    }

    /// The plain list's statement, its SQL written once per backend (with and without a
    /// cursor), is the one built afresh for each caller, limit and cursor.
    #[test]
    fn plain_statements_are_built_afresh_ones_with_each_calls_values() {
        let plain = TaskQuery {
            filter: TaskFilter::default(),
            sort: Sort::default(),
            window: DueWindow::at(chrono::DateTime::UNIX_EPOCH, TimeZone::UTC),
        };
        let at = |micros: i64, id: u128| ListCursor {
            value: SortValue::Instant(chrono::DateTime::from_timestamp_micros(micros)),
            id: TaskId::from_uuid(uuid::Uuid::from_u128(id)),
        };
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            for (caller, limit, after) in [
                ("alice", 51, None),
                ("bob", 1001, None),
                ("alice", 51, Some(at(1_700_000_000_000_000, 7))),
                ("carol", 3, Some(at(5, 9))),
            ] {
                let caller = UserId::parse(caller).unwrap();
                let built = backend.build(
                    &search_statement(backend, &caller, &plain, limit, after.as_ref()).unwrap(),
                );
                assert_eq!(
                    plain_statement(backend, &caller, limit, after.as_ref()).unwrap(),
                    built,
                    "{backend:?} {caller:?} {limit} {after:?}"
                );
            }
        }
    }

    /// On SQLite: the tasks of the caller's lists in one condition, then the filter, the
    /// cursor and the order; a sort by a column that may be NULL orders NULLs last.
    #[test]
    fn sqlite_reads_the_callers_lists_in_one_condition() {
        let lists = r#"SELECT "task"."id", "task"."user_id", "task"."title", "task"."description", "task"."completed", "task"."created_at", "task"."updated_at", "task"."priority", "task"."tags", "task"."due_at", "task"."due_all_day", "task"."remind_at", "task"."completed_at", "task"."recurrence", "task"."time_zone", "task"."occurrences_done", "task"."version", "task"."position", "task"."series_time", "task"."list_id", "task"."parent_id", "task"."assignee_id", "task"."subtask_count" AS "subtasks" FROM "task" WHERE "task"."list_id" IN (SELECT "m"."list_id" FROM "list_member" AS "m" WHERE "m"."user_id" = ? AND (NOT "m"."list_archived"))"#;
        assert_eq!(
            statement(DbBackend::Sqlite, TaskFilter::default(), "created_at", None),
            format!(r#"{lists} ORDER BY "task"."created_at" ASC, "task"."id" ASC LIMIT ?"#)
        );
        assert_eq!(
            statement(
                DbBackend::Sqlite,
                overdue_work(),
                "-due",
                after(SortValue::Instant(None))
            ),
            format!(
                r#"{lists} AND "task"."completed" = ? AND "task"."tags_key" LIKE ? ESCAPE '\' AND "task"."search_key" LIKE ? ESCAPE '\' AND (("task"."due_all_day" = ? AND "task"."due_at" < ?) OR ("task"."due_all_day" = ? AND "task"."due_at" < ?)) AND "task"."due_at" IS NULL AND "task"."id" < ? ORDER BY "task"."due_at" DESC NULLS LAST, "task"."id" DESC LIMIT ?"#
            )
        );
    }

    /// The lists a search reads: the caller's unarchived ones; all of them with
    /// `archived`; the one named by `list`, archived or not, if the caller is a member.
    #[test]
    fn searches_read_the_callers_lists() {
        let list = todo_domain::ListId::from_uuid(uuid::Uuid::nil());
        let named = TaskFilter {
            list: Some(list),
            parent: Some(None),
            assignee: Some(UserId::parse("bob").unwrap()),
            ..TaskFilter::default()
        };
        let archived = TaskFilter {
            archived: true,
            ..TaskFilter::default()
        };
        let lists = |backend, filter| {
            let sql = statement(backend, filter, "created_at", None);
            let (_, rest) = sql.split_once(" WHERE ").unwrap();
            rest.split_once(" ORDER BY ").unwrap().0.to_owned()
        };
        let outer = |filter| {
            let sql = statement(DbBackend::Postgres, filter, "created_at", None);
            let (_, rest) = sql.split_once(r#" AS "t" ON TRUE WHERE "#).unwrap();
            rest.split_once(" ORDER BY ").unwrap().0.to_owned()
        };
        let members = r#""task"."list_id" IN (SELECT "m"."list_id" FROM "list_member" AS "m" WHERE "m"."user_id" = ?)"#;
        assert_eq!(lists(DbBackend::Sqlite, archived.clone()), members);
        assert_eq!(outer(archived), r#""m"."user_id" = ((SELECT $2))"#);
        assert_eq!(
            lists(DbBackend::Sqlite, named.clone()),
            format!(
                r#""task"."list_id" = ? AND {members} AND "task"."parent_id" IS NULL AND "task"."assignee_id" = ?"#
            )
        );
        assert_eq!(
            lists(DbBackend::Postgres, named.clone()),
            r#""task"."list_id" = "m"."list_id" AND "task"."parent_id" IS NULL AND "task"."assignee_id" = $1"#
        );
        assert_eq!(
            outer(named),
            r#""m"."user_id" = ((SELECT $3)) AND "m"."list_id" = $4"#
        );
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
}
