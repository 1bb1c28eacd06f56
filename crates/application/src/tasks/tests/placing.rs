//! Tests of where tasks go: lists, subtasks, assignees and the limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use todo_domain::{Role, TaskChanges};

use super::*;
use crate::ports::{Lineage, MockListRepository, MockTaskRepository};
use crate::testing::*;

/// Lists where alice has `role` in list 5 and `member` is the only other member.
fn lists_with(role: Option<Role>, member: &'static str) -> MockListRepository {
    let mut lists = inboxes_only();
    lists.expect_role().returning(move |who, list| {
        Ok(if list != lid(5) {
            None
        } else if *who == uid("alice") {
            role
        } else if *who == uid(member) {
            Some(Role::Viewer)
        } else {
            None
        })
    });
    lists
}

fn into_list(list: u128) -> NewTask {
    NewTask {
        list: Some(lid(list)),
        ..new_task("x")
    }
}

#[tokio::test]
async fn a_task_goes_into_a_list_its_creator_edits() {
    let mut tasks = with_room();
    tasks
        .expect_insert()
        .withf(|t, _| t.list == lid(5) && t.owner == uid("alice"))
        .times(1)
        .returning(|_, _| Ok(true));
    let svc = service_with(tasks, lists_with(Some(Role::Editor), "bob"));
    let (p, me) = (principal("alice"), uid("alice"));
    assert_eq!(
        svc.create(&p, &me, into_list(5)).await.unwrap().list,
        lid(5)
    );
}

#[tokio::test]
async fn without_a_list_a_task_goes_into_the_inbox() {
    let mut tasks = with_room();
    tasks
        .expect_insert()
        .withf(|t, _| t.list == inbox_of(&uid("alice")))
        .times(2)
        .returning(|_, _| Ok(true));
    let mut lists = MockListRepository::new();
    // Created (or found) once, then remembered.
    lists
        .expect_ensure_inbox()
        .withf(|l| l.inbox && l.owner == uid("alice") && l.name.as_str() == "Inbox")
        .times(1)
        .returning(|l| Ok(inbox_of(&l.owner)));
    let svc = service_with(tasks, lists);
    let (p, me) = (principal("alice"), uid("alice"));
    svc.create(&p, &me, new_task("a")).await.unwrap();
    svc.create(&p, &me, new_task("b")).await.unwrap();
}

#[tokio::test]
async fn lists_a_creator_cannot_edit_are_refused_before_the_store() {
    let mut tasks = with_room();
    tasks.expect_insert().never();
    let svc = service_with(tasks, lists_with(Some(Role::Viewer), "bob"));
    let (p, me) = (principal("alice"), uid("alice"));
    let err = svc.create(&p, &me, into_list(5)).await.unwrap_err();
    assert!(matches!(err, ApplicationError::Forbidden(_)), "{err:?}");
    let err = svc.create(&p, &me, into_list(6)).await.unwrap_err();
    assert_eq!(err.to_string(), "list_id names no list of yours");
}

#[tokio::test]
async fn an_assignee_must_be_a_member_of_the_list() {
    let mut tasks = with_room();
    tasks
        .expect_insert()
        .withf(|t, _| t.assignee == Some(uid("bob")))
        .times(1)
        .returning(|_, _| Ok(true));
    let svc = service_with(tasks, lists_with(Some(Role::Owner), "bob"));
    let (p, me) = (principal("alice"), uid("alice"));
    let assigned = |who: &str| NewTask {
        assignee: Some(uid(who)),
        ..into_list(5)
    };
    svc.create(&p, &me, assigned("bob")).await.unwrap();
    let err = svc.create(&p, &me, assigned("carol")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "assignee_id must be a member of the task's list"
    );
}

