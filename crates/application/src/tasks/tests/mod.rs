//! Unit tests of the task service, one file per use case, and the helpers they share.

mod complete;
mod create;
mod delete;
mod idempotent;
mod list;
mod moving;
mod ownership;
mod placing;
mod roles;
mod summary;
mod sync;
mod update;

use std::sync::Arc;

use todo_domain::{ListSpec, Role, Sort, Status, Tag, TaskChanges, TaskFilter, TaskTitle};

use super::*;
use crate::ports::{MockListRepository, MockTaskRepository};
use crate::testing::*;

/// The service over `tasks`, with lists where every user has an Inbox (and nothing
/// else: any other call on the lists fails the test).
fn service(tasks: MockTaskRepository) -> TaskService {
    service_with(tasks, inboxes_only())
}

/// Tasks in lists with room for more (a task moved into a list counts its open tasks).
fn with_room() -> MockTaskRepository {
    let mut tasks = MockTaskRepository::new();
    tasks.expect_open_in_list().returning(|_| Ok(0));
    tasks
}

/// Lists that only hand out Inboxes.
fn inboxes_only() -> MockListRepository {
    let mut lists = MockListRepository::new();
    lists
        .expect_ensure_inbox()
        .returning(|candidate| Ok(inbox_of(&candidate.owner)));
    lists
}

fn service_with(tasks: MockTaskRepository, lists: MockListRepository) -> TaskService {
    build(
        tasks,
        lists,
        fixed_clock(50),
        PageSettings {
            default_limit: 2,
            max_limit: 3,
        },
    )
}

/// The service over these mocks, with ids that are always 7.
fn build(
    tasks: MockTaskRepository,
    lists: MockListRepository,
    clock: Arc<dyn crate::ports::Clock>,
    pages: PageSettings,
) -> TaskService {
    let lists: Arc<dyn crate::ports::ListRepository> = Arc::new(lists);
    let ids: Arc<dyn crate::ports::IdGenerator> = fixed_ids(7);
    let inboxes = crate::inbox::Inboxes::new(lists.clone(), clock.clone(), ids.clone());
    TaskService::new(Arc::new(tasks), lists, inboxes, clock, ids, pages)
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
        include_deleted: false,
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
            Err(ApplicationError::PreconditionFailed { current_version, .. }) if current_version == current
        ),
        "{r:?}"
    );
}
