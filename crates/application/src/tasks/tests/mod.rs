//! Unit tests of the task service, one file per use case, and the helpers they share.

mod complete;
mod create;
mod delete;
mod idempotent;
mod list;
mod moving;
mod ownership;
mod summary;
mod sync;
mod update;

use std::sync::Arc;

use todo_domain::{ListSpec, Sort, Status, Tag, TaskChanges, TaskFilter, TaskTitle};

use super::*;
use crate::ports::MockTaskRepository;
use crate::testing::*;

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
