//! Polling that costs nothing: the task list, the sync feed and the lists carry a
//! collection ETag made of the caller's newest change as the event reader has read it;
//! `If-None-Match` with it is a 304 without reading the tasks.

use actix_web::http::Method;
use sea_orm::ConnectionTrait;

use crate::harness::*;

impl TestApp {
    /// Lets the event reader read the change log (no reader runs in these tests).
    async fn poll_changes(&self) {
        self.services
            .events
            .as_ref()
            .unwrap()
            .poll(chrono::Utc::now())
            .await
            .unwrap();
    }

    async fn poll(&self, path: &str, token: &str, etag: Option<&str>) -> Response {
        let headers: Vec<(&str, &str)> = etag.map(|e| ("if-none-match", e)).into_iter().collect();
        self.call_with(Method::GET, path, Some(token), None, &headers)
            .await
    }
}

#[actix_web::test]
async fn an_unchanged_collection_is_a_304_and_a_change_the_reader_saw_a_200() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let bob = app.user("bob", None).await;
    app.create("alice", &alice, "milk").await;
    app.poll_changes().await;

    let since = (chrono::Utc::now() - chrono::TimeDelta::days(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let feed = format!("/api/alice/tasks?updated_since={since}&include_deleted=true");
    for path in ["/api/alice/tasks", feed.as_str(), "/api/alice/lists"] {
        let first = app.poll(path, &alice, None).await;
        assert_eq!(first.status, 200, "{path}: {}", first.raw);
        let etag = first.header("etag").unwrap();
        assert!(etag.starts_with("W/\"c"), "{path}: {etag}");
        let again = app.poll(path, &alice, Some(&etag)).await;
        assert_eq!(again.status, 304, "{path}");
        assert_eq!(again.header("etag").as_deref(), Some(etag.as_str()));
        assert!(again.raw.is_empty());
        // Any of several tags; and `*`.
        let listed = format!("\"other\", {etag}");
        assert_eq!(app.poll(path, &alice, Some(&listed)).await.status, 304);
        assert_eq!(app.poll(path, &alice, Some("*")).await.status, 304);
    }
    // Each query is its own collection.
    let plain = app.poll("/api/alice/tasks", &alice, None).await;
    let filtered = app
        .poll("/api/alice/tasks?status=pending", &alice, None)
        .await;
    assert_ne!(plain.header("etag"), filtered.header("etag"));
    let plain_tag = plain.header("etag").unwrap();
    assert_eq!(
        app.poll("/api/alice/tasks?status=pending", &alice, Some(&plain_tag))
            .await
            .status,
        200
    );

    // Bob's change is not alice's: still a 304.
    app.create("bob", &bob, "bread").await;
    app.poll_changes().await;
    assert_eq!(
        app.poll("/api/alice/tasks", &alice, Some(&plain_tag))
            .await
            .status,
        304
    );
    // Hers, once the reader has read it: a 200 with the new task and a new tag.
    app.create("alice", &alice, "eggs").await;
    app.poll_changes().await;
    let changed = app.poll("/api/alice/tasks", &alice, Some(&plain_tag)).await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.body.as_array().unwrap().len(), 2);
    let new_tag = changed.header("etag").unwrap();
    assert_ne!(new_tag, plain_tag);

    // Filters that move with the clock get no tag.
    let overdue = app
        .poll("/api/alice/tasks?overdue=true", &alice, None)
        .await;
    assert_eq!(overdue.status, 200);
    assert_eq!(overdue.header("etag"), None);
    // Another user's collection is not the caller's to poll.
    assert_eq!(
        app.poll("/api/bob/tasks", &alice, Some(&new_tag))
            .await
            .status,
        403
    );
    // A malformed If-None-Match is the client's mistake.
    assert_eq!(
        app.poll("/api/alice/tasks", &alice, Some("not-a-tag"))
            .await
            .status,
        400
    );

    // The reader's work, in the metrics: two Inboxes and three tasks read; no stream open.
    let metrics = app.call(Method::GET, "/metrics", None, None).await.raw;
    assert!(
        metrics.contains("\nchange_log_records_read_total 5\n"),
        "{metrics}"
    );
    assert!(metrics.contains("\nevent_streams_open 0\n"), "{metrics}");

    // The 304 reads no task: with the table gone it still answers, a 200 could not.
    app.db.execute_unprepared("DROP TABLE task").await.unwrap();
    assert_eq!(
        app.poll("/api/alice/tasks", &alice, Some(&new_tag))
            .await
            .status,
        304
    );
    assert_eq!(app.poll("/api/alice/tasks", &alice, None).await.status, 500);
}
