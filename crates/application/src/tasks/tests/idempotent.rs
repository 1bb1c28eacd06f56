//! Tests of creating a task once per `Idempotency-Key`.

use todo_domain::{IdempotencyKey, Recurrence};

use super::*;
use crate::ports::IdempotentInsert;
use crate::testing::*;

fn key(raw: &str, fingerprint: &str) -> Idempotency {
    Idempotency {
        key: IdempotencyKey::parse(raw).unwrap(),
        fingerprint: fingerprint.to_owned(),
    }
}

#[tokio::test]
async fn a_new_idempotency_key_creates_the_task_and_remembers_it_for_a_day() {
    let mut tasks = with_room();
    tasks
        .expect_insert_idempotent()
        .withf(|t, _, k, fingerprint, expired_before| {
            t.id == tid(7)
                && k.as_str() == "k-1"
                && fingerprint == "abc"
                && *expired_before == at(50) - chrono::TimeDelta::hours(24)
        })
        .times(1)
        .returning(|_, _, _, _, _| Ok(IdempotentInsert::Inserted));
    tasks.expect_insert().never();
    let created = service(tasks)
        .create_idempotent(
            &principal("alice"),
            &uid("alice"),
            new_task("a"),
            &key("k-1", "abc"),
        )
        .await
        .unwrap();
    assert!(!created.replayed);
    assert_eq!(created.task.id, tid(7));
    assert_eq!(created.task.title.as_str(), "a");
}

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_replays_the_first_task() {
    let mut tasks = with_room();
    tasks
        .expect_insert_idempotent()
        .times(1)
        .returning(|_, _, _, _, _| {
            Ok(IdempotentInsert::Existing {
                fingerprint: "abc".to_owned(),
                task: Some(versioned(task("alice", 3, "first"), 2)),
            })
        });
    let created = service(tasks)
        .create_idempotent(
            &principal("alice"),
            &uid("alice"),
            new_task("a"),
            &key("k-1", "abc"),
        )
        .await
        .unwrap();
    assert!(created.replayed);
    assert_eq!(
        created.task.id,
        tid(3),
        "the first request's task, not a new one"
    );
    assert_eq!(created.task.version, 2);
}

#[tokio::test]
async fn a_reused_key_with_another_body_or_a_deleted_task_is_refused() {
    let mut tasks = with_room();
    tasks
        .expect_insert_idempotent()
        .times(1)
        .returning(|_, _, _, _, _| {
            Ok(IdempotentInsert::Existing {
                fingerprint: "other".to_owned(),
                task: Some(task("alice", 3, "first")),
            })
        });
    let err = service(tasks)
        .create_idempotent(
            &principal("alice"),
            &uid("alice"),
            new_task("a"),
            &key("k-1", "abc"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApplicationError::Validation { field, .. } if field == "Idempotency-Key"),
        "{err:?}"
    );
    let mut tasks = with_room();
    tasks
        .expect_insert_idempotent()
        .times(1)
        .returning(|_, _, _, _, _| {
            Ok(IdempotentInsert::Existing {
                fingerprint: "abc".to_owned(),
                task: None,
            })
        });
    let err = service(tasks)
        .create_idempotent(
            &principal("alice"),
            &uid("alice"),
            new_task("a"),
            &key("k-1", "abc"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ApplicationError::Conflict(_)), "{err:?}");
}

#[tokio::test]
async fn idempotent_creates_check_ownership_and_rules_before_the_store() {
    let mut tasks = with_room();
    tasks.expect_insert_idempotent().never();
    let svc = service(tasks);
    is_forbidden(
        svc.create_idempotent(
            &principal("alice"),
            &uid("bob"),
            new_task("a"),
            &key("k", "f"),
        )
        .await,
    );
    let mut bad = new_task("a");
    bad.recurrence = Some(Recurrence::parse("FREQ=DAILY").unwrap());
    let err = svc
        .create_idempotent(&principal("alice"), &uid("alice"), bad, &key("k", "f"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApplicationError::Validation { .. }),
        "{err:?}"
    );
}
