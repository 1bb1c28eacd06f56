//! Database URLs as the original service accepted them, made ones sqlx understands.

/// Turns the database URLs the original service accepted into ones sqlx understands.
///
/// - `postgresql+asyncpg://`, `postgresql+psycopg://`, `postgresql://`, `postgres://`
///   → `postgres://`; asyncpg's `ssl=<mode>` becomes `sslmode=<mode>`; Prisma's
///   `pgbouncer=true` (a hint for drivers that must then avoid named prepared statements)
///   is accepted and dropped: PgBouncer in transaction mode needs
///   `max_prepared_statements` instead (docs/deployment.md).
/// - `sqlite+aiosqlite:///x.db`, `sqlite:///x.db` (SQLAlchemy) and `sqlite://x.db` →
///   `sqlite://x.db?mode=rwc` (created when missing) unless a `mode` is given;
///   `sqlite::memory:` stays as it is.
///
/// The error never repeats the URL (it may hold a password).
pub fn normalize_database_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let (scheme, rest) = raw
        .split_once("://")
        .or_else(|| raw.split_once(':').filter(|(s, _)| *s == "sqlite"))
        .ok_or_else(|| "DATABASE_URL must look like postgres://… or sqlite://…".to_owned())?;
    let scheme = scheme.to_ascii_lowercase();
    match scheme.split('+').next().unwrap_or_default() {
        "postgres" | "postgresql" => Ok(format!("postgres://{}", rename_ssl_param(rest))),
        "sqlite" => {
            if rest == ":memory:" || rest.starts_with(":memory:") {
                return Ok(format!("sqlite:{rest}"));
            }
            let path = if scheme.contains('+') {
                // SQLAlchemy: sqlite+driver:///relative.db, sqlite+driver:////abs/path.db.
                rest.strip_prefix('/').unwrap_or(rest)
            } else if rest.starts_with("/./") || rest.starts_with("/../") {
                // SQLAlchemy's relative form without a driver: sqlite:///./todo.db.
                rest.get(1..).unwrap_or(rest)
            } else {
                // sqlx: sqlite://relative.db, sqlite:///abs/path.db.
                rest
            };
            if path.is_empty() {
                return Err("DATABASE_URL names no SQLite file".to_owned());
            }
            if path.contains("mode=") {
                Ok(format!("sqlite://{path}"))
            } else if path.contains('?') {
                Ok(format!("sqlite://{path}&mode=rwc"))
            } else {
                Ok(format!("sqlite://{path}?mode=rwc"))
            }
        }
        other => Err(format!(
            "DATABASE_URL uses the unsupported scheme `{other}`; use postgres:// or sqlite://"
        )),
    }
}

