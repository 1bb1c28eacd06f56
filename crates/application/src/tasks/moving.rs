//! Moving a task in its owner's manual order (the `position` sort).

use todo_domain::{
    Edit, Gap, ListCursor, ListSpec, Position, Principal, Sort, SortKey, Task, TaskId, UserId,
    policy,
};

use todo_domain::access::ListAction;

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

/// How many times a move is tried when, between its reads and its write, another move
/// took the place between its neighbours (or the task changed).
pub(super) const MOVE_ATTEMPTS: usize = 8;

impl TaskService {
    /// Moves a task in `owner`'s manual order (the `position` sort) by giving it a
    /// position between its new neighbours; no other task changes. With `if_match`, only
    /// if the task is still at that version.
    ///
    /// The position is written only while those neighbours are still neighbours, so two
    /// concurrent moves never give two tasks the same position: a move that finds its
    /// place taken reads the neighbours again, up to `MOVE_ATTEMPTS` (8) times.
    ///
    /// # Errors
    /// `Validation` (field `after` or `before`) when the neighbour is the task itself or no
    /// task of `owner`'s; `Conflict` when two neighbours share a position and nothing fits
    /// between them, or when other moves kept taking the place (the client may retry).
    pub async fn move_task(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: TaskId,
        to: MoveTo,
        if_match: Option<i64>,
    ) -> Result<Task, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        for _ in 0..MOVE_ATTEMPTS {
            let task = self
                .current(owner, id, ListAction::EditTasks, if_match)
                .await?;
            let gap = self.gap(owner, &task, to).await?;
            let position = gap.position().ok_or_else(|| {
                ApplicationError::Conflict(
                    "no position fits between those neighbours (they share one): \
                     move one of them first"
                        .to_owned(),
                )
            })?;
            let moved = task.moved(position, self.clock.now());
            let edit = Edit::of_task(owner, &task, &moved);
            if self
                .tasks
                .move_into(&moved, task.version, &gap, &edit)
                .await?
            {
                return Ok(moved);
            }
        }
        // Gone, or (with `if_match`) changed; else its place kept being taken.
        Err(
            match self
                .current(owner, id, ListAction::EditTasks, if_match)
                .await
            {
                Err(err) => err,
                Ok(_) => ApplicationError::Conflict(
                    "other moves kept changing the tasks around that place; retry".to_owned(),
                ),
            },
        )
    }

    /// The gap `to` names for `task` in its list, between its new neighbours' positions
    /// as they are now.
    async fn gap(&self, owner: &UserId, task: &Task, to: MoveTo) -> Result<Gap, ApplicationError> {
        let id = task.id;
        let list = task.list;
        let anchor = |field: &'static str, other: TaskId| async move {
            if other == id {
                return Err(ApplicationError::Validation {
                    field: field.to_owned(),
                    message: "names the task being moved".to_owned(),
                });
            }
            match self.tasks.get(owner, other).await? {
                Some((anchor, _)) if anchor.list == list => Ok(anchor),
                _ => Err(ApplicationError::Validation {
                    field: field.to_owned(),
                    message: "names no task of the moved task's list".to_owned(),
                }),
            }
        };
        let (low, high) = match to {
            MoveTo::After(other) => {
                let low = anchor("after", other).await?;
                let high = self.neighbour(owner, task, Some(&low), false).await?;
                (Some(low.position), high.map(|t| t.position))
            }
            MoveTo::Before(other) => {
                let high = anchor("before", other).await?;
                let low = self.neighbour(owner, task, Some(&high), true).await?;
                (low.map(|t| t.position), Some(high.position))
            }
            MoveTo::Top => {
                let first = self.neighbour(owner, task, None, false).await?;
                (None, first.map(|t| t.position))
            }
            MoveTo::Bottom => {
                let last = self.neighbour(owner, task, None, true).await?;
                (last.map(|t| t.position), None)
            }
        };
        // Without a task after it, it still goes before every task created from now on
        // (whose positions start from their creation time), unless `low` is past them
        // already (a position a client chose).
        let high = high.or_else(|| {
            let end = Position::after_all_created_until(self.clock.now());
            low.as_ref().is_none_or(|low| *low < end).then_some(end)
        });
        Ok(Gap { low, high })
    }

    /// The task next to `from` in position order (`backwards`: the one before it), or
    /// the first (last) one without `from`; never the task `moving`.
    async fn neighbour(
        &self,
        owner: &UserId,
        moving: &Task,
        from: Option<&Task>,
        backwards: bool,
    ) -> Result<Option<Task>, ApplicationError> {
        let sort = Sort {
            key: SortKey::Position,
            descending: backwards,
        };
        let mut spec = ListSpec {
            sort,
            ..ListSpec::default()
        };
        spec.filter.list = Some(moving.list);
        let query = spec.query(self.clock.now());
        let after = from.map(|t| ListCursor::after(t, sort));
        let rows = self.tasks.search(owner, &query, 2, after).await?;
        Ok(rows.into_iter().find(|t| t.id != moving.id))
    }
}
