//! Tests of the trash service.

use std::sync::Arc;

use mockall::predicate::eq;
use todo_domain::{ListId, Role, TrashEntry, TrashKind};

use super::*;
use crate::ports::{MockListRepository, MockTrashRepository};
use crate::testing::*;

fn entry(kind: TrashKind, list: ListId) -> TrashEntry {
    TrashEntry {
        id: uuid::Uuid::from_u128(1),
        kind,
        owner: uid("alice"),
        title: "x".to_owned(),
        list,
        tasks: 2,
        deleted_at: at(10),
    }
}

fn service(trash: MockTrashRepository, role: Option<Role>) -> TrashService {
    let mut lists = MockListRepository::new();
    lists.expect_role().returning(move |_, _| Ok(role));
    lists
        .expect_ensure_inbox()
        .returning(|l| Ok(inbox_of(&l.owner)));
    let lists: Arc<dyn ListRepository> = Arc::new(lists);
    let clock: Arc<dyn Clock> = fixed_clock(50);
    let inboxes = Inboxes::new(lists.clone(), clock.clone(), fixed_ids(3));
    TrashService::new(Arc::new(trash), lists, inboxes, clock)
}

#[tokio::test]
async fn a_task_returns_to_its_list_while_its_restorer_edits_it_else_to_the_inbox() {
    for (role, into) in [
        (Some(Role::Owner), lid(5)),
        (Some(Role::Editor), lid(5)),
        (Some(Role::Viewer), inbox_of(&uid("alice"))),
        (None, inbox_of(&uid("alice"))),
    ] {
        let mut trash = MockTrashRepository::new();
        trash
            .expect_get()
            .returning(|_, _| Ok(Some(entry(TrashKind::Task, lid(5)))));
        trash
            .expect_restore_task()
            .withf(move |e, list, now| {
                e.id == uuid::Uuid::from_u128(1) && *list == into && *now == at(50)
            })
            .times(1)
            .returning(|_, _, _| Ok(true));
        let restored = service(trash, role)
            .restore(&principal("alice"), &uid("alice"), uuid::Uuid::from_u128(1))
            .await
            .unwrap();
        assert_eq!(restored.list, into, "{role:?}");
    }
}

#[tokio::test]
async fn a_list_comes_back_whole() {
    let mut trash = MockTrashRepository::new();
    trash
        .expect_get()
        .returning(|_, _| Ok(Some(entry(TrashKind::List, lid(5)))));
    trash.expect_restore_task().never();
    trash
        .expect_restore_list()
        .times(1)
        .returning(|_, _| Ok(true));
    let restored = service(trash, None)
        .restore(&principal("alice"), &uid("alice"), uuid::Uuid::from_u128(1))
        .await
        .unwrap();
    assert_eq!((restored.kind, restored.list), (TrashKind::List, lid(5)));
}

#[tokio::test]
async fn an_entry_gone_meanwhile_is_not_found() {
    let mut trash = MockTrashRepository::new();
    trash
        .expect_get()
        .returning(|_, _| Ok(Some(entry(TrashKind::Task, lid(5)))));
    // Purged between the read and the restore.
    trash.expect_restore_task().returning(|_, _, _| Ok(false));
    let err = service(trash, Some(Role::Owner))
        .restore(&principal("alice"), &uid("alice"), uuid::Uuid::from_u128(1))
        .await
        .unwrap_err();
    assert!(matches!(err, ApplicationError::NotFound("trash entry")));
    let mut trash = MockTrashRepository::new();
    trash.expect_get().returning(|_, _| Ok(None));
    trash.expect_delete().returning(|_, _| Ok(false));
    let svc = service(trash, None);
    let (p, me) = (principal("alice"), uid("alice"));
    let id = uuid::Uuid::from_u128(9);
    assert!(matches!(
        svc.restore(&p, &me, id).await,
        Err(ApplicationError::NotFound("trash entry"))
    ));
    assert!(matches!(
        svc.delete(&p, &me, id).await,
        Err(ApplicationError::NotFound("trash entry"))
    ));
}

#[tokio::test]
async fn only_ones_own_trash_and_purges_after_the_retention() {
    let mut trash = MockTrashRepository::new();
    trash.expect_list().never();
    trash.expect_get().never();
    trash.expect_empty().never();
    trash
        .expect_purge()
        .with(eq(at(50) - chrono::TimeDelta::days(30)))
        .times(1)
        .returning(|_| Ok(4));
    let svc = service(trash, None);
    let (p, bob) = (principal("alice"), uid("bob"));
    assert!(matches!(
        svc.list(&p, &bob, None, None).await,
        Err(ApplicationError::Forbidden(_))
    ));
    assert!(matches!(
        svc.restore(&p, &bob, uuid::Uuid::nil()).await,
        Err(ApplicationError::Forbidden(_))
    ));
    assert!(matches!(
        svc.empty(&p, &bob).await,
        Err(ApplicationError::Forbidden(_))
    ));
    assert_eq!(svc.purge_expired().await.unwrap(), 4);
}
