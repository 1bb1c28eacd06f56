//! Lists, members and roles; subtasks; what each caller sees of tasks; the sync feed of a
//! lost list; a user's deletion handing their lists over; the races on one list.

use sea_orm::ConnectionTrait;
use todo_application::ports::{
    AddMember, IdempotentListInsert, ListRepository, Purged, TaskRepository, UserRepository,
};
use todo_domain::{
    Change, DueWindow, IdempotencyKey, ListChanges, ListId, ListName, Role, Sort, Tags, Task,
    TaskFilter, TaskId, TaskList, TaskQuery, TimeZone, UserId,
};
use todo_persistence::{SeaListRepository, SeaTaskRepository, SeaUserRepository};

use crate::harness::*;

struct Repos {
    tasks: SeaTaskRepository,
    lists: SeaListRepository,
    users: SeaUserRepository,
}

/// alice, bob and carol, each with their Inbox.
async fn repos(t: &Ctx) -> Repos {
    users_with_inboxes(&t.db, &[("alice", 1), ("bob", 2), ("carol", 3)]).await;
    Repos {
        tasks: SeaTaskRepository::new(t.db.clone()),
        lists: SeaListRepository::new(t.db.clone()),
        users: SeaUserRepository::new(t.db.clone()),
    }
}

fn list(owner: &str, n: u128, name: &str) -> TaskList {
    TaskList::new(lid(n), uid(owner), ListName::parse(name).unwrap(), at(10))
}

/// Task `n` of `owner`'s in `list`.
fn task_in(owner: &str, n: u128, list: ListId) -> Task {
    in_list(
        task(
            owner,
            n,
            &format!("task {n}"),
            at(100 + i64::try_from(n).unwrap()),
        ),
        list,
    )
}

/// A subtask of `parent`.
fn subtask(owner: &str, n: u128, parent: &Task) -> Task {
    let mut t = task_in(owner, n, parent.list);
    t.parent = Some(parent.id);
    t
}

fn query(filter: TaskFilter) -> TaskQuery {
    TaskQuery {
        filter,
        sort: Sort::default(),
        window: DueWindow::at(at(0), TimeZone::UTC),
    }
}

/// The ids `caller` finds with `filter`, in the plain order.
async fn ids(tasks: &SeaTaskRepository, caller: &str, filter: TaskFilter) -> Vec<u128> {
    tasks
        .search(&uid(caller), &query(filter), 100, None)
        .await
        .unwrap()
        .iter()
        .map(|t| t.id.as_uuid().as_u128())
        .collect()
}

/// The ids the plain list of `caller` holds.
async fn plain(tasks: &SeaTaskRepository, caller: &str) -> Vec<u128> {
    plain_page(tasks, &uid(caller), 100, None)
        .await
        .iter()
        .map(|t| t.id.as_uuid().as_u128())
        .collect()
}

