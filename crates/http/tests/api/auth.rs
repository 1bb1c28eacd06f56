use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::harness::*;

/// Every protected operation, with a body that would be valid.
fn operations(owner: &str, task: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, format!("/api/{owner}/tasks"), None),
        (
            Method::POST,
            format!("/api/{owner}/tasks"),
            Some(json!({"title": "x"})),
        ),
        (Method::GET, format!("/api/{owner}/tasks/{task}"), None),
        (
            Method::PUT,
            format!("/api/{owner}/tasks/{task}"),
            Some(json!({"title": "y"})),
        ),
        (
            Method::PATCH,
            format!("/api/{owner}/tasks/{task}"),
            Some(json!({"title": "y"})),
        ),
        (
            Method::PATCH,
            format!("/api/{owner}/tasks/{task}/complete"),
            Some(json!({"completed": true})),
        ),
        (Method::DELETE, format!("/api/{owner}/tasks/{task}"), None),
        (Method::GET, "/api/admin/users".to_owned(), None),
        (Method::GET, format!("/api/admin/users/{owner}/tasks"), None),
        (
            Method::PATCH,
            format!("/api/admin/users/{owner}/role"),
            Some(json!({"role": "admin"})),
        ),
        (Method::DELETE, format!("/api/admin/users/{owner}"), None),
        (
            Method::DELETE,
            format!("/api/admin/users/{owner}/tasks/{task}"),
            None,
        ),
    ]
}

