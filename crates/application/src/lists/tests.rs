//! Tests of the list service: every role against every operation, the Inbox's rules,
//! members, transfers and limits. A refused operation never reaches the store's writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use todo_domain::{ListChanges, ListName, ListView, Member, Role, TaskList};

use super::*;
use crate::ports::{MockListRepository, MockUserRepository};
use crate::testing::*;

/// List 5, owned by olga, as a member with `role` sees it.
fn shared(role: Role, inbox: bool) -> ListView {
    let mut list = TaskList::new(
        lid(5),
        uid("olga"),
        ListName::parse("Shared").unwrap(),
        at(1),
    );
    list.inbox = inbox;
    list.version = 3;
    ListView {
        list,
        members: 3,
        role,
    }
}

fn member(who: &str, role: Role) -> Member {
    Member {
        user_id: uid(who),
        name: who.to_owned(),
        email: format!("{who}@example.com"),
        role,
        added_at: at(1),
    }
}

/// Lists where alice has `role` in list 5 (olga owns it; ed is an editor, vic a viewer),
/// counting every write in `writes`.
fn lists(role: Option<Role>, inbox: bool, writes: &Arc<AtomicUsize>) -> MockListRepository {
    let mut lists = MockListRepository::new();
    lists
        .expect_ensure_inbox()
        .returning(|l| Ok(inbox_of(&l.owner)));
    // List 6, another of alice's, sorts after list 5.
    let view = move |id: ListId| {
        let role = role?;
        if id == lid(5) {
            return Some(shared(role, inbox));
        }
        (id == lid(6)).then(|| {
            let mut other = shared(role, false);
            other.list.id = lid(6);
            other.list.position = todo_domain::Position::parse("z").unwrap();
            other
        })
    };
    lists.expect_get().returning(move |_, id| Ok(view(id)));
    lists
        .expect_list()
        .returning(move |_, _, _, _| Ok([lid(5), lid(6)].into_iter().filter_map(view).collect()));
    lists.expect_role().returning(move |who, _| {
        Ok(match who.as_str() {
            "alice" => role,
            "ed" => Some(Role::Editor),
            "vic" => Some(Role::Viewer),
            "olga" => Some(Role::Owner),
            _ => None,
        })
    });
    lists.expect_members().returning(move |_| {
        let mut all = vec![
            member("olga", Role::Owner),
            member("ed", Role::Editor),
            member("vic", Role::Viewer),
        ];
        if let Some(role) = role.filter(|r| *r != Role::Owner) {
            all.push(member("alice", role));
        }
        Ok(all)
    });
    let counted = |writes: &Arc<AtomicUsize>| {
        let writes = writes.clone();
        move || {
            writes.fetch_add(1, Ordering::SeqCst);
        }
    };
    let w = counted(writes);
    lists.expect_replace().returning(move |_, _, _| {
        w();
        Ok(true)
    });
    let w = counted(writes);
    lists.expect_delete().returning(move |_, _, _| {
        w();
        Ok(true)
    });
    let w = counted(writes);
    lists.expect_add_member().returning(move |_, _, _, _, _| {
        w();
        Ok(AddMember::Added)
    });
    let w = counted(writes);
    lists.expect_set_member_role().returning(move |_, _, _, _| {
        w();
        Ok(true)
    });
    let w = counted(writes);
    lists.expect_remove_member().returning(move |_, _, _, _| {
        w();
        Ok(true)
    });
    let w = counted(writes);
    lists.expect_transfer().returning(move |_, _, _, _| {
        w();
        Ok(true)
    });
    lists
}

fn users() -> MockUserRepository {
    let mut users = MockUserRepository::new();
    users
        .expect_find()
        .returning(|id| Ok(Some(user_row(id.as_str(), None))));
    users.expect_find_by_email().returning(|email| {
        Ok(email
            .strip_suffix("@example.com")
            .map(|who| user_row(who, None)))
    });
    users
}

fn service(lists: MockListRepository, users: MockUserRepository) -> ListService {
    let lists: Arc<dyn ListRepository> = Arc::new(lists);
    let clock: Arc<dyn Clock> = fixed_clock(50);
    let ids: Arc<dyn IdGenerator> = fixed_ids(9);
    let inboxes = Inboxes::new(lists.clone(), clock.clone(), ids.clone());
    ListService::new(lists, Arc::new(users), clock, ids, inboxes)
}

/// How an operation ended, as the table states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    NotFound,
    Forbidden,
    Conflict,
}

fn outcome<T>(r: &Result<T, ApplicationError>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(ApplicationError::NotFound(_)) => Outcome::NotFound,
        Err(ApplicationError::Forbidden(_)) => Outcome::Forbidden,
        Err(ApplicationError::Conflict(_)) => Outcome::Conflict,
        Err(other) => panic!("unexpected {other:?}"),
    }
}

