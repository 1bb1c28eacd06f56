//! The lean reference server of the bench endpoints: what the same SQL costs behind the
//! least HTTP and JSON machinery that still does the same job. It serves the requests of
//! `bench/wrk/` and `bench/instructions.py` with our statements (the SQL of bench/run.py's
//! pgbench scripts; a write appends its change record in its own statement, as ours does;
//! a create does not count the list's open tasks, as ours does not far from the limit),
//! our task JSON, and the same credential check: an HS256 token verified once and then
//! remembered for a few seconds with its user's row. Paths are split by hand, each actix
//! worker has its own few connections with every statement prepared, rows are read by
//! position and written through serde. Nothing else: no filters, no sorts, no ETags, no
//! rate limits, no logs. Not a product, and never part of `make test`.
//!
//! Environment: `DATABASE_URL` (PostgreSQL), `BETTER_AUTH_SECRET`, `HOST`, `PORT`,
//! `LEAN_WORKERS` (2), `LEAN_CONNECTIONS` (10, shared out between the workers),
//! `LEAN_REMEMBERED_SECS` (5).

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::web::{Bytes, Data};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use tokio_postgres::{Client, NoTls, Row, Statement};
use uuid::Uuid;

/// The task columns every read selects, in this order, then the subtask count.
const COLUMNS: &str = "id, user_id, title, description, completed, created_at, updated_at, \
     priority, tags, due_at, due_all_day, remind_at, completed_at, recurrence, time_zone, \
     occurrences_done, version, position, series_time, list_id, parent_id, assignee_id";

/// The columns of a write's change record, as the service appends it in the write's
/// statement (the live-changes issue): the same SQL costs the same in PostgreSQL.
const LOG: &str = "kind, list_id, task_id, actor_id, subject_id, version, fields, at";

/// How long a verified token (and its user) is remembered, as the service's default
/// (`LEAN_REMEMBERED_SECS` sets it, as `TODO__AUTH__CACHE_TTL_SECS` does the service's).
const REMEMBERED_SECS: u64 = 5;

struct Statements {
    list: Statement,
    get: Statement,
    create: Statement,
    toggle: Statement,
    inbox: Statement,
    user: Statement,
}

struct Connection {
    client: Client,
    s: Statements,
}

/// One worker's connections, used in turn (tokio-postgres pipelines the queries of
/// concurrent requests on one connection).
struct Pool {
    connections: Vec<Connection>,
    next: Cell<usize>,
}

impl Pool {
    fn get(&self) -> &Connection {
        let i = self.next.get();
        self.next.set((i + 1) % self.connections.len());
        &self.connections[i]
    }
}

struct Settings {
    database_url: String,
    connections: usize,
    key: jsonwebtoken::DecodingKey,
    remembered: Duration,
}

/// Verified tokens and Inbox ids, shared by the workers.
#[derive(Default)]
struct Caches {
    tokens: Mutex<HashMap<String, (String, Instant)>>,
    inboxes: Mutex<HashMap<String, Uuid>>,
}

thread_local! {
    static POOL: Rc<tokio::sync::OnceCell<Pool>> = Rc::new(tokio::sync::OnceCell::new());
}

