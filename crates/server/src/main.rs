//! The `todo-server` binary: parse the command line and run it.

use clap::Parser;
use todo_server::cli::{self, Cli};
use todo_server::{Settings, telemetry};

/// mimalloc serves the small, short-lived allocations of a request (its futures, strings,
/// rows and headers) from per-thread free lists in a few dozen instructions, where glibc's
/// allocator spends ~150 per allocation and merges its fast bins before every one above
/// 1 KB: docs/performance.md, *The allocator*.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(result) = cli::run_without_settings(&cli) {
        return match result {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: {err:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("error: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init(settings.log.format, std::io::stderr);
    match cli::run(cli, settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "fatal");
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
