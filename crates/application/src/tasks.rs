use std::sync::Arc;

use todo_domain::{
    Cursor, PageRequest, Principal, Task, TaskChanges, TaskDescription, TaskId, TaskTitle, UserId,
    policy,
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
}

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
        let mut task = Task::new(
            self.ids.new_task_id(),
            owner.clone(),
            new.title,
            new.description,
            self.clock.now(),
        );
        task.completed = new.completed;
        self.tasks.insert(&task).await?;
        Ok(task)
    }

    pub async fn list(
        &self,
        principal: &Principal,
        owner: &UserId,
        limit: Option<u32>,
        after: Option<Cursor>,
    ) -> Result<Page<Task, Cursor>, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let page = self.pages.request(limit, after)?;
        list_page(self.tasks.as_ref(), owner, page).await
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

    /// Applies a partial update; an empty one changes nothing and returns the task.
    pub async fn update(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: TaskId,
        changes: TaskChanges,
    ) -> Result<Task, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let updated = if changes.is_empty() {
            self.tasks.get(owner, id).await?
        } else {
            self.tasks
                .update(owner, id, &changes, self.clock.now())
                .await?
        };
        updated.ok_or(ApplicationError::NotFound("task"))
    }

    /// Sets `completed` to `completed`, or flips it when `None`.
    pub async fn set_completed(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: TaskId,
        completed: Option<bool>,
    ) -> Result<Task, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let now = self.clock.now();
        let updated = match completed {
            Some(completed) => {
                let changes = TaskChanges {
                    completed: Some(completed),
                    ..TaskChanges::default()
                };
                self.tasks.update(owner, id, &changes, now).await?
            }
            None => self.tasks.toggle_completed(owner, id, now).await?,
        };
        updated.ok_or(ApplicationError::NotFound("task"))
    }

    pub async fn delete(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: TaskId,
    ) -> Result<(), ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        if self.tasks.delete(owner, id).await? {
            Ok(())
        } else {
            Err(ApplicationError::NotFound("task"))
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
    use mockall::predicate::eq;

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
        NewTask {
            title: TaskTitle::parse(title).unwrap(),
            description: None,
            completed: false,
        }
    }

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
                    && t.created_at == at(50)
                    && t.updated_at == at(50)
            })
            .times(1)
            .returning(|_| Ok(()));
        let created = service(tasks)
            .create(&principal("alice"), &uid("alice"), new_task("buy milk"))
            .await
            .unwrap();
        assert_eq!(created.id, tid(7));
        assert_eq!(created.owner, uid("alice"));
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
    async fn admins_do_not_get_other_users_task_paths_either() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_list().never();
        tasks.expect_get().never();
        let svc = service(tasks);
        let err = svc
            .list(&admin("root"), &uid("bob"), None, None)
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Forbidden(_)));
        let err = svc
            .get(&admin("root"), &uid("bob"), tid(1))
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Forbidden(_)));
    }

    #[tokio::test]
    async fn every_operation_checks_ownership_before_touching_the_store() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_get().never();
        tasks.expect_update().never();
        tasks.expect_toggle_completed().never();
        tasks.expect_delete().never();
        let svc = service(tasks);
        let p = principal("alice");
        let bob = uid("bob");
        let forbidden = |r: Result<_, ApplicationError>| {
            assert!(matches!(r, Err(ApplicationError::Forbidden(_))));
        };
        forbidden(svc.get(&p, &bob, tid(1)).await);
        forbidden(svc.update(&p, &bob, tid(1), TaskChanges::default()).await);
        forbidden(svc.set_completed(&p, &bob, tid(1), None).await);
        forbidden(svc.set_completed(&p, &bob, tid(1), Some(true)).await);
        forbidden(
            svc.delete(&p, &bob, tid(1))
                .await
                .map(|()| task("bob", 1, "x")),
        );
    }

    #[tokio::test]
    async fn a_missing_task_is_not_found() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_get().returning(|_, _| Ok(None));
        tasks.expect_update().returning(|_, _, _, _| Ok(None));
        tasks
            .expect_toggle_completed()
            .returning(|_, _, _| Ok(None));
        tasks.expect_delete().returning(|_, _| Ok(false));
        let svc = service(tasks);
        let p = principal("alice");
        let me = uid("alice");
        let not_found = |r: Result<Task, ApplicationError>| {
            assert!(matches!(r, Err(ApplicationError::NotFound("task"))));
        };
        not_found(svc.get(&p, &me, tid(1)).await);
        let rename = TaskChanges {
            title: Some(TaskTitle::parse("x").unwrap()),
            ..TaskChanges::default()
        };
        not_found(svc.update(&p, &me, tid(1), rename).await);
        not_found(svc.update(&p, &me, tid(1), TaskChanges::default()).await);
        not_found(svc.set_completed(&p, &me, tid(1), None).await);
        not_found(svc.set_completed(&p, &me, tid(1), Some(false)).await);
        not_found(
            svc.delete(&p, &me, tid(1))
                .await
                .map(|()| task("alice", 1, "x")),
        );
    }

    #[tokio::test]
    async fn an_empty_update_writes_nothing() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_update().never();
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
            )
            .await
            .unwrap();
        assert_eq!(got.title.as_str(), "same");
        assert_eq!(got.updated_at, at(10));
    }

    #[tokio::test]
    async fn updates_are_stamped_with_the_clock() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_update()
            .withf(|owner, id, changes, now| {
                *owner == uid("alice")
                    && *id == tid(1)
                    && changes.title.as_ref().map(TaskTitle::as_str) == Some("new")
                    && *now == at(50)
            })
            .times(1)
            .returning(|_, _, _, _| Ok(Some(task("alice", 1, "new"))));
        let changes = TaskChanges {
            title: Some(TaskTitle::parse("new").unwrap()),
            ..TaskChanges::default()
        };
        let got = service(tasks)
            .update(&principal("alice"), &uid("alice"), tid(1), changes)
            .await
            .unwrap();
        assert_eq!(got.title.as_str(), "new");
    }

    #[tokio::test]
    async fn completion_is_set_when_given_and_toggled_when_not() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_update()
            .withf(|_, _, changes, _| changes.completed == Some(true) && changes.title.is_none())
            .times(1)
            .returning(|_, _, _, _| {
                let mut t = task("alice", 1, "x");
                t.completed = true;
                Ok(Some(t))
            });
        tasks
            .expect_toggle_completed()
            .with(eq(uid("alice")), eq(tid(1)), eq(at(50)))
            .times(1)
            .returning(|_, _, _| Ok(Some(task("alice", 1, "x"))));
        let svc = service(tasks);
        let p = principal("alice");
        let me = uid("alice");
        assert!(
            svc.set_completed(&p, &me, tid(1), Some(true))
                .await
                .unwrap()
                .completed
        );
        assert!(
            !svc.set_completed(&p, &me, tid(1), None)
                .await
                .unwrap()
                .completed
        );
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
        let page = service(tasks)
            .list(&principal("alice"), &uid("alice"), None, None)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(
            page.next,
            Some(Cursor {
                created_at: at(10),
                id: tid(2)
            })
        );
    }

    #[tokio::test]
    async fn the_last_page_has_no_next_cursor() {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_list()
            .withf(|_, page| page.limit == 4 && page.after.is_some())
            .returning(|_, _| Ok(vec![task("alice", 3, "c")]));
        let after = Cursor {
            created_at: at(10),
            id: tid(2),
        };
        let page = service(tasks)
            .list(&principal("alice"), &uid("alice"), Some(3), Some(after))
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.next, None);
    }

    #[tokio::test]
    async fn page_sizes_beyond_the_maximum_are_refused() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_list().never();
        let svc = service(tasks);
        for limit in [0, 4] {
            let err = svc
                .list(&principal("alice"), &uid("alice"), Some(limit), None)
                .await
                .unwrap_err();
            assert!(
                matches!(&err, ApplicationError::Validation { field, .. } if field == "limit"),
                "{err:?}"
            );
        }
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
}