async fn connect(settings: &Settings) -> Result<Pool, tokio_postgres::Error> {
    let task = format!(
        "SELECT {}, t.subtasks FROM list_member m CROSS JOIN LATERAL (SELECT {}, \
         subtask_count AS subtasks FROM task WHERE task.list_id = m.list_id \
         ORDER BY created_at, id LIMIT $1) t WHERE m.user_id = (SELECT $2::text) \
         AND NOT m.list_archived ORDER BY t.created_at, t.id LIMIT $3",
        prefixed("t"),
        prefixed("task")
    );
    let mut connections = Vec::new();
    for _ in 0..settings.connections {
        let (client, connection) = tokio_postgres::connect(&settings.database_url, NoTls).await?;
        actix_web::rt::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("connection: {e}");
            }
        });
        let s = Statements {
            list: client.prepare(&task).await?,
            get: client
                .prepare(&format!(
                    "SELECT {}, subtask_count, m.role FROM task JOIN list_member m \
                     ON m.list_id = task.list_id AND m.user_id = $1 WHERE task.id = $2 LIMIT 1",
                    prefixed("task")
                ))
                .await?,
            create: client
                .prepare(&format!(
                    "WITH w AS (INSERT INTO task ({COLUMNS}, title_key, search_key, tags_key) \
                     VALUES ($1, $2, $3, NULL, false, $4, $4, NULL, '', NULL, false, NULL, NULL, \
                     NULL, NULL, 0, 1, $5, NULL, $6, NULL, NULL, $7, $8, '') \
                     RETURNING id, list_id, version) \
                     INSERT INTO change_log ({LOG}) SELECT 'task.created', w.list_id, w.id, \
                     $2, NULL, w.version, '', $4 FROM w"
                ))
                .await?,
            toggle: client
                .prepare(&format!(
                    "WITH w AS (UPDATE task SET completed = NOT completed, \
                     completed_at = CASE WHEN completed THEN NULL ELSE $3::timestamptz END, \
                     updated_at = $3, version = version + 1 \
                     WHERE id = $1 AND list_id IN (SELECT m.list_id FROM list_member m \
                     WHERE m.user_id = $2 AND m.role <> 'viewer') \
                     AND (completed OR recurrence IS NULL) AND (subtask_count = 0 OR NOT EXISTS \
                     (SELECT 1 FROM task c WHERE c.parent_id = task.id AND NOT c.completed)) \
                     RETURNING {COLUMNS}, subtask_count), \
                     c AS (INSERT INTO change_log ({LOG}) SELECT CASE WHEN w.completed \
                     THEN 'task.completed' ELSE 'task.updated' END, w.list_id, w.id, $2, NULL, \
                     w.version, 'completed', $3 FROM w) SELECT * FROM w"
                ))
                .await?,
            inbox: client
                .prepare("SELECT id FROM task_list WHERE inbox_of = $1")
                .await?,
            user: client
                .prepare(r#"SELECT role FROM "user" WHERE id = $1"#)
                .await?,
        };
        connections.push(Connection { client, s });
    }
    Ok(Pool {
        connections,
        next: Cell::new(0),
    })
}

