//! Tests of listing tasks a page at a time, filtered and sorted.

use todo_domain::{
    DueWindow, ListCursor, ListSpec, Sort, SortValue, Status, TaskFilter, TaskId, TaskQuery,
};

use super::*;
use crate::ports::MockTaskRepository;
use crate::testing::*;

fn plain() -> ListSpec {
    ListSpec::default()
}

#[tokio::test]
async fn lists_use_the_default_page_size_and_report_a_next_cursor() {
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_search()
        .withf(|owner, query, limit, after| {
            *owner == uid("alice") && query.is_plain() && *limit == 3 && after.is_none()
        })
        .times(1)
        .returning(|_, _, _, _| {
            Ok(vec![
                task("alice", 1, "a"),
                task("alice", 2, "b"),
                task("alice", 3, "c"),
            ])
        });
    let page = service(tasks)
        .list(&principal("alice"), &uid("alice"), &plain(), None, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        page.next,
        Some(ListCursor {
            value: SortValue::Instant(Some(at(10))),
            id: tid(2)
        })
    );
}

#[tokio::test]
async fn the_last_page_has_no_next_cursor() {
    let mut tasks = MockTaskRepository::new();
    let after = ListCursor {
        value: SortValue::Instant(Some(at(10))),
        id: tid(2),
    };
    let passed = after.clone();
    tasks
        .expect_search()
        .withf(move |_, _, limit, got| *limit == 4 && got.as_ref() == Some(&passed))
        .returning(|_, _, _, _| Ok(vec![task("alice", 3, "c")]));
    let page = service(tasks)
        .list(
            &principal("alice"),
            &uid("alice"),
            &plain(),
            Some(3),
            Some(after),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next, None);
}

#[tokio::test]
async fn page_sizes_beyond_the_maximum_are_refused() {
    let mut tasks = MockTaskRepository::new();
    tasks.expect_search().never();
    let svc = service(tasks);
    for spec in [plain(), filtered()] {
        for limit in [0, 4] {
            let err = svc
                .list(&principal("alice"), &uid("alice"), &spec, Some(limit), None)
                .await
                .unwrap_err();
            assert!(
                matches!(&err, ApplicationError::Validation { field, .. } if field == "limit"),
                "{err:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_default_query_reads_the_plain_list_even_with_a_zone() {
    // `status=all`, `sort=created_at` and a `tz` filter nothing: still the plain list.
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_search()
        .withf(|_, query, _, _| query.is_plain())
        .times(1)
        .returning(|_, _, _, _| Ok(vec![task("alice", 1, "a")]));
    let spec = ListSpec {
        filter: TaskFilter {
            status: Status::All,
            ..TaskFilter::default()
        },
        sort: Sort::parse("created_at").unwrap(),
        tz: zone("Europe/Berlin"),
        include_deleted: false,
    };
    let page = service(tasks)
        .list(&principal("alice"), &uid("alice"), &spec, None, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next, None);
}

#[tokio::test]
async fn a_filtered_query_searches_with_its_filter_sort_and_window() {
    let mut tasks = MockTaskRepository::new();
    let expected = TaskQuery {
        filter: filtered().filter,
        sort: filtered().sort,
        // The clock's now (50 s after the epoch), as seen in Tokyo.
        window: DueWindow::at(at(50), zone("Asia/Tokyo")),
    };
    tasks
        .expect_search()
        .withf(move |owner, query, limit, after| {
            *owner == uid("alice") && *query == expected && *limit == 3 && after.is_none()
        })
        .times(1)
        .returning(|_, _, _, _| {
            let mut rows = vec![
                task("alice", 1, "a"),
                task("alice", 2, "b"),
                task("alice", 3, "c"),
            ];
            for (row, day) in rows
                .iter_mut()
                .zip(["2026-12-03", "2026-12-02", "2026-12-01"])
            {
                row.due = Some(due(day));
            }
            Ok(rows)
        });
    let page = service(tasks)
        .list(&principal("alice"), &uid("alice"), &filtered(), None, None)
        .await
        .unwrap();
    let ids: Vec<TaskId> = page.items.iter().map(|t| t.id).collect();
    assert_eq!(ids, [tid(1), tid(2)]);
    assert_eq!(
        page.next,
        Some(ListCursor {
            value: SortValue::Instant(Some(due("2026-12-02").starts_at_utc())),
            id: tid(2),
        })
    );
}

#[tokio::test]
async fn a_sorted_list_continues_after_its_cursor() {
    let after = ListCursor {
        value: SortValue::Text("b".to_owned()),
        id: tid(2),
    };
    let passed = after.clone();
    let mut tasks = MockTaskRepository::new();
    tasks
        .expect_search()
        .withf(move |_, query, limit, got| {
            // A sort alone leaves the filter empty; the client's limit plus one.
            query.sort == Sort::parse("title").unwrap()
                && query.filter == TaskFilter::default()
                && *limit == 2
                && got.as_ref() == Some(&passed)
        })
        .times(1)
        .returning(|_, _, _, _| Ok(vec![task("alice", 3, "c")]));
    let spec = ListSpec {
        sort: Sort::parse("title").unwrap(),
        ..ListSpec::default()
    };
    let page = service(tasks)
        .list(
            &principal("alice"),
            &uid("alice"),
            &spec,
            Some(1),
            Some(after),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next, None);
}

#[tokio::test]
async fn listing_someone_elses_tasks_is_forbidden_before_anything_else() {
    let mut tasks = MockTaskRepository::new();
    tasks.expect_search().never();
    let svc = service(tasks);
    for spec in [plain(), filtered()] {
        // Even a bad limit is not looked at first.
        is_forbidden(
            svc.list(&principal("bob"), &uid("alice"), &spec, Some(0), None)
                .await,
        );
    }
}
