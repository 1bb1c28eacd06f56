//! Database round trips per request, counted on the wire: the application reaches
//! PostgreSQL through a proxy that counts the frontend messages that make the client wait
//! for the server (Sync and simple Query; each is answered by one ReadyForQuery).
//!
//! A Sync with nothing before it is sqlx's liveness ping, which its pool sends whenever a
//! connection is returned, unconditionally and off the request path (after the query's
//! result is in hand); those are counted apart. The hot statements' connections stay with
//! their serving thread for its next statement instead (`crates/persistence/src/kept.rs`),
//! so they cost no ping; an operation that asks the pool itself gives the kept ones back,
//! each tested on its return.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Method;
use serde_json::{Value, json};
use todo_server::{Application, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::pg::{Schema, base_url};
use crate::served::{add_user_at, token_with};

const SECRET: &str = "e2e-round-trips-0123456789abcdef012345";

/// What the proxy has seen, over all connections.
#[derive(Default)]
struct Waits {
    /// Statements run: a Sync after Bind/Execute…, or a simple Query.
    queries: AtomicUsize,
    /// Statements prepared: a Sync after Parse (once per statement and connection).
    prepares: AtomicUsize,
    /// Lone Syncs: liveness pings.
    pings: AtomicUsize,
}

impl Waits {
    fn snapshot(&self) -> [usize; 3] {
        [
            self.queries.load(Ordering::SeqCst),
            self.prepares.load(Ordering::SeqCst),
            self.pings.load(Ordering::SeqCst),
        ]
    }
}

/// Listens on a free loopback port and forwards every connection to `upstream`, counting
/// the client's Sync ('S') and Query ('Q') messages.
async fn counting_proxy(upstream: SocketAddr) -> (u16, Arc<Waits>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let waits = Arc::new(Waits::default());
    let counter = waits.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(upstream).await else {
                continue;
            };
            tokio::spawn(pipe(client, server, counter.clone()));
        }
    });
    (port, waits)
}

async fn pipe(client: TcpStream, server: TcpStream, waits: Arc<Waits>) {
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    tokio::spawn(async move { tokio::io::copy(&mut from_server, &mut to_client).await });
    let mut pending: Vec<u8> = Vec::new();
    let mut started = false;
    let mut since_sync = 0usize;
    let mut parsed = false;
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = match from_client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if to_server.write_all(&chunk[..n]).await.is_err() {
            return;
        }
        pending.extend_from_slice(&chunk[..n]);
        loop {
            if !started {
                // Startup packets have no type byte: length, then protocol code.
                if pending.len() < 8 {
                    break;
                }
                let len = i32::from_be_bytes(pending[..4].try_into().unwrap()) as usize;
                if pending.len() < len {
                    break;
                }
                let code = i32::from_be_bytes(pending[4..8].try_into().unwrap());
                // SSLRequest / GSSENCRequest are followed by another startup packet.
                started = code != 80_877_103 && code != 80_877_104;
                pending.drain(..len);
            } else {
                if pending.len() < 5 {
                    break;
                }
                let len = i32::from_be_bytes(pending[1..5].try_into().unwrap()) as usize;
                if pending.len() < 1 + len {
                    break;
                }
                match pending[0] {
                    b'S' if since_sync == 0 => {
                        waits.pings.fetch_add(1, Ordering::SeqCst);
                    }
                    b'S' if parsed => {
                        waits.prepares.fetch_add(1, Ordering::SeqCst);
                        (since_sync, parsed) = (0, false);
                    }
                    b'S' | b'Q' => {
                        waits.queries.fetch_add(1, Ordering::SeqCst);
                        since_sync = 0;
                    }
                    b'P' => (since_sync, parsed) = (since_sync + 1, true),
                    _ => since_sync += 1,
                }
                pending.drain(..1 + len);
            }
        }
    }
}

