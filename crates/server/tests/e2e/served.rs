//! The in-process application (`Application::build` on port 0) against PostgreSQL.

use serde_json::{Value, json};
use todo_server::{Application, Settings};

use crate::pg::Schema;

const SECRET: &str = "e2e-secret-0123456789abcdef0123456789";

async fn spawn(schema: &Schema) -> (String, reqwest::Client) {
    let env = [
        ("DATABASE_URL", schema.url()),
        ("BETTER_AUTH_SECRET", SECRET.to_owned()),
        ("PORT", "0".to_owned()),
        ("ADMIN_USER_ID", "boss".to_owned()),
    ];
    let env: [(&str, &str); 4] = std::array::from_fn(|i| (env[i].0, env[i].1.as_str()));
    let mut settings = Settings::build(&env, std::path::Path::new("/nonexistent"), None).unwrap();
    settings.auth.cache_ttl_secs = 0;
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    (base, reqwest::Client::new())
}

fn token(user: &str) -> String {
    let now = chrono::Utc::now();
    todo_auth::Hs256Issuer::new(SECRET.as_bytes(), todo_auth::Hs256Settings::default())
        .issue(
            &todo_domain::UserId::parse(user).unwrap(),
            now,
            now + chrono::TimeDelta::hours(1),
        )
        .unwrap()
}

async fn add_user(schema: &Schema, id: &str) {
    let db = todo_persistence::connect(&schema.url(), &todo_persistence::PoolSettings::default())
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

#[tokio::test]
async fn a_user_manages_tasks_over_http_on_postgres() {
    let Some(schema) = Schema::create() else {
        return;
    };
    let (base, http) = spawn(&schema).await;
    add_user(&schema, "alice").await;
    let auth = format!("Bearer {}", token("alice"));

    let ready = http
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let created = http
        .post(format!("{base}/api/alice/tasks"))
        .header("authorization", &auth)
        .json(&json!({"title": "Write the report", "description": "by Friday"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let task: Value = created.json().await.unwrap();
    let id = task["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/alice/tasks/{id}"));

    let list: Value = http
        .get(format!("{base}/api/alice/tasks"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([task]));

    let got: Value = http
        .get(format!("{base}{location}"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        got, task,
        "timestamps round-trip through PostgreSQL unchanged"
    );

    let updated: Value = http
        .put(format!("{base}{location}"))
        .header("authorization", &auth)
        .json(&json!({"title": "Write the final report"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["title"], "Write the final report");
    assert_eq!(updated["description"], "by Friday");

    let toggled: Value = http
        .patch(format!("{base}{location}/complete"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(toggled["completed"], true);

    let deleted = http
        .delete(format!("{base}{location}"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = http
        .get(format!("{base}{location}"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    assert_eq!(
        gone.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    assert!(gone.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn the_configured_admin_user_is_promoted_when_first_seen() {
    let Some(schema) = Schema::create() else {
        return;
    };
    let (base, http) = spawn(&schema).await;
    add_user(&schema, "boss").await;
    add_user(&schema, "alice").await;
    let res = http
        .get(format!("{base}/api/admin/users"))
        .header("authorization", format!("Bearer {}", token("boss")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let users: Value = res.json().await.unwrap();
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
    let res = http
        .get(format!("{base}/api/admin/users"))
        .header("authorization", format!("Bearer {}", token("alice")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
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
