//! Which tasks a caller may read or write: those of the lists they are a member of.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, SimpleExpr};
use todo_domain::UserId;

use crate::entities::list_member;
use crate::entities::task::Column;

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

/// `SELECT m.list_id FROM list_member m WHERE m.user_id = caller …`: one range of
/// `idx_list_member_user_archived` for the unarchived ones (each member row carries its
/// list's `archived`).
pub(super) fn member_lists(caller: &UserId, lists: Lists) -> SelectStatement {
    let m = Alias::new("m");
    let mut select = Query::select()
        .column((m.clone(), list_member::Column::ListId))
        .from_as(list_member::Entity, m.clone())
        .and_where(Expr::col((m.clone(), list_member::Column::UserId)).eq(caller.as_str()))
        .to_owned();
    match lists {
        Lists::All => {}
        Lists::Unarchived => {
            select.and_where(unarchived(&m));
        }
        Lists::Editable => {
            // A literal: the statement's values stay the caller's id alone.
            select.and_where(Expr::col((m, list_member::Column::Role)).ne(Expr::cust("'viewer'")));
        }
    }
    select
}

/// The list of member row `m` is not archived: `list_member.list_archived`, the list's
/// `archived` kept on each of its member rows by the database
/// (`m20261203_000011_member_archived`). Not a column of the entity: the service never
/// writes it, and the trash keeps member rows without it (a restored row takes its list's
/// value again).
pub(super) fn unarchived(m: &Alias) -> SimpleExpr {
    Expr::col((m.clone(), Alias::new("list_archived"))).not()
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
