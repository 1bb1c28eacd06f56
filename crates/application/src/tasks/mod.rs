//! The owner's tasks one at a time: create, read, list, edit, complete and delete them.
//!
//! The [`TaskService`] is spread over this module's files, one `impl` block each:
//! [`moving`] orders tasks by hand, [`summary`] adds them up, and [`sync`] serves clients
//! that sync (idempotent creates, the feed of changes, forgetting expired records).

mod moving;
mod placing;
mod summary;
mod sync;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use std::sync::Arc;

use todo_domain::access::{self, ListAction};
use todo_domain::{
    DomainError, Due, Edit, Edited, ListCursor, ListId, ListSpec, Position, Principal, Priority,
    Recurrence, Tags, Task, TaskChanges, TaskDescription, TaskId, TaskTitle, TimeZone, Timestamp,
    UserId, policy,
};

pub use self::moving::MoveTo;
pub use self::sync::{Created, Idempotency, SyncSettings};
use crate::cache::TtlCache;
use crate::error::ApplicationError;
use crate::inbox::Inboxes;
use crate::limits::Limits;
use crate::pagination::{Page, PageSettings, task_page};
use crate::ports::{Clock, IdGenerator, ListRepository, TaskRepository};

/// A task to create, as parsed from a client's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub title: TaskTitle,
    pub description: Option<TaskDescription>,
    /// A task may be recorded as already done.
    pub completed: bool,
    pub priority: Option<Priority>,
    pub tags: Tags,
    pub due: Option<Due>,
    pub remind_at: Option<Timestamp>,
    pub recurrence: Option<Recurrence>,
    pub time_zone: Option<TimeZone>,
    /// Where in the manual order; by default after every task created before it.
    pub position: Option<Position>,
    /// The list it goes into: by default its parent's, or else the creator's Inbox.
    pub list: Option<ListId>,
    /// The task it is a subtask of.
    pub parent: Option<TaskId>,
    /// The member of its list it is assigned to.
    pub assignee: Option<UserId>,
}

impl NewTask {
    /// A task with only a title (and optionally a description), like the seed's.
    #[must_use]
    pub fn plain(title: TaskTitle, description: Option<TaskDescription>) -> Self {
        Self {
            title,
            description,
            completed: false,
            priority: None,
            tags: Tags::default(),
            due: None,
            remind_at: None,
            recurrence: None,
            time_zone: None,
            position: None,
            list: None,
            parent: None,
            assignee: None,
        }
    }
}

/// How many times a write is retried when another writer changed the task between its
/// read and its write (only when the client did not ask for a specific version).
const WRITE_ATTEMPTS: usize = 5;

/// How long a list's count of open tasks is relied on ([`TaskService::room_for`]).
const OPEN_COUNT_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// How many lists' counts of open tasks are kept.
const OPEN_COUNTS_KEPT: usize = 100_000;

/// What a user does to the tasks of the lists they are a member of, as their role there
/// allows.
#[derive(Clone)]
pub struct TaskService {
    tasks: Arc<dyn TaskRepository>,
    lists: Arc<dyn ListRepository>,
    inboxes: Inboxes,
    /// The open tasks of lists tasks were created in lately, as far as this service knows.
    open_counts: Arc<TtlCache<ListId, u64>>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    pages: PageSettings,
    sync: SyncSettings,
    limits: Limits,
}

impl TaskService {
    pub fn new(
        tasks: Arc<dyn TaskRepository>,
        lists: Arc<dyn ListRepository>,
        inboxes: Inboxes,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        pages: PageSettings,
    ) -> Self {
        Self {
            tasks,
            lists,
            inboxes,
            open_counts: Arc::new(TtlCache::new(OPEN_COUNT_TTL, OPEN_COUNTS_KEPT)),
            clock,
            ids,
            pages,
            sync: SyncSettings::default(),
            limits: Limits::default(),
        }
    }

    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    #[must_use]
    pub fn with_sync(mut self, sync: SyncSettings) -> Self {
        self.sync = sync;
        self
    }

