//! Tests of deleting a task, one or every completed one.

use mockall::predicate::{always, eq};

use super::*;
use crate::ports::MockTaskRepository;
use crate::testing::*;

/// `get` answers task `n` as stored at version 3, seen by alice with `role`.
fn stored_as(tasks: &mut MockTaskRepository, role: Role) {
    tasks.expect_get().returning(move |_, id| {
        Ok(Some((
            versioned(task("alice", id.as_uuid().as_u128(), "x"), 3),
            role,
        )))
    });
}

#[tokio::test]
async fn deleting_passes_if_match_to_the_store() {
    let mut tasks = MockTaskRepository::new();
    stored_as(&mut tasks, Role::Editor);
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
    let svc = service(tasks);
    let (p, me) = (principal("alice"), uid("alice"));
    svc.delete(&p, &me, tid(1), Some(3)).await.unwrap();
    svc.delete(&p, &me, tid(2), None).await.unwrap();
}

#[tokio::test]
async fn deleting_with_a_stale_if_match_reports_the_current_version_and_writes_nothing() {
    let mut tasks = MockTaskRepository::new();
    stored_as(&mut tasks, Role::Owner);
    tasks.expect_delete().never();
    let r = service(tasks)
        .delete(&principal("alice"), &uid("alice"), tid(1), Some(2))
        .await;
    is_precondition_failed(r, 3);
}

#[tokio::test]
async fn a_viewer_cannot_delete_and_nothing_reaches_the_store() {
    let mut tasks = MockTaskRepository::new();
    stored_as(&mut tasks, Role::Viewer);
    tasks.expect_delete().never();
    let err = service(tasks)
        .delete(&principal("alice"), &uid("alice"), tid(1), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "changing the tasks of this list requires the editor role"
    );
    assert!(matches!(err, ApplicationError::Forbidden(_)));
}

#[tokio::test]
async fn deleting_a_missing_task_is_not_found() {
    let mut tasks = MockTaskRepository::new();
    // Not there, or in a list alice is no member of: the same answer.
    tasks.expect_get().times(2).returning(|_, _| Ok(None));
    tasks.expect_delete().never();
    let svc = service(tasks);
    let (p, me) = (principal("alice"), uid("alice"));
    is_not_found(svc.delete(&p, &me, tid(1), None).await);
    is_not_found(svc.delete(&p, &me, tid(1), Some(3)).await);
}

#[tokio::test]
async fn a_task_deleted_between_the_read_and_the_write_is_not_found() {
    let mut tasks = MockTaskRepository::new();
    let mut seq = mockall::Sequence::new();
    tasks
        .expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(Some((task("alice", 1, "x"), Role::Owner))));
    tasks
        .expect_delete()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(false));
    let r = service(tasks)
        .delete(&principal("alice"), &uid("alice"), tid(1), None)
        .await;
    is_not_found(r);
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
