use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::harness::*;

async fn post_raw(app: &TestApp, token: &str, content_type: Option<&str>, body: &str) -> Response {
    let mut req = TestRequest::post()
        .uri("/api/alice/tasks")
        .insert_header(("authorization", format!("Bearer {token}")))
        .set_payload(body.to_owned());
    if let Some(ct) = content_type {
        req = req.insert_header(("content-type", ct));
    }
    app.send(req).await
}

async fn count(app: &TestApp, token: &str) -> usize {
    app.call(Method::GET, "/api/alice/tasks", Some(token), None)
        .await
        .body
        .as_array()
        .unwrap()
        .len()
}

#[actix_web::test]
async fn malformed_json_is_a_bad_request() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    for body in [
        "{\"title\": ",
        "{title: 1}",
        "{\"title\": \"a\"} extra",
        "\u{0}",
    ] {
        let res = post_raw(&app, &alice, Some("application/json"), body).await;
        assert!(res.problem(400).contains("malformed JSON"), "{body:?}");
    }
    assert_eq!(count(&app, &alice).await, 0, "nothing was written");
}

#[actix_web::test]
async fn json_of_the_wrong_shape_names_the_field() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let cases = [
        (json!({"title": "a", "colour": "red"}), "colour"),
        (json!({"title": 5}), "title"),
        (json!({"title": null}), "title"),
        (json!({}), "title"),
        (json!({"title": "a", "completed": "yes"}), "completed"),
        (json!({"title": "a", "description": ["x"]}), "description"),
    ];
    for (body, field) in cases {
        let res = app
            .call(
                Method::POST,
                "/api/alice/tasks",
                Some(&alice),
                Some(body.clone()),
            )
            .await;
        res.problem(422);
        assert_eq!(res.body["errors"][0]["field"], field, "{body}: {}", res.raw);
    }
    for body in ["[]", "null", "\"title\"", "42"] {
        let res = post_raw(&app, &alice, Some("application/json"), body).await;
        assert!(
            res.problem(422).contains("JSON object"),
            "{body}: {}",
            res.raw
        );
    }
    let res = post_raw(&app, &alice, Some("application/json"), "").await;
    assert!(res.problem(422).contains("body is required"));
    assert_eq!(count(&app, &alice).await, 0);
}

#[actix_web::test]
async fn invalid_titles_and_descriptions_are_refused() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let cases = [
        (json!({"title": ""}), "title", "must not be empty"),
        (json!({"title": "   "}), "title", "must not be empty"),
        (json!({"title": "a".repeat(201)}), "title", "at most 200"),
        (json!({"title": "line\nbreak"}), "title", "control"),
        (
            json!({"title": "ok", "description": "d".repeat(4001)}),
            "description",
            "at most 4000",
        ),
    ];
    for (body, field, message) in cases {
        let res = app
            .call(Method::POST, "/api/alice/tasks", Some(&alice), Some(body))
            .await;
        let detail = res.problem(422);
        assert!(detail.contains(message), "{detail}");
        assert_eq!(res.body["errors"][0]["field"], field);
    }
    // Exactly at the limits is fine, counted in characters.
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&alice),
            Some(json!({"title": "é".repeat(200)})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
    assert_eq!(count(&app, &alice).await, 1);
}

#[actix_web::test]
async fn updates_refuse_nulls_and_bad_values() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let task = app.create("alice", &alice, "stay").await;
    let url = format!("/api/alice/tasks/{}", task["id"].as_str().unwrap());
    for body in [
        json!({"title": null}),
        json!({"title": ""}),
        json!({"completed": null}),
        json!({"nope": 1}),
    ] {
        let res = app
            .call(Method::PATCH, &url, Some(&alice), Some(body.clone()))
            .await;
        res.problem(422);
        let res = app.call(Method::PUT, &url, Some(&alice), Some(body)).await;
        res.problem(422);
    }
    let res = app
        .call(
            Method::PATCH,
            &format!("{url}/complete"),
            Some(&alice),
            Some(json!({"completed": "yes"})),
        )
        .await;
    res.problem(422);
    let res = app.call(Method::GET, &url, Some(&alice), None).await;
    assert_eq!(res.body, task, "nothing changed");
}

