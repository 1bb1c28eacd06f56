//! Versions, `ETag`, `If-Match` and `If-None-Match` on single tasks.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::harness::*;

struct Fixture {
    app: TestApp,
    alice: String,
    url: String,
}

async fn fixture() -> Fixture {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let task = app.create("alice", &alice, "draft").await;
    let url = format!("/api/alice/tasks/{}", task["id"].as_str().unwrap());
    Fixture { app, alice, url }
}

impl Fixture {
    async fn call(
        &self,
        method: Method,
        suffix: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        self.app
            .call_with(
                method,
                &format!("{}{suffix}", self.url),
                Some(&self.alice),
                body,
                headers,
            )
            .await
    }

    async fn current(&self) -> Value {
        let res = self.call(Method::GET, "", None, &[]).await;
        assert_eq!(res.status, 200, "{}", res.raw);
        res.body
    }
}

/// Asserts a 200 task whose `ETag` is its version, and returns the version.
fn tagged(res: &Response) -> i64 {
    assert_eq!(res.status, 200, "{}", res.raw);
    let version = res.body["version"].as_i64().unwrap();
    assert_eq!(
        res.header("etag"),
        Some(format!("\"{version}\"")),
        "the ETag is the version"
    );
    version
}

#[actix_web::test]
async fn every_write_bumps_the_version_and_the_etag_follows() {
    let f = fixture().await;
    let res = f.call(Method::GET, "", None, &[]).await;
    assert_eq!(tagged(&res), 1);

    let writes = [
        (Method::PATCH, "", Some(json!({"title": "one"}))),
        (Method::PUT, "", Some(json!({"priority": "low"}))),
        (Method::PATCH, "/complete", None),
        (
            Method::PATCH,
            "/complete",
            Some(json!({"completed": false})),
        ),
        (
            Method::PATCH,
            "",
            Some(json!({"tags": ["a"], "due": "2026-12-01"})),
        ),
    ];
    for (expected, (method, suffix, body)) in (2..).zip(writes) {
        let res = f.call(method, suffix, body, &[]).await;
        assert_eq!(tagged(&res), expected, "{}", res.raw);
        let res = f.call(Method::GET, "", None, &[]).await;
        assert_eq!(tagged(&res), expected);
    }

    // An empty update writes nothing, so the version stays.
    let res = f.call(Method::PATCH, "", Some(json!({})), &[]).await;
    assert_eq!(tagged(&res), 6);
    // The list carries versions too.
    let res = f
        .app
        .call(Method::GET, "/api/alice/tasks", Some(&f.alice), None)
        .await;
    assert_eq!(res.body[0]["version"], 6);
}

#[actix_web::test]
async fn a_stale_if_match_is_refused_with_the_current_etag() {
    let f = fixture().await;
    let res = f
        .call(Method::PATCH, "", Some(json!({"title": "theirs"})), &[])
        .await;
    assert_eq!(tagged(&res), 2);
    let before = f.current().await;

    let stale = [("if-match", "\"1\"")];
    for (method, suffix, body) in [
        (Method::PATCH, "", Some(json!({"title": "mine"}))),
        (Method::PUT, "", Some(json!({"title": "mine"}))),
        (Method::PATCH, "", Some(json!({}))),
        (Method::PATCH, "/complete", None),
        (Method::PATCH, "/complete", Some(json!({"completed": true}))),
        (Method::DELETE, "", None),
    ] {
        let res = f.call(method.clone(), suffix, body, &stale).await;
        let detail = res.problem(412);
        assert!(
            detail.contains("current version is 2"),
            "{method} {suffix}: {detail}"
        );
        assert_eq!(
            res.header("etag").as_deref(),
            Some("\"2\""),
            "{method} {suffix}: the current version"
        );
    }
    assert_eq!(
        f.current().await,
        before,
        "nothing changed, nothing deleted"
    );

    // A version from the future is just as stale.
    let res = f
        .call(Method::DELETE, "", None, &[("if-match", "\"3\"")])
        .await;
    res.problem(412);
    assert_eq!(f.current().await, before);
}

