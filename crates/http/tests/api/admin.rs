use actix_web::http::Method;
use serde_json::json;

use crate::harness::*;

#[actix_web::test]
async fn admins_list_users() {
    let app = app().await;
    let root = app.user("root", Some("admin")).await;
    app.user("alice", None).await;
    let res = app
        .call(Method::GET, "/api/admin/users", Some(&root), None)
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    let users = res.body.as_array().unwrap();
    assert_eq!(users.len(), 2);
    let alice = users.iter().find(|u| u["id"] == "alice").unwrap();
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(alice["name"], "User alice");
    assert_eq!(alice["role"], "user");
    assert!(alice["created_at"].as_str().unwrap().ends_with('Z'));
}

#[actix_web::test]
async fn admin_user_lists_are_paged() {
    let app = app_with(Options {
        max_limit: 2,
        default_limit: 2,
        ..Options::default()
    })
    .await;
    let root = app.user("root", Some("admin")).await;
    for name in ["a", "b", "c", "d"] {
        app.user(name, None).await;
    }
    let mut url = "/api/admin/users".to_owned();
    let mut ids = Vec::new();
    loop {
        let res = app.call(Method::GET, &url, Some(&root), None).await;
        assert_eq!(res.status, 200, "{url}: {}", res.raw);
        ids.extend(
            res.body
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_owned()),
        );
        let Some(link) = res.header("link") else {
            break;
        };
        url = link
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap()
            .to_owned();
    }
    ids.sort();
    assert_eq!(ids, ["a", "b", "c", "d", "root"]);
}

#[actix_web::test]
async fn admins_see_and_delete_any_users_tasks() {
    let app = app().await;
    let root = app.user("root", Some("admin")).await;
    let alice = app.user("alice", None).await;
    let task = app.create("alice", &alice, "alice's").await;
    let id = task["id"].as_str().unwrap();

    let res = app
        .call(
            Method::GET,
            "/api/admin/users/alice/tasks",
            Some(&root),
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body, json!([task]));

    app.call(
        Method::GET,
        "/api/admin/users/ghost/tasks",
        Some(&root),
        None,
    )
    .await
    .problem(404);

    let url = format!("/api/admin/users/alice/tasks/{id}");
    let res = app.call(Method::DELETE, &url, Some(&root), None).await;
    assert_eq!(res.status, 204, "{}", res.raw);
    app.call(Method::DELETE, &url, Some(&root), None)
        .await
        .problem(404);
    let res = app
        .call(Method::GET, "/api/alice/tasks", Some(&alice), None)
        .await;
    assert_eq!(res.body, json!([]));
}

#[actix_web::test]
async fn admins_change_roles_but_never_remove_the_last_admin() {
    let app = app().await;
    let root = app.user("root", Some("admin")).await;
    let alice = app.user("alice", None).await;

    let res = app
        .call(
            Method::PATCH,
            "/api/admin/users/alice/role",
            Some(&root),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["role"], "admin");
    assert_eq!(res.body["id"], "alice");
    // Alice's new rights apply at once.
    let res = app
        .call(Method::GET, "/api/admin/users", Some(&alice), None)
        .await;
    assert_eq!(res.status, 200);

    // Alice demotes root; now alice is the last admin and cannot demote herself.
    let res = app
        .call(
            Method::PATCH,
            "/api/admin/users/root/role",
            Some(&alice),
            Some(json!({"role": "user"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    let res = app
        .call(
            Method::PATCH,
            "/api/admin/users/alice/role",
            Some(&alice),
            Some(json!({"role": "user"})),
        )
        .await;
    assert!(res.problem(409).contains("last admin"));
    app.call(Method::GET, "/api/admin/users", Some(&root), None)
        .await
        .problem(403);

    app.call(
        Method::PATCH,
        "/api/admin/users/ghost/role",
        Some(&alice),
        Some(json!({"role": "user"})),
    )
    .await
    .problem(404);
    for body in [
        json!({"role": ""}),
        json!({"role": "Super User"}),
        json!({"role": 1}),
        json!({}),
    ] {
        let res = app
            .call(
                Method::PATCH,
                "/api/admin/users/root/role",
                Some(&alice),
                Some(body.clone()),
            )
            .await;
        res.problem(422);
        assert_eq!(res.body["errors"][0]["field"], "role", "{body}");
    }
}

#[actix_web::test]
async fn deleting_a_user_takes_their_tasks() {
    let app = app().await;
    let root = app.user("root", Some("admin")).await;
    let alice = app.user("alice", None).await;
    app.create("alice", &alice, "one").await;
    app.create("alice", &alice, "two").await;

    let res = app
        .call(Method::DELETE, "/api/admin/users/alice", Some(&root), None)
        .await;
    assert_eq!(res.status, 204, "{}", res.raw);
    app.call(
        Method::GET,
        "/api/admin/users/alice/tasks",
        Some(&root),
        None,
    )
    .await
    .problem(404);
    // Alice's token no longer works: her row is gone.
    app.call(Method::GET, "/api/alice/tasks", Some(&alice), None)
        .await
        .problem(401);
    app.call(Method::DELETE, "/api/admin/users/alice", Some(&root), None)
        .await
        .problem(404);
    let res = app
        .call(Method::DELETE, "/api/admin/users/root", Some(&root), None)
        .await;
    assert!(res.problem(409).contains("own account"));
}

#[actix_web::test]
async fn admin_lists_refuse_parameters_they_do_not_take() {
    let app = app().await;
    let root = app.user("root", Some("admin")).await;
    app.user("alice", None).await;
    for path in ["/api/admin/users", "/api/admin/users/alice/tasks"] {
        let res = app
            .call(
                Method::GET,
                &format!("{path}?status=pending"),
                Some(&root),
                None,
            )
            .await;
        let detail = res.problem(422);
        assert!(detail.contains("status"), "{detail}");
        assert_eq!(res.body["errors"][0]["field"], "status", "{}", res.raw);
        let res = app
            .call(
                Method::GET,
                &format!("{path}?limit=1&limit=2"),
                Some(&root),
                None,
            )
            .await;
        assert!(res.problem(422).contains("limit"), "{}", res.raw);
        let res = app
            .call(Method::GET, &format!("{path}?limit=1"), Some(&root), None)
            .await;
        assert_eq!(res.status, 200, "{}", res.raw);
    }
}
