//! Which of an owner's tasks a list reads, in which order: filters, sorts and cursors.

use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, NullOrdering};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, IntoSimpleExpr, Order, QueryFilter, QueryOrder,
    QuerySelect, Value,
};
use todo_application::ports::PortError;
use todo_domain::{
    DueWindow, ListCursor, Sort, SortKey, SortValue, Status, TaskFilter, TaskQuery, UserId,
    search_keys,
};

use super::access::{Lists, subtask_count, visible};
use super::row::SUBTASKS;
use crate::entities::task::{Column, Entity};
use crate::entities::task_write;

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

/// The tasks `caller` may see that pass `filter`, "overdue" and "due today" judged by
/// `window`: those of the lists they are a member of, archived ones only with
/// `filter.archived` or when `filter.list` names one.
fn matching(caller: &UserId, filter: &TaskFilter, window: &DueWindow) -> Condition {
    let mut all = Condition::all();
    if let Some(list) = filter.list {
        all = all
            .add(Column::ListId.eq(list.as_uuid()))
            .add(visible(caller, Lists::All));
    } else if filter.archived {
        all = all.add(visible(caller, Lists::All));
    } else {
        all = all.add(visible(caller, Lists::Unarchived));
    }
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

/// The one statement of
/// [`TaskRepository::search`](todo_application::ports::TaskRepository::search).
pub(super) fn search_statement(
    caller: &UserId,
    query: &TaskQuery,
    limit: u32,
    after: Option<&ListCursor>,
) -> Result<sea_orm::Select<Entity>, PortError> {
    let sort = query.sort;
    let mut select = tasks().filter(matching(caller, &query.filter, &query.window));
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, QueryTrait};
    use todo_domain::{Tag, TaskId, TimeZone};

    /// The plain list is the statement `list` issues; a filtered one adds its conditions,
    /// a sort by a column that may be NULL orders NULLs last, and a cursor continues with a
    /// row comparison (or, past a value, with the NULLs).
    #[test]
    fn search_statements_read_as_intended() {
        let owner = UserId::parse("alice").unwrap();
        let window = DueWindow::at(chrono::DateTime::UNIX_EPOCH, TimeZone::UTC);
        let get = tasks().build(DbBackend::Postgres).sql;
        let list_columns = get.split_once(r#" AS "subtasks" FROM "#).unwrap().0;
        let sql = |filter: TaskFilter, sort: &str, after: Option<ListCursor>| {
            let query = TaskQuery {
                filter,
                sort: Sort::parse(sort).unwrap(),
                window,
            };
            let select = search_statement(&owner, &query, 51, after.as_ref()).unwrap();
            let sql = select.build(DbBackend::Postgres).sql;
            // The columns: those of `task` and the subtask count, as `get` and `list` read
            // them.
            let (columns, rest) = sql.split_once(r#" AS "subtasks" FROM "#).unwrap();
            assert_eq!(columns, list_columns);
            rest.to_owned()
        };
        let list = tasks()
            .filter(visible(&owner, Lists::Unarchived))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .limit(51)
            .build(DbBackend::Postgres)
            .sql;
        assert!(list.ends_with(&format!(
            r#" AS "subtasks" FROM {}"#,
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
            r#""task" WHERE "task"."list_id" IN (SELECT "m"."list_id" FROM "list_member" AS "m" INNER JOIN "task_list" ON "task_list"."id" = "m"."list_id" AND (NOT "task_list"."archived") WHERE "m"."user_id" = $1) AND "task"."completed" = $2 AND "task"."tags_key" LIKE $3 ESCAPE E'\\' AND "task"."search_key" LIKE $4 ESCAPE E'\\' AND (("task"."due_all_day" = $5 AND "task"."due_at" < $6) OR ("task"."due_all_day" = $7 AND "task"."due_at" < $8)) AND (("task"."due_at", "task"."id") < ($9, $10) OR "task"."due_at" IS NULL) ORDER BY "task"."due_at" DESC NULLS LAST, "task"."id" DESC LIMIT $11"#
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
            r#""task" WHERE "task"."list_id" IN (SELECT "m"."list_id" FROM "list_member" AS "m" INNER JOIN "task_list" ON "task_list"."id" = "m"."list_id" AND (NOT "task_list"."archived") WHERE "m"."user_id" = $1) AND "task"."completed" = $2 AND "task"."tags_key" LIKE $3 ESCAPE E'\\' AND "task"."search_key" LIKE $4 ESCAPE E'\\' AND (("task"."due_all_day" = $5 AND "task"."due_at" < $6) OR ("task"."due_all_day" = $7 AND "task"."due_at" < $8)) AND "task"."due_at" IS NULL AND "task"."id" < $9 ORDER BY "task"."due_at" DESC NULLS LAST, "task"."id" DESC LIMIT $10"#
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
            r#""task" WHERE "task"."list_id" IN (SELECT "m"."list_id" FROM "list_member" AS "m" INNER JOIN "task_list" ON "task_list"."id" = "m"."list_id" AND (NOT "task_list"."archived") WHERE "m"."user_id" = $1) AND ("task"."title_key", "task"."id") > ($2, $3) ORDER BY "task"."title_key" ASC, "task"."id" ASC LIMIT $4"#
        );
    }

    /// The lists a search reads: the caller's unarchived ones; all of them with
    /// `archived`; the one named by `list`, archived or not, if the caller is a member.
    #[test]
    fn searches_read_the_callers_lists() {
        let caller = UserId::parse("alice").unwrap();
        let window = DueWindow::at(chrono::DateTime::UNIX_EPOCH, TimeZone::UTC);
        let condition = |filter: TaskFilter| {
            let query = TaskQuery {
                filter,
                sort: Sort::default(),
                window,
            };
            let sql = search_statement(&caller, &query, 10, None)
                .unwrap()
                .build(DbBackend::Postgres)
                .sql;
            let (_, rest) = sql
                .split_once(r#" AS "subtasks" FROM "task" WHERE "#)
                .unwrap();
            rest.split_once(" ORDER BY ").unwrap().0.to_owned()
        };
        let members = r#""task"."list_id" IN (SELECT "m"."list_id" FROM "list_member" AS "m" WHERE "m"."user_id" = $"#;
        assert_eq!(
            condition(TaskFilter {
                archived: true,
                ..TaskFilter::default()
            }),
            format!("{members}1)")
        );
        let list = todo_domain::ListId::from_uuid(uuid::Uuid::nil());
        assert_eq!(
            condition(TaskFilter {
                list: Some(list),
                parent: Some(None),
                assignee: Some(UserId::parse("bob").unwrap()),
                ..TaskFilter::default()
            }),
            format!(
                r#""task"."list_id" = $1 AND {members}2) AND "task"."parent_id" IS NULL AND "task"."assignee_id" = $3"#
            )
        );
        assert!(
            condition(TaskFilter {
                parent: Some(Some(TaskId::from_uuid(uuid::Uuid::nil()))),
                ..TaskFilter::default()
            })
            .ends_with(r#"AND (NOT "task_list"."archived") WHERE "m"."user_id" = $1) AND "task"."parent_id" = $2"#)
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
