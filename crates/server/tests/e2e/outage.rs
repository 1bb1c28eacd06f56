//! A database that goes away and comes back: a throwaway PostgreSQL cluster on a free
//! port (initdb / pg_ctl), never the shared server.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use todo_server::{Application, Settings};

/// A private PostgreSQL cluster, stopped and removed on drop.
struct Cluster {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
}

fn pg_bin() -> Option<PathBuf> {
    let root = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    root.filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .find(|bin| bin.join("initdb").exists())
}

/// Runs a PostgreSQL tool as the `postgres` user when we are root (initdb refuses root).
fn pg_tool(bin: &std::path::Path, tool: &str, args: &[&str]) -> std::process::Output {
    let exe = bin.join(tool);
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut cmd = if is_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.args(args).output().unwrap()
}

impl Cluster {
    /// `None` (with the reason) where PostgreSQL's server binaries are not installed,
    /// outside CI; in CI they are required.
    fn start() -> Option<Self> {
        let Some(bin) = pg_bin() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL server binaries are required in CI"
            );
            eprintln!("skipping: no initdb under /usr/lib/postgresql");
            return None;
        };
        let dir = std::env::temp_dir().join(format!("todo-pg-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status();
        let data = dir.join("data");
        let out = pg_tool(
            &bin,
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Self {
            dir,
            port: std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port(),
            bin,
        };
        cluster.up();
        Some(cluster)
    }

    fn up(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        let data = self.dir.join("data");
        let log = self.dir.join("log");
        let out = pg_tool(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &opts,
                "-w",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn down(&self) {
        self.stop("immediate");
    }

    /// `pg_ctl stop -m <mode>` (`fast`: clients get 57P01 admin_shutdown; `immediate`:
    /// server processes quit at once), waiting until the server is gone.
    fn stop(&self, mode: &str) -> std::process::Output {
        let data = self.dir.join("data");
        pg_tool(
            &self.bin,
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", mode, "-w", "stop"],
        )
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.down();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn a_lost_database_is_a_fast_503_and_service_resumes_by_itself() {
    let Some(pg) = Cluster::start() else { return };
    let secret = "outage-secret-0123456789abcdef0123456789";
    let url = pg.url();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("BETTER_AUTH_SECRET", secret),
        ("PORT", "0"),
    ];
    let mut settings = Settings::build(&env, std::path::Path::new("/nonexistent"), None).unwrap();
    settings.auth.cache_ttl_secs = 0;
    settings.database.acquire_timeout_ms = 1000;
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    crate::served::add_user_at(&url, "alice").await;
    let token = crate::served::token_with(secret, "alice");
    let http = crate::http_client();
    let list = || {
        http.get(format!("{base}/api/alice/tasks"))
            .bearer_auth(&token)
            .timeout(Duration::from_secs(10))
            .send()
    };
    assert_eq!(list().await.unwrap().status(), 200);

    pg.down();
    let started = Instant::now();
    let res = list().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "2");
    assert!(
        waited < Duration::from_secs(5),
        "fails within the acquire timeout, not a hang (took {waited:?})"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["detail"], "the database is unavailable; retry shortly");
    let ready = http
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(
        http.get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    pg.up();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = list().await.unwrap().status();
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "service did not resume (last status {status})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let created = http
        .post(format!("{base}/api/alice/tasks"))
        .bearer_auth(&token)
        .json(&json!({"title": "after the outage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(
        http.get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// What a load round saw.
#[derive(Default)]
struct Tally {
    ok: usize,
    /// 503 with `Retry-After`.
    unavailable: usize,
    /// Anything else: a 500, a 503 without `Retry-After`, a refused request.
    bad: Vec<String>,
}

impl Tally {
    fn add(&mut self, other: Self) {
        self.ok += other.ok;
        self.unavailable += other.unavailable;
        self.bad.extend(other.bad);
    }
}

/// Requests each client sends at most in one round.
const MAX_REQUESTS_PER_CLIENT: usize = 2_000;

/// One client of the load: lists, creates, reads and toggles its own tasks until `stop`
/// (or `MAX_REQUESTS_PER_CLIENT`), and sorts every answer.
async fn client_load(
    http: reqwest::Client,
    base: String,
    token: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    served: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> Tally {
    use std::sync::atomic::Ordering;
    let mut tally = Tally::default();
    let mut mine: Vec<String> = Vec::new();
    for i in 0..MAX_REQUESTS_PER_CLIENT {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let last = mine.last().cloned();
        let req = match (i % 4, last) {
            (1, _) | (_, None) => http
                .post(format!("{base}/api/alice/tasks"))
                .json(&json!({"title": format!("load {i}")})),
            (2, Some(id)) => http.patch(format!("{base}/api/alice/tasks/{id}/complete")),
            (3, Some(id)) => http.get(format!("{base}/api/alice/tasks/{id}")),
            _ => http.get(format!("{base}/api/alice/tasks?limit=20")),
        };
        let what = format!("request {i}");
        let res = match req
            .bearer_auth(&token)
            .timeout(Duration::from_secs(10))
            .send()
            .await
        {
            Ok(res) => res,
            Err(err) => {
                tally.bad.push(format!("{what}: {err}"));
                continue;
            }
        };
        let status = res.status().as_u16();
        let retry_after = res.headers().contains_key("retry-after");
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        match status {
            200..=299 => {
                tally.ok += 1;
                served.fetch_add(1, Ordering::Relaxed);
                if status == 201
                    && let Some(id) = body["id"].as_str()
                {
                    mine.push(id.to_owned());
                }
            }
            503 if retry_after => tally.unavailable += 1,
            _ => tally.bad.push(format!(
                "{what}: {status} (Retry-After: {retry_after}) {body}"
            )),
        }
    }
    tally
}

/// Runs `clients` concurrent clients; once they have been served a little, stops the
/// cluster with `pg_ctl stop -m <mode>`, keeps the load on a moment with the database gone,
/// then stops the load and returns what it saw.
async fn load_through_a_stop(
    pg: &Cluster,
    mode: &str,
    base: &str,
    token: &str,
    clients: usize,
) -> Tally {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let http = crate::http_client();
    let load: Vec<_> = (0..clients)
        .map(|_| {
            tokio::spawn(client_load(
                http.clone(),
                base.to_owned(),
                token.to_owned(),
                stop.clone(),
                served.clone(),
            ))
        })
        .collect();
    let warm = Instant::now() + Duration::from_secs(10);
    while served.load(Ordering::Relaxed) < 100 && Instant::now() < warm {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = tokio::task::block_in_place(|| pg.stop(mode));
    assert!(
        out.status.success(),
        "pg_ctl stop -m {mode}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut tally = Tally::default();
    for client in load {
        tally.add(client.await.unwrap());
    }
    tally
}

/// After the cluster is back: the first success comes within a bounded number of tries,
/// then a burst of concurrent reads and writes all succeed (no dead connection is handed
/// out again).
async fn recovers(base: &str, token: &str) {
    let http = crate::http_client();
    let list = || {
        http.get(format!("{base}/api/alice/tasks?limit=5"))
            .bearer_auth(token)
            .timeout(Duration::from_secs(10))
            .send()
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let res = list().await.unwrap();
        let status = res.status().as_u16();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "while recovering: {status}");
        assert!(res.headers().contains_key("retry-after"));
        assert!(tries < 100, "service did not resume after {tries} tries");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let burst: Vec<_> = (0..16)
        .map(|i| {
            let req = if i % 2 == 0 {
                http.get(format!("{base}/api/alice/tasks?limit=5"))
            } else {
                http.post(format!("{base}/api/alice/tasks"))
                    .json(&json!({"title": format!("after restart {i}")}))
            };
            req.bearer_auth(token)
                .timeout(Duration::from_secs(10))
                .send()
        })
        .collect();
    for (i, res) in join_spawned(burst).await.into_iter().enumerate() {
        let status = res.unwrap().status().as_u16();
        assert!(
            status == 200 || status == 201,
            "burst request {i} after recovery: {status}"
        );
    }
}

/// Runs the futures concurrently (each spawned) and returns their outputs in order.
async fn join_spawned<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_under_load_is_503s_never_500s_and_service_resumes() {
    let Some(pg) = Cluster::start() else { return };
    let started = Instant::now();
    let secret = "restart-secret-0123456789abcdef0123456789";
    let url = pg.url();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("BETTER_AUTH_SECRET", secret),
        ("PORT", "0"),
    ];
    let mut settings = Settings::build(&env, std::path::Path::new("/nonexistent"), None).unwrap();
    settings.auth.cache_ttl_secs = 0;
    settings.database.acquire_timeout_ms = 1000;
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    crate::served::add_user_at(&url, "alice").await;
    let token = crate::served::token_with(secret, "alice");

    for mode in ["fast", "immediate"] {
        let tally = load_through_a_stop(&pg, mode, &base, &token, 4).await;
        eprintln!(
            "stop -m {mode}: {} served, {} × 503 with Retry-After, {} other",
            tally.ok,
            tally.unavailable,
            tally.bad.len()
        );
        assert!(
            tally.bad.is_empty(),
            "stop -m {mode}: every failure must be a 503 with Retry-After; got {} others: {:#?}",
            tally.bad.len(),
            tally.bad.iter().take(10).collect::<Vec<_>>()
        );
        assert!(
            tally.ok > 0,
            "stop -m {mode}: nothing was served before the stop"
        );
        assert!(
            tally.unavailable > 0,
            "stop -m {mode}: the load never met the stopped database"
        );
        tokio::task::block_in_place(|| pg.up());
        recovers(&base, &token).await;
    }
    eprintln!("two restarts under load in {:?}", started.elapsed());
}
