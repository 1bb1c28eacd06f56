//! Tests of completing, reopening and toggling a task, recurring ones included.

use mockall::Sequence;
use mockall::predicate::eq;
use todo_domain::Recurrence;

use super::*;
use crate::ports::MockTaskRepository;
use crate::testing::*;

#[tokio::test]
async fn completion_is_set_when_given_and_toggled_when_not() {
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_get()
        .times(1)
        .returning(|_, _| Ok(Some((task("alice", 1, "x"), Role::Owner))));
    tasks
        .expect_replace()
        .withf(|t, expected, _| {
            t.completed
                && t.completed_at == Some(at(50))
                && t.title.as_str() == "x"
                && t.version == 2
                && *expected == 1
        })
        .times(1)
        .returning(|_, _, _| Ok(true));
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
        Ok(Some((done, Role::Owner)))
    });
    tasks
        .expect_replace()
        .withf(|t, expected, _| {
            !t.completed && t.completed_at.is_none() && t.version == 3 && *expected == 2
        })
        .times(1)
        .returning(|_, _, _| Ok(true));
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
        .returning(|_, _| Ok(Some((versioned(task("alice", 1, "x"), 5), Role::Owner))));
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
            Ok(Some((versioned(t, 3), Role::Owner)))
        });
    tasks
        .expect_complete_occurrence()
        .withf(|finished, next, expected, _| {
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
        .returning(|_, _, _, _| Ok(true));
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
            Ok(Some((t, Role::Owner)))
        });
    tasks
        .expect_complete_occurrence()
        .withf(|_, _, expected, _| *expected == 1)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(false));
    tasks
        .expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| {
            let t = recurring_task("alice", 1, "water roses", "FREQ=WEEKLY", "2026-12-01");
            Ok(Some((versioned(t, 2), Role::Owner)))
        });
    tasks
        .expect_complete_occurrence()
        .withf(|finished, next, expected, _| {
            finished.title.as_str() == "water roses"
                && next.title.as_str() == "water roses"
                && next.due == Some(due("2026-12-08"))
                && next.version == 3
                && *expected == 2
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(true));
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
        .returning(|_, _| Ok(Some((versioned(task("alice", 1, "x"), 2), Role::Owner))));
    tasks
        .expect_replace()
        .withf(|t, expected, _| {
            t.completed
                && t.completed_at.is_some()
                && t.completed_at == Some(t.updated_at)
                && t.version == 3
                && *expected == 2
        })
        .times(1)
        .returning(|_, _, _| Ok(true));
    tasks.expect_complete_occurrence().never();
    let svc = build(
        tasks,
        inboxes_only(),
        ticking_clock(50),
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
        Ok(Some((versioned(t, 2), Role::Owner)))
    });
    tasks
        .expect_complete_occurrence()
        .withf(|finished, next, expected, _| {
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
        .returning(|_, _, _, _| Ok(true));
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
