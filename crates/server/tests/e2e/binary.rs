//! The built `todo-server` binary, configured only through its environment.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::pg::Schema;

const BIN: &str = env!("CARGO_BIN_EXE_todo-server");

/// A fresh empty working directory.
pub(crate) fn workdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("todo-e2e-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn command(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub(crate) fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    command(dir, env).args(args).output().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A dev token for `user`, from the binary's `dev-token` command.
pub(crate) fn token(dir: &Path, env: &[(&str, &str)], user: &str) -> String {
    let out = run(dir, env, &["dev-token", user]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
}

impl Server {
    pub(crate) async fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        Self::start_with(dir, env, Stdio::null(), Stdio::inherit()).await
    }

    /// [`Server::start`] with everything it writes (its logs) going to `log`.
    pub(crate) async fn start_logging_to(dir: &Path, env: &[(&str, &str)], log: &Path) -> Self {
        let file = std::fs::File::create(log).unwrap();
        let out = Stdio::from(file.try_clone().unwrap());
        Self::start_with(dir, env, out, Stdio::from(file)).await
    }

    async fn start_with(dir: &Path, env: &[(&str, &str)], stdout: Stdio, stderr: Stdio) -> Self {
        let port = free_port().to_string();
        let mut all = env.to_vec();
        all.push(("PORT", &port));
        let child = command(dir, &all)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap();
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = crate::http_client();
        loop {
            if let Ok(res) = client
                .get(format!("{}/health/ready", server.base))
                .send()
                .await
                && res.status() == 200
            {
                return server;
            }
            assert!(Instant::now() < deadline, "the server did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn get_json(&self, path: &str, token: &str) -> Value {
        crate::http_client()
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Sends SIGTERM and returns whether the process exited successfully.
    pub(crate) fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(Instant::now() < deadline, "the server ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn zero_config_serves_on_sqlite_and_dev_token_works() {
    let dir = workdir();
    let out = run(&dir, &[], &["dev-token", "alice"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT on stdout: {token}");
    assert!(
        dir.join("data/todo.db").exists(),
        "the SQLite file is created"
    );

    let server = Server::start(&dir, &[]).await;
    let http = crate::http_client();
    let health: Value = http
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({"status": "ok"}));
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let probe = run(&dir, &[("PORT", &port)], &["healthcheck"]);
    assert!(
        probe.status.success(),
        "healthcheck on a ready server: {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let res = http
        .post(format!("{}/api/alice/tasks", server.base))
        .bearer_auth(&token)
        .json(&json!({"title": "from the binary"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let list = server.get_json("/api/alice/tasks", &token).await;
    assert_eq!(list[0]["title"], "from the binary");
    let docs = http
        .get(format!("{}/docs/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    assert!(
        server.terminate(),
        "SIGTERM ends the server with exit code 0"
    );
    let probe = run(&dir, &[("PORT", &port)], &["healthcheck"]);
    assert!(
        !probe.status.success(),
        "healthcheck fails once the server is gone"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn admin_dev_tokens_open_admin_routes() {
    let dir = workdir();
    let out = run(
        &dir,
        &[],
        &[
            "dev-token",
            "root",
            "--admin",
            "--email",
            "root@example.org",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let server = Server::start(&dir, &[]).await;
    let users = server.get_json("/api/admin/users", &token).await;
    assert_eq!(users[0]["email"], "root@example.org");
    assert_eq!(users[0]["role"], "user,admin");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn production_refuses_to_start_without_a_secret() {
    let dir = workdir();
    let out = run(&dir, &[("TODO_PROFILE", "production")], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("BETTER_AUTH_SECRET"), "{stderr}");
    let out = run(
        &dir,
        &[
            ("TODO_PROFILE", "production"),
            ("BETTER_AUTH_SECRET", "0123456789abcdef0123456789abcdef"),
        ],
        &["dev-token", "alice"],
    );
    assert!(!out.status.success(), "no dev tokens in production");
    assert!(String::from_utf8_lossy(&out.stderr).contains("dev profile"));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn bad_configuration_names_the_key() {
    let dir = workdir();
    let out = run(&dir, &[("PORT", "eighty")], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORT"));
    let out = run(&dir, &[("DATABASE_URL", "mysql://x@y/z")], &["migrate"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn openapi_prints_the_served_document_without_a_database_or_configuration() {
    let dir = workdir();
    // Settings that would stop any other command: the document needs none of them.
    let env = [("TODO_PROFILE", "production"), ("PORT", "eighty")];
    let out = run(&dir, &env, &["openapi"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let served = todo_http::openapi_json().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{served}\n")
    );

    let file = dir.join("openapi.json");
    let out = run(
        &dir,
        &env,
        &["openapi", "--pretty", "--out", file.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "--out writes nothing to stdout");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written, serde_json::from_str::<Value>(&served).unwrap());
    assert_eq!(written["openapi"], "3.1.0");
    for path in [
        "/api/me",
        "/api/{user_id}/tasks",
        "/api/{user_id}/tasks/{task_id}",
        "/api/{user_id}/tasks/{task_id}/complete",
        "/api/{user_id}/tasks/{task_id}/move",
        "/api/admin/users",
    ] {
        assert!(
            written["paths"][path].is_object(),
            "{path} is in the document"
        );
    }
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(entries.len(), 1, "no database file was created");

    let out = run(
        &dir,
        &[],
        &["openapi", "--out", "/nonexistent/dir/openapi.json"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/dir/openapi.json"));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn the_binary_serves_postgres_from_the_seed_environment() {
    let Some(schema) = Schema::create() else {
        return;
    };
    let dir = workdir();
    let url = schema.url();
    let env = [
        ("TODO_PROFILE", "production"),
        ("DATABASE_URL", url.as_str()),
        ("BETTER_AUTH_SECRET", "0123456789abcdef0123456789abcdef"),
    ];
    let out = run(&dir, &env, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(&dir, &env).await;
    // No such user yet: a valid token is still refused.
    let now = chrono::Utc::now();
    let token = todo_auth::Hs256Issuer::new(
        b"0123456789abcdef0123456789abcdef",
        todo_auth::Hs256Settings::default(),
    )
    .issue(
        &todo_domain::UserId::parse("alice").unwrap(),
        now,
        now + chrono::TimeDelta::hours(1),
    )
    .unwrap();
    let res = crate::http_client()
        .get(format!("{}/api/alice/tasks", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert!(server.terminate());
    std::fs::remove_dir_all(&dir).ok();
}

/// One HTTP/1.1 response read off a raw connection: its head (lower-cased header names)
/// and body, or `None` when the connection ended before a whole response arrived.
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn read_response(stream: &mut std::net::TcpStream) -> Option<RawResponse> {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    Some(RawResponse {
        status,
        headers,
        body,
    })
}

/// Reads until the server closes the connection; `None` when it is still open at `deadline`.
fn read_until_closed(stream: &mut std::net::TcpStream, deadline: Instant) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match stream.read(&mut chunk) {
            Ok(0) => return Some(out),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(out),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None;
            }
            Err(e) => panic!("reading a stalled connection: {e}"),
        }
    }
}

#[tokio::test]
async fn stalled_request_bodies_are_cut_off_while_health_keeps_answering() {
    use std::io::Write;
    const STALLED: usize = 300;
    const BODY_TIMEOUT_MS: u64 = 1000;
    let dir = workdir();
    let out = run(&dir, &[], &["dev-token", "slowpoke"]);
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let timeout = BODY_TIMEOUT_MS.to_string();
    let server = Server::start(&dir, &[("TODO__HTTP__BODY_TIMEOUT_MS", &timeout)]).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    // A valid caller announces 60 000 bytes of body and sends one.
    let request = format!(
        "POST /api/slowpoke/tasks HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{{"
    );
    let mut stalled = Vec::with_capacity(STALLED);
    for _ in 0..STALLED {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        stalled.push(stream);
    }
    let sent = Instant::now();
    let http = crate::http_client();
    let health = http
        .get(format!("{}/health", server.base))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("/health answers while hundreds of bodies are stalled");
    assert_eq!(health.status(), 200);
    // Closed (after a 408, or plainly) within the body timeout plus a generous margin.
    let deadline = sent + Duration::from_millis(BODY_TIMEOUT_MS) + Duration::from_secs(10);
    for (i, stream) in stalled.iter_mut().enumerate() {
        let reply = read_until_closed(stream, deadline).unwrap_or_else(|| {
            panic!("stalled connection {i} is still open after the body timeout and a margin")
        });
        if !reply.is_empty() {
            let text = String::from_utf8_lossy(&reply);
            assert!(text.starts_with("HTTP/1.1 408 "), "connection {i}: {text}");
            assert!(text.contains("application/problem+json"), "{text}");
            assert!(
                text.contains("\"detail\":\"the request body did not arrive"),
                "{text}"
            );
        }
    }
    let health = http
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(server.terminate());
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn after_sigterm_kept_alive_connections_get_answers_that_close_them() {
    use std::io::Write;
    const KEPT_ALIVE: usize = 8;
    let dir = workdir();
    // The readiness delay: the window in which clients learn to move on.
    let server = Server::start(&dir, &[("TODO__HTTP__SHUTDOWN_DELAY_MS", "3000")]).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut connections = Vec::with_capacity(KEPT_ALIVE);
    for _ in 0..KEPT_ALIVE {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let res = read_response(&mut stream).expect("a response before SIGTERM");
        assert_eq!(res.status, 200);
        assert_ne!(res.header("connection"), Some("close"), "kept alive");
        connections.push(stream);
    }
    let pid = server.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    // Shutdown has begun once readiness says so (on a connection of its own).
    let http = crate::http_client();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = http
            .get(format!("{}/health/ready", server.base))
            .send()
            .await
            .unwrap();
        if res.status() == 503 {
            break;
        }
        assert!(Instant::now() < deadline, "readiness never turned 503");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for (i, stream) in connections.iter_mut().enumerate() {
        let path = if i % 2 == 0 {
            "/health"
        } else {
            "/health/ready"
        };
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
            .unwrap();
        let res = read_response(stream)
            .unwrap_or_else(|| panic!("connection {i} ended without a response after SIGTERM"));
        assert!(
            res.status == 200 || res.status == 503,
            "connection {i}: {}",
            res.status
        );
        assert!(!res.body.is_empty(), "connection {i}: a complete body");
        assert_eq!(
            res.header("connection"),
            Some("close"),
            "connection {i}: the answer tells the client to move on"
        );
    }
    assert!(server.terminate(), "exit code 0 after the drain");
    std::fs::remove_dir_all(&dir).ok();
}