async fn count_of(t: &Ctx, sql: &str) -> i64 {
    t.db.query_one_raw(sea_orm::Statement::from_string(
        t.db.get_database_backend(),
        sql,
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get::<i64>("", "n")
    .unwrap()
}

/// The feed of `caller` since the epoch: `(id, deleted?)` in order.
async fn feed(tasks: &SeaTaskRepository, caller: &str) -> Vec<(u128, bool, i64)> {
    tasks
        .changes(&uid(caller), at(0), 100, None)
        .await
        .unwrap()
        .iter()
        .map(|c| {
            (
                c.id().as_uuid().as_u128(),
                matches!(c, Change::Deleted(_)),
                c.changed_at().timestamp(),
            )
        })
        .collect()
}

on_both!(a_list_is_seen_by_its_members_only, |t: Ctx| async move {
    let r = repos(&t).await;
    assert!(
        r.lists
            .insert(&list("alice", 1, "Home"), 1_000)
            .await
            .unwrap()
    );
    let mut tagged = task_in("alice", 1, lid(1));
    tagged.tags = Tags::parse(&["home"]).unwrap();
    r.tasks.insert(&tagged, None).await.unwrap();
    r.tasks
        .insert(&task("alice", 2, "mine", at(5)), None)
        .await
        .unwrap();

    // bob is no member: nothing of it exists for him.
    let bob = uid("bob");
    assert_eq!(r.tasks.get(&bob, tid(1)).await.unwrap(), None);
    assert!(plain(&r.tasks, "bob").await.is_empty());
    assert_eq!(
        r.tasks
            .stats(&bob, &DueWindow::at(at(0), TimeZone::UTC))
            .await
            .unwrap()
            .total,
        0
    );
    assert!(r.tasks.tag_lists(&bob).await.unwrap().is_empty());
    assert!(feed(&r.tasks, "bob").await.is_empty());
    assert_eq!(r.lists.role(&bob, lid(1)).await.unwrap(), None);
    assert_eq!(r.lists.get(&bob, lid(1)).await.unwrap(), None);
    assert_eq!(
        ids(
            &r.tasks,
            "bob",
            TaskFilter {
                list: Some(lid(1)),
                ..TaskFilter::default()
            }
        )
        .await,
        Vec::<u128>::new()
    );

    // As a viewer he sees its tasks (not alice's Inbox), with his role.
    let added = r
        .lists
        .add_member(lid(1), &bob, Role::Viewer, at(20), 100)
        .await
        .unwrap();
    assert_eq!(added, AddMember::Added);
    assert_eq!(
        r.tasks.get(&bob, tid(1)).await.unwrap().unwrap().1,
        Role::Viewer
    );
    assert_eq!(r.tasks.get(&bob, tid(2)).await.unwrap(), None);
    assert_eq!(plain(&r.tasks, "bob").await, [1]);
    assert_eq!(
        r.tasks
            .stats(&bob, &DueWindow::at(at(0), TimeZone::UTC))
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(r.tasks.tag_lists(&bob).await.unwrap().len(), 1);
    assert_eq!(feed(&r.tasks, "bob").await, [(1, false, 101)]);
    assert_eq!(
        role_in(&r.tasks, &uid("alice"), tid(1)).await,
        Some(Role::Owner)
    );
    r.lists
        .add_member(lid(1), &uid("carol"), Role::Editor, at(21), 100)
        .await
        .unwrap();
    assert_eq!(
        role_in(&r.tasks, &uid("carol"), tid(1)).await,
        Some(Role::Editor)
    );
    // The task's creator stays alice whoever reads it.
    assert_eq!(
        r.tasks.read(&uid("carol"), tid(1)).await.unwrap().owner,
        uid("alice")
    );

    let view = r.lists.get(&bob, lid(1)).await.unwrap().unwrap();
    assert_eq!((view.members, view.role), (3, Role::Viewer));
    assert_eq!(view.list, list("alice", 1, "Home"));
    let members = r.lists.members(lid(1)).await.unwrap();
    let who: Vec<(&str, Role)> = members
        .iter()
        .map(|m| (m.user_id.as_str(), m.role))
        .collect();
    assert_eq!(
        who,
        [
            ("alice", Role::Owner),
            ("bob", Role::Viewer),
            ("carol", Role::Editor)
        ]
    );
    assert_eq!(members[1].email, "bob@example.com");
    // bob's lists: his Inbox and the shared one, by position.
    let mine = r.lists.list(&bob, false, 10, None).await.unwrap();
    let names: Vec<&str> = mine.iter().map(|v| v.list.name.as_str()).collect();
    assert_eq!(names, ["Inbox", "Home"], "{}", t.backend);
    assert!(mine[0].list.inbox);
    let rest = r
        .lists
        .list(
            &bob,
            false,
            10,
            Some((mine[0].list.position.clone(), mine[0].list.id)),
        )
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].list.id, lid(1));
});

on_both!(
    archived_lists_are_hidden_unless_asked_for,
    |t: Ctx| async move {
        let r = repos(&t).await;
        r.lists
            .insert(&list("alice", 1, "Old"), 1_000)
            .await
            .unwrap();
        r.tasks
            .insert(&task_in("alice", 1, lid(1)), None)
            .await
            .unwrap();
        r.tasks
            .insert(&task("alice", 2, "inbox", at(200)), None)
            .await
            .unwrap();
        let stored = r
            .lists
            .get(&uid("alice"), lid(1))
            .await
            .unwrap()
            .unwrap()
            .list;
        let archived = stored
            .apply(
                &ListChanges {
                    archived: Some(true),
                    ..ListChanges::default()
                },
                at(30),
            )
            .unwrap();
        assert!(
            !r.lists.replace(&archived, 2, &list_edit()).await.unwrap(),
            "stale version"
        );
        assert!(r.lists.replace(&archived, 1, &list_edit()).await.unwrap());
        assert_eq!(
            r.lists
                .get(&uid("alice"), lid(1))
                .await
                .unwrap()
                .unwrap()
                .list,
            archived
        );

        assert_eq!(plain(&r.tasks, "alice").await, [2]);
        let all = TaskFilter {
            archived: true,
            ..TaskFilter::default()
        };
        assert_eq!(ids(&r.tasks, "alice", all).await, [1, 2]);
        let named = TaskFilter {
            list: Some(lid(1)),
            ..TaskFilter::default()
        };
        assert_eq!(ids(&r.tasks, "alice", named).await, [1]);
        let window = DueWindow::at(at(0), TimeZone::UTC);
        assert_eq!(
            r.tasks.stats(&uid("alice"), &window).await.unwrap().total,
            1
        );
        // Still read one by one, and in the sync feed.
        assert!(r.tasks.read(&uid("alice"), tid(1)).await.is_some());
        assert_eq!(feed(&r.tasks, "alice").await.len(), 2);
        let lists = r.lists.list(&uid("alice"), true, 10, None).await.unwrap();
        assert_eq!(lists.len(), 1);
        assert_eq!(lists[0].list.id, lid(1));
    }
);

/// Archives (or unarchives) alice's list `list` at its stored version.
async fn set_archived(lists: &SeaListRepository, list: ListId, archived: bool) {
    let stored = lists.get(&uid("alice"), list).await.unwrap().unwrap();
    let changed = stored
        .list
        .apply(
            &ListChanges {
                archived: Some(archived),
                ..ListChanges::default()
            },
            at(30),
        )
        .unwrap();
    assert!(
        lists
            .replace(&changed, stored.list.version, &list_edit())
            .await
            .unwrap()
    );
}

on_both!(
    a_lists_archiving_reaches_every_member_and_each_new_one,
    |t: Ctx| async move {
        let r = repos(&t).await;
        r.lists
            .insert(&list("alice", 1, "Shared"), 1_000)
            .await
            .unwrap();
        r.lists
            .add_member(lid(1), &uid("bob"), Role::Editor, at(20), 100)
            .await
            .unwrap();
        r.tasks
            .insert(&task_in("alice", 1, lid(1)), None)
            .await
            .unwrap();
        assert_eq!(plain(&r.tasks, "bob").await, [1]);
        set_archived(&r.lists, lid(1), true).await;
        assert!(plain(&r.tasks, "alice").await.is_empty());
        assert!(plain(&r.tasks, "bob").await.is_empty());
        // carol joins the archived list: hidden from her too, until asked for.
        r.lists
            .add_member(lid(1), &uid("carol"), Role::Viewer, at(40), 100)
            .await
            .unwrap();
        assert!(plain(&r.tasks, "carol").await.is_empty());
        let all = TaskFilter {
            archived: true,
            ..TaskFilter::default()
        };
        assert_eq!(ids(&r.tasks, "carol", all).await, [1]);
        set_archived(&r.lists, lid(1), false).await;
        for who in ["alice", "bob", "carol"] {
            assert_eq!(plain(&r.tasks, who).await, [1], "{who}");
        }
    }
);

on_both!(each_new_filter_and_subtask_counts, |t: Ctx| async move {
    let r = repos(&t).await;
    let inbox = inbox("alice");
    r.lists
        .insert(&list("alice", 1, "Work"), 1_000)
        .await
        .unwrap();
    r.lists
        .add_member(lid(1), &uid("bob"), Role::Editor, at(20), 100)
        .await
        .unwrap();
    let parent = task_in("alice", 1, inbox);
    r.tasks.insert(&parent, None).await.unwrap();
    let child = subtask("alice", 2, &parent);
    r.tasks.insert(&child, None).await.unwrap();
    r.tasks
        .insert(&subtask("alice", 3, &child), None)
        .await
        .unwrap();
    r.tasks
        .insert(&subtask("alice", 4, &parent), None)
        .await
        .unwrap();
    let mut assigned = task_in("alice", 5, lid(1));
    assigned.assignee = Some(uid("bob"));
    r.tasks.insert(&assigned, None).await.unwrap();

    let f = TaskFilter::default;
    assert_eq!(
        ids(
            &r.tasks,
            "alice",
            TaskFilter {
                list: Some(lid(1)),
                ..f()
            }
        )
        .await,
        [5]
    );
    assert_eq!(
        ids(
            &r.tasks,
            "alice",
            TaskFilter {
                list: Some(inbox),
                ..f()
            }
        )
        .await,
        [1, 2, 3, 4]
    );
    assert_eq!(
        ids(
            &r.tasks,
            "alice",
            TaskFilter {
                parent: Some(None),
                ..f()
            }
        )
        .await,
        [1, 5]
    );
    assert_eq!(
        ids(
            &r.tasks,
            "alice",
            TaskFilter {
                parent: Some(Some(tid(1))),
                ..f()
            }
        )
        .await,
        [2, 4]
    );
    assert_eq!(
        ids(
            &r.tasks,
            "alice",
            TaskFilter {
                assignee: Some(uid("bob")),
                ..f()
            }
        )
        .await,
        [5]
    );
    assert_eq!(
        ids(
            &r.tasks,
            "bob",
            TaskFilter {
                assignee: Some(uid("bob")),
                ..f()
            }
        )
        .await,
        [5]
    );
    // bob sees the shared list only, even naming alice's Inbox.
    assert_eq!(
        ids(
            &r.tasks,
            "bob",
            TaskFilter {
                list: Some(inbox),
                ..f()
            }
        )
        .await,
        Vec::<u128>::new()
    );

    let counts: Vec<(u128, u32)> = plain_page(&r.tasks, &uid("alice"), 10, None)
        .await
        .iter()
        .map(|t| (t.id.as_uuid().as_u128(), t.subtasks))
        .collect();
    assert_eq!(counts, [(1, 2), (2, 1), (3, 0), (4, 0), (5, 0)]);
    let read = r.tasks.read(&uid("alice"), tid(1)).await.unwrap();
    assert_eq!((read.subtasks, read.parent), (2, None));
    let read = r.tasks.read(&uid("alice"), tid(3)).await.unwrap();
    assert_eq!(read.parent, Some(tid(2)));
    assert_eq!(
        r.tasks.read(&uid("alice"), tid(5)).await.unwrap().assignee,
        Some(uid("bob"))
    );

    // Lineage: ancestors nearest first, levels below, each bounded by the limit.
    let lineage = r.tasks.lineage(tid(3), 5).await.unwrap();
    assert_eq!(
        (lineage.ancestors, lineage.depth_below),
        (vec![tid(2), tid(1)], 0)
    );
    let lineage = r.tasks.lineage(tid(1), 5).await.unwrap();
    assert_eq!((lineage.ancestors, lineage.depth_below), (vec![], 2));
    let lineage = r.tasks.lineage(tid(1), 1).await.unwrap();
    assert_eq!(lineage.depth_below, 1);
    assert_eq!(
        r.tasks.lineage(tid(3), 1).await.unwrap().ancestors,
        [tid(2)]
    );
    assert_eq!(r.tasks.open_in_list(inbox).await.unwrap(), 4);
    assert_eq!(r.tasks.open_in_list(lid(1)).await.unwrap(), 1);
});

on_both!(
    replace_moves_and_completes_the_subtree,
    |t: Ctx| async move {
        let r = repos(&t).await;
        r.lists
            .insert(&list("alice", 1, "Work"), 1_000)
            .await
            .unwrap();
        let parent = task_in("alice", 1, inbox("alice"));
        r.tasks.insert(&parent, None).await.unwrap();
        let child = subtask("alice", 2, &parent);
        r.tasks.insert(&child, None).await.unwrap();
        let mut done = subtask("alice", 3, &child);
        done.set_completed(true, at(150));
        r.tasks.insert(&done, None).await.unwrap();
        let alice = uid("alice");

        // Moved to another list: the subtasks at every depth follow.
        let mut moved = parent.clone();
        moved.list = lid(1);
        moved.version = 2;
        moved.updated_at = at(300);
        assert!(
            !r.tasks.replace(&moved, 5, &any_edit()).await.unwrap(),
            "stale"
        );
        assert!(r.tasks.replace(&moved, 1, &any_edit()).await.unwrap());
        for n in 1..=3 {
            assert_eq!(
                r.tasks.read(&alice, tid(n)).await.unwrap().list,
                lid(1),
                "{n}"
            );
        }
        // Completed: the open subtasks are completed at the same instant, each version + 1.
        let before = r.tasks.read(&alice, tid(2)).await.unwrap();
        let mut completed = moved.clone();
        completed.set_completed(true, at(400));
        completed.updated_at = at(400);
        completed.version = 3;
        assert!(r.tasks.replace(&completed, 2, &any_edit()).await.unwrap());
        let child = r.tasks.read(&alice, tid(2)).await.unwrap();
        assert!(child.completed);
        assert_eq!(
            (child.completed_at, child.updated_at),
            (Some(at(400)), at(400))
        );
        assert_eq!(child.version, before.version + 1);
        let grandchild = r.tasks.read(&alice, tid(3)).await.unwrap();
        assert_eq!(
            grandchild.completed_at,
            Some(at(150)),
            "already done: untouched"
        );
        // Reopening the parent reopens nothing.
        let mut reopened = completed.clone();
        reopened.set_completed(false, at(500));
        reopened.version = 4;
        assert!(r.tasks.replace(&reopened, 3, &any_edit()).await.unwrap());
        assert!(r.tasks.read(&alice, tid(2)).await.unwrap().completed);
    }
);

/// Tasks whose stored subtask count differs from the rows that name them as parent.
async fn miscounted(t: &Ctx) -> i64 {
    count_of(
        t,
        "SELECT COUNT(*) AS n FROM task p \
         WHERE p.subtask_count <> (SELECT COUNT(*) FROM task c WHERE c.parent_id = p.id)",
    )
    .await
}

on_both!(subtask_counts_follow_every_write, |t: Ctx| async move {
    let r = repos(&t).await;
    let (alice, bob) = (uid("alice"), uid("bob"));
    r.lists
        .insert(&list("alice", 1, "Shared"), 1_000)
        .await
        .unwrap();
    r.lists
        .add_member(lid(1), &bob, Role::Editor, at(20), 100)
        .await
        .unwrap();
    let one = task_in("alice", 1, lid(1));
    let two = task_in("alice", 2, lid(1));
    for task in [&one, &two] {
        r.tasks.insert(task, None).await.unwrap();
    }
    let four = subtask("alice", 4, &one);
    for task in [&subtask("bob", 3, &one), &four, &subtask("alice", 5, &four)] {
        r.tasks.insert(task, None).await.unwrap();
    }
    let count = |n| {
        let tasks = &r.tasks;
        let alice = &alice;
        async move { tasks.read(alice, tid(n)).await.unwrap().subtasks }
    };
    assert_eq!((count(1).await, count(2).await, count(4).await), (2, 0, 1));
    assert_eq!(miscounted(&t).await, 0);

    // Moved under another parent: one less there, one more here.
    let mut moved = r.tasks.read(&alice, tid(4)).await.unwrap();
    moved.parent = Some(tid(2));
    moved.version += 1;
    assert!(
        r.tasks
            .replace(&moved, moved.version - 1, &any_edit())
            .await
            .unwrap()
    );
    assert_eq!((count(1).await, count(2).await, count(4).await), (1, 1, 1));

    // Deleted with its own subtask: its parent has none left.
    assert!(r.tasks.delete(&alice, tid(4), None, at(50)).await.unwrap());
    assert_eq!((count(1).await, count(2).await), (1, 0));
    assert_eq!(miscounted(&t).await, 0);

    // Deleting bob deletes or keeps his subtask; the count says which.
    assert!(r.users.delete(&bob, &uid("root"), at(90)).await.unwrap());
    assert_eq!(miscounted(&t).await, 0, "{}", t.backend);
});

on_both!(
    toggle_needs_an_editor_and_no_open_subtask,
    |t: Ctx| async move {
        let r = repos(&t).await;
        r.lists
            .insert(&list("alice", 1, "Shared"), 1_000)
            .await
            .unwrap();
        r.lists
            .add_member(lid(1), &uid("bob"), Role::Viewer, at(20), 100)
            .await
            .unwrap();
        r.lists
            .add_member(lid(1), &uid("carol"), Role::Editor, at(20), 100)
            .await
            .unwrap();
        let parent = task_in("alice", 1, lid(1));
        r.tasks.insert(&parent, None).await.unwrap();
        let child = subtask("alice", 2, &parent);
        r.tasks.insert(&child, None).await.unwrap();

        assert_eq!(
            r.tasks
                .toggle_completed(&uid("bob"), tid(2), at(30), None)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            r.tasks
                .toggle_completed(&uid("carol"), tid(1), at(30), None)
                .await
                .unwrap(),
            None,
            "open subtask"
        );
        let toggled = r
            .tasks
            .toggle_completed(&uid("carol"), tid(2), at(30), None)
            .await
            .unwrap()
            .unwrap();
        assert!(toggled.completed);
        assert_eq!((toggled.list, toggled.parent), (lid(1), Some(tid(1))));
        let toggled = r
            .tasks
            .toggle_completed(&uid("carol"), tid(1), at(31), Some(1))
            .await
            .unwrap()
            .unwrap();
        assert!(toggled.completed);
        assert_eq!(toggled.subtasks, 1, "the count comes back with the row");
        assert_eq!(
            r.tasks
                .toggle_completed(&uid("bob"), tid(1), at(32), None)
                .await
                .unwrap(),
            None
        );
    }
);

on_both!(
    delete_takes_the_subtree_with_tombstones,
    |t: Ctx| async move {
        let r = repos(&t).await;
        r.lists
            .insert(&list("alice", 1, "Shared"), 1_000)
            .await
            .unwrap();
        r.lists
            .add_member(lid(1), &uid("bob"), Role::Viewer, at(20), 100)
            .await
            .unwrap();
        let parent = task_in("alice", 1, lid(1));
        r.tasks.insert(&parent, None).await.unwrap();
        let child = subtask("alice", 2, &parent);
        r.tasks.insert(&child, None).await.unwrap();
        r.tasks
            .insert(&subtask("alice", 3, &child), None)
            .await
            .unwrap();
        r.tasks
            .insert(&task_in("alice", 4, lid(1)), None)
            .await
            .unwrap();

        assert!(
            !r.tasks
                .delete(&uid("bob"), tid(1), None, at(50))
                .await
                .unwrap(),
            "a viewer"
        );
        assert!(
            !r.tasks
                .delete(&uid("carol"), tid(1), None, at(50))
                .await
                .unwrap(),
            "no member"
        );
        assert!(
            !r.tasks
                .delete(&uid("alice"), tid(1), Some(7), at(50))
                .await
                .unwrap(),
            "stale"
        );
        assert!(
            r.tasks
                .delete(&uid("alice"), tid(1), Some(1), at(50))
                .await
                .unwrap()
        );
        assert_eq!(plain(&r.tasks, "alice").await, [4]);
        assert_eq!(
            count_of(
                &t,
                "SELECT COUNT(*) AS n FROM task_tombstone WHERE list_id IS NOT NULL"
            )
            .await,
            3
        );
        // Every member of the list is told.
        for who in ["alice", "bob"] {
            let deleted: Vec<u128> = feed(&r.tasks, who)
                .await
                .into_iter()
                .filter(|c| c.1)
                .map(|c| c.0)
                .collect();
            assert_eq!(deleted, [1, 2, 3], "{who}");
        }
        assert!(feed(&r.tasks, "carol").await.is_empty());

        // Completed tasks go with their subtasks, in the lists one may edit.
        let mut done = task_in("alice", 5, lid(1));
        done.set_completed(true, at(60));
        r.tasks.insert(&done, None).await.unwrap();
        r.tasks
            .insert(&subtask("alice", 6, &done), None)
            .await
            .unwrap();
        assert_eq!(
            r.tasks.delete_completed(&uid("bob"), at(70)).await.unwrap(),
            0
        );
        assert_eq!(
            r.tasks
                .delete_completed(&uid("alice"), at(70))
                .await
                .unwrap(),
            2
        );
        assert_eq!(plain(&r.tasks, "alice").await, [4]);
    }
);

on_both!(
    concurrent_inboxes_make_one,
    sqlite_file,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[]).await;
        SeaUserRepository::new(t.db.clone())
            .create_if_absent(&user("dave", None, 1))
            .await
            .unwrap();
        let calls = (0..8_u128).map(|n| {
            let lists = SeaListRepository::new(t.db.clone());
            tokio::spawn(async move {
                lists
                    .ensure_inbox(&TaskList::inbox(lid(100 + n), uid("dave"), at(5)))
                    .await
                    .unwrap()
            })
        });
        let mut got = Vec::new();
        for call in calls {
            got.push(call.await.unwrap());
        }
        got.dedup();
        assert_eq!(got.len(), 1, "{}: {got:?}", t.backend);
        assert_eq!(
            count_of(
                &t,
                "SELECT COUNT(*) AS n FROM task_list WHERE inbox_of = 'dave'"
            )
            .await,
            1
        );
        assert_eq!(
            count_of(
                &t,
                "SELECT COUNT(*) AS n FROM list_member WHERE user_id = 'dave'"
            )
            .await,
            1
        );
        let lists = SeaListRepository::new(t.db.clone());
        let view = lists.get(&uid("dave"), got[0]).await.unwrap().unwrap();
        assert!(view.list.inbox);
        assert_eq!(view.role, Role::Owner);
    }
);