    pub async fn create(
        &self,
        principal: &Principal,
        owner: &UserId,
        new: NewTask,
    ) -> Result<Task, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let task = self.new_task(owner, new).await?;
        if !self
            .tasks
            .insert(&task, self.room_for(&task).await?)
            .await?
        {
            return Err(self.list_full());
        }
        Ok(task)
    }

    /// A new task of `owner` from `new`, checked (its place, its assignee, the limits),
    /// created now.
    async fn new_task(&self, owner: &UserId, new: NewTask) -> Result<Task, ApplicationError> {
        let id = self.ids.new_task_id();
        let now = self.clock.now();
        // Its own rules first: a task that breaks them costs no read.
        let unplaced = ListId::from_uuid(uuid::Uuid::nil());
        let mut task = Task::new(id, owner.clone(), unplaced, new.title, new.description, now);
        task.priority = new.priority;
        task.tags = new.tags;
        task.due = new.due;
        task.remind_at = new.remind_at;
        task.recurrence = new.recurrence;
        task.time_zone = new.time_zone;
        if let Some(position) = new.position {
            task.position = position;
        }
        task.check()?;
        task.list = match (new.parent, new.list) {
            (None, None) => self.inboxes.of(owner).await?,
            (None, Some(list)) => self.editable_list(owner, list).await?,
            (Some(parent), list) => self.nest(owner, id, parent, list, 0).await?,
        };
        if let Some(assignee) = &new.assignee {
            self.ensure_member(assignee, task.list).await?;
        }
        task.parent = new.parent;
        task.assignee = new.assignee;
        task.set_completed(new.completed, now);
        Ok(task)
    }

    /// One page of `owner`'s tasks: those `spec` selects, in its order, at most `limit`
    /// (the configured default when `None`), after `after`. "Overdue" and "due today" are
    /// judged at the clock's now in the request's zone.
    pub async fn list(
        &self,
        principal: &Principal,
        owner: &UserId,
        spec: &ListSpec,
        limit: Option<u32>,
        after: Option<ListCursor>,
    ) -> Result<Page<Task, ListCursor>, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let limit = self.pages.limit(limit)?;
        let query = spec.query(self.clock.now());
        task_page(self.tasks.as_ref(), owner, &query, limit, after).await
    }

    pub async fn get(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: TaskId,
    ) -> Result<Task, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        self.tasks
            .get(owner, id)
            .await?
            .map(|(task, _)| task)
            .ok_or(ApplicationError::NotFound("task"))
    }

    /// The stored task, if `caller`'s role in its list allows `action`, checked against
    /// the client's `If-Match` version.
    async fn current(
        &self,
        caller: &UserId,
        id: TaskId,
        action: ListAction,
        if_match: Option<i64>,
    ) -> Result<Task, ApplicationError> {
        let (task, role) = self
            .tasks
            .get(caller, id)
            .await?
            .ok_or(ApplicationError::NotFound("task"))?;
        access::authorize(Some(role), action, "task")?;
        match if_match {
            Some(v) if v != task.version => Err(ApplicationError::PreconditionFailed {
                what: "task",
                current_version: task.version,
            }),
            _ => Ok(task),
        }
    }

    /// Applies a partial update (completing a recurring task moves it to its next
    /// occurrence); an empty one changes nothing and returns the task. With `if_match`,
    /// only if the task is still at that version.
    pub async fn update(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: TaskId,
        changes: TaskChanges,
        if_match: Option<i64>,
    ) -> Result<Task, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        if changes.is_empty() {
            return self.current(owner, id, ListAction::Read, if_match).await;
        }
        let changes = self.placed(owner, id, changes).await?;
        self.edit(owner, id, if_match, |task, now, finished_id| {
            task.apply(&changes, now, finished_id)
        })
        .await
    }

    /// Reads the task, applies `edit` to it at the clock's now and writes the outcome if
    /// the task is still at the version read; retried when another writer came between
    /// (only without `if_match`, since a stale `if_match` fails the read).
    async fn edit(
        &self,
        owner: &UserId,
        id: TaskId,
        if_match: Option<i64>,
        edit: impl Fn(&Task, Timestamp, TaskId) -> Result<Edited, DomainError>,
    ) -> Result<Task, ApplicationError> {
        for _ in 0..WRITE_ATTEMPTS {
            let task = self
                .current(owner, id, ListAction::EditTasks, if_match)
                .await?;
            // One instant per write, so that `completed_at` equals `updated_at`.
            let edited = edit(&task, self.clock.now(), self.ids.new_task_id())?;
            if let Some(written) = self.write(owner, &task, edited).await? {
                return Ok(written);
            }
        }
        Err(self.lost_race(owner, id, if_match).await)
    }

    /// Writes `actor`'s edit of `before` (read at its version); `None` when the task
    /// changed meanwhile.
    async fn write(
        &self,
        actor: &UserId,
        before: &Task,
        edited: Edited,
    ) -> Result<Option<Task>, ApplicationError> {
        let expected = before.version;
        let written = match &edited {
            Edited::Replaced(task) => {
                let edit = Edit::of_task(actor, before, task);
                self.tasks.replace(task, expected, &edit).await?
            }
            Edited::Recurred { finished, next } => {
                let edit = Edit::of_task(actor, before, next);
                self.tasks
                    .complete_occurrence(finished, next, expected, &edit)
                    .await?
            }
        };
        let (Edited::Replaced(task) | Edited::Recurred { next: task, .. }) = edited;
        Ok(written.then_some(task))
    }

    /// Why a write kept failing: the task is gone, or (with `if_match`) it moved on, or
    /// it is changing too fast to win a write.
    async fn lost_race(
        &self,
        owner: &UserId,
        id: TaskId,
        if_match: Option<i64>,
    ) -> ApplicationError {
        match self
            .current(owner, id, ListAction::EditTasks, if_match)
            .await
        {
            Err(err) => err,
            Ok(_) => ApplicationError::Conflict(
                "the task is being changed by other requests; retry".to_owned(),
            ),
        }
    }

    /// Sets `completed` to `completed`, or flips it when `None`. Completing a recurring
    /// task records the finished occurrence and moves the task to its next one.
    pub async fn set_completed(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: TaskId,
        completed: Option<bool>,
        if_match: Option<i64>,
    ) -> Result<Task, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        if let Some(completed) = completed {
            let changes = TaskChanges {
                completed: Some(completed),
                ..TaskChanges::default()
            };
            return self.update(principal, owner, id, changes, if_match).await;
        }
        // `Task::toggle` in one statement for a task that does not repeat.
        if let Some(task) = self
            .tasks
            .toggle_completed(owner, id, self.clock.now(), if_match)
            .await?
        {
            return Ok(task);
        }
        // A repeating task, a stale `if_match`, a missing task, or one that changed since.
        self.edit(owner, id, if_match, |task, now, finished_id| {
            Ok(task.toggle(now, finished_id))
        })
        .await
    }

    /// With `if_match`, only if the task is still at that version. Sync clients learn of
    /// the deletion from its tombstone.
    pub async fn delete(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: TaskId,
        if_match: Option<i64>,
    ) -> Result<(), ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let task = self
            .current(owner, id, ListAction::EditTasks, if_match)
            .await?;
        if self
            .tasks
            .delete(owner, id, if_match, self.clock.now())
            .await?
        {
            return Ok(());
        }
        // Deleted meanwhile, or changed since `if_match`'s version (or access was lost).
        match if_match {
            Some(_) => Err(self.lost_race(owner, task.id, if_match).await),
            None => Err(ApplicationError::NotFound("task")),
        }
    }

    /// Deletes every completed task of `owner`; how many there were.
    pub async fn delete_completed(
        &self,
        principal: &Principal,
        owner: &UserId,
    ) -> Result<u64, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        Ok(self.tasks.delete_completed(owner, self.clock.now()).await?)
    }
}
