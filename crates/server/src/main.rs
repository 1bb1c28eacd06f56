//! The `todo-server` binary: parse the command line and run it.

use clap::Parser;
use todo_server::cli::{self, Cli};
use todo_server::{Settings, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
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