fn prefixed(table: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("{table}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A timestamp as the service writes it: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
struct Ts(DateTime<Utc>);

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use chrono::{Datelike, Timelike};
        let t = self.0;
        let mut out = [0u8; 27];
        let mut put = |at: usize, n: u32, width: usize| {
            let mut n = n;
            for i in (at..at + width).rev() {
                out[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, u32::try_from(t.year()).unwrap_or(0), 4);
        put(5, t.month(), 2);
        put(8, t.day(), 2);
        put(11, t.hour(), 2);
        put(14, t.minute(), 2);
        put(17, t.second(), 2);
        put(20, t.nanosecond() / 1000 % 1_000_000, 6);
        for (i, c) in [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (26, b'Z'),
        ] {
            out[i] = c;
        }
        s.serialize_str(std::str::from_utf8(&out).unwrap_or_default())
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Due {
    At(Ts),
    Date(String),
}

/// A task's JSON, with the service's fields, borrowed from its row.
#[derive(Serialize)]
struct TaskJson<'a> {
    id: Uuid,
    user_id: &'a str,
    title: &'a str,
    description: Option<&'a str>,
    completed: bool,
    created_at: Ts,
    updated_at: Ts,
    priority: Option<&'static str>,
    tags: Vec<&'a str>,
    due: Option<Due>,
    remind_at: Option<Ts>,
    completed_at: Option<Ts>,
    recurrence: Option<&'a str>,
    time_zone: Option<&'a str>,
    version: i64,
    position: &'a str,
    list_id: Uuid,
    parent_id: Option<Uuid>,
    subtask_count: i64,
    assignee_id: Option<&'a str>,
}

fn task_json(row: &Row) -> TaskJson<'_> {
    let tags: &str = row.get(8);
    let due = row.get::<_, Option<DateTime<Utc>>>(9).map(|at| {
        if row.get::<_, bool>(10) {
            Due::Date(at.format("%Y-%m-%d").to_string())
        } else {
            Due::At(Ts(at))
        }
    });
    TaskJson {
        id: row.get(0),
        user_id: row.get(1),
        title: row.get(2),
        description: row.get(3),
        completed: row.get(4),
        created_at: Ts(row.get(5)),
        updated_at: Ts(row.get(6)),
        priority: row.get::<_, Option<i16>>(7).map(|p| match p {
            1 => "low",
            2 => "medium",
            _ => "high",
        }),
        tags: if tags.is_empty() {
            Vec::new()
        } else {
            tags.split('\n').collect()
        },
        due,
        remind_at: row.get::<_, Option<DateTime<Utc>>>(11).map(Ts),
        completed_at: row.get::<_, Option<DateTime<Utc>>>(12).map(Ts),
        recurrence: row.get(13),
        time_zone: row.get(14),
        version: row.get(16),
        position: row.get(17),
        list_id: row.get(19),
        parent_id: row.get(20),
        subtask_count: row.get(22),
        assignee_id: row.get(21),
    }
}

fn json(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(body)
}

fn detail(status: StatusCode, text: &str) -> HttpResponse {
    json(
        status,
        serde_json::to_vec(&serde_json::json!({ "detail": text })).unwrap_or_default(),
    )
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
}

/// The caller, if the bearer token is valid and names a user who exists.
async fn caller(
    req: &HttpRequest,
    settings: &Settings,
    caches: &Caches,
    c: &Connection,
) -> Option<String> {
    let token = req
        .headers()
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let now = Instant::now();
    if let Some((sub, until)) = caches.tokens.lock().ok()?.get(token)
        && *until > now
    {
        return Some(sub.clone());
    }
    let claims = jsonwebtoken::decode::<Claims>(
        token,
        &settings.key,
        &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
    )
    .ok()?
    .claims;
    c.client.query_opt(&c.s.user, &[&claims.sub]).await.ok()??;
    caches.tokens.lock().ok()?.insert(
        token.to_owned(),
        (claims.sub.clone(), now + settings.remembered),
    );
    Some(claims.sub)
}

/// `limit=` of the query, 1–1000 (1000 without one).
fn limit(query: &str) -> Option<i64> {
    for pair in query.split('&') {
        if let Some(v) = pair.strip_prefix("limit=") {
            return v.parse().ok().filter(|n| (1..=1000).contains(n));
        }
    }
    Some(1000)
}

#[derive(Deserialize)]
struct NewTask {
    title: String,
}

/// A position after every earlier one: the time in base 62, as long as the service's.
fn position(now: DateTime<Utc>) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = u128::try_from(now.timestamp_micros()).unwrap_or(0) << 64;
    let mut out = [b'0'; 33];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(
    req: HttpRequest,
    body: Bytes,
    settings: Data<Settings>,
    caches: Data<Caches>,
) -> HttpResponse {
    if req.path() == "/health/ready" {
        return HttpResponse::Ok().finish();
    }
    let cell = POOL.with(Rc::clone);
    let pool = match cell.get_or_try_init(|| connect(&settings)).await {
        Ok(pool) => pool,
        Err(e) => return detail(StatusCode::SERVICE_UNAVAILABLE, &format!("{e:?}")),
    };
    let c = pool.get();
    let mut parts = req.path().trim_start_matches('/').split('/');
    let (Some("api"), Some(user), Some("tasks")) = (parts.next(), parts.next(), parts.next())
    else {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    };
    let task: Option<&str> = parts.next();
    let action: Option<&str> = parts.next();
    let Some(me) = caller(&req, &settings, &caches, c).await else {
        return detail(StatusCode::UNAUTHORIZED, "Not authenticated");
    };
    if me != user {
        return detail(StatusCode::FORBIDDEN, "Not allowed");
    }
    let method = req.method().as_str();
    let result = match (method, task, action) {
        ("GET", None, None) => list(c, user, req.query_string()).await,
        ("POST", None, None) => create(c, &caches, user, &body).await,
        ("GET", Some(id), None) => get(c, user, id).await,
        ("PATCH", Some(id), Some("complete")) => toggle(c, user, id).await,
        _ => Ok(detail(StatusCode::NOT_FOUND, "Not Found")),
    };
    result.unwrap_or_else(|e| detail(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))
}

type Answer = Result<HttpResponse, Box<dyn std::error::Error>>;

async fn list(c: &Connection, user: &str, query: &str) -> Answer {
    let Some(limit) = limit(query) else {
        return Ok(detail(StatusCode::UNPROCESSABLE_ENTITY, "limit: 1 to 1000"));
    };
    let rows = c
        .client
        .query(&c.s.list, &[&(limit + 1), &user, &(limit + 1)])
        .await?;
    let shown = rows.len().min(usize::try_from(limit)?);
    let tasks: Vec<TaskJson<'_>> = rows[..shown].iter().map(task_json).collect();
    let mut body = Vec::with_capacity(64 + tasks.len() * 560);
    serde_json::to_writer(&mut body, &tasks)?;
    Ok(json(StatusCode::OK, body))
}

async fn get(c: &Connection, user: &str, id: &str) -> Answer {
    let Ok(id) = Uuid::parse_str(id) else {
        return Ok(detail(StatusCode::UNPROCESSABLE_ENTITY, "task_id: a UUID"));
    };
    match c.client.query_opt(&c.s.get, &[&user, &id]).await? {
        Some(row) => Ok(json(StatusCode::OK, serde_json::to_vec(&task_json(&row))?)),
        None => Ok(detail(StatusCode::NOT_FOUND, "Task not found")),
    }
}

async fn toggle(c: &Connection, user: &str, id: &str) -> Answer {
    let Ok(id) = Uuid::parse_str(id) else {
        return Ok(detail(StatusCode::UNPROCESSABLE_ENTITY, "task_id: a UUID"));
    };
    let now = Utc::now();
    match c.client.query_opt(&c.s.toggle, &[&id, &user, &now]).await? {
        Some(row) => Ok(json(StatusCode::OK, serde_json::to_vec(&task_json(&row))?)),
        None => Ok(detail(StatusCode::NOT_FOUND, "Task not found")),
    }
}

async fn create(c: &Connection, caches: &Caches, user: &str, body: &[u8]) -> Answer {
    let Ok(new) = serde_json::from_slice::<NewTask>(body) else {
        return Ok(detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a JSON object with a title",
        ));
    };
    let title = new.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Ok(detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "title: 1 to 200 characters",
        ));
    }
    let cached = caches
        .inboxes
        .lock()
        .ok()
        .and_then(|m| m.get(user).copied());
    let list = match cached {
        Some(list) => list,
        None => {
            let Some(row) = c.client.query_opt(&c.s.inbox, &[&user]).await? else {
                return Ok(detail(StatusCode::INTERNAL_SERVER_ERROR, "no Inbox"));
            };
            let list: Uuid = row.get(0);
            if let Ok(mut m) = caches.inboxes.lock() {
                m.insert(user.to_owned(), list);
            }
            list
        }
    };
    let id = Uuid::now_v7();
    let now = Utc::now();
    let position = position(now);
    let key = title.to_lowercase();
    let search = format!("{key}\n");
    let inserted = c
        .client
        .execute(
            &c.s.create,
            &[&id, &user, &title, &now, &position, &list, &key, &search],
        )
        .await?;
    if inserted == 0 {
        return Ok(detail(StatusCode::UNPROCESSABLE_ENTITY, "the list is full"));
    }
    let task = TaskJson {
        id,
        user_id: user,
        title,
        description: None,
        completed: false,
        created_at: Ts(now),
        updated_at: Ts(now),
        priority: None,
        tags: Vec::new(),
        due: None,
        remind_at: None,
        completed_at: None,
        recurrence: None,
        time_zone: None,
        version: 1,
        position: &position,
        list_id: list,
        parent_id: None,
        subtask_count: 0,
        assignee_id: None,
    };
    Ok(json(StatusCode::CREATED, serde_json::to_vec(&task)?))
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn main() -> std::io::Result<()> {
    let workers: usize = env("LEAN_WORKERS", "2").parse().unwrap_or(2).max(1);
    let connections: usize = env("LEAN_CONNECTIONS", "10").parse().unwrap_or(10);
    let settings = Data::new(Settings {
        database_url: env(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
        connections: connections.div_ceil(workers).max(1),
        key: jsonwebtoken::DecodingKey::from_secret(env("BETTER_AUTH_SECRET", "").as_bytes()),
        remembered: Duration::from_secs(
            env("LEAN_REMEMBERED_SECS", "")
                .parse()
                .unwrap_or(REMEMBERED_SECS),
        ),
    });
    let caches = Data::new(Caches::default());
    let address = (
        env("HOST", "127.0.0.1"),
        env("PORT", "8001").parse().unwrap_or(8001),
    );
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(settings.clone())
                .app_data(caches.clone())
                .default_service(actix_web::web::to(handle))
        })
        .workers(workers)
        .bind(address)?
        .run()
        .await
    })
}
