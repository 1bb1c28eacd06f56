//! The change log: every task write appends its records in its own transaction, a refused
//! write appends none, and readers never skip a record committed out of id order.

use sea_orm::{ConnectionTrait, TransactionTrait};
use todo_application::ports::{ChangeLog, ListRepository, TaskRepository, UserRepository};
use todo_domain::{
    ChangeCursor, ChangeKind, ChangeRecord, Edit, ListName, Role, Task, TaskList, TaskTitle,
};
use todo_persistence::{SeaChangeLog, SeaListRepository, SeaTaskRepository, SeaUserRepository};

use crate::harness::*;

/// Every record after `after`, with the readers each reaches.
async fn read_all(log: &SeaChangeLog, after: ChangeCursor) -> Vec<(ChangeRecord, Vec<String>)> {
    log.read(after, 1_000)
        .await
        .unwrap()
        .records
        .into_iter()
        .map(|(r, readers)| {
            let mut readers: Vec<String> = readers.iter().map(|u| u.as_str().to_owned()).collect();
            readers.sort();
            (r, readers)
        })
        .collect()
}

/// [`read_all`] once at least `n` records can be read: on PostgreSQL a record is read
/// only once every transaction older than its own has ended, and other tests' transactions
/// on the same server may hold it back a moment.
async fn read_settled(
    log: &SeaChangeLog,
    after: ChangeCursor,
    n: usize,
) -> Vec<(ChangeRecord, Vec<String>)> {
    for _ in 0..200 {
        let read = read_all(log, after).await;
        if read.len() >= n {
            return read;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    read_all(log, after).await
}

/// A record as the test compares it: kind, task number, version, fields.
fn summary(r: &ChangeRecord) -> (ChangeKind, u128, Option<i64>, Vec<String>) {
    (
        r.kind,
        r.task.map_or(0, |t| t.as_uuid().as_u128()),
        r.version,
        r.fields.clone(),
    )
}

fn fields(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

on_both!(
    every_task_write_appends_its_records_and_a_refused_one_none,
    migrated = true,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[("alice", 1), ("bob", 2)]).await;
        let tasks = SeaTaskRepository::new(t.db.clone());
        let lists = SeaListRepository::new(t.db.clone());
        let log = SeaChangeLog::new(t.db.clone());
        let inbox = inbox_in(&t.db, "alice").await;
        let alice = uid("alice");
        let bob = uid("bob");
        // After the Inboxes' creation (alice's and bob's), once readable.
        let start = read_settled(&log, ChangeCursor::START, 2).await[1].0.cursor;

        let parent = in_list(task("alice", 1, "parent", at(100)), inbox);
        let mut child = in_list(task("alice", 2, "child", at(101)), inbox);
        child.parent = Some(parent.id);
        assert!(tasks.insert(&parent, None).await.unwrap());
        assert!(tasks.insert(&child, None).await.unwrap());
        // Refused: the list already holds one open task and the limit is 1.
        let third = in_list(task("alice", 3, "third", at(102)), inbox);
        assert!(!tasks.insert(&third, Some(1)).await.unwrap());

        // Retitled by bob (the actor is whoever the edit names).
        let mut retitled = parent.clone();
        retitled.title = TaskTitle::parse("the parent").unwrap();
        retitled.version = 2;
        let edit = Edit::of_task(&bob, &parent, &retitled);
        // Stale: nothing written, nothing recorded.
        assert!(!tasks.replace(&retitled, 7, &edit).await.unwrap());
        assert!(tasks.replace(&retitled, 1, &edit).await.unwrap());

        // Completed: its open subtask with it.
        let mut done = retitled.clone();
        done.set_completed(true, at(200));
        done.version = 3;
        let edit = Edit::of_task(&alice, &retitled, &done);
        assert!(tasks.replace(&done, 2, &edit).await.unwrap());

        // Reopened by a toggle: an update of `completed`.
        let reopened = tasks
            .toggle_completed(&alice, parent.id, at(300), None)
            .await
            .unwrap()
            .unwrap();
        assert!(!reopened.completed);

        // Moved to another list: its subtask follows.
        let other = TaskList::new(
            lid(9),
            alice.clone(),
            ListName::parse("Other").unwrap(),
            at(5),
        );
        assert!(lists.insert(&other, 100).await.unwrap());
        let mut moved: Task = reopened.clone();
        moved.list = other.id;
        moved.version = reopened.version + 1;
        let edit = Edit::of_task(&alice, &reopened, &moved);
        assert!(
            tasks
                .replace(&moved, reopened.version, &edit)
                .await
                .unwrap()
        );

        // Deleted, with its subtask.
        assert!(!tasks.delete(&bob, parent.id, None, at(400)).await.unwrap());
        assert!(
            tasks
                .delete(&alice, parent.id, None, at(400))
                .await
                .unwrap()
        );

        let all = read_settled(&log, start, 11).await;
        // The other list's creation, by its owner.
        let lists: Vec<_> = all.iter().filter(|(r, _)| r.task.is_none()).collect();
        assert_eq!(lists.len(), 1, "{}: {lists:?}", t.backend);
        assert_eq!(
            (lists[0].0.kind, lists[0].0.list, lists[0].0.version),
            (ChangeKind::ListCreated, Some(other.id), Some(1))
        );
        let read: Vec<_> = all.into_iter().filter(|(r, _)| r.task.is_some()).collect();
        let got: Vec<_> = read.iter().map(|(r, _)| summary(r)).collect();
        let (created, updated, completed, moved_kind, deleted) = (
            ChangeKind::TaskCreated,
            ChangeKind::TaskUpdated,
            ChangeKind::TaskCompleted,
            ChangeKind::TaskMoved,
            ChangeKind::TaskDeleted,
        );
        let want = [
            (created, 1, Some(1), fields(&[])),
            (created, 2, Some(1), fields(&[])),
            (updated, 1, Some(2), fields(&["title"])),
            (completed, 1, Some(3), fields(&["completed"])),
            (completed, 2, Some(2), fields(&["completed"])),
            (updated, 1, Some(4), fields(&["completed"])),
            (moved_kind, 1, Some(5), fields(&["list_id"])),
            (moved_kind, 2, Some(3), fields(&["list_id"])),
        ];
        assert_eq!(got[..want.len()], want[..], "{}", t.backend);
        // The deletions: one per task, in either order, without a version.
        let mut gone: Vec<_> = got[want.len()..].to_vec();
        gone.sort_by_key(|g| g.1);
        assert_eq!(
            gone,
            vec![
                (deleted, 1, None, fields(&[])),
                (deleted, 2, None, fields(&[]))
            ],
            "{}",
            t.backend
        );
        // Actors as each write named them; lists as the rows were; readers: the members.
        let actors: Vec<&str> = read.iter().map(|(r, _)| r.actor.as_str()).collect();
        assert_eq!(
            actors,
            [
                "alice", "alice", "bob", "alice", "alice", "alice", "alice", "alice", "alice",
                "alice"
            ],
            "{}",
            t.backend
        );
        assert_eq!(read[0].0.list, Some(inbox));
        assert_eq!(read[7].0.list, Some(other.id));
        assert!(read.iter().all(|(_, readers)| readers == &["alice"]));
        // In order, no cursor twice; the head is the last one.
        assert!(read.windows(2).all(|w| w[0].0.cursor < w[1].0.cursor));
        assert_eq!(log.head().await.unwrap(), read.last().unwrap().0.cursor);
        // Resuming after the fifth task record reads the rest (the list's creation too).
        let rest = read_all(&log, read[4].0.cursor).await;
        assert_eq!(rest.len(), read.len() - 5 + 1);
        assert_eq!(rest[0].0, read[5].0);
        // What alice may read of it, up to the fourth task record.
        let hers = log
            .read_for(&alice, start, read[3].0.cursor, 100)
            .await
            .unwrap();
        assert_eq!(
            hers,
            read[..4].iter().map(|(r, _)| r.clone()).collect::<Vec<_>>()
        );
        assert!(
            log.read_for(&bob, start, read[9].0.cursor, 100)
                .await
                .unwrap()
                .is_empty(),
            "bob is a member of none of these lists"
        );
    }
);

on_both!(
    pruning_drops_old_records_and_says_up_to_where,
    migrated = true,
    |t: Ctx| async move {
        users_with_inboxes(&t.db, &[("alice", 1)]).await;
        let tasks = SeaTaskRepository::new(t.db.clone());
        let log = SeaChangeLog::new(t.db.clone());
        let inbox = inbox_in(&t.db, "alice").await;
        for n in 1..=3 {
            let created = at(1_000 * i64::try_from(n).unwrap());
            assert!(
                tasks
                    .insert(&in_list(task("alice", n, "t", created), inbox), None)
                    .await
                    .unwrap()
            );
        }
        // The Inbox's creation, then the three tasks'.
        let before = read_settled(&log, ChangeCursor::START, 4).await;
        assert_eq!(before.len(), 4);
        assert_eq!(before[0].0.kind, ChangeKind::ListCreated);
        // The Inbox (at 1) and the first two tasks (at 1 000 and 2 000) are older.
        assert_eq!(log.prune(at(2_500)).await.unwrap(), 3);
        let read = log.read(ChangeCursor::START, 100).await.unwrap();
        assert_eq!(
            log.pruned().await.unwrap(),
            before[2].0.cursor,
            "{}",
            t.backend
        );
        assert_eq!(read.records.len(), 1);
        assert_eq!(read.records[0].0, before[3].0);
        // Nothing older left: the place stays.
        assert_eq!(log.prune(at(2_500)).await.unwrap(), 0);
        assert_eq!(log.pruned().await.unwrap(), before[2].0.cursor);
    }
);

/// A record as the deletion test compares it: kind, list and task numbers, subject,
/// fields, actor.
type Said = (
    &'static str,
    u128,
    u128,
    Option<String>,
    Vec<String>,
    String,
);

fn said(r: &ChangeRecord) -> Said {
    (
        r.kind.as_str(),
        r.list.map_or(0, |l| l.as_uuid().as_u128()),
        r.task.map_or(0, |t| t.as_uuid().as_u128()),
        r.subject.as_ref().map(|s| s.as_str().to_owned()),
        r.fields.clone(),
        r.actor.as_str().to_owned(),
    )
}

on_both!(
    deleting_a_user_records_what_the_remaining_members_see_change,
    migrated = true,
    |t: Ctx| async move {
        let people = [("alice", 1), ("bob", 2), ("carol", 3), ("dave", 4)];
        users_with_inboxes(&t.db, &people).await;
        let tasks = SeaTaskRepository::new(t.db.clone());
        let lists = SeaListRepository::new(t.db.clone());
        let users = SeaUserRepository::new(t.db.clone());
        let log = SeaChangeLog::new(t.db.clone());
        let (alice, bob, carol, dave) = (uid("alice"), uid("bob"), uid("carol"), uid("dave"));
        let inbox = inbox_in(&t.db, "alice").await.as_uuid().as_u128();
        let named = |owner: &str, n, name| {
            TaskList::new(lid(n), uid(owner), ListName::parse(name).unwrap(), at(10))
        };
        // alice's list 1 has an editor (bob, its heir) and a viewer; her list 2 only a
        // viewer (it goes); in dave's list 3 she edits, created a task and is assigned one.
        for list in [
            named("alice", 1, "Handed"),
            named("alice", 2, "Dropped"),
            named("dave", 3, "Dave's"),
        ] {
            assert!(lists.insert(&list, 100).await.unwrap());
        }
        for (list, who, role) in [
            (1, &bob, Role::Editor),
            (1, &carol, Role::Viewer),
            (2, &carol, Role::Viewer),
            (3, &alice, Role::Editor),
        ] {
            lists
                .add_member(lid(list), who, role, at(20), 100)
                .await
                .unwrap();
        }
        let mut assigned = in_list(task("dave", 4, "for alice", at(34)), lid(3));
        assigned.assignee = Some(alice.clone());
        for created in [
            in_list(task("alice", 1, "in handed", at(31)), lid(1)),
            in_list(task("alice", 2, "in dropped", at(32)), lid(2)),
            in_list(task("alice", 3, "in dave's", at(33)), lid(3)),
            assigned,
        ] {
            assert!(tasks.insert(&created, None).await.unwrap());
        }
        // Four Inboxes, three lists, four members, four tasks.
        let start = read_settled(&log, ChangeCursor::START, 15).await[14]
            .0
            .cursor;

        assert!(users.delete(&alice, &uid("root"), at(500)).await.unwrap());

        let read = read_settled(&log, start, 11).await;
        let mut got: Vec<Said> = read.iter().map(|(r, _)| said(r)).collect();
        got.sort();
        let one = |kind, list, task, subject: Option<&str>, fields: &[&str]| -> Said {
            (
                kind,
                list,
                task,
                subject.map(str::to_owned),
                self::fields(fields),
                "root".to_owned(),
            )
        };
        let l = |n| lid(n).as_uuid().as_u128();
        let mut want = vec![
            // List 1 handed to bob, alice's task there now his, alice gone from it.
            one("list.updated", l(1), 0, None, &["owner_id"]),
            one("member.updated", l(1), 0, Some("bob"), &["role"]),
            one("task.updated", l(1), 1, None, &["user_id"]),
            one("member.removed", l(1), 0, Some("alice"), &[]),
            // List 2 deleted for each of its members, with its task; her Inbox likewise.
            one("list.deleted", l(2), 0, Some("alice"), &[]),
            one("list.deleted", l(2), 0, Some("carol"), &[]),
            one("task.deleted", l(2), 2, None, &[]),
            one("list.deleted", inbox, 0, Some("alice"), &[]),
            // In dave's list: her task now his, his task unassigned, alice gone.
            one("task.updated", l(3), 3, None, &["user_id"]),
            one("task.updated", l(3), 4, None, &["assignee_id"]),
            one("member.removed", l(3), 0, Some("alice"), &[]),
        ];
        want.sort();
        assert_eq!(got, want, "{}", t.backend);
        assert!(read.iter().all(|(r, _)| r.at == at(500)));
        // The records carry the versions the rows have now, and reach who remains.
        for (record, readers) in &read {
            if let Some(task) = record
                .task
                .filter(|_| record.kind == ChangeKind::TaskUpdated)
            {
                let reader = if record.list == Some(lid(3)) {
                    &dave
                } else {
                    &bob
                };
                let now = tasks.read(reader, task).await.unwrap();
                assert_eq!(record.version, Some(now.version), "{}", t.backend);
            }
            if record.list == Some(lid(1)) && record.subject.is_none() {
                assert_eq!(readers, &["bob", "carol"], "{}", t.backend);
            }
            if record.list == Some(lid(3)) && record.task.is_some() {
                assert_eq!(readers, &["dave"], "{}", t.backend);
            }
        }
    }
);

/// PostgreSQL hands out record ids (and transaction ids) before commit: a transaction that
/// took its id first may commit last. A reader must not read past its record while it can
/// still commit, and must read it once it has.
#[test]
fn a_record_committed_after_a_later_one_is_read_in_its_place() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let Some(pg) = postgres().await else { return };
        todo_persistence::migrate(&pg.db).await.unwrap();
        users_with_inboxes(&pg.db, &[("alice", 1)]).await;
        let inbox = inbox_in(&pg.db, "alice").await;
        let tasks = SeaTaskRepository::new(pg.db.clone());
        let log = SeaChangeLog::new(pg.db.clone());
        // After the Inbox's creation, once readable.
        let start = read_settled(&log, ChangeCursor::START, 1).await[0].0.cursor;

        // The first write: its transaction takes its id and its record's, and stays open.
        let first = pg.db.begin().await.unwrap();
        first
            .execute_unprepared(&format!(
                "INSERT INTO change_log (kind, list_id, actor_id, fields, at) \
                 VALUES ('list.updated', '{}', 'alice', 'name', now())",
                inbox.as_uuid()
            ))
            .await
            .unwrap();
        // The second write commits first.
        assert!(
            tasks
                .insert(&in_list(task("alice", 1, "later", at(10)), inbox), None)
                .await
                .unwrap()
        );
        // The second's record exists, but a reader may not pass the first's yet.
        let read = read_all(&log, start).await;
        assert!(read.is_empty(), "read past an open transaction: {read:?}");

        first.commit().await.unwrap();
        // Now both, the first's first (other tests' transactions on this server may hold
        // the reader back a moment).
        let read = read_settled(&log, start, 2).await;
        let kinds: Vec<ChangeKind> = read.iter().map(|(r, _)| r.kind).collect();
        assert_eq!(kinds, [ChangeKind::ListUpdated, ChangeKind::TaskCreated]);
        assert!(read[0].0.cursor < read[1].0.cursor);
        assert!(
            read[0].0.cursor.id < read[1].0.cursor.id,
            "the first took the smaller id"
        );
    });
}
