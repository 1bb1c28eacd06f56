//! Webhooks through the API: the secret shown at creation and rotation only, every bad
//! input a 4xx naming its field, conditional changes, and the deliveries an owner can see
//! and ask for (a ping, a redelivery). Deliveries go to a recording sender (the HTTP one
//! is tested against a local receiver in crates/webhooks and end to end).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use actix_web::http::Method;
use serde_json::{Value, json};
use todo_application::ports::SystemClock;
use todo_application::{DispatchSettings, WebhookDispatcher};
use todo_persistence::{SeaChangeLog, SeaListRepository, SeaTaskRepository, SeaWebhookDeliveries};

use crate::harness::{TestApp, app};

const URL: &str = "https://hooks.example.com/todo";

/// Creates a webhook of `owner`'s from `body`; asserts 201 and returns the answer.
async fn create(app: &TestApp, owner: &str, token: &str, body: Value) -> Value {
    let res = app
        .call(
            Method::POST,
            &format!("/api/{owner}/webhooks"),
            Some(token),
            Some(body),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
    res.body
}

#[actix_web::test]
async fn the_secret_is_shown_at_creation_and_rotation_and_nowhere_else() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let res = app
        .call(
            Method::POST,
            "/api/alice/webhooks",
            Some(&alice),
            Some(json!({"url": URL, "events": ["task.completed", "task.created"]})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.raw);
    let created = res.body.clone();
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(
        res.header("location").unwrap(),
        format!("/api/alice/webhooks/{id}")
    );
    assert_eq!(res.header("etag").unwrap(), "\"1\"");
    assert_eq!(res.header("cache-control").unwrap(), "no-store");
    assert_eq!(created["url"], URL);
    assert_eq!(created["events"], json!(["task.created", "task.completed"]));
    assert_eq!(created["list_id"], Value::Null);
    assert_eq!(created["enabled"], true);
    assert_eq!(created["failures"], 0);
    assert_eq!(created["previous_secret_expires_at"], Value::Null);

    let rotated = app
        .call(
            Method::POST,
            &format!("/api/alice/webhooks/{id}/rotate"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.raw);
    assert_eq!(rotated.header("cache-control").unwrap(), "no-store");
    let new_secret = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert!(rotated.body["previous_secret_expires_at"].is_string());

    for path in [
        "/api/alice/webhooks".to_owned(),
        format!("/api/alice/webhooks/{id}"),
        format!("/api/alice/webhooks/{id}/deliveries"),
    ] {
        let res = app.call(Method::GET, &path, Some(&alice), None).await;
        assert_eq!(res.status, 200, "{path}: {}", res.raw);
        assert!(!res.raw.contains(&secret), "{path}: {}", res.raw);
        assert!(!res.raw.contains(&new_secret), "{path}: {}", res.raw);
        assert!(!res.raw.contains("secret\""), "{path}: {}", res.raw);
    }
    let listed = app.get_ok("/api/alice/webhooks", &alice).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
}

#[actix_web::test]
async fn every_bad_input_is_refused_with_its_field_and_nothing_is_created() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let bob = app.user("bob", None).await;
    let bobs = app.list("bob", &bob, "Bob's").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = [
        (json!({"url": "http://hooks.example.com/"}), 422, "url"),
        (json!({"url": "ftp://hooks.example.com/"}), 422, "url"),
        (json!({"url": "https://"}), 422, "url"),
        (json!({"url": "https://u:p@hooks.example.com/"}), 422, "url"),
        (json!({"url": ""}), 422, "url"),
        (json!({"url": URL, "events": []}), 422, "events"),
        (
            json!({"url": URL, "events": ["task.vanished"]}),
            422,
            "events",
        ),
        (json!({"url": URL, "list_id": "inbox"}), 422, "list_id"),
        (json!({"url": URL, "colour": "#fff"}), 422, ""),
        (json!({"events": ["task.created"]}), 422, ""),
        // Bob's list: alice cannot read it, so for her there is no such list.
        (json!({"url": URL, "list_id": bobs}), 404, ""),
    ];
    for (body, status, field) in refused {
        let res = app
            .call(
                Method::POST,
                "/api/alice/webhooks",
                Some(&alice),
                Some(body.clone()),
            )
            .await;
        assert_eq!(res.status, status, "{body}: {}", res.raw);
        if !field.is_empty() {
            assert_eq!(res.body["errors"][0]["field"], field, "{body}: {}", res.raw);
        }
    }
    let res = app
        .call_with(
            Method::POST,
            "/api/alice/webhooks",
            Some(&alice),
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(res.status, 422, "an empty body: {}", res.raw);
    assert_eq!(app.get_ok("/api/alice/webhooks", &alice).await, json!([]));

    // The limit (3 in the harness), then a clear 422.
    for _ in 0..3 {
        create(&app, "alice", &alice, json!({"url": URL})).await;
    }
    let res = app
        .call(
            Method::POST,
            "/api/alice/webhooks",
            Some(&alice),
            Some(json!({"url": URL})),
        )
        .await;
    assert_eq!(
        res.problem(422),
        "a user may have at most 3 webhooks",
        "{}",
        res.raw
    );

    // Ids in the path.
    for path in [
        "/api/alice/webhooks/nope",
        "/api/alice/webhooks/nope/deliveries",
    ] {
        let res = app.call(Method::GET, path, Some(&alice), None).await;
        assert_eq!(res.status, 422, "{path}: {}", res.raw);
        assert_eq!(res.body["errors"][0]["field"], "webhook_id", "{}", res.raw);
    }
}

#[actix_web::test]
async fn a_change_is_conditional_on_its_version_and_keeps_what_it_does_not_name() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let list = app.list("alice", &alice, "Work").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hook = create(&app, "alice", &alice, json!({"url": URL})).await;
    let path = format!("/api/alice/webhooks/{}", hook["id"].as_str().unwrap());

    let res = app
        .call_with(
            Method::PATCH,
            &path,
            Some(&alice),
            Some(json!({"enabled": false})),
            &[("if-match", "\"7\"")],
        )
        .await;
    assert_eq!(res.status, 412, "{}", res.raw);
    assert_eq!(res.header("etag").unwrap(), "\"1\"");

    // An entity tag without its quotes is no entity tag: 400 naming the header.
    let res = app
        .call_with(
            Method::PATCH,
            &path,
            Some(&alice),
            Some(json!({"enabled": false})),
            &[("if-match", "1")],
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.raw);
    assert_eq!(res.body["errors"][0]["field"], "If-Match", "{}", res.raw);

    let res = app
        .call_with(
            Method::PATCH,
            &path,
            Some(&alice),
            Some(json!({"list_id": list, "events": ["task.deleted"]})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.header("etag").unwrap(), "\"2\"");
    assert_eq!(res.body["list_id"], list.as_str());
    assert_eq!(res.body["events"], json!(["task.deleted"]));
    assert_eq!(res.body["url"], URL, "kept");
    assert_eq!(res.body["enabled"], true, "kept");

    for (body, field) in [
        (json!({"enabled": null}), "enabled"),
        (json!({"url": null}), "url"),
        (json!({"events": null}), "events"),
        (json!({"url": "http://example.com/"}), "url"),
        (json!({"list_id": 5}), ""),
    ] {
        let res = app
            .call(Method::PATCH, &path, Some(&alice), Some(body.clone()))
            .await;
        assert_eq!(res.status, 422, "{body}: {}", res.raw);
        if !field.is_empty() {
            assert_eq!(res.body["errors"][0]["field"], field, "{body}: {}", res.raw);
        }
    }

    let res = app
        .call(
            Method::PATCH,
            &path,
            Some(&alice),
            Some(json!({"list_id": null})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.raw);
    assert_eq!(res.body["list_id"], Value::Null);
    assert_eq!(res.body["version"], 3);

    let res = app.call(Method::DELETE, &path, Some(&alice), None).await;
    assert_eq!(res.status, 204, "{}", res.raw);
    let res = app.call(Method::GET, &path, Some(&alice), None).await;
    assert_eq!(res.problem(404), "webhook not found");
}

#[actix_web::test]
async fn a_ping_is_sent_signed_now_and_kept_in_the_deliveries() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let hook = create(&app, "alice", &alice, json!({"url": URL})).await;
    let id = hook["id"].as_str().unwrap();
    let ping = app
        .call(
            Method::POST,
            &format!("/api/alice/webhooks/{id}/test"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(ping.status, 200, "{}", ping.raw);
    let delivery = ping.body["id"].as_str().unwrap();
    assert_eq!(ping.body["event"], "ping");
    assert_eq!(ping.body["event_id"], format!("ping_{delivery}"));
    assert_eq!(ping.body["outcome"], "delivered");
    assert_eq!(ping.body["status_code"], 204);
    assert_eq!(ping.body["attempt"], 1);
    assert_eq!(ping.body["error"], Value::Null);
    {
        let sent = app.webhooks_sent.sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].url.as_str(), URL);
        assert_eq!(sent[0].id, format!("ping_{delivery}"));
        assert_eq!(sent[0].secrets, [hook["secret"].as_str().unwrap()]);
        let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
        assert_eq!(body["type"], "ping");
        assert_eq!(body["data"]["webhook_id"], id);
    }

    // A refused one is recorded with its reason.
    app.webhooks_sent.status.store(0, Ordering::SeqCst);
    let refused = app
        .call(
            Method::POST,
            &format!("/api/alice/webhooks/{id}/test"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(refused.status, 200, "{}", refused.raw);
    assert_eq!(refused.body["outcome"], "refused");
    assert_eq!(refused.body["status_code"], Value::Null);
    assert!(
        refused.body["error"]
            .as_str()
            .unwrap()
            .contains("private address"),
        "{}",
        refused.raw
    );

    let deliveries = app
        .get_ok(&format!("/api/alice/webhooks/{id}/deliveries"), &alice)
        .await;
    assert_eq!(
        crate::harness::ids(&deliveries),
        [refused.body["id"].as_str().unwrap(), delivery],
        "newest first"
    );
}

#[actix_web::test]
async fn a_delivered_change_can_be_sent_again_under_its_own_webhook_id() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let hook = create(
        &app,
        "alice",
        &alice,
        json!({"url": URL, "events": ["task.created"]}),
    )
    .await;
    let id = hook["id"].as_str().unwrap();
    app.create("alice", &alice, "Buy milk").await;
    // One pass of the deliverer this process would run.
    let lists = Arc::new(SeaListRepository::new(app.db.clone()));
    let dispatcher = WebhookDispatcher::new(
        Arc::new(SeaWebhookDeliveries::new(app.db.clone())),
        Arc::new(SeaChangeLog::new(app.db.clone())),
        lists.clone(),
        Arc::new(todo_http::ApiPayloads::new(
            Arc::new(SeaTaskRepository::new(app.db.clone())),
            lists,
        )),
        app.webhooks_sent.clone(),
        Arc::new(SystemClock),
        Arc::new(|| 0.5),
        DispatchSettings::default(),
    );
    assert_eq!(dispatcher.pass().await.unwrap(), 1);

    let deliveries = app
        .get_ok(&format!("/api/alice/webhooks/{id}/deliveries"), &alice)
        .await;
    assert_eq!(deliveries.as_array().unwrap().len(), 1, "{deliveries}");
    let first = &deliveries[0];
    assert_eq!(first["event"], "task.created");
    assert_eq!(first["attempt"], 1);
    assert!(first["event_id"].as_str().unwrap().starts_with("evt_"));

    app.webhooks_sent.status.store(503, Ordering::SeqCst);
    let again = app
        .call(
            Method::POST,
            &format!(
                "/api/alice/webhooks/{id}/deliveries/{}/redeliver",
                first["id"].as_str().unwrap()
            ),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.raw);
    assert_eq!(again.body["event_id"], first["event_id"]);
    assert_eq!(again.body["attempt"], 2);
    assert_eq!(again.body["outcome"], "failed");
    assert_eq!(again.body["status_code"], 503);
    let sent = app.webhooks_sent.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].id, sent[0].id, "one webhook-id for both");
    let body: Value = serde_json::from_slice(&sent[1].body).unwrap();
    assert_eq!(body["type"], "task.created");
    assert_eq!(body["data"]["task"]["title"], "Buy milk");

    // The redelivery failed, yet the webhook's own state is untouched.
    let now = app
        .get_ok(&format!("/api/alice/webhooks/{id}"), &alice)
        .await;
    assert_eq!(now["failures"], 0);
    assert_eq!(now["enabled"], true);

    // Unknown ids: 404; another user's path: 403.
    let bob = app.user("bob", None).await;
    let unknown = format!(
        "/api/alice/webhooks/{id}/deliveries/{}/redeliver",
        uuid::Uuid::now_v7()
    );
    let res = app.call(Method::POST, &unknown, Some(&alice), None).await;
    assert_eq!(res.problem(404), "delivery not found");
    let res = app.call(Method::POST, &unknown, Some(&bob), None).await;
    assert_eq!(res.status, 403, "{}", res.raw);
}

#[actix_web::test]
async fn deliveries_come_a_page_at_a_time() {
    let app = app().await;
    let alice = app.user("alice", None).await;
    let hook = create(&app, "alice", &alice, json!({"url": URL})).await;
    let id = hook["id"].as_str().unwrap();
    let path = format!("/api/alice/webhooks/{id}/test");
    let mut made = Vec::new();
    for _ in 0..3 {
        let res = app.call(Method::POST, &path, Some(&alice), None).await;
        assert_eq!(res.status, 200, "{}", res.raw);
        made.push(res.body["id"].as_str().unwrap().to_owned());
    }
    made.reverse();
    let first = app
        .call(
            Method::GET,
            &format!("/api/alice/webhooks/{id}/deliveries?limit=2"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.raw);
    assert_eq!(crate::harness::ids(&first.body), made[..2]);
    let link = first.header("link").unwrap();
    let next = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    let second = app.get_ok(&next, &alice).await;
    assert_eq!(crate::harness::ids(&second), made[2..]);

    for query in ["limit=0", "limit=101", "limit=x", "cursor=nope", "after=1"] {
        let res = app
            .call(
                Method::GET,
                &format!("/api/alice/webhooks/{id}/deliveries?{query}"),
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(res.status, 422, "{query}: {}", res.raw);
    }
}