on_both!(limits_hold, |t: Ctx| async move {
    let r = repos(&t).await;
    // alice owns her Inbox: one more fits under two.
    assert!(r.lists.insert(&list("alice", 1, "a"), 2).await.unwrap());
    assert!(!r.lists.insert(&list("alice", 2, "b"), 2).await.unwrap());
    assert_eq!(r.lists.get(&uid("alice"), lid(2)).await.unwrap(), None);
    let key = IdempotencyKey::parse("k1").unwrap();
    assert_eq!(
        r.lists
            .insert_idempotent(&list("alice", 3, "c"), 2, &key, "fp", at(0))
            .await
            .unwrap(),
        IdempotentListInsert::Full
    );
    assert_eq!(
        r.lists
            .insert_idempotent(&list("alice", 3, "c"), 3, &key, "fp", at(0))
            .await
            .unwrap(),
        IdempotentListInsert::Inserted
    );
    assert_eq!(
        r.lists
            .insert_idempotent(&list("alice", 4, "d"), 9, &key, "fp2", at(0))
            .await
            .unwrap(),
        IdempotentListInsert::Existing {
            fingerprint: "fp".to_owned(),
            id: lid(3).as_uuid()
        }
    );
    assert_eq!(r.lists.get(&uid("alice"), lid(4)).await.unwrap(), None);

    // Two members fit (the owner counts).
    assert_eq!(
        r.lists
            .add_member(lid(1), &uid("bob"), Role::Editor, at(20), 2)
            .await
            .unwrap(),
        AddMember::Added
    );
    assert_eq!(
        r.lists
            .add_member(lid(1), &uid("bob"), Role::Viewer, at(20), 2)
            .await
            .unwrap(),
        AddMember::AlreadyMember
    );
    assert_eq!(
        r.lists
            .add_member(lid(1), &uid("carol"), Role::Viewer, at(20), 2)
            .await
            .unwrap(),
        AddMember::Full
    );
    assert_eq!(
        r.lists
            .add_member(lid(9), &uid("carol"), Role::Viewer, at(20), 2)
            .await
            .unwrap(),
        AddMember::NoList
    );
});

