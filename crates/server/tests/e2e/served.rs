//! The in-process application (`Application::build` on port 0) against PostgreSQL.

use serde_json::{Value, json};
use todo_server::{Application, Settings};

use crate::pg::Schema;

const SECRET: &str = "e2e-secret-0123456789abcdef0123456789";

async fn spawn(schema: &Schema) -> (String, reqwest::Client) {
    spawn_with(schema, |_| {}).await
}

async fn spawn_with(
    schema: &Schema,
    adjust: impl FnOnce(&mut Settings),
) -> (String, reqwest::Client) {
    let env = [
        ("DATABASE_URL", schema.url()),
        ("BETTER_AUTH_SECRET", SECRET.to_owned()),
        ("PORT", "0".to_owned()),
        ("ADMIN_USER_ID", "boss".to_owned()),
    ];
    let env: [(&str, &str); 4] = std::array::from_fn(|i| (env[i].0, env[i].1.as_str()));
    let mut settings = Settings::build(&env, std::path::Path::new("/nonexistent"), None).unwrap();
    settings.auth.cache_ttl_secs = 0;
    adjust(&mut settings);
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    (base, crate::http_client())
}

fn token(user: &str) -> String {
    token_with(SECRET, user)
}

/// An HS256 token for `user` signed with `secret`, valid for an hour.
pub fn token_with(secret: &str, user: &str) -> String {
    let now = chrono::Utc::now();
    todo_auth::Hs256Issuer::new(secret.as_bytes(), todo_auth::Hs256Settings::default())
        .issue(
            &todo_domain::UserId::parse(user).unwrap(),
            now,
            now + chrono::TimeDelta::hours(1),
        )
        .unwrap()
}

async fn add_user(schema: &Schema, id: &str) {
    add_user_at(&schema.url(), id).await;
}

/// Creates the user `id` in the database at `url`.
pub async fn add_user_at(url: &str, id: &str) {
    let db = todo_persistence::connect(url, &todo_persistence::PoolSettings::default())
        .await
        .unwrap();
    use todo_application::ports::UserRepository;
    todo_persistence::SeaUserRepository::new(db)
        .create_if_absent(&todo_domain::User {
            id: todo_domain::UserId::parse(id).unwrap(),
            email: format!("{id}@example.com"),
            name: id.to_owned(),
            roles: todo_domain::RoleList::user(),
            banned: false,
            ban_expires: None,
            created_at: todo_domain::to_stored_precision(chrono::Utc::now()),
        })
        .await
        .unwrap();
}

