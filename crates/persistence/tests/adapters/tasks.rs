use todo_application::ports::{PortError, TaskRepository, UserRepository};
use todo_domain::{Cursor, PageRequest, TaskChanges, TaskDescription, TaskTitle};
use todo_persistence::{SeaTaskRepository, SeaUserRepository};

use crate::harness::*;

async fn repos(t: &Ctx) -> SeaTaskRepository {
    let users = SeaUserRepository::new(t.db.clone());
    for (id, created) in [("alice", 1), ("bob", 2)] {
        users
            .create_if_absent(&user(id, None, created))
            .await
            .unwrap();
    }
    SeaTaskRepository::new(t.db.clone())
}

fn micros(secs: i64, micros: u32) -> todo_domain::Timestamp {
    at(secs) + chrono::TimeDelta::microseconds(i64::from(micros))
}

on_both!(a_task_reads_back_exactly_as_written, |t: Ctx| async move {
    let tasks = repos(&t).await;
    let mut written = task("alice", 1, "Buy milk", micros(1_764_000_000, 123_456));
    written.description = TaskDescription::parse("two litres\nof oat milk").unwrap();
    written.updated_at = micros(1_764_000_001, 999_999);
    tasks.insert(&written).await.unwrap();
    let read = tasks.get(&uid("alice"), tid(1)).await.unwrap().unwrap();
    assert_eq!(read, written, "{}", t.backend);
});

on_both!(a_duplicate_id_is_a_conflict, |t: Ctx| async move {
    let tasks = repos(&t).await;
    tasks
        .insert(&task("alice", 1, "one", at(10)))
        .await
        .unwrap();
    let err = tasks
        .insert(&task("alice", 1, "again", at(11)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PortError::Conflict(_)),
        "{}: {err:?}",
        t.backend
    );
});

on_both!(other_owners_see_nothing, |t: Ctx| async move {
    let tasks = repos(&t).await;
    let original = task("alice", 1, "alice's", at(10));
    tasks.insert(&original).await.unwrap();
    let bob = uid("bob");
    assert_eq!(tasks.get(&bob, tid(1)).await.unwrap(), None);
    let rename = TaskChanges {
        title: Some(TaskTitle::parse("pwned").unwrap()),
        ..TaskChanges::default()
    };
    assert_eq!(
        tasks.update(&bob, tid(1), &rename, at(20)).await.unwrap(),
        None
    );
    assert_eq!(
        tasks.toggle_completed(&bob, tid(1), at(20)).await.unwrap(),
        None
    );
    assert!(!tasks.delete(&bob, tid(1)).await.unwrap());
    let page = PageRequest::new(10, 10, None).unwrap();
    assert!(tasks.list(&bob, page).await.unwrap().is_empty());
    assert_eq!(
        tasks.get(&uid("alice"), tid(1)).await.unwrap(),
        Some(original),
        "{}: untouched",
        t.backend
    );
});

on_both!(lists_page_by_created_at_then_id, |t: Ctx| async move {
    let tasks = repos(&t).await;
    // Three tasks share a timestamp: the id breaks the tie.
    let plan = [(5, 20), (3, 10), (4, 10), (2, 10), (1, 30)];
    for (n, secs) in plan {
        tasks
            .insert(&task("alice", n, &format!("t{n}"), at(secs)))
            .await
            .unwrap();
    }
    tasks
        .insert(&task("bob", 9, "bob's", at(10)))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = tasks
            .list(&uid("alice"), PageRequest::new(2, 10, after).unwrap())
            .await
            .unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(Cursor {
            created_at: last.created_at,
            id: last.id,
        });
        seen.extend(page.iter().map(|t| t.title.as_str().to_owned()));
    }
    assert_eq!(seen, ["t2", "t3", "t4", "t5", "t1"], "{}", t.backend);
});

on_both!(updates_change_only_the_given_fields, |t: Ctx| async move {
    let tasks = repos(&t).await;
    let mut original = task("alice", 1, "draft", at(10));
    original.description = TaskDescription::parse("notes").unwrap();
    tasks.insert(&original).await.unwrap();
    let me = uid("alice");

    let rename = TaskChanges {
        title: Some(TaskTitle::parse("final").unwrap()),
        ..TaskChanges::default()
    };
    let renamed = tasks
        .update(&me, tid(1), &rename, at(20))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.title.as_str(), "final");
    assert_eq!(renamed.description, original.description, "{}", t.backend);
    assert_eq!(renamed.updated_at, at(20));
    assert_eq!(renamed.created_at, at(10));

    let describe = TaskChanges {
        description: Some(TaskDescription::parse("new notes").unwrap()),
        ..TaskChanges::default()
    };
    let described = tasks
        .update(&me, tid(1), &describe, at(25))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(described.description.unwrap().as_str(), "new notes");
    assert_eq!(described.title.as_str(), "final", "{}", t.backend);
    assert!(!described.completed);
    assert_eq!(described.updated_at, at(25));

    let clear = TaskChanges {
        description: Some(None),
        completed: Some(true),
        ..TaskChanges::default()
    };
    let cleared = tasks
        .update(&me, tid(1), &clear, at(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cleared.description, None);
    assert!(cleared.completed);
    assert_eq!(cleared.title.as_str(), "final");
    assert_eq!(cleared.updated_at, at(30));
    assert_eq!(cleared.created_at, at(10), "{}", t.backend);
    assert_eq!(
        tasks.get(&me, tid(1)).await.unwrap().unwrap(),
        cleared,
        "{}",
        t.backend
    );
});

on_both!(toggling_flips_and_flips_back, |t: Ctx| async move {
    let tasks = repos(&t).await;
    tasks
        .insert(&task("alice", 1, "flip", at(10)))
        .await
        .unwrap();
    let me = uid("alice");
    let on = tasks
        .toggle_completed(&me, tid(1), at(11))
        .await
        .unwrap()
        .unwrap();
    assert!(on.completed);
    assert_eq!(on.updated_at, at(11));
    let off = tasks
        .toggle_completed(&me, tid(1), at(12))
        .await
        .unwrap()
        .unwrap();
    assert!(!off.completed, "{}", t.backend);
});

on_both!(deleting_removes_exactly_one_task, |t: Ctx| async move {
    let tasks = repos(&t).await;
    tasks.insert(&task("alice", 1, "go", at(10))).await.unwrap();
    tasks
        .insert(&task("alice", 2, "stay", at(11)))
        .await
        .unwrap();
    let me = uid("alice");
    assert!(tasks.delete(&me, tid(1)).await.unwrap());
    assert!(!tasks.delete(&me, tid(1)).await.unwrap());
    assert_eq!(tasks.get(&me, tid(1)).await.unwrap(), None);
    assert!(
        tasks.get(&me, tid(2)).await.unwrap().is_some(),
        "{}",
        t.backend
    );
});