/// Runs operation `name` as alice on list 5.
async fn run(svc: &ListService, name: &str) -> Outcome {
    let (p, me) = (principal("alice"), uid("alice"));
    let rename = ListChanges {
        name: Some(ListName::parse("New").unwrap()),
        ..ListChanges::default()
    };
    let archive = ListChanges {
        archived: Some(true),
        ..ListChanges::default()
    };
    match name {
        "get" => outcome(&svc.get(&p, &me, lid(5)).await),
        "rename" => outcome(&svc.update(&p, &me, lid(5), rename, None).await),
        "archive" => outcome(&svc.update(&p, &me, lid(5), archive, None).await),
        "move" => outcome(
            &svc.move_list(&p, &me, lid(5), MoveListTo::After(lid(6)), None)
                .await,
        ),
        "delete" => outcome(&svc.delete(&p, &me, lid(5), None).await),
        "members" => outcome(&svc.members(&p, &me, lid(5)).await),
        "add member" => outcome(
            &svc.add_member(&p, &me, lid(5), MemberRef::Id(uid("zoe")), Role::Viewer)
                .await,
        ),
        "change role" => outcome(
            &svc.set_member_role(&p, &me, lid(5), &uid("vic"), Role::Editor)
                .await,
        ),
        "remove member" => outcome(&svc.remove_member(&p, &me, lid(5), &uid("vic")).await),
        "leave" => outcome(&svc.remove_member(&p, &me, lid(5), &me).await),
        "transfer" => outcome(&svc.transfer(&p, &me, lid(5), &uid("ed")).await),
        other => panic!("no operation {other}"),
    }
}

/// `(operation, whether it writes, outcome for viewer, editor, owner)`; a stranger is
/// told the list does not exist, whatever the operation.
const TABLE: [(&str, bool, [Outcome; 3]); 11] = {
    use Outcome::{Conflict as C, Forbidden as F, Ok as O};
    [
        ("get", false, [O, O, O]),
        ("rename", true, [F, F, O]),
        ("archive", true, [F, F, O]),
        ("move", true, [F, F, O]),
        ("delete", true, [F, F, O]),
        ("members", false, [O, O, O]),
        ("add member", true, [F, F, O]),
        ("change role", true, [F, F, O]),
        ("remove member", true, [F, F, O]),
        ("leave", true, [O, O, C]),
        ("transfer", true, [F, F, O]),
    ]
};

#[tokio::test]
async fn every_role_against_every_operation() {
    for (name, writes_when_allowed, by_role) in TABLE {
        for (role, expected) in [Role::Viewer, Role::Editor, Role::Owner]
            .into_iter()
            .zip(by_role)
        {
            let writes = Arc::new(AtomicUsize::new(0));
            let svc = service(lists(Some(role), false, &writes), users());
            let got = run(&svc, name).await;
            assert_eq!(got, expected, "{role} {name}");
            let wrote = writes.load(Ordering::SeqCst) > 0;
            assert_eq!(
                wrote,
                writes_when_allowed && expected == Outcome::Ok,
                "{role} {name}: a refused operation must not reach the store"
            );
        }
        let writes = Arc::new(AtomicUsize::new(0));
        let svc = service(lists(None, false, &writes), users());
        assert_eq!(run(&svc, name).await, Outcome::NotFound, "stranger {name}");
        assert_eq!(writes.load(Ordering::SeqCst), 0, "stranger {name}");
    }
}