#[actix_web::test]
async fn every_operation_requires_a_valid_credential() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let task = app.create("alice", &alice, "keep me").await;
    let id = task["id"].as_str().unwrap();
    let bad_credentials = [
        (None, "missing"),
        (Some(app.forged_token("alice")), "bad signature"),
        (Some(app.expired_token("alice")), "expired"),
        (Some(app.token("ghost")), "unknown user"),
        (Some("not-a-jwt".to_owned()), "opaque garbage"),
    ];
    for (method, path, body) in operations("alice", id) {
        for (token, why) in &bad_credentials {
            let res = app
                .call(method.clone(), &path, token.as_deref(), body.clone())
                .await;
            assert_eq!(
                res.status, 401,
                "{method} {path} with a {why} credential: {}",
                res.raw
            );
            res.problem(401);
        }
    }
    // Nothing was changed by any refused request.
    let res = app
        .call(
            Method::GET,
            &format!("/api/alice/tasks/{id}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["title"], "keep me");
    assert_eq!(res.body["completed"], false);
}

#[actix_web::test]
async fn refusals_say_why() {
    let app = app().await;
    app.user("alice", None).await;
    let res = app.call(Method::GET, "/api/alice/tasks", None, None).await;
    assert!(res.problem(401).contains("Authorization"));
    let res = app
        .call(
            Method::GET,
            "/api/alice/tasks",
            Some(&app.expired_token("alice")),
            None,
        )
        .await;
    assert!(res.problem(401).contains("expired"));
    let res = app
        .call(
            Method::GET,
            "/api/alice/tasks",
            Some(&app.forged_token("alice")),
            None,
        )
        .await;
    assert!(res.problem(401).contains("signature"));
    let res = app
        .send(
            TestRequest::get()
                .uri("/api/alice/tasks")
                .insert_header(("authorization", format!("Basic {}", app.token("alice")))),
        )
        .await;
    assert!(res.problem(401).contains("Bearer"));
}

#[actix_web::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let res = app
        .send(
            TestRequest::get()
                .uri("/api/alice/tasks")
                .insert_header(("authorization", format!("bearer {alice}"))),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
}

#[actix_web::test]
async fn users_cannot_reach_other_users_tasks() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let bob = app.user("bob", None).await;
    let task = app.create("bob", &bob, "bob's").await;
    let id = task["id"].as_str().unwrap();
    for (method, path, body) in operations("bob", id).into_iter().take(7) {
        let res = app.call(method.clone(), &path, Some(&alice), body).await;
        assert_eq!(res.status, 403, "{method} {path}: {}", res.raw);
        assert!(res.problem(403).contains("own tasks"));
    }
    let res = app
        .call(
            Method::GET,
            &format!("/api/bob/tasks/{id}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(res.body["title"], "bob's", "bob's task is untouched");
}

#[actix_web::test]
async fn non_admins_are_refused_admin_operations() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let bob = app.user("bob", None).await;
    let task = app.create("bob", &bob, "bob's").await;
    let id = task["id"].as_str().unwrap();
    for (method, path, body) in operations("bob", id).into_iter().skip(7) {
        let res = app.call(method.clone(), &path, Some(&alice), body).await;
        assert_eq!(res.status, 403, "{method} {path}: {}", res.raw);
        assert!(res.problem(403).contains("admin"));
    }
    let res = app
        .call(Method::GET, "/api/bob/tasks", Some(&bob), None)
        .await;
    assert_eq!(res.body.as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn banned_users_are_forbidden_with_a_reason() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    ban(&app, "alice").await;
    let res = app
        .call(Method::GET, "/api/alice/tasks", Some(&alice), None)
        .await;
    assert!(res.problem(403).contains("banned"));
}

/// Sets Better Auth's `banned` flag the way its admin plugin does.
async fn ban(app: &TestApp, user: &str) {
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared(&format!(
            "UPDATE \"user\" SET banned = true WHERE id = '{user}'"
        ))
        .await
        .unwrap();
}

#[actix_web::test]
async fn roles_come_from_the_database_not_the_token() {
    let app = app().await;
    let root = app.user("root", Some("user,admin")).await;
    let res = app
        .call(Method::GET, "/api/admin/users", Some(&root), None)
        .await;
    assert_eq!(
        res.status, 200,
        "a comma-separated role list with admin is admin"
    );
}

#[actix_web::test]
async fn authentication_is_checked_before_the_body() {
    let app = app().await;
    let res = app
        .send(
            TestRequest::post()
                .uri("/api/ghost/tasks")
                .insert_header(("authorization", format!("Bearer {}", app.token("ghost"))))
                .insert_header(("content-type", "text/plain"))
                .set_payload("{not json"),
        )
        .await;
    res.problem(401);
}

#[actix_web::test]
async fn me_returns_the_caller() {
    let app = app().await;
    let root = app.user("root", Some("user,admin")).await;
    let res = app.call(Method::GET, "/api/me", Some(&root), None).await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["id"], "root");
    assert_eq!(res.body["email"], "root@example.com");
    assert_eq!(res.body["name"], "User root");
    assert_eq!(res.body["role"], "user,admin");
    app.call(Method::GET, "/api/me", None, None)
        .await
        .problem(401);
    app.call(Method::GET, "/api/me", Some(&app.token("ghost")), None)
        .await
        .problem(401);
}

#[actix_web::test]
async fn better_auth_session_tokens_work_raw_and_signed() {
    let app = app().await;
    app.user("alice", None).await;
    let raw = app
        .session(
            "alice",
            "bvniPtqc6nEkDHoOovvuhuGN0t0vomv8",
            chrono::TimeDelta::days(7),
        )
        .await;
    let signed = TestApp::signed(&raw);
    let encoded = signed
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    for credential in [&raw, &signed, &encoded] {
        let res = app
            .call(Method::GET, "/api/me", Some(credential), None)
            .await;
        assert_eq!(res.status, 200, "{credential}: {}", res.raw);
        assert_eq!(res.body["id"], "alice");
    }
    let res = app
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(&raw),
            Some(json!({"title": "via session"})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
}

#[actix_web::test]
async fn expired_signed_out_and_tampered_sessions_are_refused() {
    let app = app().await;
    app.user("alice", None).await;
    let stale = app
        .session("alice", "stalestalestale", chrono::TimeDelta::minutes(-1))
        .await;
    assert!(
        app.call(Method::GET, "/api/me", Some(&stale), None)
            .await
            .problem(401)
            .contains("expired")
    );
    app.call(Method::GET, "/api/me", Some("neverissuedtoken"), None)
        .await
        .problem(401);
    let live = app
        .session("alice", "livelivelive", chrono::TimeDelta::days(1))
        .await;
    let tampered = TestApp::signed(&live).replacen(".", ".X", 1);
    assert!(
        app.call(Method::GET, "/api/me", Some(&tampered), None)
            .await
            .problem(401)
            .contains("signature")
    );
    // Signing out deletes the row.
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared("DELETE FROM session WHERE token = 'livelivelive'")
        .await
        .unwrap();
    app.call(Method::GET, "/api/me", Some(&live), None)
        .await
        .problem(401);
}
