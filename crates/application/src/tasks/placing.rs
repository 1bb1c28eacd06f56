//! Where a task may go: into which list, under which parent, assigned to whom, and
//! whether the list has room for it.

use todo_domain::access::{self, ListAction};
use todo_domain::{DomainError, ListId, TaskChanges, TaskId, UserId, nesting};

use super::TaskService;
use crate::error::ApplicationError;

impl TaskService {
    /// `list`, if `caller` may change its tasks.
    ///
    /// # Errors
    /// `Validation` of `list_id` when `caller` is no member of it; `Forbidden` when they
    /// only view it.
    pub(super) async fn editable_list(
        &self,
        caller: &UserId,
        list: ListId,
    ) -> Result<ListId, ApplicationError> {
        let Some(role) = self.lists.role(caller, list).await? else {
            return Err(ApplicationError::Validation {
                field: "list_id".to_owned(),
                message: "names no list of yours".to_owned(),
            });
        };
        access::authorize(Some(role), ListAction::EditTasks, "list")?;
        Ok(list)
    }

    /// The list task `id` (with `depth_below` levels of subtasks) lands in as a subtask
    /// of `parent`: the parent's, which `list` (when given) must name, if `caller` may
    /// change its tasks and the nesting stays within the limit and has no cycle.
    ///
    /// # Errors
    /// `Validation` of `parent_id` (no such task of the caller's lists, a cycle, too
    /// deep) or of `list_id` (not the parent's list); `Forbidden` for a viewer.
    pub(super) async fn nest(
        &self,
        caller: &UserId,
        id: TaskId,
        parent: TaskId,
        list: Option<ListId>,
        depth_below: u32,
    ) -> Result<ListId, ApplicationError> {
        let Some((parent_task, role)) = self.tasks.get(caller, parent).await? else {
            return Err(ApplicationError::Validation {
                field: "parent_id".to_owned(),
                message: "names no task of your lists".to_owned(),
            });
        };
        access::authorize(Some(role), ListAction::EditTasks, "task")?;
        if list.is_some_and(|list| list != parent_task.list) {
            return Err(ApplicationError::Validation {
                field: "list_id".to_owned(),
                message: "must be the parent's list: a subtask lives in its parent's list"
                    .to_owned(),
            });
        }
        let max = self.limits.nesting_depth;
        let lineage = self.tasks.lineage(parent, max).await?;
        nesting::ensure_nesting(id, parent, &lineage.ancestors, depth_below, max)?;
        Ok(parent_task.list)
    }

    /// Refuses an assignee who is no member of `list`.
    pub(super) async fn ensure_member(
        &self,
        assignee: &UserId,
        list: ListId,
    ) -> Result<(), ApplicationError> {
        if self.lists.role(assignee, list).await?.is_none() {
            return Err(ApplicationError::Validation {
                field: "assignee_id".to_owned(),
                message: "must be a member of the task's list".to_owned(),
            });
        }
        Ok(())
    }

    /// Refuses one more open task in a list that holds its most.
    pub(super) async fn ensure_room(&self, list: ListId) -> Result<(), ApplicationError> {
        let open = self.tasks.open_in_list(list).await?;
        access::ensure_below(
            open,
            u64::from(self.limits.open_tasks_per_list),
            "open tasks per list",
        )?;
        Ok(())
    }

    /// The most open tasks `task`'s list may hold for it to be inserted, when the insert
    /// must count them: none for a task recorded as done, nor for an open task in a list
    /// known to be far below the limit ([`access::clearly_below`]); the limit otherwise.
    ///
    /// What is known of a list is its count of open tasks, read again once it is
    /// [`OPEN_COUNT_TTL`](super::OPEN_COUNT_TTL) old and raised by each open task added
    /// to it unchecked meanwhile; so a list near its limit is counted exactly in every
    /// insert, and one far from it costs its inserts no count (the count is a third of a
    /// create's work in the database: docs/performance.md, *What the create's open-task
    /// limit decides*). The margin of [`access::clearly_below`] is what the tasks other
    /// replicas add meanwhile may take without the limit being passed.
    pub(super) async fn room_for(
        &self,
        task: &todo_domain::Task,
    ) -> Result<Option<u32>, ApplicationError> {
        if task.completed {
            return Ok(None);
        }
        let max = self.limits.open_tasks_per_list;
        let now = self.clock.now();
        let clearly_below = |open: &mut u64| {
            let below = access::clearly_below(*open, u64::from(max));
            // The task about to be added counts from now on.
            *open += u64::from(below);
            below
        };
        let below = match self.open_counts.update(&task.list, now, clearly_below) {
            Some(below) => below,
            None => {
                let mut open = self.tasks.open_in_list(task.list).await?;
                let below = clearly_below(&mut open);
                self.open_counts.put(task.list, open, now, None);
                below
            }
        };
        Ok((!below).then_some(max))
    }

    /// The refusal of a task in a list that holds its most open tasks.
    pub(super) fn list_full(&self) -> ApplicationError {
        DomainError::LimitReached {
            what: "open tasks per list",
            max: u64::from(self.limits.open_tasks_per_list),
        }
        .into()
    }

    /// `changes` to task `id` as they will be written, after checking where they put it:
    /// a new parent decides the list (subtasks live in their parent's list), a new list
    /// alone makes a subtask top-level there, an assignee must be a member of the list
    /// the task ends up in (one who is not is unassigned when the task changes list).
    pub(super) async fn placed(
        &self,
        caller: &UserId,
        id: TaskId,
        mut changes: TaskChanges,
    ) -> Result<TaskChanges, ApplicationError> {
        if changes.list.is_none() && changes.parent.is_none() && changes.assignee.is_none() {
            return Ok(changes);
        }
        let Some((task, role)) = self.tasks.get(caller, id).await? else {
            return Err(DomainError::NotVisible("task").into());
        };
        access::authorize(Some(role), ListAction::EditTasks, "task")?;
        let list = match (changes.parent, changes.list) {
            (Some(Some(parent)), list) => {
                let depth = self.tasks.lineage(id, self.limits.nesting_depth).await?;
                let list = self
                    .nest(caller, id, parent, list, depth.depth_below)
                    .await?;
                changes.list = Some(list);
                list
            }
            (_, Some(list)) if list != task.list => {
                self.editable_list(caller, list).await?;
                if changes.parent.is_none() && task.parent.is_some() {
                    changes.parent = Some(None);
                }
                list
            }
            _ => task.list,
        };
        if list != task.list && !task.completed {
            self.ensure_room(list).await?;
        }
        match &changes.assignee {
            Some(Some(assignee)) => self.ensure_member(assignee, list).await?,
            Some(None) => {}
            None => {
                if let Some(current) = &task.assignee
                    && list != task.list
                    && self.lists.role(current, list).await?.is_none()
                {
                    changes.assignee = Some(None);
                }
            }
        }
        Ok(changes)
    }
}
