//! Tests of updating a task: versions, retries after concurrent writes, the rules.

use mockall::Sequence;
use mockall::predicate::eq;
use todo_domain::{Priority, Recurrence, Tags, TaskChanges};

use super::*;
use crate::ports::{MockTaskRepository, PortError};
use crate::testing::*;

fn set_priority(priority: Priority) -> TaskChanges {
    TaskChanges {
        priority: Some(Some(priority)),
        ..TaskChanges::default()
    }
}

#[tokio::test]
async fn an_empty_update_writes_nothing() {
    let mut tasks = MockTaskRepository::new();
    tasks.expect_replace().never();
    tasks.expect_complete_occurrence().never();
    tasks
        .expect_get()
        .with(eq(uid("alice")), eq(tid(1)))
        .returning(|_, _| Ok(Some((task("alice", 1, "same"), Role::Owner))));
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
        .returning(|_, _| Ok(Some((versioned(task("alice", 1, "same"), 4), Role::Owner))));
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
        .returning(|_, _| Ok(Some((task("alice", 1, "old"), Role::Owner))));
    tasks
        .expect_replace()
        .withf(|t, expected, _| {
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
        .returning(|_, _, _| Ok(true));
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
        .returning(|_, _| Ok(Some((versioned(task("alice", 1, "old"), 3), Role::Owner))));
    tasks
        .expect_replace()
        .withf(|t, expected, _| t.title.as_str() == "new" && t.version == 4 && *expected == 3)
        .times(1)
        .returning(|_, _, _| Ok(true));
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
        .returning(|_, _| Ok(Some((versioned(task("alice", 1, "old"), 4), Role::Owner))));
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
        .returning(|_, _| Ok(Some((task("alice", 1, "buy milk"), Role::Owner))));
    tasks
        .expect_replace()
        .withf(|t, expected, _| {
            t.title.as_str() == "buy milk"
                && t.priority == Some(Priority::High)
                && t.version == 2
                && *expected == 1
        })
        .times(1)
        .in_sequence(&mut seq)
        // Another request renamed it in between.
        .returning(|_, _, _| Ok(false));
    tasks
        .expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| {
            let mut renamed = versioned(task("alice", 1, "buy oat milk"), 2);
            renamed.tags = Tags::parse(&["shopping"]).unwrap();
            Ok(Some((renamed, Role::Owner)))
        });
    tasks
        .expect_replace()
        .withf(|t, expected, _| {
            t.title.as_str() == "buy oat milk"
                && t.tags == Tags::parse(&["shopping"]).unwrap()
                && t.priority == Some(Priority::High)
                && t.version == 3
                && t.updated_at == at(50)
                && *expected == 2
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(true));
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
        Ok(Some((
            versioned(task("alice", 1, "busy"), version),
            Role::Owner,
        )))
    });
    tasks
        .expect_replace()
        .withf(|t, expected, _| t.version == expected + 1)
        .times(WRITE_ATTEMPTS)
        .returning(|_, _, _| Ok(false));
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
        .returning(|_, _| Ok(Some((versioned(task("alice", 1, "old"), 3), Role::Owner))));
    tasks
        .expect_replace()
        .withf(|_, expected, _| *expected == 3)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(false));
    tasks
        .expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| {
            Ok(Some((
                versioned(task("alice", 1, "theirs"), 4),
                Role::Owner,
            )))
        });
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
        .returning(|_, _| Ok(Some((task("alice", 1, "old"), Role::Owner))));
    tasks
        .expect_replace()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(false));
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
        .returning(|_, _| Ok(Some((task("alice", 1, "no due date"), Role::Owner))));
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
        .returning(|_, _| Ok(Some((task("alice", 1, "old"), Role::Owner))));
    tasks
        .expect_replace()
        .times(1)
        .returning(|_, _, _| Err(PortError::Unavailable("pool timed out".into())));
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

/// The write carries its change record: the editor (an editor of alice's list acting as
/// themself), the kind and the names of the fields that changed.
#[tokio::test]
async fn an_update_hands_the_store_its_change_record() {
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_get()
        .returning(|_, _| Ok(Some((task("alice", 1, "same"), Role::Editor))));
    tasks
        .expect_replace()
        .times(1)
        .withf(|t, expected, edit| {
            *expected == 1
                && t.priority == Some(Priority::High)
                && *edit
                    == todo_domain::Edit::new(
                        todo_domain::ChangeKind::TaskUpdated,
                        uid("bob"),
                        vec!["priority"],
                    )
        })
        .returning(|_, _, _| Ok(true));
    service(tasks)
        .update(
            &principal("bob"),
            &uid("bob"),
            tid(1),
            set_priority(Priority::High),
            None,
        )
        .await
        .unwrap();
}