/// `text` (typically a driver's error message) with every secret of the database URL
/// `url` (the password of its user-info part and any `password=` query parameter, as
/// written and percent-decoded) replaced by `***`, so that it can be logged or shown.
#[must_use]
pub fn redact_url_secrets(text: &str, url: &str) -> String {
    let mut secrets: Vec<String> = Vec::new();
    if let Some((_, rest)) = url.split_once("://") {
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
        {
            secrets.push(password.to_owned());
        }
    }
    if let Some((_, query)) = url.split_once('?') {
        secrets.extend(
            query
                .split('&')
                .filter_map(|p| p.strip_prefix("password="))
                .map(str::to_owned),
        );
    }
    let decoded: Vec<String> = secrets.iter().map(|s| percent_decode(s)).collect();
    secrets.extend(decoded);
    // Longest first, so that a secret containing another is replaced whole.
    secrets.retain(|s| !s.is_empty());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.iter().fold(text.to_owned(), |text, secret| {
        text.replace(secret.as_str(), "***")
    })
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn rename_ssl_param(rest: &str) -> String {
    let Some((base, query)) = rest.split_once('?') else {
        return rest.to_owned();
    };
    let params: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("pgbouncer="))
        .map(|p| match p.strip_prefix("ssl=") {
            Some(mode) => format!("sslmode={mode}"),
            None => p.to_owned(),
        })
        .collect();
    if params.is_empty() {
        return base.to_owned();
    }
    format!("{base}?{}", params.join("&"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::normalize_database_url as n;

    #[test]
    fn postgres_forms_are_normalised() {
        assert_eq!(
            n("postgresql+asyncpg://u:p@db.example.com/app?sslmode=require").as_deref(),
            Ok("postgres://u:p@db.example.com/app?sslmode=require")
        );
        assert_eq!(
            n("postgresql+asyncpg://u:p@h/app?ssl=require").as_deref(),
            Ok("postgres://u:p@h/app?sslmode=require")
        );
        assert_eq!(n("postgresql://h/app").as_deref(), Ok("postgres://h/app"));
        assert_eq!(n("postgres://h/app").as_deref(), Ok("postgres://h/app"));
        assert_eq!(
            n("postgresql+psycopg://h/app?sslmode=require&application_name=x").as_deref(),
            Ok("postgres://h/app?sslmode=require&application_name=x")
        );
    }

    #[test]
    fn the_pgbouncer_hint_is_accepted_and_dropped() {
        assert_eq!(
            n("postgresql://u:p@pooler.example.com/app?sslmode=require&pgbouncer=true").as_deref(),
            Ok("postgres://u:p@pooler.example.com/app?sslmode=require")
        );
        assert_eq!(
            n("postgres://h/app?pgbouncer=true").as_deref(),
            Ok("postgres://h/app")
        );
    }

    #[test]
    fn sqlite_forms_are_normalised() {
        assert_eq!(
            n("sqlite://data/todo.db?mode=rwc").as_deref(),
            Ok("sqlite://data/todo.db?mode=rwc")
        );
        assert_eq!(
            n("sqlite://todo.db").as_deref(),
            Ok("sqlite://todo.db?mode=rwc")
        );
        assert_eq!(
            n("sqlite:///./todo.db").as_deref(),
            Ok("sqlite://./todo.db?mode=rwc")
        );
        assert_eq!(
            n("sqlite+aiosqlite:////var/lib/todo.db").as_deref(),
            Ok("sqlite:///var/lib/todo.db?mode=rwc")
        );
        assert_eq!(n("sqlite::memory:").as_deref(), Ok("sqlite::memory:"));
        assert_eq!(
            n("sqlite:///tmp/todo.db").as_deref(),
            Ok("sqlite:///tmp/todo.db?mode=rwc")
        );
        assert_eq!(
            n("sqlite+aiosqlite:///todo.db").as_deref(),
            Ok("sqlite://todo.db?mode=rwc")
        );
    }

    #[test]
    fn secrets_are_redacted_from_messages() {
        use super::redact_url_secrets as r;
        let url = "postgres://app:s%40cr3t@db.example.com:5432/app?sslmode=require";
        assert_eq!(
            r(
                "cannot parse 'postgres://app:s%40cr3t@db.example.com:5432/app'",
                url
            ),
            "cannot parse 'postgres://app:***@db.example.com:5432/app'"
        );
        assert_eq!(r("auth failed for s@cr3t", url), "auth failed for ***");
        assert_eq!(
            r(
                "bad postgres://h/app?user=u&password=pw1",
                "postgres://h/app?user=u&password=pw1"
            ),
            "bad postgres://h/app?user=u&password=***"
        );
        // Nothing to hide: the text is unchanged.
        assert_eq!(r("refused", "postgres://app@h/app"), "refused");
        assert_eq!(r("refused", "sqlite::memory:"), "refused");
    }

    #[test]
    fn other_schemes_are_refused_without_echoing_the_url() {
        let err = n("mysql://root:hunter2@h/db").unwrap_err();
        assert!(err.contains("mysql"), "{err}");
        assert!(!err.contains("hunter2"));
        assert!(n("nonsense").is_err());
        assert!(n("sqlite://").is_err());
    }
}
