//! Tests of what each role in a task's list lets its members do: a refused action never
//! reaches the store's writes.

use todo_domain::{Role, TaskChanges};

use super::*;
use crate::ports::MockTaskRepository;
use crate::testing::*;

/// Tasks that alice sees with `role` (or, with `None`, does not see at all), where every
/// write fails the test.
fn seen_as(role: Option<Role>) -> MockTaskRepository {
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_get()
        .returning(move |_, id| Ok(role.map(|r| (task("bob", id.as_uuid().as_u128(), "x"), r))));
    // The one-statement toggle carries the role rule in its condition: for a viewer or a
    // stranger it writes nothing.
    tasks
        .expect_toggle_completed()
        .returning(|_, _, _, _| Ok(None));
    tasks.expect_insert().never();
    tasks.expect_replace().never();
    tasks.expect_complete_occurrence().never();
    tasks.expect_move_into().never();
    tasks.expect_delete().never();
    tasks
}

/// Every write alice can ask for on task 1, each with its outcome.
async fn every_write(svc: &TaskService) -> Vec<(&'static str, Result<Task, ApplicationError>)> {
    let (p, me) = (principal("alice"), uid("alice"));
    let mut outcomes = vec![
        (
            "update",
            svc.update(&p, &me, tid(1), retitle("y"), None).await,
        ),
        (
            "complete",
            svc.set_completed(&p, &me, tid(1), Some(true), None).await,
        ),
        (
            "toggle",
            svc.set_completed(&p, &me, tid(1), None, None).await,
        ),
        (
            "move",
            svc.move_task(&p, &me, tid(1), MoveTo::Top, None).await,
        ),
        (
            "subtask",
            svc.create(
                &p,
                &me,
                NewTask {
                    parent: Some(tid(1)),
                    ..new_task("child")
                },
            )
            .await,
        ),
    ];
    let deleted = svc
        .delete(&p, &me, tid(1), None)
        .await
        .map(|()| task("x", 0, "x"));
    outcomes.push(("delete", deleted));
    outcomes
}

#[tokio::test]
async fn a_viewer_reads_but_changes_nothing() {
    let svc = service(seen_as(Some(Role::Viewer)));
    let (p, me) = (principal("alice"), uid("alice"));
    assert_eq!(svc.get(&p, &me, tid(1)).await.unwrap().id, tid(1));
    // An empty update is a read.
    let same = svc
        .update(&p, &me, tid(1), TaskChanges::default(), None)
        .await;
    assert_eq!(same.unwrap().id, tid(1));
    for (write, outcome) in every_write(&svc).await {
        match outcome {
            Err(ApplicationError::Forbidden(detail)) => assert_eq!(
                detail, "changing the tasks of this list requires the editor role",
                "{write}"
            ),
            other => panic!("{write}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_stranger_is_told_the_task_does_not_exist() {
    let svc = service(seen_as(None));
    let (p, me) = (principal("alice"), uid("alice"));
    is_not_found(svc.get(&p, &me, tid(1)).await);
    for (write, outcome) in every_write(&svc).await {
        assert!(
            matches!(
                outcome,
                Err(ApplicationError::NotFound("task")) | Err(ApplicationError::Validation { .. })
            ),
            "{write}: {outcome:?}"
        );
        if write != "subtask" {
            assert!(
                matches!(outcome, Err(ApplicationError::NotFound("task"))),
                "{write}: {outcome:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_editor_changes_tasks_someone_else_created() {
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_get()
        .returning(|_, _| Ok(Some((task("bob", 1, "x"), Role::Editor))));
    tasks
        .expect_replace()
        .withf(|t, expected, _| t.title.as_str() == "y" && t.owner == uid("bob") && *expected == 1)
        .times(1)
        .returning(|_, _, _| Ok(true));
    let updated = service(tasks)
        .update(
            &principal("alice"),
            &uid("alice"),
            tid(1),
            retitle("y"),
            None,
        )
        .await
        .unwrap();
    // The creator stays the creator.
    assert_eq!(updated.owner, uid("bob"));
}
