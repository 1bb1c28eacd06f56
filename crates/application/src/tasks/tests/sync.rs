//! Tests of the sync feed, and of forgetting expired tombstones and idempotency keys.

use mockall::predicate::eq;
use todo_domain::{Change, ListCursor, ListSpec, Sort, SortValue, TaskFilter};

use super::*;
use crate::ports::{MockTaskRepository, Purged};
use crate::testing::*;

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
    let svc = build(
        tasks,
        inboxes_only(),
        fixed_clock(days(40)),
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
