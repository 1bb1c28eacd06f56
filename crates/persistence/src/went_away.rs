//! When the database was last seen going away, so that pools test the connections idle since.
//!
//! A PostgreSQL server that stops (`pg_ctl stop -m fast`, a managed database's restart or
//! failover) ends every connection, the idle ones in our pools included: each receives a
//! final 57P01 and end-of-file that nobody reads until the connection is next used. Hot
//! connections are not pinged before use (that would double the round trips of every
//! query, see `connect.rs`), so each of those dead connections would fail one more
//! request. Instead, once any operation has seen the server go away
//! ([`crate::error::map_db_err`] calls [`record`]), a connection that was already idle
//! then is pinged before it is handed out ([`suspect`]), and discarded if dead. Connections
//! returned to the pool after that moment passed the pool's own check on release.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Connections that went idle up to this long after the last loss was seen are suspect
/// too: a server shutting down ends its connections one after another, not all at once.
const GRACE: Duration = Duration::from_secs(2);

/// Milliseconds since [`epoch`] at which a lost connection was last seen, plus one (zero:
/// never).
static LAST_LOST: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Remembers that an operation has just seen the server go away.
pub(crate) fn record() {
    LAST_LOST.store(now_ms().saturating_add(1), Ordering::Relaxed);
}

/// Whether a pooled connection idle for `idle_for` was already idle (or went idle within
/// [`GRACE`]) when the server was last seen going away, and must be tested before use.
pub(crate) fn suspect(idle_for: Duration) -> bool {
    suspect_at(now_ms(), LAST_LOST.load(Ordering::Relaxed), idle_for)
}

fn suspect_at(now_ms: u64, last_lost: u64, idle_for: Duration) -> bool {
    let Some(lost_at) = last_lost.checked_sub(1) else {
        return false;
    };
    let since_lost = Duration::from_millis(now_ms.saturating_sub(lost_at));
    idle_for.saturating_add(GRACE) >= since_lost
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEVER: u64 = 0;

    fn lost_at(ms: u64) -> u64 {
        ms + 1
    }

    #[test]
    fn nothing_is_suspect_before_the_server_went_away() {
        assert!(!suspect_at(60_000, NEVER, Duration::from_secs(3600)));
    }

    #[test]
    fn connections_idle_since_before_the_loss_are_suspect() {
        // Lost at 10 s, now 11 s: a connection idle for 5 s was idle at the loss.
        assert!(suspect_at(11_000, lost_at(10_000), Duration::from_secs(5)));
        // Long after the loss, a connection idle since before it is still suspect.
        assert!(suspect_at(
            600_000,
            lost_at(10_000),
            Duration::from_secs(595)
        ));
    }

    #[test]
    fn connections_that_went_idle_just_after_the_loss_are_suspect() {
        assert!(suspect_at(11_000, lost_at(10_000), Duration::ZERO));
        assert!(suspect_at(12_000, lost_at(10_000), Duration::ZERO));
    }

    #[test]
    fn connections_released_well_after_the_loss_are_not() {
        // Lost at 10 s, now 20 s, idle for 1 s: released (and checked) at 19 s.
        assert!(!suspect_at(20_000, lost_at(10_000), Duration::from_secs(1)));
    }

    #[test]
    fn recording_a_loss_makes_idle_connections_suspect() {
        record();
        assert!(suspect(Duration::from_secs(60)));
        assert!(suspect(Duration::ZERO));
    }
}