#[tokio::test]
async fn a_full_list_takes_no_more_open_tasks() {
    let mut tasks = MockTaskRepository::new();
    tasks.expect_open_in_list().returning(|_| Ok(9_999));
    // Near its limit the store counts in the insert: an open task is bounded, a done one
    // is not.
    tasks
        .expect_insert()
        .withf(|t, max| !t.completed && *max == Some(10_000))
        .times(1)
        .returning(|_, _| Ok(false));
    tasks
        .expect_insert()
        .withf(|t, max| t.completed && max.is_none())
        .times(1)
        .returning(|_, _| Ok(true));
    let svc = service_with(tasks, lists_with(Some(Role::Owner), "bob"));
    let (p, me) = (principal("alice"), uid("alice"));
    let err = svc.create(&p, &me, into_list(5)).await.unwrap_err();
    assert!(matches!(err, ApplicationError::Limit(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "at most 10000 open tasks per list are allowed"
    );
    let done = NewTask {
        completed: true,
        ..into_list(5)
    };
    svc.create(&p, &me, done).await.unwrap();
}

/// A store whose list 5 holds `open` open tasks, which records the bound each insert
/// was given (`None`: inserted without counting).
fn counting_store(
    open: u64,
    counted: usize,
) -> (MockTaskRepository, Arc<std::sync::Mutex<Vec<Option<u32>>>>) {
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_open_in_list()
        .withf(|list| *list == lid(5))
        .times(counted)
        .returning(move |_| Ok(open));
    let bounds = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = bounds.clone();
    tasks.expect_insert().returning(move |_, max| {
        seen.lock().unwrap().push(max);
        Ok(true)
    });
    (tasks, bounds)
}

/// A clock that reads what the test sets.
fn set_clock(secs: i64) -> (Arc<dyn crate::ports::Clock>, Arc<AtomicI64>) {
    let now = Arc::new(AtomicI64::new(secs));
    let read = now.clone();
    let mut clock = crate::ports::MockClock::new();
    clock
        .expect_now()
        .returning(move || at(read.load(Ordering::SeqCst)));
    (Arc::new(clock), now)
}

/// The bounds `creates` open tasks created one after another in list 5, which holds
/// `open` open tasks, were inserted with; the list is counted once.
async fn bounds_of_creates(open: u64, creates: usize) -> Vec<Option<u32>> {
    let (tasks, bounds) = counting_store(open, 1);
    let svc = service_with(tasks, lists_with(Some(Role::Owner), "bob"));
    let (p, me) = (principal("alice"), uid("alice"));
    for _ in 0..creates {
        svc.create(&p, &me, into_list(5)).await.unwrap();
    }
    bounds.lock().unwrap().clone()
}

#[tokio::test]
async fn a_list_far_below_its_limit_is_counted_once_and_its_inserts_count_nothing() {
    assert_eq!(bounds_of_creates(120, 3).await, vec![None, None, None]);
}

#[tokio::test]
async fn a_list_near_its_limit_is_counted_in_every_insert() {
    assert_eq!(
        bounds_of_creates(9_000, 2).await,
        vec![Some(10_000), Some(10_000)]
    );
}

#[tokio::test]
async fn the_tasks_added_unchecked_count_towards_the_limit() {
    // 8 998 and 8 999 open tasks are clearly below 10 000; 9 000 is not.
    assert_eq!(
        bounds_of_creates(8_998, 4).await,
        vec![None, None, Some(10_000), Some(10_000)]
    );
}

#[tokio::test]
async fn a_lists_count_is_read_again_after_ten_seconds() {
    let (tasks, bounds) = counting_store(0, 2);
    let (clock, now) = set_clock(50);
    let svc = build(
        tasks,
        lists_with(Some(Role::Owner), "bob"),
        clock,
        PageSettings::default(),
    );
    let (p, me) = (principal("alice"), uid("alice"));
    for secs in [50, 59, 60] {
        now.store(secs, Ordering::SeqCst);
        svc.create(&p, &me, into_list(5)).await.unwrap();
    }
    assert_eq!(bounds.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_task_recorded_as_done_costs_no_count() {
    let (tasks, bounds) = counting_store(9_999, 0);
    let svc = service_with(tasks, lists_with(Some(Role::Owner), "bob"));
    let (p, me) = (principal("alice"), uid("alice"));
    let done = NewTask {
        completed: true,
        ..into_list(5)
    };
    svc.create(&p, &me, done).await.unwrap();
    assert_eq!(*bounds.lock().unwrap(), vec![None]);
}

#[tokio::test]
async fn an_idempotent_create_is_bounded_like_any_other() {
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_open_in_list()
        .times(1)
        .returning(|_| Ok(9_500));
    tasks
        .expect_insert_idempotent()
        .withf(|_, max, _, _, _| *max == Some(10_000))
        .times(1)
        .returning(|_, _, _, _, _| Ok(crate::ports::IdempotentInsert::Full));
    let svc = service_with(tasks, lists_with(Some(Role::Owner), "bob"));
    let (p, me) = (principal("alice"), uid("alice"));
    let key = crate::tasks::Idempotency {
        key: todo_domain::IdempotencyKey::parse("k-1").unwrap(),
        fingerprint: "f".to_owned(),
    };
    let err = svc
        .create_idempotent(&p, &me, into_list(5), &key)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "at most 10000 open tasks per list are allowed"
    );
}

/// Tasks 1 (top level) ← 2 ← 3 ← 4 ← 5 in list 5, every one visible to alice as owner.
fn chain() -> MockTaskRepository {
    let mut tasks = with_room();
    tasks.expect_get().returning(|_, id| {
        let n = id.as_uuid().as_u128();
        let mut t = task("alice", n, "x");
        t.list = lid(5);
        t.parent = (n > 1).then(|| tid(n - 1));
        Ok((1..=5).contains(&n).then_some((t, Role::Owner)))
    });
    tasks.expect_lineage().returning(|id, _| {
        let n = id.as_uuid().as_u128();
        Ok(Lineage {
            ancestors: (1..n).rev().map(tid).collect(),
            depth_below: u32::try_from(5 - n.min(5)).unwrap(),
        })
    });
    tasks
}

#[tokio::test]
async fn a_subtask_lives_in_its_parents_list_at_most_five_levels_deep() {
    let mut tasks = chain();
    tasks
        .expect_insert()
        .withf(|t, _| t.parent == Some(tid(4)) && t.list == lid(5))
        .times(1)
        .returning(|_, _| Ok(true));
    let svc = service_with(tasks, lists_with(Some(Role::Owner), "bob"));
    let (p, me) = (principal("alice"), uid("alice"));
    let under = |parent: u128| NewTask {
        parent: Some(tid(parent)),
        ..new_task("child")
    };
    // Under task 4 (level 4): level 5.
    let child = svc.create(&p, &me, under(4)).await.unwrap();
    assert_eq!(child.list, lid(5));
    // Under task 5 (level 5): too deep.
    let err = svc.create(&p, &me, under(5)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "parent_id would nest tasks deeper than 5 levels"
    );
    // A list other than the parent's.
    let elsewhere = NewTask {
        list: Some(lid(6)),
        ..under(1)
    };
    let err = svc.create(&p, &me, elsewhere).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "list_id must be the parent's list: a subtask lives in its parent's list"
    );
    // A parent alice cannot see.
    let err = svc.create(&p, &me, under(9)).await.unwrap_err();
    assert_eq!(err.to_string(), "parent_id names no task of your lists");
}

#[tokio::test]
async fn a_task_cannot_move_under_its_own_subtask() {
    let mut tasks = chain();
    tasks.expect_replace().never();
    let svc = service_with(tasks, lists_with(Some(Role::Owner), "bob"));
    let (p, me) = (principal("alice"), uid("alice"));
    let under = |parent: u128| TaskChanges {
        parent: Some(Some(tid(parent))),
        ..TaskChanges::default()
    };
    let err = svc
        .update(&p, &me, tid(2), under(4), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "parent_id names the task itself or one of its subtasks: a task cannot be nested under itself"
    );
    let err = svc
        .update(&p, &me, tid(2), under(2), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("parent_id names the task itself")
    );
}

#[tokio::test]
async fn a_subtask_moved_to_another_list_leaves_its_parent_and_unassigns_strangers() {
    let mut tasks = with_room();
    tasks.expect_get().returning(|_, _| {
        let mut t = task("alice", 3, "x");
        t.list = lid(4);
        t.parent = Some(tid(2));
        t.assignee = Some(uid("carol"));
        Ok(Some((t, Role::Owner)))
    });
    tasks
        .expect_replace()
        .withf(|t, _, _| t.list == lid(5) && t.parent.is_none() && t.assignee.is_none())
        .times(1)
        .returning(|_, _, _| Ok(true));
    let svc = service_with(tasks, lists_with(Some(Role::Editor), "bob"));
    let moved = TaskChanges {
        list: Some(lid(5)),
        ..TaskChanges::default()
    };
    let task = svc
        .update(&principal("alice"), &uid("alice"), tid(3), moved, None)
        .await
        .unwrap();
    assert_eq!(
        (task.list, task.parent, task.assignee),
        (lid(5), None, None)
    );
}