on_both!(
    members_change_roles_leave_and_take_over,
    |t: Ctx| async move {
        let r = repos(&t).await;
        let (alice, bob, carol) = (uid("alice"), uid("bob"), uid("carol"));
        r.lists
            .insert(&list("alice", 1, "Shared"), 1_000)
            .await
            .unwrap();
        r.lists
            .add_member(lid(1), &bob, Role::Viewer, at(20), 100)
            .await
            .unwrap();
        let mut assigned = task_in("alice", 1, lid(1));
        assigned.assignee = Some(bob.clone());
        r.tasks.insert(&assigned, None).await.unwrap();
        let mut elsewhere = task("alice", 2, "inbox", at(5));
        elsewhere.assignee = Some(bob.clone());
        r.tasks.insert(&elsewhere, None).await.unwrap();

        assert!(
            r.lists
                .set_member_role(lid(1), &bob, Role::Editor, at(40))
                .await
                .unwrap()
        );
        assert_eq!(
            r.lists.role(&bob, lid(1)).await.unwrap(),
            Some(Role::Editor)
        );
        assert!(
            !r.lists
                .set_member_role(lid(1), &alice, Role::Viewer, at(40))
                .await
                .unwrap(),
            "the owner"
        );
        assert!(
            !r.lists
                .set_member_role(lid(1), &carol, Role::Viewer, at(40))
                .await
                .unwrap(),
            "no member"
        );
        assert!(
            !r.lists
                .set_member_role(lid(1), &bob, Role::Owner, at(40))
                .await
                .unwrap(),
            "ownership is not given"
        );

        // Only while alice owns it and the target is an editor.
        assert!(
            !r.lists
                .transfer(lid(1), &bob, &alice, at(30))
                .await
                .unwrap()
        );
        r.lists
            .add_member(lid(1), &carol, Role::Viewer, at(21), 100)
            .await
            .unwrap();
        assert!(
            !r.lists
                .transfer(lid(1), &alice, &carol, at(30))
                .await
                .unwrap(),
            "a viewer"
        );
        assert!(
            r.lists
                .transfer(lid(1), &alice, &bob, at(30))
                .await
                .unwrap()
        );
        assert_eq!(
            r.lists.role(&alice, lid(1)).await.unwrap(),
            Some(Role::Editor)
        );
        let view = r.lists.get(&bob, lid(1)).await.unwrap().unwrap();
        assert_eq!(
            (view.role, view.list.owner.clone(), view.list.version),
            (Role::Owner, bob.clone(), 2)
        );
        assert!(
            !r.lists
                .transfer(lid(1), &alice, &bob, at(31))
                .await
                .unwrap(),
            "no longer the owner"
        );

        // Removing a member clears their assignments in that list only.
        assert!(
            !r.lists
                .remove_member(lid(1), &bob, &uid("alice"), at(40))
                .await
                .unwrap(),
            "the owner"
        );
        r.lists
            .transfer(lid(1), &bob, &alice, at(35))
            .await
            .unwrap();
        assert!(
            r.lists
                .remove_member(lid(1), &bob, &uid("alice"), at(40))
                .await
                .unwrap()
        );
        assert!(
            !r.lists
                .remove_member(lid(1), &bob, &uid("alice"), at(41))
                .await
                .unwrap()
        );
        assert_eq!(r.lists.role(&bob, lid(1)).await.unwrap(), None);
        assert_eq!(r.tasks.read(&alice, tid(1)).await.unwrap().assignee, None);
        assert_eq!(
            r.tasks.read(&alice, tid(2)).await.unwrap().assignee,
            Some(bob.clone())
        );
        // He was told to drop its task, at the instant he lost it.
        assert_eq!(feed(&r.tasks, "bob").await, [(1, true, 40)]);
        let _ = r.users;
    }
);

