//! Which tasks a caller may read or write: those of the lists they are a member of.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, SimpleExpr};
use todo_domain::UserId;

use crate::entities::task::Column;
use crate::entities::{list_member, task_list};

/// Which of a caller's lists count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lists {
    /// Every list they are a member of.
    All,
    /// Those that are not archived.
    Unarchived,
    /// Those where they are an editor or the owner.
    Editable,
}

/// `SELECT m.list_id FROM list_member m [JOIN task_list l …] WHERE m.user_id = caller …`.
pub(super) fn member_lists(caller: &UserId, lists: Lists) -> SelectStatement {
    let m = Alias::new("m");
    let mut select = Query::select()
        .column((m.clone(), list_member::Column::ListId))
        .from_as(list_member::Entity, m.clone())
        .to_owned();
    if lists == Lists::Unarchived {
        select.inner_join(
            task_list::Entity,
            Expr::col((task_list::Entity, task_list::Column::Id))
                .equals((m.clone(), list_member::Column::ListId))
                .and(Expr::col((task_list::Entity, task_list::Column::Archived)).not()),
        );
    }
    select.and_where(Expr::col((m.clone(), list_member::Column::UserId)).eq(caller.as_str()));
    if lists == Lists::Editable {
        // A literal: the statement's values stay the caller's id alone.
        select.and_where(Expr::col((m, list_member::Column::Role)).ne(Expr::cust("'viewer'")));
    }
    select
}

/// The task's list is one of `caller`'s `lists`.
pub(super) fn visible(caller: &UserId, lists: Lists) -> SimpleExpr {
    Expr::col((crate::entities::task::Entity, Column::ListId))
        .in_subquery(member_lists(caller, lists))
}

/// How many subtasks the task has (one level down), selected after its columns as
/// [`super::row::SUBTASKS`]: the count the database keeps with every insert, delete and
/// change of parent (`m20261203_000010_list_orders`).
pub(super) fn subtask_count() -> SimpleExpr {
    Expr::cust(SUBTASK_COUNT)
}

/// [`subtask_count`]'s SQL.
pub(super) const SUBTASK_COUNT: &str = r#""task"."subtask_count""#;

/// The task has no open subtask (a task without subtasks is not looked for).
pub(super) fn no_open_subtask() -> SimpleExpr {
    Expr::cust(
        r#"("task"."subtask_count" = 0 OR NOT EXISTS (SELECT 1 FROM "task" AS "c" WHERE "c"."parent_id" = "task"."id" AND NOT "c"."completed"))"#,
    )
}