#[tokio::test]
async fn every_task_request_costs_one_round_trip_once_auth_is_cached() {
    let Some(schema) = Schema::create() else {
        return;
    };
    let mut url = reqwest::Url::parse(&base_url()).unwrap();
    let upstream: SocketAddr = format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432)
    )
    .parse()
    .unwrap();
    let (port, waits) = counting_proxy(upstream).await;
    url.set_port(Some(port)).unwrap();
    // Plain TCP so the proxy can read the protocol; the schema as in every e2e test.
    url.set_query(Some(&format!(
        "sslmode=disable&options=-c%20search_path%3D{}",
        schema.name
    )));
    let db_url = url.to_string();

    let env = [
        ("DATABASE_URL", db_url.clone()),
        ("BETTER_AUTH_SECRET", SECRET.to_owned()),
        ("PORT", "0".to_owned()),
    ];
    let env: [(&str, &str); 3] = std::array::from_fn(|i| (env[i].0, env[i].1.as_str()));
    let mut settings = Settings::build(&env, std::path::Path::new("/nonexistent"), None).unwrap();
    // One connection, so that the warm-up prepares every statement on the one that serves.
    settings.database.max_connections = 1;
    // The event reader reads the log when a write is heard of, never on its timer here.
    settings.events.poll_interval_ms = 3_600_000;
    assert!(settings.auth.cache_ttl_secs > 0, "auth lookups are cached");
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    add_user_at(&db_url, "alice").await;

    let http = crate::http_client();
    let token = token_with(SECRET, "alice");
    let call = |method: Method, path: String, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(&token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let create = || {
        call(
            Method::POST,
            "/api/alice/tasks".into(),
            Some(json!({"title": "t"})),
        )
    };

    // Warm up: the user lookup and each statement's first preparation happen once.
    let (status, first) = create().await;
    assert_eq!(status, 201);
    let id = first["id"].as_str().unwrap().to_owned();
    let one = format!("/api/alice/tasks/{id}");
    for (method, path, body) in [
        (Method::GET, "/api/alice/tasks".to_owned(), None),
        (
            Method::GET,
            "/api/alice/tasks?status=pending".to_owned(),
            None,
        ),
        (Method::GET, one.clone(), None),
        (Method::PUT, one.clone(), Some(json!({"title": "u"}))),
        (Method::PATCH, format!("{one}/complete"), None),
    ] {
        assert_eq!(call(method, path, body).await.0, 200);
    }
    let (_, spare) = create().await;
    let spare = format!("/api/alice/tasks/{}", spare["id"].as_str().unwrap());
    assert_eq!(call(Method::DELETE, spare, None).await.0, 204);

    let settle = || async {
        // The release ping runs after the response; let it land before the next request.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    settle().await;
    let mut seen = Vec::new();
    for (what, method, path, body, status) in [
        (
            "list",
            Method::GET,
            "/api/alice/tasks".to_owned(),
            None,
            200,
        ),
        (
            "filtered",
            Method::GET,
            "/api/alice/tasks?status=pending".to_owned(),
            None,
            200,
        ),
        ("get", Method::GET, one.clone(), None, 200),
        (
            "create",
            Method::POST,
            "/api/alice/tasks".to_owned(),
            Some(json!({"title": "v"})),
            201,
        ),
        (
            "update",
            Method::PUT,
            one.clone(),
            Some(json!({"title": "w"})),
            200,
        ),
        (
            "toggle",
            Method::PATCH,
            format!("{one}/complete"),
            None,
            200,
        ),
        ("delete", Method::DELETE, one.clone(), None, 204),
        ("missing", Method::GET, one.clone(), None, 404),
    ] {
        let before = waits.snapshot();
        assert_eq!(call(method, path, body).await.0, status, "{what}");
        settle().await;
        let after = waits.snapshot();
        seen.push((what, [0, 1, 2].map(|i| after[i] - before[i])));
    }
    // [statements run, statements prepared, release pings]. A write also costs, off its
    // request's path, one NOTIFY to the other replicas and one read of the change log by
    // this replica's event reader (under load, one of each serves many writes), each with
    // its connection's release ping.
    assert_eq!(
        seen,
        [
            ("list", [1, 0, 0]),
            // A filtered list is planned with its own values: BEGIN, the caller's lists
            // (setting plan_cache_mode for the transaction), the SELECT of their pages,
            // COMMIT (see `SeaTaskRepository::search`). It asks the pool itself: the
            // connection kept from the last statement goes back, and so does its own.
            ("filtered", [4, 0, 2]),
            ("get", [1, 0, 0]),
            // The insert with its change record, one statement.
            ("create", [1 + 2, 0, 2]),
            // An edit reads the task, applies the domain's rules to the whole of it, and
            // writes it back (with its record) only if its version is unchanged.
            ("update", [2 + 2, 0, 2]),
            ("toggle", [1 + 2, 0, 2]),
            // A delete keeps the task in its deleter's trash: the read that checks the
            // caller's role, then one transaction (begin, lock the task, read its tree,
            // the trash entry, its rows, the change records, the tombstones, the delete,
            // commit).
            ("delete", [10 + 2, 0, 2 + 2]),
            ("missing", [1, 0, 0])
        ],
        "one statement per request (two for an edit, four for a filtered list) once auth is \
         cached and statements are prepared; no release ping for a hot statement"
    );
}
