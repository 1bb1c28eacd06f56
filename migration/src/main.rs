//! `todo-migration [up|down [N]|status|fresh]` against `DATABASE_URL`
//! (default: the dev SQLite file `sqlite://data/todo.db?mode=rwc`).

use std::process::ExitCode;

use sea_orm_migration::MigratorTrait;
use sea_orm_migration::sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use todo_migration::{Migrator, normalize_database_url, up_locked};

const USAGE: &str = "\
usage: todo-migration [up | down [N] | status | fresh]

  up        apply every pending migration (the default; under an advisory lock on PostgreSQL)
  down [N]  roll back the last N migrations (default 1); Better Auth's tables are never dropped
  status    list every migration as applied or pending
  fresh     DROP EVERY TABLE of the database (Better Auth's too), then apply every migration

DATABASE_URL names the database (default: sqlite://data/todo.db?mode=rwc).";

const DEFAULT_URL: &str = "sqlite://data/todo.db?mode=rwc";

enum Command {
    Up,
    Down(u32),
    Status,
    Fresh,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if matches!(
        args.first().map(String::as_str),
        Some("-h" | "--help" | "help")
    ) {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("todo-migration: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse(args: &[String]) -> Result<Command, String> {
    let command = match args {
        [] => Command::Up,
        [c] if c == "up" => Command::Up,
        [c] if c == "status" => Command::Status,
        [c] if c == "fresh" => Command::Fresh,
        [c] if c == "down" => Command::Down(1),
        [c, n] if c == "down" => Command::Down(
            n.parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("`{n}` is not a positive number\n\n{USAGE}"))?,
        ),
        _ => return Err(format!("unknown command `{}`\n\n{USAGE}", args.join(" "))),
    };
    Ok(command)
}

async fn run(args: &[String]) -> Result<(), String> {
    let command = parse(args)?;
    let raw = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let url = normalize_database_url(&raw).map_err(|e| format!("DATABASE_URL: {e}"))?;
    let db = open(url).await?;
    let outcome = execute(&db, command).await;
    db.close().await.ok();
    outcome
}

async fn open(url: String) -> Result<DatabaseConnection, String> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .and_then(|p| p.split('?').next())
        && let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the directory {}: {e}", dir.display()))?;
    }
    let mut options = ConnectOptions::new(url.clone());
    options
        .sqlx_logging(false)
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(10));
    let secret_free = |e: DbErr| todo_migration::redact_url_secrets(&e.to_string(), &url);
    Database::connect(options)
        .await
        .map_err(|e| format!("cannot connect to the database: {}", secret_free(e)))
}

async fn execute(db: &DatabaseConnection, command: Command) -> Result<(), String> {
    let failed = |what: &str, e: DbErr| format!("{what} failed: {e}");
    match command {
        Command::Up => {
            let before = todo_migration::pending(db)
                .await
                .map_err(|e| failed("up", e))?;
            up_locked(db).await.map_err(|e| failed("up", e))?;
            println!("up: done ({before} migration(s) were pending)");
        }
        Command::Down(n) => {
            Migrator::down(db, Some(n))
                .await
                .map_err(|e| failed("down", e))?;
            let pending = todo_migration::pending(db)
                .await
                .map_err(|e| failed("down", e))?;
            println!("down: rolled back up to {n} migration(s); {pending} now pending");
        }
        Command::Status => {
            let migrations = Migrator::get_migration_with_status_read_only(db)
                .await
                .map_err(|e| failed("status", e))?;
            for m in &migrations {
                println!("{:<40} {}", m.name(), m.status());
            }
        }
        Command::Fresh => {
            Migrator::fresh(db).await.map_err(|e| failed("fresh", e))?;
            println!("fresh: every table dropped and every migration applied");
        }
    }
    Ok(())
}
