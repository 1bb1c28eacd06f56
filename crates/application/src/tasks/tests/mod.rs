//! Unit tests of the task service, with mocks of its ports.

use super::*;
use crate::ports::{IdempotentInsert, MockTaskRepository, PortError, Purged};
use crate::testing::*;
use mockall::Sequence;
use mockall::predicate::{always, eq};
use todo_domain::{
    Change, DueWindow, IdempotencyKey, Position, Sort, SortKey, SortValue, Status, Tag, TaskFilter,
    TaskQuery, TaskStats,
};

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
        position: Some(Position::parse("V1").unwrap()),
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
        position: Position::parse("V1").unwrap(),
        series_time: None,
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
        include_deleted: false,
    }
}

#[tokio::test]
async fn lists_use_the_default_page_size_and_report_a_next_cursor() {
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_search()
        .withf(|owner, query, limit, after| {
            *owner == uid("alice") && query.is_plain() && *limit == 3 && after.is_none()
        })
        .times(1)
        .returning(|_, _, _, _| {
            Ok(vec![
                task("alice", 1, "a"),
                task("alice", 2, "b"),
                task("alice", 3, "c"),
            ])
        });
    let page = service(tasks)
        .list(&principal("alice"), &uid("alice"), &plain(), None, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        page.next,
        Some(ListCursor {
            value: SortValue::Instant(Some(at(10))),
            id: tid(2)
        })
    );
}

#[tokio::test]
async fn the_last_page_has_no_next_cursor() {
    let mut tasks = MockTaskRepository::new();
    let after = ListCursor {
        value: SortValue::Instant(Some(at(10))),
        id: tid(2),
    };
    let passed = after.clone();
    tasks
        .expect_search()
        .withf(move |_, _, limit, got| *limit == 4 && got.as_ref() == Some(&passed))
        .returning(|_, _, _, _| Ok(vec![task("alice", 3, "c")]));
    let page = service(tasks)
        .list(
            &principal("alice"),
            &uid("alice"),
            &plain(),
            Some(3),
            Some(after),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next, None);
}

#[tokio::test]
async fn page_sizes_beyond_the_maximum_are_refused() {
    let mut tasks = MockTaskRepository::new();
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
    // `status=all`, `sort=created_at` and a `tz` filter nothing: still the plain list.
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_search()
        .withf(|_, query, _, _| query.is_plain())
        .times(1)
        .returning(|_, _, _, _| Ok(vec![task("alice", 1, "a")]));
    let spec = ListSpec {
        filter: TaskFilter {
            status: Status::All,
            ..TaskFilter::default()
        },
        sort: Sort::parse("created_at").unwrap(),
        tz: zone("Europe/Berlin"),
        include_deleted: false,
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
        Some(ListCursor {
            value: SortValue::Instant(Some(due("2026-12-02").starts_at_utc())),
            id: tid(2),
        })
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
            Some(after),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next, None);
}