/// A client speaking for one user.
struct Caller {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Caller {
    fn new(base: &str, http: &reqwest::Client, user: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: http.clone(),
            token: token(user),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    /// Sends and returns the status with the JSON body (`null` when there is none).
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let res = self.send(method, path, body).await;
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn a_user_manages_tasks_over_http_on_postgres() {
    use reqwest::Method;
    let Some(schema) = Schema::create() else {
        return;
    };
    let (base, http) = spawn(&schema).await;
    add_user(&schema, "alice").await;
    let alice = Caller::new(&base, &http, "alice");

    let ready = http
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let created = alice
        .send(
            Method::POST,
            "/api/alice/tasks",
            Some(json!({"title": "Write the report", "description": "by Friday"})),
        )
        .await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let task: Value = created.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/alice/tasks/{}", task["id"].as_str().unwrap())
    );

    assert_eq!(
        alice.call(Method::GET, "/api/alice/tasks", None).await,
        (200, json!([task]))
    );
    assert_eq!(
        alice.call(Method::GET, &location, None).await,
        (200, task.clone()),
        "timestamps round-trip through PostgreSQL unchanged"
    );

    let (status, updated) = alice
        .call(
            Method::PUT,
            &location,
            Some(json!({"title": "Write the final report"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(updated["title"], "Write the final report");
    assert_eq!(updated["description"], "by Friday");

    let (_, toggled) = alice
        .call(Method::PATCH, &format!("{location}/complete"), None)
        .await;
    assert_eq!(toggled["completed"], true);

    assert_eq!(alice.call(Method::DELETE, &location, None).await.0, 204);
    let gone = alice.send(Method::GET, &location, None).await;
    assert_eq!(gone.status(), 404);
    assert_eq!(
        gone.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    assert!(gone.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn the_configured_admin_user_is_promoted_when_first_seen() {
    use reqwest::Method;
    let Some(schema) = Schema::create() else {
        return;
    };
    let (base, http) = spawn(&schema).await;
    add_user(&schema, "boss").await;
    add_user(&schema, "alice").await;
    let (status, users) = Caller::new(&base, &http, "boss")
        .call(Method::GET, "/api/admin/users", None)
        .await;
    assert_eq!(status, 200);
    let boss = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "boss")
        .unwrap();
    assert!(
        boss["role"]
            .as_str()
            .unwrap()
            .split(',')
            .any(|r| r == "admin")
    );
    let (status, _) = Caller::new(&base, &http, "alice")
        .call(Method::GET, "/api/admin/users", None)
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn two_instances_can_start_and_migrate_at_once() {
    let Some(schema) = Schema::create() else {
        return;
    };
    let (a, b) = tokio::join!(spawn(&schema), spawn(&schema));
    for base in [a.0, b.0] {
        let res =
            a.1.get(format!("{base}/health/ready"))
                .send()
                .await
                .unwrap();
        assert_eq!(res.status(), 200);
    }
}

#[tokio::test]
async fn metrics_on_a_private_listener_count_requests_and_report_the_pool() {
    let Some(schema) = Schema::create() else {
        return;
    };
    let env = [
        ("DATABASE_URL", schema.url()),
        ("BETTER_AUTH_SECRET", SECRET.to_owned()),
        ("PORT", "0".to_owned()),
    ];
    let env: [(&str, &str); 3] = std::array::from_fn(|i| (env[i].0, env[i].1.as_str()));
    let mut settings = Settings::build(&env, std::path::Path::new("/nonexistent"), None).unwrap();
    settings.metrics.bind = Some("127.0.0.1:0".to_owned());
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let metrics = format!("http://127.0.0.1:{}/metrics", app.metrics_port().unwrap());
    tokio::spawn(app.run_until_stopped());
    let http = crate::http_client();
    add_user(&schema, "alice").await;
    let alice = Caller::new(&base, &http, "alice");
    assert_eq!(
        alice
            .call(reqwest::Method::GET, "/api/alice/tasks", None)
            .await
            .0,
        200
    );

    let public = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404, "not on the public port");
    let text = http
        .get(&metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/{user_id}/tasks",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("db_pool_max_connections 10"), "{text}");
    assert!(text.contains("db_pool_connections "), "{text}");
    // The gauge counts the whole process's operations (other tests may share it under
    // `cargo test`): it is reported, as a number.
    assert!(
        text.lines().any(|l| l
            .strip_prefix("db_pool_waiting ")
            .is_some_and(|n| n.parse::<u32>().is_ok())),
        "{text}"
    );
}

/// Sends `body` to `path` with extra headers; the status, `ETag` and JSON body.
async fn send_with_headers(
    caller: &Caller,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (u16, Option<String>, Value) {
    let mut req = caller
        .http
        .request(method, format!("{}{path}", caller.base))
        .bearer_auth(&caller.token);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let etag = res
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, etag, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_with_if_match_never_both_win_on_postgres() {
    use reqwest::Method;
    const RACERS: usize = 20;
    let Some(schema) = Schema::create() else {
        return;
    };
    let (base, http) = spawn(&schema).await;
    add_user(&schema, "alice").await;
    let alice = std::sync::Arc::new(Caller::new(&base, &http, "alice"));
    let (status, task) = alice
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(json!({"title": "original"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(task["version"], 1);
    let url = format!("/api/alice/tasks/{}", task["id"].as_str().unwrap());

    // Every client read version 1 and writes its own title, all at once.
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..RACERS {
        let (alice, url, start) = (alice.clone(), url.clone(), start.clone());
        racers.spawn(async move {
            let title = format!("writer {i}");
            start.wait().await;
            let outcome = send_with_headers(
                &alice,
                Method::PATCH,
                &url,
                Some(json!({"title": title})),
                &[("If-Match", "\"1\"")],
            )
            .await;
            (title, outcome)
        });
    }
    let mut winners = Vec::new();
    let mut refused = 0;
    while let Some(joined) = racers.join_next().await {
        let (title, (status, etag, body)) = joined.unwrap();
        match status {
            200 => {
                assert_eq!(body["title"], title.as_str());
                assert_eq!(body["version"], 2);
                assert_eq!(etag.as_deref(), Some("\"2\""));
                winners.push(title);
            }
            412 => {
                assert_eq!(etag.as_deref(), Some("\"2\""), "the winner's version");
                assert_eq!(body["status"], 412);
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins: {winners:?}");
    assert_eq!(refused, RACERS - 1);

    let (status, stored) = alice.call(Method::GET, &url, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        stored["title"],
        winners[0].as_str(),
        "the winner's write stands"
    );
    assert_eq!(stored["version"], 2, "exactly one write happened");

    // A racing delete against an edit: one of them, never both, under If-Match "2".
    let (edit, delete) = tokio::join!(
        send_with_headers(
            &alice,
            Method::PATCH,
            &url,
            Some(json!({"title": "edited"})),
            &[("If-Match", "\"2\"")],
        ),
        send_with_headers(&alice, Method::DELETE, &url, None, &[("If-Match", "\"2\"")]),
    );
    let (after, _) = alice.call(Method::GET, &url, None).await;
    match (edit.0, delete.0) {
        (200, 412 | 404) => assert_eq!(after, 200, "the edit won: the task stays"),
        (412 | 404, 204) => assert_eq!(after, 404, "the delete won: the task is gone"),
        other => panic!("both or neither won: {other:?}"),
    }
}

#[tokio::test]
async fn expired_tombstones_and_idempotency_keys_are_purged_in_the_background() {
    use reqwest::Method;
    use sea_orm::ConnectionTrait;
    let Some(schema) = Schema::create() else {
        return;
    };
    let (base, http) = spawn_with(&schema, |s| {
        s.sync.tombstone_retention_days = 1;
        s.sync.purge_interval_secs = 1;
    })
    .await;
    add_user(&schema, "alice").await;
    let alice = Caller::new(&base, &http, "alice");
    let (_, task) = alice
        .call(
            Method::POST,
            "/api/alice/tasks",
            Some(json!({"title": "gone soon"})),
        )
        .await;
    let id = task["id"].as_str().unwrap().to_owned();
    assert_eq!(
        alice
            .call(Method::DELETE, &format!("/api/alice/tasks/{id}"), None)
            .await
            .0,
        204
    );
    // A tombstone and a key from two days ago, as if written then.
    let db = todo_persistence::connect(&schema.url(), &todo_persistence::PoolSettings::default())
        .await
        .unwrap();
    db.execute_unprepared(
        "INSERT INTO task_tombstone (id, user_id, deleted_at) \
         VALUES (gen_random_uuid(), 'alice', now() - interval '2 days'); \
         INSERT INTO idempotency_key (user_id, key, fingerprint, task_id, created_at) \
         VALUES ('alice', 'old', 'f', gen_random_uuid(), now() - interval '2 days')",
    )
    .await
    .unwrap();
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            db.query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                sql,
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap()
        }
    };
    let mut purged = false;
    for _ in 0..100 {
        let old = count(
            "SELECT (SELECT COUNT(*) FROM task_tombstone WHERE deleted_at < now() - interval '1 day') \
             + (SELECT COUNT(*) FROM idempotency_key) AS n",
        )
        .await;
        if old == 0 {
            purged = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(purged, "the job purges expired rows within a few intervals");
    // Today's deletion is still in the feed.
    let since = (chrono::Utc::now() - chrono::TimeDelta::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (status, feed) = alice
        .call(
            Method::GET,
            &format!("/api/alice/tasks?updated_since={since}&include_deleted=true"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{feed}");
    assert_eq!(
        feed,
        json!([{"id": id, "deleted": true, "updated_at": feed[0]["updated_at"]}])
    );
    db.close().await.ok();
}
