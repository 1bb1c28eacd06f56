use std::sync::Arc;

use todo_domain::{
    Completion, Cursor, Due, ListCursor, ListPosition, ListSpec, PageRequest, Principal, Priority,
    Recurrence, Tags, Task, TaskChanges, TaskDescription, TaskId, TaskTitle, TimeZone, Timestamp,
    UserId, policy,
};

use crate::ApplicationError;
use crate::ports::{Clock, IdGenerator, TaskRepository};

/// Page sizes for lists: what a client gets without asking, and the most it may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSettings {
    pub default_limit: u32,
    pub max_limit: u32,
}

impl Default for PageSettings {
    fn default() -> Self {
        Self {
            default_limit: 1000,
            max_limit: 1000,
        }
    }
}

impl PageSettings {
    /// A page request for a client's optional `limit`.
    pub fn request(
        &self,
        limit: Option<u32>,
        after: Option<Cursor>,
    ) -> Result<PageRequest, ApplicationError> {
        let max = self.max_limit.max(1);
        let limit = limit.unwrap_or(self.default_limit.clamp(1, max));
        Ok(PageRequest::new(limit, max, after)?)
    }
}

/// One page of a list and, when more remain, where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

/// Fetches `limit + 1` rows and turns the extra one into a "more remain" marker.
pub(crate) fn paginate<T, C>(
    mut rows: Vec<T>,
    limit: u32,
    cursor_of: impl Fn(&T) -> C,
) -> Page<T, C> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(cursor_of);
        Page { items: rows, next }
    } else {
        Page {
            items: rows,
            next: None,
        }
    }
}

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
        }
    }
}

/// How many times a write is retried when another writer changed the task between its
/// read and its write (only when the client did not ask for a specific version).
const WRITE_ATTEMPTS: usize = 5;

/// The owner's operations on their own tasks.
#[derive(Clone)]
pub struct TaskService {
    tasks: Arc<dyn TaskRepository>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    pages: PageSettings,
}

impl TaskService {
    pub fn new(
        tasks: Arc<dyn TaskRepository>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        pages: PageSettings,
    ) -> Self {
        Self {
            tasks,
            clock,
            ids,
            pages,
        }
    }

    #[must_use]
    pub fn page_settings(&self) -> PageSettings {
        self.pages
    }