on_both!(
    a_deleted_list_leaves_tombstones_for_every_member,
    |t: Ctx| async move {
        let r = repos(&t).await;
        r.lists
            .insert(&list("alice", 1, "Shared"), 1_000)
            .await
            .unwrap();
        r.lists
            .add_member(lid(1), &uid("bob"), Role::Editor, at(20), 100)
            .await
            .unwrap();
        let parent = task_in("alice", 1, lid(1));
        r.tasks.insert(&parent, None).await.unwrap();
        r.tasks
            .insert(&subtask("bob", 2, &parent), None)
            .await
            .unwrap();
        r.tasks
            .insert(&task("alice", 3, "kept", at(90)), None)
            .await
            .unwrap();

        assert!(
            !r.lists.delete(lid(1), Some(5), at(60)).await.unwrap(),
            "stale"
        );
        assert!(r.lists.delete(lid(1), Some(1), at(60)).await.unwrap());
        assert!(!r.lists.delete(lid(1), None, at(61)).await.unwrap(), "gone");
        assert_eq!(
            count_of(
                &t,
                "SELECT COUNT(*) AS n FROM list_member WHERE user_id = 'bob'"
            )
            .await,
            1,
            "his Inbox"
        );
        assert_eq!(count_of(&t, "SELECT COUNT(*) AS n FROM task").await, 1);
        for who in ["alice", "bob"] {
            let deleted: Vec<(u128, i64)> = feed(&r.tasks, who)
                .await
                .into_iter()
                .filter(|c| c.1)
                .map(|c| (c.0, c.2))
                .collect();
            assert_eq!(deleted, [(1, 60), (2, 60)], "{who}");
        }
        assert!(feed(&r.tasks, "carol").await.is_empty());
        // Paged: strictly after the cursor.
        let first = r.tasks.changes(&uid("bob"), at(0), 1, None).await.unwrap();
        assert_eq!(first.len(), 1);
        let cursor = todo_domain::ListCursor {
            value: todo_domain::SortValue::Instant(Some(first[0].changed_at())),
            id: first[0].id(),
        };
        let next = r
            .tasks
            .changes(&uid("bob"), at(0), 10, Some(cursor))
            .await
            .unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].id(), tid(2));
        // A later `since` leaves them out.
        assert!(
            r.tasks
                .changes(&uid("bob"), at(61), 10, None)
                .await
                .unwrap()
                .is_empty()
        );

        // The purge forgets the tombstones and the access records alike.
        let purged = r.tasks.purge(at(61), at(0)).await.unwrap();
        assert_eq!(
            purged,
            Purged {
                tombstones: 2,
                keys: 0
            }
        );
        assert_eq!(
            count_of(&t, "SELECT COUNT(*) AS n FROM list_access_lost").await,
            0
        );
        assert!(feed(&r.tasks, "bob").await.is_empty());
    }
);

