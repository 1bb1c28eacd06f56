//! Tests of an owner's tag counts and task stats.

use todo_domain::{DueWindow, Tags, TaskStats};

use super::*;
use crate::ports::MockTaskRepository;
use crate::testing::*;

#[tokio::test]
async fn tags_are_counted_and_stats_judged_in_the_callers_zone() {
    let mut tasks = MockTaskRepository::new();
    tasks.expect_tag_lists().times(1).returning(|_| {
        Ok(vec![
            (Tags::parse(&["Work", "home"]).unwrap(), 2),
            (Tags::parse(&["work"]).unwrap(), 1),
        ])
    });
    let tokyo = zone("Asia/Tokyo");
    tasks
        .expect_stats()
        .withf(move |owner, window| {
            *owner == uid("alice") && *window == DueWindow::at(at(50), tokyo)
        })
        .times(1)
        .returning(|_, _| {
            Ok(TaskStats {
                total: 3,
                pending: 2,
                completed: 1,
                ..TaskStats::default()
            })
        });
    let svc = service(tasks);
    let (p, me) = (principal("alice"), uid("alice"));
    let tags = svc.tags(&p, &me).await.unwrap();
    let shown: Vec<(&str, u64)> = tags.iter().map(|t| (t.tag.as_str(), t.count)).collect();
    assert_eq!(shown, [("home", 2), ("Work", 3)]);
    assert_eq!(svc.stats(&p, &me, tokyo).await.unwrap().total, 3);
    is_forbidden(svc.tags(&p, &uid("bob")).await);
    is_forbidden(svc.stats(&p, &uid("bob"), tokyo).await);
}
