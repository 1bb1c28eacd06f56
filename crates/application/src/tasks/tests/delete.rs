//! Tests of deleting a task, one or every completed one.

use mockall::predicate::{always, eq};

use super::*;
use crate::ports::MockTaskRepository;
use crate::testing::*;

#[tokio::test]
async fn deleting_passes_if_match_to_the_store() {
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_delete()
        .with(eq(uid("alice")), eq(tid(1)), eq(Some(3)), eq(at(50)))
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    tasks
        .expect_delete()
        .with(eq(uid("alice")), eq(tid(2)), eq(None), always())
        .times(1)
        .returning(|_, _, _, _| Ok(true));
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
        .with(eq(uid("alice")), eq(tid(1)), eq(Some(3)), always())
        .times(1)
        .returning(|_, _, _, _| Ok(false));
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
        .with(eq(uid("alice")), eq(tid(1)), eq(None), always())
        .times(1)
        .returning(|_, _, _, _| Ok(false));
    tasks
        .expect_delete()
        .with(eq(uid("alice")), eq(tid(1)), eq(Some(3)), always())
        .times(1)
        .returning(|_, _, _, _| Ok(false));
    // Only asked why with If-Match: without it, `false` can only mean missing.
    tasks.expect_get().times(1).returning(|_, _| Ok(None));
    let svc = service(tasks);
    let (p, me) = (principal("alice"), uid("alice"));
    is_not_found(svc.delete(&p, &me, tid(1), None).await);
    is_not_found(svc.delete(&p, &me, tid(1), Some(3)).await);
}

#[tokio::test]
async fn clearing_completed_tasks_stamps_their_tombstones_with_the_clock() {
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_delete_completed()
        .with(eq(uid("alice")), eq(at(50)))
        .times(1)
        .returning(|_, _| Ok(4));
    let svc = service(tasks);
    assert_eq!(
        svc.delete_completed(&principal("alice"), &uid("alice"))
            .await
            .unwrap(),
        4
    );
    is_forbidden(svc.delete_completed(&principal("alice"), &uid("bob")).await);
}
