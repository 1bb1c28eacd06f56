//! Tests of the rules every use case shares: only the owner reaches their tasks, and a
//! missing task is not found.

use todo_domain::{ListSpec, TaskChanges};

use super::*;
use crate::ports::MockTaskRepository;
use crate::testing::*;

#[tokio::test]
async fn admins_do_not_get_other_users_task_paths_either() {
    let mut tasks = MockTaskRepository::new();
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
    tasks.expect_delete().returning(|_, _, _, _| Ok(false));
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
