//! The trash: what deletes keep, restores that put it back as it was, and forgetting it.

use todo_application::ports::{
    AddMember, ListRepository, TaskRepository, TrashRepository, UserRepository,
};
use todo_domain::{ListId, ListName, Role, Task, TaskList, TrashKind};
use todo_persistence::{
    SeaListRepository, SeaTaskRepository, SeaTrashRepository, SeaUserRepository,
};

use crate::harness::*;

struct Repos {
    tasks: SeaTaskRepository,
    lists: SeaListRepository,
    trash: SeaTrashRepository,
    users: SeaUserRepository,
}

async fn repos(t: &Ctx) -> Repos {
    users_with_inboxes(&t.db, &[("alice", 1), ("bob", 2), ("carol", 3)]).await;
    Repos {
        tasks: SeaTaskRepository::new(t.db.clone()),
        lists: SeaListRepository::new(t.db.clone()),
        trash: SeaTrashRepository::new(t.db.clone()),
        users: SeaUserRepository::new(t.db.clone()),
    }
}

fn list(owner: &str, n: u128, name: &str) -> TaskList {
    TaskList::new(lid(n), uid(owner), ListName::parse(name).unwrap(), at(10))
}

fn task_in(owner: &str, n: u128, list: ListId, parent: Option<&Task>) -> Task {
    let mut t = in_list(task(owner, n, &format!("task {n}"), at(100)), list);
    t.parent = parent.map(|p| p.id);
    t
}

/// Tasks 1 ← 2 ← 3 and 4 in alice's list 1, which bob edits.
async fn tree(r: &Repos) -> [Task; 4] {
    assert!(
        r.lists
            .insert(&list("alice", 1, "Home"), 100)
            .await
            .unwrap()
    );
    let added = r
        .lists
        .add_member(lid(1), &uid("bob"), Role::Editor, at(11), 100)
        .await
        .unwrap();
    assert_eq!(added, AddMember::Added);
    let one = task_in("alice", 1, lid(1), None);
    let two = task_in("alice", 2, lid(1), Some(&one));
    let three = task_in("bob", 3, lid(1), Some(&two));
    let four = task_in("alice", 4, lid(1), None);
    for t in [&one, &two, &three, &four] {
        assert!(r.tasks.insert(t, None).await.unwrap());
    }
    [one, two, three, four]
}

/// `t` as a restore at `now` writes it back.
fn restored(mut t: Task, now: i64) -> Task {
    t.version += 1;
    t.updated_at = at(now);
    t
}

on_both!(
    a_deleted_task_comes_back_with_its_subtasks,
    |t: Ctx| async move {
        let r = repos(&t).await;
        let [one, two, three, four] = tree(&r).await;
        assert!(
            r.tasks
                .delete(&uid("bob"), two.id, None, at(200))
                .await
                .unwrap()
        );
        assert!(r.tasks.read(&uid("alice"), three.id).await.is_none());
        // In bob's trash, not alice's: whoever deleted it.
        assert!(
            r.trash
                .list(&uid("alice"), 10, None)
                .await
                .unwrap()
                .is_empty()
        );
        let entries = r.trash.list(&uid("bob"), 10, None).await.unwrap();
        assert_eq!(entries.len(), 1, "{}", t.backend);
        let entry = entries[0].clone();
        assert_eq!(
            (
                entry.id,
                entry.kind,
                entry.title.as_str(),
                entry.list,
                entry.tasks
            ),
            (two.id.as_uuid(), TrashKind::Task, "task 2", lid(1), 2)
        );
        assert_eq!(entry.deleted_at, at(200));
        assert_eq!(
            r.trash.get(&uid("bob"), entry.id).await.unwrap(),
            Some(entry.clone())
        );
        assert_eq!(r.trash.get(&uid("alice"), entry.id).await.unwrap(), None);

        assert!(
            r.trash.restore_task(&entry, lid(1), at(300)).await.unwrap(),
            "{}",
            t.backend
        );
        let mut back_two = restored(two.clone(), 300);
        back_two.subtasks = 1;
        assert_eq!(
            r.tasks.read(&uid("alice"), two.id).await,
            Some(back_two),
            "{}",
            t.backend
        );
        assert_eq!(
            r.tasks.read(&uid("alice"), three.id).await,
            Some(restored(three.clone(), 300)),
            "{}",
            t.backend
        );
        // Untouched: its parent, and the other task.
        let mut one_now = one.clone();
        one_now.subtasks = 1;
        assert_eq!(r.tasks.read(&uid("alice"), one.id).await, Some(one_now));
        assert_eq!(r.tasks.read(&uid("alice"), four.id).await, Some(four));
        // The entry is gone: a second restore finds nothing.
        assert!(r.trash.get(&uid("bob"), entry.id).await.unwrap().is_none());
        assert!(!r.trash.restore_task(&entry, lid(1), at(400)).await.unwrap());
    }
);