#[actix_web::test]
async fn non_json_bodies_are_unsupported_media() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let res = post_raw(&app, &alice, ct, "{\"title\": \"a\"}").await;
        assert!(res.problem(415).contains("application/json"), "{ct:?}");
    }
    let res = post_raw(
        &app,
        &alice,
        Some("application/json; charset=utf-8"),
        "{\"title\": \"a\"}",
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.raw);
}

#[actix_web::test]
async fn oversized_bodies_are_refused() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let huge = format!(
        "{{\"title\": \"a\", \"description\": \"{}\"}}",
        "x".repeat(70 * 1024)
    );
    let res = post_raw(&app, &alice, Some("application/json"), &huge).await;
    assert!(res.problem(413).contains("65536"));
    assert_eq!(count(&app, &alice).await, 0);
}

#[actix_web::test]
async fn malformed_task_ids_are_refused() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    for id in [
        "42",
        "not-a-uuid",
        "..%2F..%2Fetc",
        "0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a9",
    ] {
        let res = app
            .call(
                Method::GET,
                &format!("/api/alice/tasks/{id}"),
                Some(&alice),
                None,
            )
            .await;
        assert!(res.problem(422).contains("task_id"), "{id}: {}", res.raw);
    }
}

#[actix_web::test]
async fn hostile_user_ids_in_the_path_are_just_other_users() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    app.create("alice", &alice, "survives").await;
    for path in [
        "/api/x'%3B%20DROP%20TABLE%20task%3B--/tasks",
        "/api/alice'%20OR%20'1'%3D'1/tasks",
        "/api/..%2F..%2Fetc%2Fpasswd/tasks",
        "/api/%25/tasks",
    ] {
        let res = app.call(Method::GET, path, Some(&alice), None).await;
        assert_eq!(res.status, 403, "{path}: {}", res.raw);
        res.problem(403);
    }
    let res = app
        .call(Method::GET, "/api/alice%00/tasks", Some(&alice), None)
        .await;
    assert!(res.status == 422 || res.status == 403, "{}", res.raw);
    assert_eq!(count(&app, &alice).await, 1, "the table is intact");
}

#[actix_web::test]
async fn a_database_outage_is_a_503_with_retry_after() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    app.db.clone().close().await.unwrap();
    let res = app
        .call(Method::GET, "/api/alice/tasks", Some(&alice), None)
        .await;
    let detail = res.problem(503);
    assert!(detail.contains("unavailable"), "{detail}");
    assert_eq!(res.header("retry-after").as_deref(), Some("2"));
    assert!(
        !res.raw.to_lowercase().contains("sqlite"),
        "no internals leak: {}",
        res.raw
    );
}

/// Every query string is decoded strictly: a parameter whose name or value is not UTF-8
/// once percent-decoded is a 422 naming it, wherever the route reads its query.
#[actix_web::test]
async fn query_parameters_that_are_not_utf8_are_refused_on_every_route() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let root = app.user("root", Some("admin")).await;
    for (method, uri, token, field) in [
        (
            Method::DELETE,
            "/api/alice/tasks?status=%FF",
            &alice,
            "status",
        ),
        (
            Method::DELETE,
            "/api/alice/tasks?status=completed&x=%FF",
            &alice,
            "x",
        ),
        (Method::GET, "/api/alice/tasks/stats?tz=%FF", &alice, "tz"),
        (Method::GET, "/api/alice/tags?%FF%FE=1", &alice, "%FF%FE"),
        (Method::GET, "/api/admin/users?cursor=%FF", &root, "cursor"),
        (Method::GET, "/api/admin/users?limit=%FF", &root, "limit"),
        (
            Method::GET,
            "/api/admin/users/alice/tasks?cursor=a%FFb",
            &root,
            "cursor",
        ),
    ] {
        let res = app.call(method, uri, Some(token), None).await;
        let detail = res.problem(422);
        assert!(detail.contains("UTF-8"), "{uri}: {detail}");
        assert_eq!(res.body["errors"][0]["field"], field, "{uri}: {}", res.raw);
    }
    // Nothing was cleared, and valid parameters still work.
    let res = app
        .call(
            Method::DELETE,
            "/api/alice/tasks?status=completed",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
}