#[actix_web::test]
async fn a_matching_if_match_writes() {
    let f = fixture().await;
    let res = f
        .call(
            Method::PATCH,
            "",
            Some(json!({"title": "v2"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(tagged(&res), 2);
    assert_eq!(res.body["title"], "v2");
    let res = f
        .call(
            Method::PUT,
            "",
            Some(json!({"title": "v3"})),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(tagged(&res), 3);
    let res = f
        .call(Method::PATCH, "/complete", None, &[("if-match", "\"3\"")])
        .await;
    assert_eq!(tagged(&res), 4);
    assert_eq!(res.body["completed"], true);
    // `*` matches whatever the version is.
    let res = f
        .call(
            Method::PATCH,
            "",
            Some(json!({"title": "v5"})),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(tagged(&res), 5);
    // An empty update with a matching version answers the task as it is.
    let res = f
        .call(Method::PATCH, "", Some(json!({})), &[("if-match", "\"5\"")])
        .await;
    assert_eq!(tagged(&res), 5);

    let res = f
        .call(Method::DELETE, "", None, &[("if-match", "\"5\"")])
        .await;
    assert_eq!(res.status, 204, "{}", res.raw);
    let res = f.call(Method::GET, "", None, &[]).await;
    res.problem(404);
    // A conditional write to a task that is gone is still a 404.
    let res = f
        .call(
            Method::PATCH,
            "",
            Some(json!({"title": "x"})),
            &[("if-match", "\"5\"")],
        )
        .await;
    res.problem(404);
    let res = f.call(Method::DELETE, "", None, &[("if-match", "*")]).await;
    res.problem(404);
}

#[actix_web::test]
async fn a_malformed_if_match_is_a_bad_request_naming_the_header() {
    let f = fixture().await;
    let before = f.current().await;
    for value in [
        "1",
        "W/\"1\"",
        "\"abc\"",
        "\"1\", \"2\"",
        "\"1\", *",
        "\"01\"",
        "\"-1\"",
        "",
    ] {
        for (method, suffix, body) in [
            (Method::PATCH, "", Some(json!({"title": "x"}))),
            (Method::PUT, "", Some(json!({"title": "x"}))),
            (Method::PATCH, "/complete", None),
            (Method::DELETE, "", None),
        ] {
            let res = f
                .call(method.clone(), suffix, body, &[("if-match", value)])
                .await;
            let detail = res.problem(400);
            assert!(
                detail.starts_with("If-Match "),
                "{value:?} {method} {suffix}: {detail}"
            );
            assert_eq!(res.body["errors"][0]["field"], "If-Match");
        }
    }
    let res = f
        .call(
            Method::PATCH,
            "",
            Some(json!({"title": "x"})),
            &[("if-match", "W/\"1\"")],
        )
        .await;
    assert!(res.problem(400).contains("weak"), "{}", res.raw);
    // Two header lines are a list of two as well.
    let res = f
        .call(
            Method::DELETE,
            "",
            None,
            &[("if-match", "\"1\""), ("if-match", "\"2\"")],
        )
        .await;
    assert!(res.problem(400).contains("single entity tag"));
    assert_eq!(f.current().await, before, "nothing changed");
}

#[actix_web::test]
async fn authentication_comes_before_the_if_match_header() {
    let f = fixture().await;
    let res = f
        .app
        .call_with(
            Method::DELETE,
            &f.url,
            None,
            None,
            &[("if-match", "garbage")],
        )
        .await;
    res.problem(401);
}

#[actix_web::test]
async fn if_none_match_answers_304_while_the_task_is_unchanged() {
    let f = fixture().await;
    for value in ["\"1\"", "*", "W/\"1\"", "\"7\", \"1\""] {
        let res = f
            .call(Method::GET, "", None, &[("if-none-match", value)])
            .await;
        assert_eq!(res.status, 304, "{value}: {}", res.raw);
        assert!(res.raw.is_empty(), "no body: {}", res.raw);
        assert_eq!(res.header("etag").as_deref(), Some("\"1\""));
    }
    let res = f
        .call(Method::GET, "", None, &[("if-none-match", "\"0\"")])
        .await;
    assert_eq!(tagged(&res), 1);
    assert_eq!(res.body["title"], "draft");

    f.call(Method::PATCH, "", Some(json!({"title": "changed"})), &[])
        .await;
    let res = f
        .call(Method::GET, "", None, &[("if-none-match", "\"1\"")])
        .await;
    assert_eq!(tagged(&res), 2, "changed since: the whole task");
    assert_eq!(res.body["title"], "changed");
    let res = f
        .call(Method::GET, "", None, &[("if-none-match", "\"2\"")])
        .await;
    assert_eq!(res.status, 304);

    let res = f
        .call(Method::GET, "", None, &[("if-none-match", "2")])
        .await;
    assert!(res.problem(400).starts_with("If-None-Match "));
}