on_both!(
    a_task_restored_elsewhere_leaves_a_parent_that_is_not_there,
    |t: Ctx| async move {
        let r = repos(&t).await;
        let [_, two, three, _] = tree(&r).await;
        assert!(
            r.tasks
                .delete(&uid("bob"), two.id, None, at(200))
                .await
                .unwrap()
        );
        let entry = r
            .trash
            .get(&uid("bob"), two.id.as_uuid())
            .await
            .unwrap()
            .unwrap();
        // Into bob's Inbox: task 1 (its parent) is not there.
        assert!(
            r.trash
                .restore_task(&entry, inbox("bob"), at(300))
                .await
                .unwrap()
        );
        let back = r.tasks.read(&uid("bob"), two.id).await.unwrap();
        assert_eq!(
            (back.list, back.parent),
            (inbox("bob"), None),
            "{}",
            t.backend
        );
        let child = r.tasks.read(&uid("bob"), three.id).await.unwrap();
        assert_eq!((child.list, child.parent), (inbox("bob"), Some(two.id)));
        // alice sees neither any more.
        assert!(r.tasks.read(&uid("alice"), two.id).await.is_none());
    }
);

on_both!(
    a_deleted_creator_and_a_stranger_assignee_are_not_restored,
    |t: Ctx| async move {
        let r = repos(&t).await;
        assert!(
            r.lists
                .insert(&list("alice", 1, "Home"), 100)
                .await
                .unwrap()
        );
        r.lists
            .add_member(lid(1), &uid("carol"), Role::Editor, at(11), 100)
            .await
            .unwrap();
        let mut made = task_in("carol", 1, lid(1), None);
        made.assignee = Some(uid("carol"));
        assert!(r.tasks.insert(&made, None).await.unwrap());
        assert!(
            r.tasks
                .delete(&uid("alice"), made.id, None, at(200))
                .await
                .unwrap()
        );
        // carol leaves the service meanwhile.
        assert!(
            r.users
                .delete(&uid("carol"), &uid("root"), at(90))
                .await
                .unwrap()
        );
        let entry = r
            .trash
            .get(&uid("alice"), made.id.as_uuid())
            .await
            .unwrap()
            .unwrap();
        assert!(
            r.trash.restore_task(&entry, lid(1), at(300)).await.unwrap(),
            "{}",
            t.backend
        );
        let back = r.tasks.read(&uid("alice"), made.id).await.unwrap();
        assert_eq!(
            back.owner,
            uid("alice"),
            "the restorer stands in for a deleted creator"
        );
        assert_eq!(back.assignee, None);
    }
);

on_both!(
    clearing_completed_tasks_keeps_one_entry_per_deleted_tree,
    |t: Ctx| async move {
        let r = repos(&t).await;
        let [one, mut two, _, mut four] = tree(&r).await;
        // Completing task 2 completes its subtask 3 too.
        for t in [&mut two, &mut four] {
            t.set_completed(true, at(150));
            t.version += 1;
            assert!(r.tasks.replace(t, 1, &any_edit()).await.unwrap());
        }
        assert_eq!(
            r.tasks
                .delete_completed(&uid("alice"), at(200))
                .await
                .unwrap(),
            3
        );
        let mut entries = r.trash.list(&uid("alice"), 10, None).await.unwrap();
        entries.sort_by_key(|e| e.id);
        let got: Vec<(uuid::Uuid, u32)> = entries.iter().map(|e| (e.id, e.tasks)).collect();
        assert_eq!(
            got,
            vec![(two.id.as_uuid(), 2), (four.id.as_uuid(), 1)],
            "{}",
            t.backend
        );
        assert!(r.tasks.read(&uid("alice"), one.id).await.is_some());
    }
);

on_both!(a_deleted_list_comes_back_whole, |t: Ctx| async move {
    let r = repos(&t).await;
    let [one, two, three, four] = tree(&r).await;
    r.lists
        .add_member(lid(1), &uid("carol"), Role::Viewer, at(12), 100)
        .await
        .unwrap();
    let before = r.lists.members(lid(1)).await.unwrap();
    assert!(r.lists.delete(lid(1), None, at(200)).await.unwrap());
    assert!(r.lists.get(&uid("bob"), lid(1)).await.unwrap().is_none());
    let entry = r
        .trash
        .get(&uid("alice"), lid(1).as_uuid())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (entry.kind, entry.title.as_str(), entry.list, entry.tasks),
        (TrashKind::List, "Home", lid(1), 4),
        "{}",
        t.backend
    );
    // carol is gone by the time it comes back.
    assert!(
        r.users
            .delete(&uid("carol"), &uid("root"), at(90))
            .await
            .unwrap()
    );
    assert!(
        r.trash.restore_list(&entry, at(300)).await.unwrap(),
        "{}",
        t.backend
    );
    let view = r.lists.get(&uid("bob"), lid(1)).await.unwrap().unwrap();
    assert_eq!(
        (view.role, view.members, view.list.version),
        (Role::Editor, 2, 2)
    );
    assert_eq!(view.list.name.as_str(), "Home");
    let members: Vec<_> = r.lists.members(lid(1)).await.unwrap();
    assert_eq!(members, before[..2].to_vec(), "{}", t.backend);
    for (task, subtasks) in [(one, 1), (two, 1), (three, 0), (four, 0)] {
        let mut expected = restored(task.clone(), 300);
        expected.subtasks = subtasks;
        assert_eq!(
            r.tasks.read(&uid("bob"), task.id).await,
            Some(expected),
            "{}",
            t.backend
        );
    }
    assert!(!r.trash.restore_list(&entry, at(400)).await.unwrap());
});

