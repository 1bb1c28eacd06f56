//! `todo-migration [up|down [N]|status|fresh]` against `DATABASE_URL`
//! (default: the dev SQLite file `sqlite://data/todo.db?mode=rwc`).

use std::process::ExitCode;

use sea_orm_migration::MigratorTrait;
use sea_orm_migration::sea_orm::{ConnectOptions, Database};
use todo_migration::{Migrator, normalize_database_url, up_locked};

const USAGE: &str = "usage: todo-migration [up | down [N] | status | fresh]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[String]) -> Result<(), String> {
    let command = args.first().map_or("up", String::as_str);
    if matches!(command, "-h" | "--help" | "help") {
        println!("{USAGE}");
        return Ok(());
    }
    let raw = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "sqlite://data/todo.db?mode=rwc".to_owned());
    let url = normalize_database_url(&raw)?;
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .and_then(|p| p.split('?').next())
        && let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut options = ConnectOptions::new(url);
    options.sqlx_logging(false);
    let db = Database::connect(options)
        .await
        .map_err(|e| format!("cannot connect to DATABASE_URL: {e}"))?;
    let outcome = match command {
        "up" => up_locked(&db).await,
        "down" => {
            let steps = match args.get(1) {
                Some(n) => Some(
                    n.parse::<u32>()
                        .map_err(|_| format!("`{n}` is not a number\n{USAGE}"))?,
                ),
                None => Some(1),
            };
            Migrator::down(&db, steps).await
        }
        "status" => Migrator::status(&db).await.map(|()| {
            // status logs through tracing; print a plain summary too.
        }),
        "fresh" => Migrator::fresh(&db).await,
        other => return Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    outcome.map_err(|e| format!("{command} failed: {e}"))?;
    if command == "status" {
        let pending = todo_migration::pending(&db)
            .await
            .map_err(|e| e.to_string())?;
        println!("{pending} pending migration(s)");
    } else {
        println!("{command}: done");
    }
    Ok(())
}