#[tokio::test]
async fn an_inbox_is_never_deleted_shared_or_transferred() {
    for (name, expected) in [
        ("rename", Outcome::Ok),
        ("delete", Outcome::Conflict),
        ("add member", Outcome::Conflict),
        ("transfer", Outcome::Conflict),
        ("archive", Outcome::Conflict),
    ] {
        let writes = Arc::new(AtomicUsize::new(0));
        let svc = service(lists(Some(Role::Owner), true, &writes), users());
        assert_eq!(run(&svc, name).await, expected, "{name}");
        assert_eq!(
            writes.load(Ordering::SeqCst) > 0,
            expected == Outcome::Ok,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_refusal_names_the_role_needed() {
    let writes = Arc::new(AtomicUsize::new(0));
    let svc = service(lists(Some(Role::Editor), false, &writes), users());
    let err = svc
        .delete(&principal("alice"), &uid("alice"), lid(5), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "deleting this list requires the owner role"
    );
}

#[tokio::test]
async fn members_are_found_by_id_or_email_and_must_exist() {
    let writes = Arc::new(AtomicUsize::new(0));
    let svc = service(lists(Some(Role::Owner), false, &writes), users());
    let (p, me) = (principal("alice"), uid("alice"));
    let added = svc
        .add_member(
            &p,
            &me,
            lid(5),
            MemberRef::Email("vic@example.com".into()),
            Role::Editor,
        )
        .await
        .unwrap();
    assert_eq!(added.user_id, uid("vic"));
    let err = svc
        .add_member(
            &p,
            &me,
            lid(5),
            MemberRef::Email("nobody@else.org".into()),
            Role::Editor,
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "email names no user of this service");
    let err = svc
        .add_member(&p, &me, lid(5), MemberRef::Id(uid("zoe")), Role::Owner)
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("role must be"), "{err}");
    assert_eq!(writes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn what_the_store_says_about_a_new_member_is_reported() {
    for (answer, expected) in [
        (
            AddMember::AlreadyMember,
            "that user is a member of this list already: change their role instead",
        ),
        (AddMember::Full, "at most 100 members per list are allowed"),
        (AddMember::NoList, "list not found"),
    ] {
        let mut repo = MockListRepository::new();
        repo.expect_get()
            .returning(|_, _| Ok(Some(shared(Role::Owner, false))));
        repo.expect_add_member()
            .withf(|_, _, _, _, max| *max == 100)
            .returning(move |_, _, _, _, _| Ok(answer));
        let err = service(repo, users())
            .add_member(
                &principal("alice"),
                &uid("alice"),
                lid(5),
                MemberRef::Id(uid("zoe")),
                Role::Viewer,
            )
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
}

#[tokio::test]
async fn the_owner_is_never_removed_or_demoted() {
    let writes = Arc::new(AtomicUsize::new(0));
    let svc = service(lists(Some(Role::Owner), false, &writes), users());
    let (p, me) = (principal("alice"), uid("alice"));
    // olga stands for the owner in the member list alice (the owner here) reads.
    let err = svc
        .set_member_role(&p, &me, lid(5), &uid("olga"), Role::Viewer)
        .await
        .unwrap_err();
    assert!(matches!(err, ApplicationError::Conflict(_)), "{err:?}");
    let err = svc
        .remove_member(&p, &me, lid(5), &uid("olga"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApplicationError::Conflict(_)), "{err:?}");
    let err = svc
        .remove_member(&p, &me, lid(5), &uid("zoe"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApplicationError::NotFound("member")),
        "{err:?}"
    );
    assert_eq!(writes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn ownership_goes_to_editors_only() {
    let writes = Arc::new(AtomicUsize::new(0));
    let svc = service(lists(Some(Role::Owner), false, &writes), users());
    let (p, me) = (principal("alice"), uid("alice"));
    for to in ["vic", "zoe"] {
        let err = svc.transfer(&p, &me, lid(5), &uid(to)).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "user_id must be an editor of this list: ownership goes to an editor",
            "{to}"
        );
    }
    assert_eq!(writes.load(Ordering::SeqCst), 0);
    svc.transfer(&p, &me, lid(5), &uid("ed")).await.unwrap();
    assert_eq!(writes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_stale_version_is_refused_before_the_write() {
    let writes = Arc::new(AtomicUsize::new(0));
    let svc = service(lists(Some(Role::Owner), false, &writes), users());
    let rename = ListChanges {
        name: Some(ListName::parse("New").unwrap()),
        ..ListChanges::default()
    };
    let err = svc
        .update(&principal("alice"), &uid("alice"), lid(5), rename, Some(2))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the list has changed since that version: its current version is 3"
    );
    assert_eq!(writes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn creating_a_list_makes_the_inbox_first_and_keeps_to_the_limit() {
    let mut repo = MockListRepository::new();
    let mut seq = mockall::Sequence::new();
    repo.expect_ensure_inbox()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|l| Ok(inbox_of(&l.owner)));
    repo.expect_insert()
        .withf(|l, max| l.name.as_str() == "Work" && !l.inbox && *max == 1000)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(true));
    repo.expect_insert()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(false));
    let svc = service(repo, users());
    let (p, me) = (principal("alice"), uid("alice"));
    let new = || NewList {
        name: ListName::parse("Work").unwrap(),
        colour: None,
        position: None,
    };
    let made = svc.create(&p, &me, new()).await.unwrap();
    assert_eq!(
        (made.role, made.members, made.list.version),
        (Role::Owner, 1, 1)
    );
    assert_eq!(made.list.owner, uid("alice"));
    let err = svc.create(&p, &me, new()).await.unwrap_err();
    assert!(matches!(err, ApplicationError::Limit(_)), "{err:?}");
    assert_eq!(err.to_string(), "at most 1000 lists per user are allowed");
    // Only one's own lists.
    let err = svc.create(&p, &uid("bob"), new()).await.unwrap_err();
    assert!(matches!(err, ApplicationError::Forbidden(_)));
}