on_both!(purge_keeps_recent_access_records, |t: Ctx| async move {
    let r = repos(&t).await;
    r.lists
        .insert(&list("alice", 1, "Shared"), 1_000)
        .await
        .unwrap();
    r.lists
        .add_member(lid(1), &uid("bob"), Role::Viewer, at(20), 100)
        .await
        .unwrap();
    r.lists
        .add_member(lid(1), &uid("carol"), Role::Viewer, at(20), 100)
        .await
        .unwrap();
    r.tasks
        .insert(&task_in("alice", 1, lid(1)), None)
        .await
        .unwrap();
    r.lists
        .remove_member(lid(1), &uid("bob"), &uid("alice"), at(40))
        .await
        .unwrap();
    r.lists
        .remove_member(lid(1), &uid("carol"), &uid("alice"), at(80))
        .await
        .unwrap();
    r.tasks.purge(at(50), at(0)).await.unwrap();
    assert_eq!(
        count_of(&t, "SELECT COUNT(*) AS n FROM list_access_lost").await,
        1
    );
    assert!(feed(&r.tasks, "bob").await.is_empty());
    assert_eq!(feed(&r.tasks, "carol").await, [(1, true, 80)]);
});

on_both!(
    deleting_a_user_hands_their_lists_over,
    |t: Ctx| async move {
        let r = repos(&t).await;
        users_with_inboxes(&t.db, &[("dave", 4)]).await;
        let (alice, bob, carol, dave) = (uid("alice"), uid("bob"), uid("carol"), uid("dave"));
        // List 1: bob (viewer), carol (editor, earlier), dave (editor): carol takes it.
        r.lists
            .insert(&list("alice", 1, "Shared"), 1_000)
            .await
            .unwrap();
        r.lists
            .add_member(lid(1), &bob, Role::Viewer, at(10), 100)
            .await
            .unwrap();
        r.lists
            .add_member(lid(1), &carol, Role::Editor, at(20), 100)
            .await
            .unwrap();
        r.lists
            .add_member(lid(1), &dave, Role::Editor, at(30), 100)
            .await
            .unwrap();
        let mut mine = task_in("alice", 1, lid(1));
        mine.assignee = Some(alice.clone());
        r.tasks.insert(&mine, None).await.unwrap();
        r.tasks
            .insert(&task_in("dave", 2, lid(1)), None)
            .await
            .unwrap();
        // List 2: only a viewer: deleted with its tasks.
        r.lists
            .insert(&list("alice", 2, "Mine"), 1_000)
            .await
            .unwrap();
        r.lists
            .add_member(lid(2), &bob, Role::Viewer, at(10), 100)
            .await
            .unwrap();
        r.tasks
            .insert(&task_in("alice", 3, lid(2)), None)
            .await
            .unwrap();
        // List 3: bob's, where alice is an editor who created a task.
        r.lists
            .insert(&list("bob", 3, "Bob's"), 1_000)
            .await
            .unwrap();
        r.lists
            .add_member(lid(3), &alice, Role::Editor, at(10), 100)
            .await
            .unwrap();
        let mut in_bobs = task_in("alice", 4, lid(3));
        in_bobs.assignee = Some(alice.clone());
        r.tasks.insert(&in_bobs, None).await.unwrap();
        r.tasks
            .insert(&task("alice", 5, "inbox", at(5)), None)
            .await
            .unwrap();

        assert!(r.users.delete(&alice, &uid("root"), at(90)).await.unwrap());
        assert!(!r.users.delete(&alice, &uid("root"), at(90)).await.unwrap());

        let view = r.lists.get(&carol, lid(1)).await.unwrap().unwrap();
        assert_eq!(
            (view.list.owner.clone(), view.role, view.members),
            (carol.clone(), Role::Owner, 3)
        );
        assert_eq!(view.list.version, 2, "a new owner is a new version");
        assert_eq!(
            r.lists.role(&dave, lid(1)).await.unwrap(),
            Some(Role::Editor)
        );
        let t1 = r.tasks.read(&carol, tid(1)).await.unwrap();
        assert_eq!((t1.owner, t1.assignee), (carol.clone(), None));
        assert_eq!(r.tasks.read(&carol, tid(2)).await.unwrap().owner, dave);
        assert_eq!(r.lists.get(&bob, lid(2)).await.unwrap(), None);
        assert_eq!(r.tasks.read(&bob, tid(3)).await, None);
        let t4 = r.tasks.read(&bob, tid(4)).await.unwrap();
        assert_eq!((t4.owner, t4.assignee), (bob.clone(), None));
        assert_eq!(r.lists.members(lid(3)).await.unwrap().len(), 1);
        // Nothing of hers is left; bob was told to drop list 2's task.
        for (table, column) in [
            ("list_member", "user_id"),
            ("task_list", "owner_id"),
            ("task", "user_id"),
            ("task", "assignee_id"),
        ] {
            let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = 'alice'");
            assert_eq!(
                count_of(&t, &sql).await,
                0,
                "{}: {table}.{column}",
                t.backend
            );
        }
        let told = feed(&r.tasks, "bob").await;
        assert!(
            told.iter().any(|c| c.0 == 3 && c.1),
            "{}: {told:?}",
            t.backend
        );
        let found = r
            .users
            .find_by_email("CAROL@example.COM")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, carol);
        assert_eq!(
            r.users.find_by_email("alice@example.com").await.unwrap(),
            None
        );
    }
);

