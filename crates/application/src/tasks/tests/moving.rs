//! Tests of moving a task in its owner's manual order.

use todo_domain::{Gap, Position, SortKey, Task};

use super::*;
use crate::ports::MockTaskRepository;
use crate::tasks::moving::MOVE_ATTEMPTS;
use crate::testing::*;

fn between(low: Option<&str>, high: Option<&str>) -> Gap {
    Gap {
        low: low.map(|p| Position::parse(p).unwrap()),
        high: high.map(|p| Position::parse(p).unwrap()),
    }
}

fn placed(n: u128, position: &str) -> Task {
    let mut t = task("alice", n, "t");
    t.position = Position::parse(position).unwrap();
    t
}

#[tokio::test]
async fn moving_after_a_task_lands_between_it_and_the_next_one() {
    let mut tasks = MockTaskRepository::new();
    tasks.expect_get().returning(|_, id| {
        Ok(Some((
            match id.as_uuid().as_u128() {
                2 => placed(2, "V"),
                _ => placed(1, "W"),
            },
            Role::Owner,
        )))
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
        .expect_move_into()
        .withf(|t, expected, gap, _| {
            t.id == tid(1)
                && t.position.as_str() == "c"
                && *expected == 1
                && *gap == between(Some("V"), Some("k"))
        })
        .times(1)
        .returning(|_, _, _, _| Ok(true));
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
            .returning(|_, _| Ok(Some((placed(1, "k"), Role::Owner))));
        tasks
            .expect_search()
            .withf(move |_, q, _, after| {
                after.is_none() && q.sort.descending == matches!(to, MoveTo::Bottom)
            })
            .times(1)
            .returning(move |_, _, _, _| Ok(vec![placed(2, neighbour)]));
        tasks
            .expect_move_into()
            .withf(move |t, _, _, _| t.position.as_str() == expected)
            .times(1)
            .returning(|_, _, _, _| Ok(true));
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
        .returning(|_, _| Ok(Some((placed(1, "k"), Role::Owner))));
    let neighbour = last.clone();
    tasks.expect_search().times(1).returning(move |_, _, _, _| {
        let mut t = task("alice", 2, "t");
        t.position = neighbour.clone();
        Ok(vec![t])
    });
    tasks
        .expect_move_into()
        .times(1)
        .returning(|_, _, _, _| Ok(true));
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
    // Only the moved task is there.
    tasks
        .expect_get()
        .returning(|_, id| Ok((id == tid(1)).then(|| (task("alice", 1, "x"), Role::Owner))));
    tasks.expect_move_into().never();
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

/// Task 1 moves after task 2 (at `V`); the task after task 2 is, at each read, the next
/// one of `nexts` (task 3 at `k`, then a task that moved in meanwhile, …).
fn after_two_while_others_move(tasks: &mut MockTaskRepository, nexts: &'static [&'static str]) {
    tasks.expect_get().returning(|_, id| {
        Ok(Some((
            match id.as_uuid().as_u128() {
                2 => placed(2, "V"),
                _ => placed(1, "W"),
            },
            Role::Owner,
        )))
    });
    let reads = std::sync::atomic::AtomicUsize::new(0);
    tasks.expect_search().returning(move |_, _, _, _| {
        let read = reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let next = nexts.get(read).or(nexts.last()).unwrap();
        Ok(vec![placed(3, next)])
    });
}

#[tokio::test]
async fn a_move_whose_place_was_taken_is_retried_between_the_new_neighbours() {
    let mut tasks = MockTaskRepository::new();
    // Another task moved in between task 2 and task 3, at `c`.
    after_two_while_others_move(&mut tasks, &["k", "c"]);
    let mut seq = mockall::Sequence::new();
    tasks
        .expect_move_into()
        .withf(|t, _, gap, _| t.position.as_str() == "c" && *gap == between(Some("V"), Some("k")))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(false));
    tasks
        .expect_move_into()
        .withf(|t, expected, gap, _| {
            t.position.as_str() == "Y" && *expected == 1 && *gap == between(Some("V"), Some("c"))
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(true));
    let moved = service(tasks)
        .move_task(
            &principal("alice"),
            &uid("alice"),
            tid(1),
            MoveTo::After(tid(2)),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(moved.position.as_str(), "Y");
    assert_eq!(moved.version, 2);
}

#[tokio::test]
async fn a_move_whose_place_keeps_being_taken_is_a_conflict_to_retry() {
    let mut tasks = MockTaskRepository::new();
    after_two_while_others_move(&mut tasks, &["k"]);
    tasks
        .expect_move_into()
        .times(MOVE_ATTEMPTS)
        .returning(|_, _, _, _| Ok(false));
    let err = service(tasks)
        .move_task(
            &principal("alice"),
            &uid("alice"),
            tid(1),
            MoveTo::After(tid(2)),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApplicationError::Conflict(detail) if detail.contains("retry")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_move_of_a_task_that_changed_meanwhile_answers_for_its_version() {
    // Read at version 1, changed to version 2 before the write.
    let mut tasks = MockTaskRepository::new();
    let reads = std::sync::atomic::AtomicUsize::new(0);
    tasks.expect_get().returning(move |_, id| {
        Ok(Some((
            match id.as_uuid().as_u128() {
                2 => placed(2, "V"),
                _ => {
                    let read = reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    versioned(placed(1, "W"), if read == 0 { 1 } else { 2 })
                }
            },
            Role::Owner,
        )))
    });
    tasks
        .expect_search()
        .returning(|_, _, _, _| Ok(vec![placed(3, "k")]));
    tasks
        .expect_move_into()
        .withf(|_, expected, _, _| *expected == 1)
        .times(1)
        .returning(|_, _, _, _| Ok(false));
    let err = service(tasks)
        .move_task(
            &principal("alice"),
            &uid("alice"),
            tid(1),
            MoveTo::After(tid(2)),
            Some(1),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApplicationError::PreconditionFailed {
                what: "task",
                current_version: 2
            }
        ),
        "{err:?}"
    );
}