#[tokio::test]
async fn listing_someone_elses_tasks_is_forbidden_before_anything_else() {
    let mut tasks = MockTaskRepository::new();
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

// ----- idempotent create -----

fn key(raw: &str, fingerprint: &str) -> Idempotency {
    Idempotency {
        key: IdempotencyKey::parse(raw).unwrap(),
        fingerprint: fingerprint.to_owned(),
    }
}

#[tokio::test]
async fn a_new_idempotency_key_creates_the_task_and_remembers_it_for_a_day() {
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_insert_idempotent()
        .withf(|t, k, fingerprint, expired_before| {
            t.id == tid(7)
                && k.as_str() == "k-1"
                && fingerprint == "abc"
                && *expired_before == at(50) - chrono::TimeDelta::hours(24)
        })
        .times(1)
        .returning(|_, _, _, _| Ok(IdempotentInsert::Inserted));
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
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_insert_idempotent()
        .times(1)
        .returning(|_, _, _, _| {
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
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_insert_idempotent()
        .times(1)
        .returning(|_, _, _, _| {
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
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_insert_idempotent()
        .times(1)
        .returning(|_, _, _, _| {
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
    let mut tasks = MockTaskRepository::new();
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

// ----- sync feed, bulk helpers, purge -----

fn feed(since: Option<i64>) -> ListSpec {
    ListSpec {
        filter: TaskFilter {
            updated_since: since.map(at),
            ..TaskFilter::default()
        },
        sort: Sort::parse("updated_at").unwrap(),
        include_deleted: true,
        ..ListSpec::default()
    }
}

#[tokio::test]
async fn the_sync_feed_pages_through_changes_and_tombstones() {
    let mut tasks = MockTaskRepository::new();
    let after = ListCursor {
        value: SortValue::Instant(Some(at(20))),
        id: tid(1),
    };
    let expected_after = after.clone();
    tasks
        .expect_changes()
        .withf(move |owner, since, limit, after| {
            *owner == uid("alice")
                && *since == at(10)
                && *limit == 3
                && after.as_ref() == Some(&expected_after)
        })
        .times(1)
        .returning(|_, _, _, _| {
            let mut changed = task("alice", 2, "x");
            changed.updated_at = at(30);
            Ok(vec![
                Change::Updated(changed),
                Change::Deleted(todo_domain::Tombstone {
                    id: tid(4),
                    owner: uid("alice"),
                    deleted_at: at(40),
                }),
                Change::Updated(task("alice", 5, "y")),
            ])
        });
    let page = service(tasks)
        .changes(
            &principal("alice"),
            &uid("alice"),
            &feed(Some(10)),
            None,
            Some(after),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2, "the default page size");
    assert_eq!(
        page.next,
        Some(ListCursor {
            value: SortValue::Instant(Some(at(40))),
            id: tid(4)
        }),
        "the next page starts after the tombstone"
    );
}

#[tokio::test]
async fn a_sync_point_older_than_the_tombstones_is_gone_and_a_bad_feed_is_refused() {
    let mut tasks = MockTaskRepository::new();
    tasks.expect_changes().never();
    let days = |n: i64| n * 86_400;
    let svc = TaskService::new(
        Arc::new(tasks),
        fixed_clock(days(40)),
        fixed_ids(7),
        PageSettings::default(),
    )
    .with_sync(SyncSettings {
        tombstone_retention: chrono::TimeDelta::days(30),
        ..SyncSettings::default()
    });
    let (p, me) = (principal("alice"), uid("alice"));
    let err = svc
        .changes(&p, &me, &feed(Some(days(9))), None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApplicationError::Gone(text) if text.contains("30 days")),
        "{err:?}"
    );
    let err = svc
        .changes(&p, &me, &feed(None), None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApplicationError::Validation { field, .. } if field == "include_deleted"),
        "{err:?}"
    );
    is_forbidden(
        svc.changes(&p, &uid("bob"), &feed(Some(days(39))), None, None)
            .await,
    );
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

#[tokio::test]
async fn tags_are_counted_and_stats_judged_in_the_callers_zone() {
    let mut tasks = MockTaskRepository::new();
    tasks.expect_tag_lists().times(1).returning(|_| {
        Ok(vec![
            (Tags::parse(&["Work", "home"]).unwrap(), 2),
            (Tags::parse(&["work"]).unwrap(), 1),
        ])
    });
    let tokyo = zone("Asia/Tokyo");
    tasks
        .expect_stats()
        .withf(move |owner, window| {
            *owner == uid("alice") && *window == DueWindow::at(at(50), tokyo)
        })
        .times(1)
        .returning(|_, _| {
            Ok(TaskStats {
                total: 3,
                pending: 2,
                completed: 1,
                ..TaskStats::default()
            })
        });
    let svc = service(tasks);
    let (p, me) = (principal("alice"), uid("alice"));
    let tags = svc.tags(&p, &me).await.unwrap();
    let shown: Vec<(&str, u64)> = tags.iter().map(|t| (t.tag.as_str(), t.count)).collect();
    assert_eq!(shown, [("home", 2), ("Work", 3)]);
    assert_eq!(svc.stats(&p, &me, tokyo).await.unwrap().total, 3);
    is_forbidden(svc.tags(&p, &uid("bob")).await);
    is_forbidden(svc.stats(&p, &uid("bob"), tokyo).await);
}

#[tokio::test]
async fn purging_forgets_tombstones_after_the_retention_and_keys_after_a_day() {
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_purge()
        .with(
            eq(at(50) - chrono::TimeDelta::days(30)),
            eq(at(50) - chrono::TimeDelta::hours(24)),
        )
        .times(1)
        .returning(|_, _| {
            Ok(Purged {
                tombstones: 3,
                keys: 1,
            })
        });
    assert_eq!(
        service(tasks).purge_expired().await.unwrap(),
        Purged {
            tombstones: 3,
            keys: 1
        }
    );
}

// ----- move -----

fn placed(n: u128, position: &str) -> Task {
    let mut t = task("alice", n, "t");
    t.position = Position::parse(position).unwrap();
    t
}

#[tokio::test]
async fn moving_after_a_task_lands_between_it_and_the_next_one() {
    let mut tasks = MockTaskRepository::new();
    tasks.expect_get().returning(|_, id| {
        Ok(Some(match id.as_uuid().as_u128() {
            2 => placed(2, "V"),
            _ => placed(1, "W"),
        }))
    });
    tasks
        .expect_search()
        .withf(|_, q, limit, after| {
            q.sort.key == SortKey::Position
                && !q.sort.descending
                && *limit == 2
                && after.as_ref().map(|c| c.id) == Some(tid(2))
        })
        .times(1)
        // The moving task itself is next: skipped.
        .returning(|_, _, _, _| Ok(vec![placed(1, "W"), placed(3, "k")]));
    tasks
        .expect_replace()
        .withf(|t, expected| t.id == tid(1) && t.position.as_str() == "c" && *expected == 1)
        .times(1)
        .returning(|_, _| Ok(true));
    let moved = service(tasks)
        .move_task(
            &principal("alice"),
            &uid("alice"),
            tid(1),
            MoveTo::After(tid(2)),
            None,
        )
        .await
        .unwrap();
    assert_eq!(moved.position.as_str(), "c");
    assert_eq!(moved.version, 2);
}

#[tokio::test]
async fn moving_to_the_top_or_bottom_steps_past_the_end() {
    for (to, neighbour, expected) in [(MoveTo::Top, "V", "U"), (MoveTo::Bottom, "V", "W")] {
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_get()
            .returning(|_, _| Ok(Some(placed(1, "k"))));
        tasks
            .expect_search()
            .withf(move |_, q, _, after| {
                after.is_none() && q.sort.descending == matches!(to, MoveTo::Bottom)
            })
            .times(1)
            .returning(move |_, _, _, _| Ok(vec![placed(2, neighbour)]));
        tasks
            .expect_replace()
            .withf(move |t, _| t.position.as_str() == expected)
            .times(1)
            .returning(|_, _| Ok(true));
        service(tasks)
            .move_task(&principal("alice"), &uid("alice"), tid(1), to, Some(1))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_task_moved_to_the_bottom_stays_above_tasks_created_later() {
    let last = Position::initial(at(10), tid(2));
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_get()
        .returning(|_, _| Ok(Some(placed(1, "k"))));
    let neighbour = last.clone();
    tasks.expect_search().times(1).returning(move |_, _, _, _| {
        let mut t = task("alice", 2, "t");
        t.position = neighbour.clone();
        Ok(vec![t])
    });
    tasks.expect_replace().times(1).returning(|_, _| Ok(true));
    let moved = service(tasks)
        .move_task(
            &principal("alice"),
            &uid("alice"),
            tid(1),
            MoveTo::Bottom,
            None,
        )
        .await
        .unwrap();
    assert!(moved.position > last, "below the last task");
    // The clock reads 50 s: a task created a microsecond later goes after it.
    let next = Position::initial(at(50) + chrono::TimeDelta::microseconds(1), tid(0));
    assert!(moved.position < next, "{} < {next}", moved.position);
}

#[tokio::test]
async fn moving_next_to_itself_or_a_stranger_names_the_field() {
    let mut tasks = MockTaskRepository::new();
    tasks.expect_get().returning(|_, _| Ok(None));
    tasks.expect_replace().never();
    let svc = service(tasks);
    let (p, me) = (principal("alice"), uid("alice"));
    for (to, field) in [
        (MoveTo::After(tid(1)), "after"),
        (MoveTo::Before(tid(1)), "before"),
        (MoveTo::After(tid(9)), "after"),
    ] {
        let err = svc.move_task(&p, &me, tid(1), to, None).await.unwrap_err();
        assert!(
            matches!(&err, ApplicationError::Validation { field: f, .. } if f == field),
            "{to:?}: {err:?}"
        );
    }
    is_forbidden(
        svc.move_task(&p, &uid("bob"), tid(1), MoveTo::Top, None)
            .await,
    );
}
