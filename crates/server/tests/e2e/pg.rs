//! A fresh PostgreSQL schema per test, dropped afterwards.

use std::process::Command;

pub fn base_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema that lives as long as the value.
pub struct Schema {
    pub name: String,
}

fn psql(sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .arg(base_url())
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Runs `sql` on the test database (any schema), which must succeed: its rows, one per
/// line, columns separated by `|`.
pub fn psql_query(sql: &str) -> String {
    let out = Command::new("psql")
        .arg(base_url())
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-t", "-A", "-c", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl Schema {
    /// `None` (with the reason printed) when PostgreSQL is unavailable outside CI;
    /// a failure in CI, where PostgreSQL is required.
    pub fn create() -> Option<Self> {
        let name = format!("e2e_{}", uuid::Uuid::now_v7().simple());
        match psql(&format!("CREATE SCHEMA {name}")) {
            Ok(()) => Some(Self { name }),
            Err(reason) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "PostgreSQL is required in CI but unavailable at {}: {reason}",
                    base_url()
                );
                eprintln!("skipping PostgreSQL end-to-end test: {reason}");
                None
            }
        }
    }

    /// The database URL whose connections use this schema.
    pub fn url(&self) -> String {
        let sep = if base_url().contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}options=-c%20search_path%3D{}",
            base_url(),
            self.name
        )
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = psql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}