// A list archived before its members' rows carried it stays hidden from every member
// once migrated; a list that was not stays listed.
on_both!(
    lists_archived_before_the_members_carried_it_stay_hidden,
    migrated = false,
    |t: Ctx| async move {
        use todo_migration::{Migrator, MigratorTrait};
        Migrator::up(&t.db, Some(10)).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 4);
        // The rows as that version wrote them (today's writes append to the change log,
        // which it did not have).
        let users = SeaUserRepository::new(t.db.clone());
        for (id, created) in [("alice", 1), ("bob", 2)] {
            users
                .create_if_absent(&user(id, None, created))
                .await
                .unwrap();
        }
        let backend = t.db.get_database_backend();
        let run = |sql: &str, values: Vec<sea_orm::Value>| {
            let sql = if backend == sea_orm::DbBackend::Postgres {
                let mut n = 0;
                sql.chars()
                    .map(|c| {
                        if c == '?' {
                            n += 1;
                            format!("${n}")
                        } else {
                            c.to_string()
                        }
                    })
                    .collect()
            } else {
                sql.to_owned()
            };
            let db = t.db.clone();
            async move {
                db.execute_raw(sea_orm::Statement::from_sql_and_values(
                    backend, sql, values,
                ))
                .await
                .unwrap();
            }
        };
        for n in [1, 2] {
            let list = lid(n).as_uuid();
            run(
                "INSERT INTO task_list (id, owner_id, name, position, archived, created_at, \
                 updated_at, version) VALUES (?, 'alice', 'List', ?, ?, ?, ?, 1)",
                vec![
                    list.into(),
                    format!("a{n}").into(),
                    (n == 1).into(),
                    at(10).into(),
                    at(10).into(),
                ],
            )
            .await;
            for (member, role) in [("alice", "owner"), ("bob", "editor")] {
                run(
                    "INSERT INTO list_member (list_id, user_id, role, added_at) VALUES (?, ?, ?, ?)",
                    vec![list.into(), member.into(), role.into(), at(20).into()],
                )
                .await;
            }
            run(
                "INSERT INTO task (id, user_id, list_id, title, completed, created_at, \
                 updated_at, position) VALUES (?, 'alice', ?, 'task', ?, ?, ?, '')",
                vec![
                    tid(n).as_uuid().into(),
                    list.into(),
                    false.into(),
                    at(30).into(),
                    at(30).into(),
                ],
            )
            .await;
        }
        let tasks = SeaTaskRepository::new(t.db.clone());
        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 0);
        for who in ["alice", "bob"] {
            assert_eq!(plain(&tasks, who).await, [2], "{}: {who}", t.backend);
        }
    }
);

// A database with tasks from before lists, migrated, then served, loses nothing: every task
// is in its owner's Inbox, which the service then finds rather than making another.
on_both!(
    tasks_from_before_lists_are_served_from_the_inbox,
    migrated = false,
    |t: Ctx| async move {
        use todo_migration::{Migrator, MigratorTrait};
        Migrator::up(&t.db, Some(7)).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 7);
        let users = SeaUserRepository::new(t.db.clone());
        for (id, created) in [("alice", 1), ("bob", 2)] {
            users
                .create_if_absent(&user(id, None, created))
                .await
                .unwrap();
        }
        let backend = t.db.get_database_backend();
        let p = |i: usize| match backend {
            sea_orm::DbBackend::Postgres => format!("${i}"),
            _ => "?".to_owned(),
        };
        let insert = format!(
            "INSERT INTO task (id, user_id, title, completed, created_at, updated_at, position) \
             VALUES ({}, {}, {}, {}, {}, {}, '')",
            p(1),
            p(2),
            p(3),
            p(4),
            p(5),
            p(6)
        );
        for n in 1..=30_u128 {
            let owner = if n % 3 == 0 { "bob" } else { "alice" };
            let created = at(1_000 + i64::try_from(n).unwrap());
            t.db.execute_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                &insert,
                [
                    tid(n).as_uuid().into(),
                    owner.into(),
                    format!("old {n}").into(),
                    (n % 5 == 0).into(),
                    created.into(),
                    created.into(),
                ],
            ))
            .await
            .unwrap();
        }
        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(todo_migration::pending(&t.db).await.unwrap(), 0);

        let tasks = SeaTaskRepository::new(t.db.clone());
        let lists = SeaListRepository::new(t.db.clone());
        for (owner, expected) in [("alice", 20), ("bob", 10)] {
            let inbox = inbox_in(&t.db, owner).await;
            assert_ne!(
                inbox,
                crate::harness::inbox(owner),
                "the migration's Inbox is found"
            );
            let rows = plain_page(&tasks, &uid(owner), 100, None).await;
            assert_eq!(rows.len(), expected, "{}: {owner}", t.backend);
            assert!(
                rows.iter()
                    .all(|r| r.list == inbox && r.owner == uid(owner))
            );
            assert!(rows.windows(2).all(|w| w[0].created_at < w[1].created_at));
            let view = lists.get(&uid(owner), inbox).await.unwrap().unwrap();
            assert!(view.list.inbox);
            assert_eq!((view.role, view.members), (Role::Owner, 1));
            // Served as any task: toggled, and new ones go beside them.
            let first = rows[0].id;
            assert!(
                tasks
                    .toggle_completed(&uid(owner), first, at(5_000), None)
                    .await
                    .unwrap()
                    .is_some()
            );
            let n = if owner == "alice" { 100 } else { 101 };
            tasks
                .insert(&in_list(task(owner, n, "new", at(9_000)), inbox), None)
                .await
                .unwrap();
            assert_eq!(
                plain_page(&tasks, &uid(owner), 100, None).await.len(),
                expected + 1
            );
        }
        assert_eq!(
            count_of(&t, "SELECT COUNT(*) AS n FROM task WHERE list_id IS NULL").await,
            0
        );
        // Running the migrations again changes nothing.
        todo_persistence::migrate(&t.db).await.unwrap();
        assert_eq!(count_of(&t, "SELECT COUNT(*) AS n FROM task_list").await, 2);
    }
);

