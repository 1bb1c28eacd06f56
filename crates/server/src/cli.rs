//! Command line: `serve` (default), `migrate`, `healthcheck`, `dev-token`, `openapi`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use todo_domain::{RoleList, User, UserId};

use crate::app::{self, Application};
use crate::settings::{Profile, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "todo-server",
    version,
    about = "A multi-user task API for Better Auth frontends"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Probe this instance's /health/ready on the configured port (for container
    /// HEALTHCHECKs in images without curl): exit 0 when ready, 1 otherwise.
    Healthcheck,
    /// Dev profile only: create the user if needed and print a bearer token for it.
    DevToken {
        /// The user id (Better Auth ids are opaque strings).
        user_id: String,
        /// E-mail of the user when it is created (default: <user-id>@example.com).
        #[arg(long)]
        email: Option<String>,
        /// Display name of the user when it is created (default: the user id).
        #[arg(long)]
        name: Option<String>,
        /// Give the user the admin role.
        #[arg(long)]
        admin: bool,
        /// Token lifetime in hours.
        #[arg(long, default_value_t = 24)]
        hours: u32,
    },
    /// Print the OpenAPI document that /openapi.json serves and exit (needs no database
    /// and no configuration).
    Openapi {
        /// Write the document to this file instead of standard output.
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
        /// Indent it by two spaces (the same document; the committed form, for readable diffs).
        #[arg(long)]
        pretty: bool,
    },
}

/// Runs a command that needs no settings (`openapi`), so it works whatever the
/// environment holds; `None` for every other command.
pub fn run_without_settings(cli: &Cli) -> Option<anyhow::Result<()>> {
    match &cli.command {
        Some(Command::Openapi { out, pretty }) => Some(write_openapi(out.as_deref(), *pretty)),
        _ => None,
    }
}

/// Writes the OpenAPI document, followed by a newline, to `out` or to standard output.
pub fn write_openapi(out: Option<&Path>, pretty: bool) -> anyhow::Result<()> {
    let json = if pretty {
        todo_http::openapi_pretty_json()
    } else {
        todo_http::openapi_json()
    }
    .context("could not serialise the OpenAPI document")?;
    match out {
        Some(path) => std::fs::write(path, format!("{json}\n"))
            .with_context(|| format!("could not write {}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{json}").and_then(|()| stdout.flush()) {
                // A reader that stopped early (`| head`) is not a failure of ours.
                Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(err).context("could not write the OpenAPI document to standard output")
                }
                _ => Ok(()),
            }
        }
    }
}

/// Runs the command with loaded settings.
pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            if settings.uses_dev_secret() {
                tracing::warn!(
                    "USING THE BUILT-IN INSECURE DEV SECRET: anyone can mint tokens. Set BETTER_AUTH_SECRET for anything but local development."
                );
            }
            Application::build(settings)
                .await?
                .run_until_stopped()
                .await
        }
        Command::Healthcheck => {
            let port = settings.http.port;
            match crate::health::probe(port, std::time::Duration::from_secs(3)) {
                Ok(200) => Ok(()),
                Ok(status) => bail!("/health/ready answered {status}"),
                Err(err) => bail!("cannot reach 127.0.0.1:{port}: {err}"),
            }
        }
        Command::Openapi { out, pretty } => write_openapi(out.as_deref(), pretty),
        Command::Migrate => {
            let db = app::connect(&settings).await?;
            app::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::DevToken {
            user_id,
            email,
            name,
            admin,
            hours,
        } => {
            let token = dev_token(&settings, &user_id, email, name, admin, hours).await?;
            println!("{token}");
            Ok(())
        }
    }
}

async fn dev_token(
    settings: &Settings,
    user_id: &str,
    email: Option<String>,
    name: Option<String>,
    admin: bool,
    hours: u32,
) -> anyhow::Result<String> {
    if settings.profile != Profile::Dev {
        bail!("dev-token only works in the dev profile (TODO_PROFILE=dev)");
    }
    let id = UserId::parse(user_id).map_err(|e| anyhow::anyhow!("invalid user id: {e}"))?;
    let Some(secret) = &settings.auth.secret else {
        bail!("no BETTER_AUTH_SECRET configured");
    };
    let db = app::connect(settings).await?;
    app::migrate(&db).await?;
    let db = db.into();
    let services = app::services(settings, &db, app::webhook_io(settings, &db))?;
    let now = chrono::Utc::now();
    let user = User {
        email: email.unwrap_or_else(|| format!("{user_id}@example.com")),
        name: name.unwrap_or_else(|| user_id.to_owned()),
        id: id.clone(),
        roles: RoleList::user(),
        banned: false,
        ban_expires: None,
        created_at: todo_domain::to_stored_precision(now),
    };
    let users = todo_persistence::SeaUserRepository::new(db.clone());
    use todo_application::ports::UserRepository;
    if users
        .create_if_absent(&user)
        .await
        .context("could not create the user")?
    {
        eprintln!("created user {id}");
    }
    if admin && services.admin.promote(&id).await? {
        eprintln!("gave {id} the admin role");
    }
    let issuer =
        todo_auth::Hs256Issuer::new(secret.expose().as_bytes(), app::hs256_settings(settings));
    let expires = now + chrono::TimeDelta::hours(i64::from(hours.max(1)));
    Ok(issuer.issue(&id, now, expires)?)
}
