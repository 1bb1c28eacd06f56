//! Concurrent moves in the manual order, on PostgreSQL and on a SQLite file: however
//! they interleave, no two tasks end up with the same position.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use todo_server::{Application, Settings};

use crate::pg::Schema;
use crate::served::{add_user_at, token_with};

const SECRET: &str = "e2e-moves-secret-0123456789abcdef0123";

/// The application on `database_url`, served on a free port; its base URL.
async fn spawn(database_url: &str) -> String {
    let env = [
        ("DATABASE_URL", database_url),
        ("BETTER_AUTH_SECRET", SECRET),
        ("PORT", "0"),
    ];
    let settings = Settings::build(&env, std::path::Path::new("/nonexistent"), None).unwrap();
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

/// Alice's client.
#[derive(Clone)]
struct Alice {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Alice {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn create(&self, title: &str) -> String {
        let (status, task) = self
            .call(
                Method::POST,
                "/api/alice/tasks",
                Some(json!({"title": title})),
            )
            .await;
        assert_eq!(status, 201, "{task}");
        task["id"].as_str().unwrap().to_owned()
    }

    /// Every task's id and position, in position order.
    async fn order(&self) -> Vec<(String, String)> {
        let (status, tasks) = self
            .call(Method::GET, "/api/alice/tasks?sort=position", None)
            .await;
        assert_eq!(status, 200, "{tasks}");
        tasks
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["id"].as_str().unwrap().to_owned(),
                    t["position"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Sends every `(task, body)` move at once (all released by one barrier); the status
    /// of each, in the same order. Each is a 200, a 409 that says to retry, or a 503.
    async fn move_all_at_once(&self, moves: Vec<(String, Value)>) -> Vec<u16> {
        let start = Arc::new(tokio::sync::Barrier::new(moves.len()));
        let mut racers = tokio::task::JoinSet::new();
        for (index, (id, body)) in moves.into_iter().enumerate() {
            let (alice, start) = (self.clone(), start.clone());
            racers.spawn(async move {
                start.wait().await;
                let path = format!("/api/alice/tasks/{id}/move");
                let (status, answer) = alice.call(Method::POST, &path, Some(body)).await;
                match status {
                    200 => {}
                    409 => {
                        let detail = answer["detail"].as_str().unwrap_or_default();
                        assert!(detail.contains("retry"), "{answer}");
                    }
                    // A busy machine may run out of pooled connections while moves queue
                    // for the owner's lock: a 503 to retry, which moved nothing.
                    503 => {}
                    other => panic!("a move answered {other}: {answer}"),
                }
                (index, status)
            });
        }
        let mut statuses = BTreeMap::new();
        while let Some(joined) = racers.join_next().await {
            let (index, status) = joined.unwrap();
            statuses.insert(index, status);
        }
        statuses.into_values().collect()
    }
}

/// Asserts that no two tasks share a position.
fn assert_distinct(order: &[(String, String)], what: &str) {
    let positions: BTreeSet<&str> = order.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(
        positions.len(),
        order.len(),
        "{what}: {} distinct positions among {} tasks: {order:?}",
        positions.len(),
        order.len()
    );
}

/// A small deterministic pseudo-random sequence (xorshift64).
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % u64::try_from(bound).unwrap()).unwrap()
    }
}

const MOVERS: usize = 19;
const RANDOM_MOVES: usize = 50;

async fn concurrent_moves_never_tie(database_url: &str) {
    let base = spawn(database_url).await;
    add_user_at(database_url, "alice").await;
    let alice = Alice {
        base,
        http: crate::http_client(),
        token: token_with(SECRET, "alice"),
    };
    // The anchor, a fence right after it, then the tasks that will move.
    let anchor = alice.create("anchor").await;
    let fence = alice.create("fence").await;
    let mut movers = Vec::new();
    for i in 0..MOVERS {
        movers.push(alice.create(&format!("mover {i}")).await);
    }

    // Every mover goes right after the anchor, all at once.
    let statuses = alice
        .move_all_at_once(
            movers
                .iter()
                .map(|id| (id.clone(), json!({"after": anchor})))
                .collect(),
        )
        .await;
    let order = alice.order().await;
    assert_distinct(&order, "moves after one anchor");
    // The tasks between the anchor and the fence are exactly those whose move succeeded.
    let ids: Vec<&str> = order.iter().map(|(id, _)| id.as_str()).collect();
    let at = |id: &str| ids.iter().position(|i| *i == id).unwrap();
    let between: BTreeSet<&str> = ids[at(&anchor) + 1..at(&fence)].iter().copied().collect();
    let moved: BTreeSet<&str> = movers
        .iter()
        .zip(&statuses)
        .filter(|(_, status)| **status == 200)
        .map(|(id, _)| id.as_str())
        .collect();
    assert!(!moved.is_empty(), "{statuses:?}");
    assert_eq!(between, moved, "{statuses:?}");

    // Random moves of random tasks, all at once.
    let everyone: Vec<String> = [anchor, fence].into_iter().chain(movers).collect();
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let moves = (0..RANDOM_MOVES)
        .map(|_| {
            let task = everyone[rng.below(everyone.len())].clone();
            let mut other = everyone[rng.below(everyone.len())].clone();
            if other == task {
                other = everyone
                    [(everyone.iter().position(|i| *i == task).unwrap() + 1) % everyone.len()]
                .clone();
            }
            let body = match rng.below(4) {
                0 => json!({"after": other}),
                1 => json!({"before": other}),
                2 => json!({"to": "top"}),
                _ => json!({"to": "bottom"}),
            };
            (task, body)
        })
        .collect();
    let statuses = alice.move_all_at_once(moves).await;
    assert!(statuses.contains(&200), "{statuses:?}");
    let order = alice.order().await;
    assert_eq!(order.len(), everyone.len());
    assert_distinct(&order, "random moves");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_moves_never_tie_on_postgres() {
    let Some(schema) = Schema::create() else {
        return;
    };
    concurrent_moves_never_tie(&schema.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_moves_never_tie_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("todo-moves-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/todo.db", dir.display());
    concurrent_moves_never_tie(&url).await;
    std::fs::remove_dir_all(&dir).ok();
}