/// No member of a missing list, and every list has one owner member: its `owner_id`.
async fn lists_are_whole(t: &Ctx) {
    let orphans = count_of(
        t,
        "SELECT COUNT(*) AS n FROM list_member m WHERE NOT EXISTS \
         (SELECT 1 FROM task_list l WHERE l.id = m.list_id)",
    )
    .await;
    assert_eq!(orphans, 0, "{}", t.backend);
    let bad = count_of(
        t,
        "SELECT COUNT(*) AS n FROM task_list l WHERE \
         (SELECT COUNT(*) FROM list_member m WHERE m.list_id = l.id AND m.role = 'owner') <> 1 \
         OR NOT EXISTS (SELECT 1 FROM list_member m WHERE m.list_id = l.id \
         AND m.role = 'owner' AND m.user_id = l.owner_id)",
    )
    .await;
    assert_eq!(bad, 0, "{}", t.backend);
}

on_both!(
    races_on_one_list_leave_it_whole,
    sqlite_file,
    |t: Ctx| async move {
        let r = repos(&t).await;
        for round in 0..12_u128 {
            // Adding members while the owner deletes the list.
            let id = lid(1_000 + round);
            r.lists
                .insert(
                    &TaskList::new(id, uid("alice"), ListName::parse("r").unwrap(), at(10)),
                    1_000,
                )
                .await
                .unwrap();
            r.tasks
                .insert(&task_in("alice", 1_000 + round, id), None)
                .await
                .unwrap();
            let add = |who: &'static str| {
                let lists = SeaListRepository::new(t.db.clone());
                tokio::spawn(async move {
                    lists
                        .add_member(id, &uid(who), Role::Editor, at(20), 100)
                        .await
                        .unwrap()
                })
            };
            let (a, b) = (add("bob"), add("carol"));
            let lists = SeaListRepository::new(t.db.clone());
            let delete = tokio::spawn(async move { lists.delete(id, None, at(30)).await.unwrap() });
            let (a, b, deleted) = (a.await.unwrap(), b.await.unwrap(), delete.await.unwrap());
            assert!(deleted);
            assert!(matches!(a, AddMember::Added | AddMember::NoList), "{a:?}");
            assert!(matches!(b, AddMember::Added | AddMember::NoList), "{b:?}");
            lists_are_whole(&t).await;

            // A transfer to bob racing his removal.
            let id = lid(2_000 + round);
            r.lists
                .insert(
                    &TaskList::new(id, uid("alice"), ListName::parse("t").unwrap(), at(10)),
                    1_000,
                )
                .await
                .unwrap();
            r.lists
                .add_member(id, &uid("bob"), Role::Editor, at(20), 100)
                .await
                .unwrap();
            let lists = SeaListRepository::new(t.db.clone());
            let transfer = tokio::spawn(async move {
                lists
                    .transfer(id, &uid("alice"), &uid("bob"), at(40))
                    .await
                    .unwrap()
            });
            let lists = SeaListRepository::new(t.db.clone());
            let remove = tokio::spawn(async move {
                lists
                    .remove_member(id, &uid("bob"), &uid("alice"), at(40))
                    .await
                    .unwrap()
            });
            let (transferred, removed) = (transfer.await.unwrap(), remove.await.unwrap());
            assert!(
                transferred != removed || !transferred,
                "one of them: {transferred} {removed}"
            );
            lists_are_whole(&t).await;
        }
        let _ = (
            TaskId::from_uuid(uuid::Uuid::nil()),
            UserId::parse("x").unwrap(),
        );
    }
);

on_both!(
    a_transfer_racing_the_deletion_of_its_target_leaves_lists_whole,
    sqlite_file,
    |t: Ctx| async move {
        let r = repos(&t).await;
        for round in 0..8_u128 {
            let heir = format!("heir{round}");
            users_with_inboxes(&t.db, &[(heir.as_str(), 5)]).await;
            let id = lid(3_000 + round);
            let shared = TaskList::new(id, uid("alice"), ListName::parse("s").unwrap(), at(10));
            r.lists.insert(&shared, 1_000).await.unwrap();
            r.lists
                .add_member(id, &uid(&heir), Role::Editor, at(20), 100)
                .await
                .unwrap();
            r.lists
                .add_member(id, &uid("bob"), Role::Editor, at(21), 100)
                .await
                .unwrap();
            let lists = SeaListRepository::new(t.db.clone());
            let to = uid(&heir);
            let transfer =
                tokio::spawn(async move { lists.transfer(id, &uid("alice"), &to, at(40)).await });
            let users = SeaUserRepository::new(t.db.clone());
            let gone = uid(&heir);
            let delete =
                tokio::spawn(async move { users.delete(&gone, &uid("root"), at(90)).await });
            transfer.await.unwrap().unwrap();
            assert!(delete.await.unwrap().unwrap());
            lists_are_whole(&t).await;
            // Whoever won, the list survives with an owner: alice, or bob after the heir.
            let owner = r
                .lists
                .get(&uid("bob"), id)
                .await
                .unwrap()
                .unwrap()
                .list
                .owner;
            assert!(owner == uid("alice") || owner == uid("bob"), "{owner:?}");
        }
    }
);
