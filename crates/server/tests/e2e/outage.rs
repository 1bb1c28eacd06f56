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
        let data = self.dir.join("data");
        let _ = pg_tool(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
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