    pub async fn create(
        &self,
        principal: &Principal,
        owner: &UserId,
        new: NewTask,
    ) -> Result<Task, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let now = self.clock.now();
        let mut task = Task::new(
            self.ids.new_task_id(),
            owner.clone(),
            new.title,
            new.description,
            now,
        );
        task.priority = new.priority;
        task.tags = new.tags;
        task.due = new.due;
        task.remind_at = new.remind_at;
        task.recurrence = new.recurrence;
        task.time_zone = new.time_zone;
        task.check()?;
        task.set_completed(new.completed, now);
        self.tasks.insert(&task).await?;
        Ok(task)
    }

    /// One page of `owner`'s tasks: those `spec` selects, in its order, at most `limit`
    /// (the configured default when `None`), after `after`. The plain list (no filter, oldest first) is read with
    /// `TaskRepository::list` and continues at a [`Cursor`]; any other with
    /// `TaskRepository::search`, judging "overdue" and "due today" at the clock's now in the
    /// request's zone, and continues at a [`ListCursor`].
    pub async fn list(
        &self,
        principal: &Principal,
        owner: &UserId,
        spec: &ListSpec,
        limit: Option<u32>,
        after: Option<ListPosition>,
    ) -> Result<Page<Task, ListPosition>, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        if spec.is_plain() {
            let after = after.map(ListPosition::into_plain).transpose()?;
            let page = self.pages.request(limit, after)?;
            let page = list_page(self.tasks.as_ref(), owner, page).await?;
            return Ok(Page {
                items: page.items,
                next: page.next.map(ListPosition::Plain),
            });
        }
        let after = after.map(ListPosition::into_query).transpose()?;
        let limit = self.pages.request(limit, None)?.limit;
        let query = spec.query(self.clock.now());
        let rows = self
            .tasks
            .search(owner, &query, limit.saturating_add(1), after)
            .await?;
        Ok(paginate(rows, limit, |t: &Task| {
            ListPosition::Query(ListCursor::after(t, spec.sort))
        }))
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
            .ok_or(ApplicationError::NotFound("task"))
    }

    /// The stored task, checked against the client's `If-Match` version.
    async fn current(
        &self,
        owner: &UserId,
        id: TaskId,
        if_match: Option<i64>,
    ) -> Result<Task, ApplicationError> {
        let task = self
            .tasks
            .get(owner, id)
            .await?
            .ok_or(ApplicationError::NotFound("task"))?;
        match if_match {
            Some(v) if v != task.version => Err(ApplicationError::PreconditionFailed {
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
            return self.current(owner, id, if_match).await;
        }
        for _ in 0..WRITE_ATTEMPTS {
            let task = self.current(owner, id, if_match).await?;
            let completion = task.apply(&changes, self.clock.now(), self.ids.new_task_id())?;
            if let Some(written) = self.write(completion, task.version).await? {
                return Ok(written);
            }
        }
        Err(self.lost_race(owner, id, if_match).await)
    }

    /// Writes the outcome of an edit read at version `expected`; `None` when the task
    /// changed meanwhile.
    async fn write(
        &self,
        completion: Completion,
        expected: i64,
    ) -> Result<Option<Task>, ApplicationError> {
        let written = match &completion {
            Completion::Completed(task) => self.tasks.replace(task, expected).await?,
            Completion::Recurred { finished, next } => {
                self.tasks
                    .complete_occurrence(finished, next, expected)
                    .await?
            }
        };
        let (Completion::Completed(task) | Completion::Recurred { next: task, .. }) = completion;
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
        match self.current(owner, id, if_match).await {
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
        // One statement for the common case; it leaves repeating tasks alone.
        if let Some(task) = self
            .tasks
            .toggle_completed(owner, id, self.clock.now(), if_match)
            .await?
        {
            return Ok(task);
        }
        for _ in 0..WRITE_ATTEMPTS {
            let task = self.current(owner, id, if_match).await?;
            // One instant per write, so that `completed_at` equals `updated_at`.
            let now = self.clock.now();
            let completion = if task.repeats() {
                task.complete(now, self.ids.new_task_id())
            } else {
                // It changed between the toggle and the read: toggle what is there now.
                let mut next = task.clone();
                next.set_completed(!task.completed, now);
                next.updated_at = now;
                next.version = task.version.saturating_add(1);
                Completion::Completed(next)
            };
            if let Some(written) = self.write(completion, task.version).await? {
                return Ok(written);
            }
        }
        Err(self.lost_race(owner, id, if_match).await)
    }

    /// With `if_match`, only if the task is still at that version.
    pub async fn delete(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: TaskId,
        if_match: Option<i64>,
    ) -> Result<(), ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        if self.tasks.delete(owner, id, if_match).await? {
            return Ok(());
        }
        match if_match {
            // Gone, or there at another version.
            Some(_) => Err(self.lost_race(owner, id, if_match).await),
            None => Err(ApplicationError::NotFound("task")),
        }
    }
}

/// One page of `owner`'s tasks (shared by the owner's and the admin's listing).
pub(crate) async fn list_page(
    tasks: &dyn TaskRepository,
    owner: &UserId,
    page: PageRequest,
) -> Result<Page<Task, Cursor>, ApplicationError> {
    let probe = PageRequest {
        limit: page.limit.saturating_add(1),
        after: page.after,
    };
    let rows = tasks.list(owner, probe).await?;
    Ok(paginate(rows, page.limit, |t: &Task| Cursor {
        created_at: t.created_at,
        id: t.id,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ports::{MockTaskRepository, PortError};
    use crate::testing::*;
    use mockall::Sequence;
    use mockall::predicate::eq;
    use todo_domain::{DueWindow, Sort, SortValue, Status, Tag, TaskFilter, TaskQuery};

    fn service(tasks: MockTaskRepository) -> TaskService {
        TaskService::new(
            Arc::new(tasks),
            fixed_clock(50),
            fixed_ids(7),
            PageSettings {
                default_limit: 2,
                max_limit: 3,
            },
        )
    }

    fn new_task(title: &str) -> NewTask {
        NewTask::plain(TaskTitle::parse(title).unwrap(), None)
    }

    fn retitle(title: &str) -> TaskChanges {
        TaskChanges {
            title: Some(TaskTitle::parse(title).unwrap()),
            ..TaskChanges::default()
        }
    }

    fn set_priority(priority: Priority) -> TaskChanges {
        TaskChanges {
            priority: Some(Some(priority)),
            ..TaskChanges::default()
        }
    }

    fn is_forbidden<T: std::fmt::Debug>(r: Result<T, ApplicationError>) {
        assert!(matches!(r, Err(ApplicationError::Forbidden(_))), "{r:?}");
    }

    fn is_not_found<T: std::fmt::Debug>(r: Result<T, ApplicationError>) {
        assert!(
            matches!(r, Err(ApplicationError::NotFound("task"))),
            "{r:?}"
        );
    }

    fn is_precondition_failed<T: std::fmt::Debug>(r: Result<T, ApplicationError>, current: i64) {
        assert!(
            matches!(
                r,
                Err(ApplicationError::PreconditionFailed { current_version }) if current_version == current
            ),
            "{r:?}"
        );
    }

    // ----- create -----

    #[tokio::test]
    async fn creating_a_task_stores_it_open_and_stamped() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_insert()
            .withf(|t| {
                t.id == tid(7)
                    && t.owner == uid("alice")
                    && t.title.as_str() == "buy milk"
                    && !t.completed
                    && t.completed_at.is_none()
                    && t.created_at == at(50)
                    && t.updated_at == at(50)
                    && t.version == 1
            })
            .times(1)
            .returning(|_| Ok(()));
        let created = service(tasks)
            .create(&principal("alice"), &uid("alice"), new_task("buy milk"))
            .await
            .unwrap();
        assert_eq!(created.id, tid(7));
        assert_eq!(created.owner, uid("alice"));
        assert_eq!(created.version, 1);
    }

    #[tokio::test]
    async fn creating_with_every_new_field_stores_them() {
        let new = NewTask {
            title: TaskTitle::parse("water plants").unwrap(),
            description: TaskDescription::parse("the ones on the balcony").unwrap(),
            completed: false,
            priority: Some(Priority::High),
            tags: Tags::parse(&["home", "garden"]).unwrap(),
            due: Some(due("2026-12-01T09:00:00+01:00")),
            remind_at: Some(at(1_000)),
            recurrence: Some(Recurrence::parse("FREQ=WEEKLY").unwrap()),
            time_zone: Some(TimeZone::parse("time_zone", "Europe/Paris").unwrap()),
        };
        let expected = Task {
            id: tid(7),
            owner: uid("alice"),
            title: new.title.clone(),
            description: new.description.clone(),
            completed: false,
            created_at: at(50),
            updated_at: at(50),
            priority: Some(Priority::High),
            tags: new.tags.clone(),
            due: new.due,
            remind_at: Some(at(1_000)),
            completed_at: None,
            recurrence: new.recurrence.clone(),
            time_zone: new.time_zone,
            occurrences_done: 0,
            version: 1,
        };
        let stored = expected.clone();
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_insert()
            .withf(move |t| *t == stored)
            .times(1)
            .returning(|_| Ok(()));
        let created = service(tasks)
            .create(&principal("alice"), &uid("alice"), new)
            .await
            .unwrap();
        assert_eq!(created, expected);
    }

    #[tokio::test]
    async fn creating_a_completed_task_stamps_completed_at() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_insert()
            .withf(|t| t.completed && t.completed_at == Some(at(50)) && t.version == 1)
            .times(1)
            .returning(|_| Ok(()));
        let new = NewTask {
            completed: true,
            ..new_task("file taxes")
        };
        let created = service(tasks)
            .create(&principal("alice"), &uid("alice"), new)
            .await
            .unwrap();
        assert!(created.completed);
        assert_eq!(created.completed_at, Some(at(50)));
    }

    #[tokio::test]
    async fn a_recurrence_without_a_due_date_is_refused_and_nothing_is_stored() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_insert().never();
        let new = NewTask {
            recurrence: Some(Recurrence::parse("FREQ=DAILY").unwrap()),
            ..new_task("stretch")
        };
        let err = service(tasks)
            .create(&principal("alice"), &uid("alice"), new)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ApplicationError::Validation { field, .. } if field == "recurrence"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_user_cannot_create_tasks_for_someone_else() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_insert().never();
        let err = service(tasks)
            .create(&principal("alice"), &uid("bob"), new_task("buy milk"))
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Forbidden(_)), "{err:?}");
    }

    #[tokio::test]
    async fn an_unreachable_store_is_reported_as_unavailable() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_insert()
            .returning(|_| Err(PortError::Unavailable("connection refused".into())));
        let err = service(tasks)
            .create(&principal("alice"), &uid("alice"), new_task("x"))
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Unavailable(_)));
    }

    // ----- ownership and missing tasks -----

    #[tokio::test]
    async fn admins_do_not_get_other_users_task_paths_either() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_list().never();
        tasks.expect_search().never();
        tasks.expect_get().never();
        let svc = service(tasks);
        for spec in [ListSpec::default(), filtered()] {
            let err = svc
                .list(&admin("root"), &uid("bob"), &spec, None, None)
                .await
                .unwrap_err();
            assert!(matches!(err, ApplicationError::Forbidden(_)));
        }
        let err = svc
            .get(&admin("root"), &uid("bob"), tid(1))
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Forbidden(_)));
    }

    #[tokio::test]
    async fn every_operation_checks_ownership_before_touching_the_store() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_insert().never();
        tasks.expect_get().never();
        tasks.expect_list().never();
        tasks.expect_search().never();
        tasks.expect_replace().never();
        tasks.expect_toggle_completed().never();
        tasks.expect_complete_occurrence().never();
        tasks.expect_delete().never();
        let svc = service(tasks);
        let p = principal("alice");
        let bob = uid("bob");
        is_forbidden(svc.create(&p, &bob, new_task("x")).await);
        is_forbidden(svc.list(&p, &bob, &ListSpec::default(), None, None).await);
        is_forbidden(svc.list(&p, &bob, &filtered(), None, None).await);
        is_forbidden(svc.get(&p, &bob, tid(1)).await);
        for if_match in [None, Some(1)] {
            is_forbidden(svc.update(&p, &bob, tid(1), retitle("x"), if_match).await);
            is_forbidden(
                svc.update(&p, &bob, tid(1), TaskChanges::default(), if_match)
                    .await,
            );
            is_forbidden(svc.set_completed(&p, &bob, tid(1), None, if_match).await);
            is_forbidden(
                svc.set_completed(&p, &bob, tid(1), Some(true), if_match)
                    .await,
            );
            is_forbidden(
                svc.set_completed(&p, &bob, tid(1), Some(false), if_match)
                    .await,
            );
            is_forbidden(svc.delete(&p, &bob, tid(1), if_match).await);
        }
    }

    #[tokio::test]
    async fn a_missing_task_is_not_found() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_get().returning(|_, _| Ok(None));
        tasks
            .expect_toggle_completed()
            .returning(|_, _, _, _| Ok(None));
        tasks.expect_delete().returning(|_, _, _| Ok(false));
        tasks.expect_replace().never();
        tasks.expect_complete_occurrence().never();
        let svc = service(tasks);
        let p = principal("alice");
        let me = uid("alice");
        is_not_found(svc.get(&p, &me, tid(1)).await);
        for if_match in [None, Some(1)] {
            is_not_found(svc.update(&p, &me, tid(1), retitle("x"), if_match).await);
            is_not_found(
                svc.update(&p, &me, tid(1), TaskChanges::default(), if_match)
                    .await,
            );
            is_not_found(svc.set_completed(&p, &me, tid(1), None, if_match).await);
            is_not_found(
                svc.set_completed(&p, &me, tid(1), Some(true), if_match)
                    .await,
            );
            is_not_found(
                svc.set_completed(&p, &me, tid(1), Some(false), if_match)
                    .await,
            );
            is_not_found(svc.delete(&p, &me, tid(1), if_match).await);
        }
    }

    // ----- update -----

    #[tokio::test]
    async fn an_empty_update_writes_nothing() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_replace().never();
        tasks.expect_complete_occurrence().never();
        tasks
            .expect_get()
            .with(eq(uid("alice")), eq(tid(1)))
            .returning(|_, _| Ok(Some(task("alice", 1, "same"))));
        let got = service(tasks)
            .update(
                &principal("alice"),
                &uid("alice"),
                tid(1),
                TaskChanges::default(),
                None,
            )
            .await
            .unwrap();
        assert_eq!(got.title.as_str(), "same");
        assert_eq!(got.updated_at, at(10));
        assert_eq!(got.version, 1);
    }

    #[tokio::test]
    async fn an_empty_update_still_checks_if_match() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_replace().never();
        tasks
            .expect_get()
            .returning(|_, _| Ok(Some(versioned(task("alice", 1, "same"), 4))));
        let svc = service(tasks);
        let (p, me) = (principal("alice"), uid("alice"));
        let got = svc
            .update(&p, &me, tid(1), TaskChanges::default(), Some(4))
            .await
            .unwrap();
        assert_eq!(got.version, 4);
        is_precondition_failed(
            svc.update(&p, &me, tid(1), TaskChanges::default(), Some(3))
                .await,
            4,
        );
    }

    #[tokio::test]
    async fn updates_are_stamped_with_the_clock() {
        let mut tasks = MockTaskRepository::new();
        let mut seq = Sequence::new();
        tasks
            .expect_get()
            .with(eq(uid("alice")), eq(tid(1)))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(Some(task("alice", 1, "old"))));
        tasks
            .expect_replace()
            .withf(|t, expected| {
                t.owner == uid("alice")
                    && t.id == tid(1)
                    && t.title.as_str() == "new"
                    && t.updated_at == at(50)
                    && t.created_at == at(10)
                    && t.version == 2
                    && *expected == 1
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(true));
        let got = service(tasks)
            .update(
                &principal("alice"),
                &uid("alice"),
                tid(1),
                retitle("new"),
                None,
            )
            .await
            .unwrap();
        assert_eq!(got.title.as_str(), "new");
        assert_eq!(got.updated_at, at(50));
        assert_eq!(got.version, 2);
    }

    #[tokio::test]
    async fn an_update_with_a_matching_if_match_replaces_at_that_version() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_get()
            .times(1)
            .returning(|_, _| Ok(Some(versioned(task("alice", 1, "old"), 3))));
        tasks
            .expect_replace()
            .withf(|t, expected| t.title.as_str() == "new" && t.version == 4 && *expected == 3)
            .times(1)
            .returning(|_, _| Ok(true));
        let got = service(tasks)
            .update(
                &principal("alice"),
                &uid("alice"),
                tid(1),
                retitle("new"),
                Some(3),
            )
            .await
            .unwrap();
        assert_eq!(got.title.as_str(), "new");
        assert_eq!(got.version, 4);
    }

    #[tokio::test]
    async fn an_update_with_a_stale_if_match_is_refused_with_the_current_version() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_get()
            .times(1)
            .returning(|_, _| Ok(Some(versioned(task("alice", 1, "old"), 4))));
        tasks.expect_replace().never();
        tasks.expect_complete_occurrence().never();
        let r = service(tasks)
            .update(
                &principal("alice"),
                &uid("alice"),
                tid(1),
                retitle("new"),
                Some(3),
            )
            .await;
        is_precondition_failed(r, 4);
    }

    #[tokio::test]
    async fn an_update_retries_after_a_concurrent_write_and_keeps_both_changes() {
        let mut tasks = MockTaskRepository::new();
        let mut seq = Sequence::new();
        tasks
            .expect_get()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(Some(task("alice", 1, "buy milk"))));
        tasks
            .expect_replace()
            .withf(|t, expected| {
                t.title.as_str() == "buy milk"
                    && t.priority == Some(Priority::High)
                    && t.version == 2
                    && *expected == 1
            })
            .times(1)
            .in_sequence(&mut seq)
            // Another request renamed it in between.
            .returning(|_, _| Ok(false));
        tasks
            .expect_get()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| {
                let mut renamed = versioned(task("alice", 1, "buy oat milk"), 2);
                renamed.tags = Tags::parse(&["shopping"]).unwrap();
                Ok(Some(renamed))
            });
        tasks
            .expect_replace()
            .withf(|t, expected| {
                t.title.as_str() == "buy oat milk"
                    && t.tags == Tags::parse(&["shopping"]).unwrap()
                    && t.priority == Some(Priority::High)
                    && t.version == 3
                    && t.updated_at == at(50)
                    && *expected == 2
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(true));
        let got = service(tasks)
            .update(
                &principal("alice"),
                &uid("alice"),
                tid(1),
                set_priority(Priority::High),
                None,
            )
            .await
            .unwrap();
        assert_eq!(got.title.as_str(), "buy oat milk");
        assert_eq!(got.priority, Some(Priority::High));
        assert_eq!(got.version, 3);
    }

    #[tokio::test]
    async fn an_update_gives_up_with_conflict_when_the_task_keeps_changing() {
        let mut tasks = MockTaskRepository::new();
        let mut version = 0;
        tasks.expect_get().returning(move |_, _| {
            version += 1;
            Ok(Some(versioned(task("alice", 1, "busy"), version)))
        });
        tasks
            .expect_replace()
            .withf(|t, expected| t.version == expected + 1)
            .times(WRITE_ATTEMPTS)
            .returning(|_, _| Ok(false));
        let err = service(tasks)
            .update(
                &principal("alice"),
                &uid("alice"),
                tid(1),
                retitle("new"),
                None,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Conflict(_)), "{err:?}");
    }

    #[tokio::test]
    async fn an_update_with_if_match_that_loses_a_race_reports_the_new_version() {
        let mut tasks = MockTaskRepository::new();
        let mut seq = Sequence::new();
        tasks
            .expect_get()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(Some(versioned(task("alice", 1, "old"), 3))));
        tasks
            .expect_replace()
            .withf(|_, expected| *expected == 3)
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(false));
        tasks
            .expect_get()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(Some(versioned(task("alice", 1, "theirs"), 4))));
        let r = service(tasks)
            .update(
                &principal("alice"),
                &uid("alice"),
                tid(1),
                retitle("mine"),
                Some(3),
            )
            .await;
        is_precondition_failed(r, 4);
    }

    #[tokio::test]
    async fn a_task_deleted_during_an_update_is_not_found() {
        let mut tasks = MockTaskRepository::new();
        let mut seq = Sequence::new();
        tasks
            .expect_get()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(Some(task("alice", 1, "old"))));
        tasks
            .expect_replace()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(false));
        tasks
            .expect_get()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(None));
        let r = service(tasks)
            .update(
                &principal("alice"),
                &uid("alice"),
                tid(1),
                retitle("new"),
                None,
            )
            .await;
        is_not_found(r);
    }

    #[tokio::test]
    async fn an_update_that_breaks_a_rule_writes_nothing() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_get()
            .returning(|_, _| Ok(Some(task("alice", 1, "no due date"))));
        tasks.expect_replace().never();
        tasks.expect_complete_occurrence().never();
        let changes = TaskChanges {
            recurrence: Some(Some(Recurrence::parse("FREQ=DAILY").unwrap())),
            ..TaskChanges::default()
        };
        let err = service(tasks)
            .update(&principal("alice"), &uid("alice"), tid(1), changes, None)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ApplicationError::Validation { field, .. } if field == "recurrence"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_store_failure_while_writing_is_reported() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_get()
            .returning(|_, _| Ok(Some(task("alice", 1, "old"))));
        tasks
            .expect_replace()
            .times(1)
            .returning(|_, _| Err(PortError::Unavailable("pool timed out".into())));
        let err = service(tasks)
            .update(
                &principal("alice"),
                &uid("alice"),
                tid(1),
                retitle("new"),
                None,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Unavailable(_)), "{err:?}");
    }

    // ----- completion -----

    #[tokio::test]
    async fn completion_is_set_when_given_and_toggled_when_not() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_get()
            .times(1)
            .returning(|_, _| Ok(Some(task("alice", 1, "x"))));
        tasks
            .expect_replace()
            .withf(|t, expected| {
                t.completed
                    && t.completed_at == Some(at(50))
                    && t.title.as_str() == "x"
                    && t.version == 2
                    && *expected == 1
            })
            .times(1)
            .returning(|_, _| Ok(true));
        tasks
            .expect_toggle_completed()
            .with(eq(uid("alice")), eq(tid(1)), eq(at(50)), eq(None))
            .times(1)
            .returning(|_, _, _, _| Ok(Some(versioned(task("alice", 1, "x"), 3))));
        let svc = service(tasks);
        let p = principal("alice");
        let me = uid("alice");
        let done = svc
            .set_completed(&p, &me, tid(1), Some(true), None)
            .await
            .unwrap();
        assert!(done.completed);
        assert_eq!(done.completed_at, Some(at(50)));
        let toggled = svc
            .set_completed(&p, &me, tid(1), None, None)
            .await
            .unwrap();
        assert!(!toggled.completed);
        assert_eq!(toggled.version, 3);
    }

    #[tokio::test]
    async fn reopening_clears_completed_at() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_get().times(1).returning(|_, _| {
            let mut done = versioned(task("alice", 1, "x"), 2);
            done.set_completed(true, at(20));
            Ok(Some(done))
        });
        tasks
            .expect_replace()
            .withf(|t, expected| {
                !t.completed && t.completed_at.is_none() && t.version == 3 && *expected == 2
            })
            .times(1)
            .returning(|_, _| Ok(true));
        let got = service(tasks)
            .set_completed(
                &principal("alice"),
                &uid("alice"),
                tid(1),
                Some(false),
                None,
            )
            .await
            .unwrap();
        assert!(!got.completed);
        assert_eq!(got.completed_at, None);
    }

    #[tokio::test]
    async fn toggling_a_plain_task_is_one_statement() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_get().never();
        tasks.expect_replace().never();
        tasks.expect_complete_occurrence().never();
        tasks
            .expect_toggle_completed()
            .with(eq(uid("alice")), eq(tid(1)), eq(at(50)), eq(Some(2)))
            .times(1)
            .returning(|_, _, now, _| {
                let mut t = versioned(task("alice", 1, "x"), 3);
                t.set_completed(true, now);
                Ok(Some(t))
            });
        let got = service(tasks)
            .set_completed(&principal("alice"), &uid("alice"), tid(1), None, Some(2))
            .await
            .unwrap();
        assert!(got.completed);
        assert_eq!(got.completed_at, Some(at(50)));
        assert_eq!(got.version, 3);
    }

    #[tokio::test]
    async fn toggling_with_a_stale_if_match_reports_the_current_version() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_toggle_completed()
            .with(eq(uid("alice")), eq(tid(1)), eq(at(50)), eq(Some(2)))
            .times(1)
            .returning(|_, _, _, _| Ok(None));
        tasks
            .expect_get()
            .times(1)
            .returning(|_, _| Ok(Some(versioned(task("alice", 1, "x"), 5))));
        tasks.expect_replace().never();
        tasks.expect_complete_occurrence().never();
        let r = service(tasks)
            .set_completed(&principal("alice"), &uid("alice"), tid(1), None, Some(2))
            .await;
        is_precondition_failed(r, 5);
    }

    #[tokio::test]
    async fn toggling_an_open_recurring_task_records_the_occurrence_and_moves_it_on() {
        let mut tasks = MockTaskRepository::new();
        let mut seq = Sequence::new();
        tasks
            .expect_toggle_completed()
            .with(eq(uid("alice")), eq(tid(1)), eq(at(50)), eq(None))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _| Ok(None));
        tasks
            .expect_get()
            .with(eq(uid("alice")), eq(tid(1)))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| {
                let t = recurring_task("alice", 1, "water plants", "FREQ=WEEKLY", "2026-12-01");
                Ok(Some(versioned(t, 3)))
            });
        tasks
            .expect_complete_occurrence()
            .withf(|finished, next, expected| {
                finished.id == tid(7)
                    && finished.owner == uid("alice")
                    && finished.title.as_str() == "water plants"
                    && finished.completed
                    && finished.completed_at == Some(at(50))
                    && finished.due == Some(due("2026-12-01"))
                    && finished.recurrence.is_none()
                    && finished.version == 1
                    && next.id == tid(1)
                    && !next.completed
                    && next.completed_at.is_none()
                    && next.due == Some(due("2026-12-08"))
                    && next.recurrence == Some(Recurrence::parse("FREQ=WEEKLY").unwrap())
                    && next.occurrences_done == 1
                    && next.version == 4
                    && next.updated_at == at(50)
                    && *expected == 3
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _| Ok(true));
        tasks.expect_replace().never();
        let got = service(tasks)
            .set_completed(&principal("alice"), &uid("alice"), tid(1), None, None)
            .await
            .unwrap();
        assert_eq!(got.id, tid(1));
        assert!(!got.completed);
        assert_eq!(got.due, Some(due("2026-12-08")));
        assert_eq!(got.version, 4);
    }

    #[tokio::test]
    async fn a_recurring_toggle_that_loses_a_race_completes_the_fresh_state() {
        let mut tasks = MockTaskRepository::new();
        let mut seq = Sequence::new();
        tasks
            .expect_toggle_completed()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _| Ok(None));
        tasks
            .expect_get()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| {
                let t = recurring_task("alice", 1, "water plants", "FREQ=WEEKLY", "2026-12-01");
                Ok(Some(t))
            });
        tasks
            .expect_complete_occurrence()
            .withf(|_, _, expected| *expected == 1)
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _| Ok(false));
        tasks
            .expect_get()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| {
                let t = recurring_task("alice", 1, "water roses", "FREQ=WEEKLY", "2026-12-01");
                Ok(Some(versioned(t, 2)))
            });
        tasks
            .expect_complete_occurrence()
            .withf(|finished, next, expected| {
                finished.title.as_str() == "water roses"
                    && next.title.as_str() == "water roses"
                    && next.due == Some(due("2026-12-08"))
                    && next.version == 3
                    && *expected == 2
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _| Ok(true));
        let got = service(tasks)
            .set_completed(&principal("alice"), &uid("alice"), tid(1), None, None)
            .await
            .unwrap();
        assert_eq!(got.version, 3);
    }

    #[tokio::test]
    async fn a_toggle_of_a_task_that_stopped_repeating_is_one_consistent_write() {
        // The one-statement toggle left it alone (it repeated then); by the read its
        // recurrence is gone, so it is toggled by a plain write.
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_toggle_completed()
            .times(1)
            .returning(|_, _, _, _| Ok(None));
        tasks
            .expect_get()
            .times(1)
            .returning(|_, _| Ok(Some(versioned(task("alice", 1, "x"), 2))));
        tasks
            .expect_replace()
            .withf(|t, expected| {
                t.completed
                    && t.completed_at.is_some()
                    && t.completed_at == Some(t.updated_at)
                    && t.version == 3
                    && *expected == 2
            })
            .times(1)
            .returning(|_, _| Ok(true));
        tasks.expect_complete_occurrence().never();
        let svc = TaskService::new(
            Arc::new(tasks),
            ticking_clock(50),
            fixed_ids(7),
            PageSettings::default(),
        );
        let got = svc
            .set_completed(&principal("alice"), &uid("alice"), tid(1), None, None)
            .await
            .unwrap();
        assert!(got.completed);
        assert_eq!(got.completed_at, Some(got.updated_at));
    }

    #[tokio::test]
    async fn completing_a_recurring_task_through_set_completed_records_an_occurrence() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_toggle_completed().never();
        tasks.expect_replace().never();
        tasks.expect_get().times(1).returning(|_, _| {
            let t = recurring_task("alice", 1, "pay rent", "FREQ=MONTHLY", "2026-11-01");
            Ok(Some(versioned(t, 2)))
        });
        tasks
            .expect_complete_occurrence()
            .withf(|finished, next, expected| {
                finished.id == tid(7)
                    && finished.completed
                    && finished.completed_at == Some(at(50))
                    && finished.due == Some(due("2026-11-01"))
                    && next.id == tid(1)
                    && !next.completed
                    && next.due == Some(due("2026-12-01"))
                    && next.version == 3
                    && *expected == 2
            })
            .times(1)
            .returning(|_, _, _| Ok(true));
        let got = service(tasks)
            .set_completed(
                &principal("alice"),
                &uid("alice"),
                tid(1),
                Some(true),
                Some(2),
            )
            .await
            .unwrap();
        assert!(!got.completed);
        assert_eq!(got.due, Some(due("2026-12-01")));
        assert_eq!(got.version, 3);
    }

    // ----- delete -----

    #[tokio::test]
    async fn deleting_passes_if_match_to_the_store() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_delete()
            .with(eq(uid("alice")), eq(tid(1)), eq(Some(3)))
            .times(1)
            .returning(|_, _, _| Ok(true));
        tasks
            .expect_delete()
            .with(eq(uid("alice")), eq(tid(2)), eq(None))
            .times(1)
            .returning(|_, _, _| Ok(true));
        tasks.expect_get().never();
        let svc = service(tasks);
        let (p, me) = (principal("alice"), uid("alice"));
        svc.delete(&p, &me, tid(1), Some(3)).await.unwrap();
        svc.delete(&p, &me, tid(2), None).await.unwrap();
    }

    #[tokio::test]
    async fn deleting_with_a_stale_if_match_reports_the_current_version() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_delete()
            .with(eq(uid("alice")), eq(tid(1)), eq(Some(3)))
            .times(1)
            .returning(|_, _, _| Ok(false));
        tasks
            .expect_get()
            .times(1)
            .returning(|_, _| Ok(Some(versioned(task("alice", 1, "x"), 4))));
        let r = service(tasks)
            .delete(&principal("alice"), &uid("alice"), tid(1), Some(3))
            .await;
        is_precondition_failed(r, 4);
    }

    #[tokio::test]
    async fn deleting_a_missing_task_is_not_found() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_delete()
            .with(eq(uid("alice")), eq(tid(1)), eq(None))
            .times(1)
            .returning(|_, _, _| Ok(false));
        tasks
            .expect_delete()
            .with(eq(uid("alice")), eq(tid(1)), eq(Some(3)))
            .times(1)
            .returning(|_, _, _| Ok(false));
        // Only asked why with If-Match: without it, `false` can only mean missing.
        tasks.expect_get().times(1).returning(|_, _| Ok(None));
        let svc = service(tasks);
        let (p, me) = (principal("alice"), uid("alice"));
        is_not_found(svc.delete(&p, &me, tid(1), None).await);
        is_not_found(svc.delete(&p, &me, tid(1), Some(3)).await);
    }

    // ----- lists -----

    fn plain() -> ListSpec {
        ListSpec::default()
    }

    /// Open tasks tagged `home`, latest due first, with "today" judged in Tokyo.
    fn filtered() -> ListSpec {
        ListSpec {
            filter: TaskFilter {
                status: Status::Pending,
                tags: vec![Tag::parse("home").unwrap()],
                due_today: true,
                ..TaskFilter::default()
            },
            sort: Sort::parse("-due").unwrap(),
            tz: zone("Asia/Tokyo"),
        }
    }

    #[tokio::test]
    async fn lists_use_the_default_page_size_and_report_a_next_cursor() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_list()
            .withf(|owner, page| *owner == uid("alice") && page.limit == 3 && page.after.is_none())
            .times(1)
            .returning(|_, _| {
                Ok(vec![
                    task("alice", 1, "a"),
                    task("alice", 2, "b"),
                    task("alice", 3, "c"),
                ])
            });
        tasks.expect_search().never();
        let page = service(tasks)
            .list(&principal("alice"), &uid("alice"), &plain(), None, None)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(
            page.next,
            Some(ListPosition::Plain(Cursor {
                created_at: at(10),
                id: tid(2)
            }))
        );
    }

    #[tokio::test]
    async fn the_last_page_has_no_next_cursor() {
        let mut tasks = MockTaskRepository::new();
        let after = Cursor {
            created_at: at(10),
            id: tid(2),
        };
        tasks
            .expect_list()
            .withf(move |_, page| page.limit == 4 && page.after == Some(after))
            .returning(|_, _| Ok(vec![task("alice", 3, "c")]));
        let page = service(tasks)
            .list(
                &principal("alice"),
                &uid("alice"),
                &plain(),
                Some(3),
                Some(ListPosition::Plain(after)),
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.next, None);
    }

    #[tokio::test]
    async fn page_sizes_beyond_the_maximum_are_refused() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_list().never();
        tasks.expect_search().never();
        let svc = service(tasks);
        for spec in [plain(), filtered()] {
            for limit in [0, 4] {
                let err = svc
                    .list(&principal("alice"), &uid("alice"), &spec, Some(limit), None)
                    .await
                    .unwrap_err();
                assert!(
                    matches!(&err, ApplicationError::Validation { field, .. } if field == "limit"),
                    "{err:?}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_default_query_reads_the_plain_list_even_with_a_zone() {
        // `status=all`, `sort=created_at` and a `tz` filter nothing: still the fast path.
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_list()
            .times(1)
            .returning(|_, _| Ok(vec![task("alice", 1, "a")]));
        tasks.expect_search().never();
        let spec = ListSpec {
            filter: TaskFilter {
                status: Status::All,
                ..TaskFilter::default()
            },
            sort: Sort::parse("created_at").unwrap(),
            tz: zone("Europe/Berlin"),
        };
        let page = service(tasks)
            .list(&principal("alice"), &uid("alice"), &spec, None, None)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.next, None);
    }

    #[tokio::test]
    async fn a_filtered_query_searches_with_its_filter_sort_and_window() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_list().never();
        let expected = TaskQuery {
            filter: filtered().filter,
            sort: filtered().sort,
            // The clock's now (50 s after the epoch), as seen in Tokyo.
            window: DueWindow::at(at(50), zone("Asia/Tokyo")),
        };
        tasks
            .expect_search()
            .withf(move |owner, query, limit, after| {
                *owner == uid("alice") && *query == expected && *limit == 3 && after.is_none()
            })
            .times(1)
            .returning(|_, _, _, _| {
                let mut rows = vec![
                    task("alice", 1, "a"),
                    task("alice", 2, "b"),
                    task("alice", 3, "c"),
                ];
                for (row, day) in rows
                    .iter_mut()
                    .zip(["2026-12-03", "2026-12-02", "2026-12-01"])
                {
                    row.due = Some(due(day));
                }
                Ok(rows)
            });
        let page = service(tasks)
            .list(&principal("alice"), &uid("alice"), &filtered(), None, None)
            .await
            .unwrap();
        let ids: Vec<TaskId> = page.items.iter().map(|t| t.id).collect();
        assert_eq!(ids, [tid(1), tid(2)]);
        assert_eq!(
            page.next,
            Some(ListPosition::Query(ListCursor {
                value: SortValue::Instant(Some(due("2026-12-02").starts_at_utc())),
                id: tid(2),
            }))
        );
    }

    #[tokio::test]
    async fn a_sorted_list_continues_after_its_cursor() {
        let after = ListCursor {
            value: SortValue::Text("b".to_owned()),
            id: tid(2),
        };
        let passed = after.clone();
        let mut tasks = MockTaskRepository::new();
        tasks.expect_list().never();
        tasks
            .expect_search()
            .withf(move |_, query, limit, got| {
                // A sort alone leaves the filter empty; the client's limit plus one.
                query.sort == Sort::parse("title").unwrap()
                    && query.filter == TaskFilter::default()
                    && *limit == 2
                    && got.as_ref() == Some(&passed)
            })
            .times(1)
            .returning(|_, _, _, _| Ok(vec![task("alice", 3, "c")]));
        let spec = ListSpec {
            sort: Sort::parse("title").unwrap(),
            ..ListSpec::default()
        };
        let page = service(tasks)
            .list(
                &principal("alice"),
                &uid("alice"),
                &spec,
                Some(1),
                Some(ListPosition::Query(after)),
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.next, None);
    }

    #[tokio::test]
    async fn a_cursor_of_the_other_kind_of_list_is_refused() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_list().never();
        tasks.expect_search().never();
        let svc = service(tasks);
        let plain_cursor = ListPosition::Plain(Cursor {
            created_at: at(10),
            id: tid(2),
        });
        let query_cursor = ListPosition::Query(ListCursor {
            value: SortValue::Instant(None),
            id: tid(2),
        });
        for (spec, after) in [(plain(), query_cursor), (filtered(), plain_cursor)] {
            let err = svc
                .list(&principal("alice"), &uid("alice"), &spec, None, Some(after))
                .await
                .unwrap_err();
            assert!(
                matches!(&err, ApplicationError::Validation { field, .. } if field == "cursor"),
                "{err:?}"
            );
        }
    }

    #[tokio::test]
    async fn listing_someone_elses_tasks_is_forbidden_before_anything_else() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_list().never();
        tasks.expect_search().never();
        let svc = service(tasks);
        for spec in [plain(), filtered()] {
            // Even a bad limit is not looked at first.
            is_forbidden(
                svc.list(&principal("bob"), &uid("alice"), &spec, Some(0), None)
                    .await,
            );
        }
    }
}
