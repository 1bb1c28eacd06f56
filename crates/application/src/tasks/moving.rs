//! Moving a task in its owner's manual order (the `position` sort).

use todo_domain::{
    ListCursor, ListSpec, Position, Principal, Sort, SortKey, Task, TaskChanges, TaskId, UserId,
    policy,
};

use super::TaskService;
use crate::error::ApplicationError;

/// Where to move a task in its owner's manual order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveTo {
    /// Right after this task.
    After(TaskId),
    /// Right before this task.
    Before(TaskId),
    Top,
    Bottom,
}

impl TaskService {
    /// Moves a task in `owner`'s manual order (the `position` sort) by giving it a
    /// position between its new neighbours; no other task changes. With `if_match`, only
    /// if the task is still at that version.
    ///
    /// # Errors
    /// `Validation` (field `after` or `before`) when the neighbour is the task itself or no
    /// task of `owner`'s; `Conflict` when two neighbours share a position and nothing fits
    /// between them.
    pub async fn move_task(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: TaskId,
        to: MoveTo,
        if_match: Option<i64>,
    ) -> Result<Task, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let anchor = |field: &'static str, other: TaskId| async move {
            if other == id {
                return Err(ApplicationError::Validation {
                    field: field.to_owned(),
                    message: "names the task being moved".to_owned(),
                });
            }
            self.tasks
                .get(owner, other)
                .await?
                .ok_or_else(|| ApplicationError::Validation {
                    field: field.to_owned(),
                    message: "names no task of yours".to_owned(),
                })
        };
        let (before, after) = match to {
            MoveTo::After(other) => {
                let low = anchor("after", other).await?;
                let high = self.neighbour(owner, id, Some(&low), false).await?;
                (Some(low.position), high.map(|t| t.position))
            }
            MoveTo::Before(other) => {
                let high = anchor("before", other).await?;
                let low = self.neighbour(owner, id, Some(&high), true).await?;
                (low.map(|t| t.position), Some(high.position))
            }
            MoveTo::Top => {
                let first = self.neighbour(owner, id, None, false).await?;
                (None, first.map(|t| t.position))
            }
            MoveTo::Bottom => {
                let last = self.neighbour(owner, id, None, true).await?;
                (last.map(|t| t.position), None)
            }
        };
        // Without a task after it, it still goes before every task created from now on
        // (whose positions start from their creation time), unless `before` is past them
        // already (a position a client chose).
        let after = after.or_else(|| {
            let end = Position::after_all_created_until(self.clock.now());
            before.as_ref().is_none_or(|low| *low < end).then_some(end)
        });
        let position = Position::between(before.as_ref(), after.as_ref()).ok_or_else(|| {
            ApplicationError::Conflict(
                "no position fits between those neighbours (they share one): \
                 move one of them first"
                    .to_owned(),
            )
        })?;
        let changes = TaskChanges {
            position: Some(position),
            ..TaskChanges::default()
        };
        self.update(principal, owner, id, changes, if_match).await
    }

    /// The task next to `from` in position order (`backwards`: the one before it), or
    /// the first (last) one without `from`; never the task `moving`.
    async fn neighbour(
        &self,
        owner: &UserId,
        moving: TaskId,
        from: Option<&Task>,
        backwards: bool,
    ) -> Result<Option<Task>, ApplicationError> {
        let sort = Sort {
            key: SortKey::Position,
            descending: backwards,
        };
        let query = ListSpec {
            sort,
            ..ListSpec::default()
        }
        .query(self.clock.now());
        let after = from.map(|t| ListCursor::after(t, sort));
        let rows = self.tasks.search(owner, &query, 2, after).await?;
        Ok(rows.into_iter().find(|t| t.id != moving))
    }
}