on_both!(
    entries_are_forgotten_one_at_a_time_all_at_once_or_when_expired,
    |t: Ctx| async move {
        let r = repos(&t).await;
        let [one, _, _, four] = tree(&r).await;
        assert!(
            r.tasks
                .delete(&uid("alice"), four.id, None, at(200))
                .await
                .unwrap()
        );
        assert!(
            r.tasks
                .delete(&uid("alice"), one.id, None, at(300))
                .await
                .unwrap()
        );
        // Newest first, a page at a time.
        let first = r.trash.list(&uid("alice"), 1, None).await.unwrap();
        assert_eq!(first[0].id, one.id.as_uuid());
        let next = r
            .trash
            .list(&uid("alice"), 1, Some((first[0].deleted_at, first[0].id)))
            .await
            .unwrap();
        assert_eq!(next[0].id, four.id.as_uuid(), "{}", t.backend);
        // Another user's entry is not theirs to forget.
        assert!(!r.trash.delete(&uid("bob"), one.id.as_uuid()).await.unwrap());
        assert!(
            r.trash
                .delete(&uid("alice"), one.id.as_uuid())
                .await
                .unwrap()
        );
        assert!(
            !r.trash
                .delete(&uid("alice"), one.id.as_uuid())
                .await
                .unwrap()
        );
        // Its rows went with it.
        let rows = |sql: &'static str| {
            let db = t.db.clone();
            async move {
                use sea_orm::ConnectionTrait;
                db.query_one_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    sql,
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap()
            }
        };
        assert_eq!(
            rows("SELECT COUNT(*) AS n FROM trash_task").await,
            1,
            "{}",
            t.backend
        );
        assert_eq!(r.trash.purge(at(200)).await.unwrap(), 0);
        assert_eq!(r.trash.purge(at(201)).await.unwrap(), 1);
        assert_eq!(rows("SELECT COUNT(*) AS n FROM trash_task").await, 0);
        assert!(
            r.tasks
                .delete(&uid("alice"), lid_task(), None, at(400))
                .await
                .is_ok()
        );
        assert_eq!(r.trash.empty(&uid("alice")).await.unwrap(), 0);
    }
);

/// A task id no task has.
fn lid_task() -> todo_domain::TaskId {
    tid(999)
}

on_both!(
    a_restore_racing_a_purge_leaves_one_or_the_other,
    sqlite_file,
    |t: Ctx| async move {
        use sea_orm::ConnectionTrait;
        let r = repos(&t).await;
        let count = |sql: String| {
            let db = t.db.clone();
            async move {
                db.query_one_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    sql,
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap()
            }
        };
        let (mut restored, mut purged) = (0, 0);
        for round in 0..16_u128 {
            let parent = task_in("alice", 100 + 2 * round, inbox("alice"), None);
            let child = task_in("alice", 101 + 2 * round, inbox("alice"), Some(&parent));
            for t in [&parent, &child] {
                assert!(r.tasks.insert(t, None).await.unwrap());
            }
            assert!(
                r.tasks
                    .delete(&uid("alice"), parent.id, None, at(200))
                    .await
                    .unwrap()
            );
            let entry = r
                .trash
                .get(&uid("alice"), parent.id.as_uuid())
                .await
                .unwrap()
                .unwrap();
            let trash = SeaTrashRepository::new(t.db.clone());
            let restore = tokio::spawn(async move {
                trash
                    .restore_task(&entry, inbox("alice"), at(300))
                    .await
                    .unwrap()
            });
            let trash = SeaTrashRepository::new(t.db.clone());
            let purge = tokio::spawn(async move { trash.purge(at(1_000)).await.unwrap() });
            let (back, gone) = (restore.await.unwrap(), purge.await.unwrap());
            let live = count(format!(
                "SELECT COUNT(*) AS n FROM task WHERE title IN ('task {}', 'task {}')",
                100 + 2 * round,
                101 + 2 * round
            ))
            .await;
            if back {
                restored += 1;
                assert_eq!(live, 2, "{}: restored, so both tasks are back", t.backend);
            } else {
                purged += 1;
                assert_eq!(gone, 1, "{}: not restored, so purged", t.backend);
                assert_eq!(live, 0, "{}", t.backend);
            }
            // Never an entry left behind, nor rows without their entry.
            assert_eq!(
                count("SELECT COUNT(*) AS n FROM trash_entry".into()).await,
                0
            );
            assert_eq!(
                count(
                    "SELECT COUNT(*) AS n FROM trash_task t WHERE NOT EXISTS \
                     (SELECT 1 FROM trash_entry e WHERE e.id = t.trash_id)"
                        .into()
                )
                .await,
                0,
                "{}",
                t.backend
            );
            assert_eq!(
                count("SELECT COUNT(*) AS n FROM trash_task".into()).await,
                0
            );
        }
        assert_eq!(restored + purged, 16);
    }
);
