//! The last-admin rule under racing requests: the only two admins demoting each other,
//! demoting themselves or deleting each other at the same instant always leave one admin,
//! and the loser is refused, on PostgreSQL and on SQLite.

use reqwest::Method;
use todo_application::ports::UserRepository;
use todo_domain::{AdminRoles, RoleList, User, UserId};
use todo_persistence::{PoolSettings, SeaUserRepository};
use todo_server::{Application, Settings};

use crate::pg::Schema;
use crate::served::token_with;

const SECRET: &str = "e2e-secret-0123456789abcdef0123456789";
const ROUNDS: usize = 30;

/// The application serving `database_url` (no user cache: every request reads the
/// caller's roles), and its base URL.
async fn spawn(database_url: &str) -> String {
    let env = [
        ("DATABASE_URL", database_url),
        ("BETTER_AUTH_SECRET", SECRET),
        ("PORT", "0"),
    ];
    let mut settings = Settings::build(&env, std::path::Path::new("/nonexistent"), None).unwrap();
    settings.auth.cache_ttl_secs = 0;
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

#[derive(Debug, Clone, Copy)]
enum Race {
    /// X demotes Y while Y demotes X.
    DemoteEachOther,
    /// X demotes X while Y demotes Y.
    DemoteThemselves,
    /// X deletes Y while Y deletes X.
    DeleteEachOther,
}

impl Race {
    /// What `by` sends: method, path, body.
    fn request(self, by: &str, other: &str) -> (Method, String, Option<serde_json::Value>) {
        let demote = serde_json::json!({"role": "user"});
        match self {
            Self::DemoteEachOther => (
                Method::PATCH,
                format!("/api/admin/users/{other}/role"),
                Some(demote),
            ),
            Self::DemoteThemselves => (
                Method::PATCH,
                format!("/api/admin/users/{by}/role"),
                Some(demote),
            ),
            Self::DeleteEachOther => (Method::DELETE, format!("/api/admin/users/{other}"), None),
        }
    }

    fn success(self) -> u16 {
        match self {
            Self::DemoteEachOther | Self::DemoteThemselves => 200,
            Self::DeleteEachOther => 204,
        }
    }

    /// How the loser may be refused: by the last-admin rule (409), or, when the winner's
    /// write landed before the loser's request was authenticated, because the loser is no
    /// admin (403) or no user (401) any more.
    fn refusals(self) -> &'static [u16] {
        match self {
            Self::DemoteEachOther => &[409, 403],
            // The winner demoted only themselves: the loser is still an admin.
            Self::DemoteThemselves => &[409],
            Self::DeleteEachOther => &[409, 401],
        }
    }
}

/// Makes `id` an admin, creating the user if needed.
async fn make_admin(users: &SeaUserRepository, id: &str) {
    let admin = RoleList::parse("admin").unwrap();
    let user = User {
        id: UserId::parse(id).unwrap(),
        email: format!("{id}@example.com"),
        name: id.to_owned(),
        roles: admin.clone(),
        banned: false,
        ban_expires: None,
        created_at: todo_domain::to_stored_precision(chrono::Utc::now()),
    };
    if !users.create_if_absent(&user).await.unwrap() {
        assert!(users.set_role(&user.id, &admin).await.unwrap());
    }
}

async fn send(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    (method, path, body): (Method, String, Option<serde_json::Value>),
) -> (u16, String) {
    let mut req = http
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

/// What went wrong in one round, if anything: no admin (or two) left, no winner, or a
/// loser that was not refused.
fn judge(race: Race, by_x: &(u16, String), by_y: &(u16, String), admins: usize) -> Option<String> {
    if admins != 1 {
        return Some(format!("{admins} admins left"));
    }
    let (winner, loser) = if by_x.0 == race.success() {
        (by_x, by_y)
    } else {
        (by_y, by_x)
    };
    if winner.0 != race.success() {
        return Some("neither won".to_owned());
    }
    if !race.refusals().contains(&loser.0) {
        return Some(format!("the loser got {}", loser.0));
    }
    if loser.0 == 409 && !loser.1.contains("last admin") {
        return Some(format!(
            "a 409 that is not the last-admin rule: {}",
            loser.1
        ));
    }
    None
}

/// Runs every race `ROUNDS` times against the application serving `database_url`.
async fn races_leave_an_admin(database_url: &str, backend: &str) {
    let base = spawn(database_url).await;
    let http = crate::http_client();
    let db = todo_persistence::connect(database_url, &PoolSettings::default())
        .await
        .unwrap();
    let users = SeaUserRepository::new(db);
    let (x, y) = ("admin-x", "admin-y");
    let (x_token, y_token) = (token_with(SECRET, x), token_with(SECRET, y));
    let mut failures = Vec::new();
    for race in [
        Race::DemoteEachOther,
        Race::DemoteThemselves,
        Race::DeleteEachOther,
    ] {
        let (mut broken, mut refused_by_the_rule) = (0, 0);
        for round in 0..ROUNDS {
            make_admin(&users, x).await;
            make_admin(&users, y).await;
            let (by_x, by_y) = tokio::join!(
                send(&http, &base, &x_token, race.request(x, y)),
                send(&http, &base, &y_token, race.request(y, x)),
            );
            let admins = users.admins(&AdminRoles::default()).await.unwrap();
            if let Some(what) = judge(race, &by_x, &by_y, admins.len()) {
                broken += 1;
                failures.push(format!(
                    "{race:?}, round {round}: {what} (X got {}, Y got {})",
                    by_x.0, by_y.0
                ));
            } else if by_x.0 == 409 || by_y.0 == 409 {
                refused_by_the_rule += 1;
            }
        }
        eprintln!(
            "{backend}, {race:?}: {broken} of {ROUNDS} rounds went wrong; \
             the loser got 409 in {refused_by_the_rule}"
        );
    }
    assert!(
        failures.is_empty(),
        "{backend}: {} rounds went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_admins_always_leave_an_admin_on_postgres() {
    let Some(schema) = Schema::create() else {
        return;
    };
    races_leave_an_admin(&schema.url(), "postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_admins_always_leave_an_admin_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("todo-e2e-{}", uuid::Uuid::now_v7().simple()));
    let url = format!("sqlite://{}/todo.db", dir.display());
    races_leave_an_admin(&url, "sqlite").await;
    std::fs::remove_dir_all(&dir).ok();
}
