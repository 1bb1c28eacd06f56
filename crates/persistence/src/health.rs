//! The database's health for the service's probes and metrics: readiness and pool occupancy.

use async_trait::async_trait;
use sea_orm::DbBackend;
use todo_application::ports::{PortError, ReadinessProbe};

use crate::db::{Db, operations};
use crate::error::map_db_err;

/// Operations beyond the connections in use are waiting for one.
fn waiting(operations: u32, size: u32, idle: u32) -> u32 {
    operations.saturating_sub(size.saturating_sub(idle))
}

/// Ready when the database answers and no migration is pending.
pub struct SeaReadiness {
    db: Db,
}

impl SeaReadiness {
    #[must_use]
    pub fn new(db: impl Into<Db>) -> Self {
        Self { db: db.into() }
    }
}

#[async_trait]
impl ReadinessProbe for SeaReadiness {
    async fn check(&self) -> Result<(), PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        db.ping().await.map_err(|e| {
            let mapped = map_db_err(e);
            match mapped {
                PortError::Other(cause) => PortError::Unavailable(cause),
                other => other,
            }
        })?;
        match todo_migration::pending(&db).await.map_err(map_db_err)? {
            0 => Ok(()),
            n => Err(PortError::Other(format!("{n} migrations pending").into())),
        }
    }
}

/// Pool occupancy (every pool of a [`Db`], summed), for `/metrics`.
pub struct SeaPoolMetrics {
    db: Db,
    max: u32,
}

impl SeaPoolMetrics {
    #[must_use]
    pub fn new(db: impl Into<Db>, max: u32) -> Self {
        Self { db: db.into(), max }
    }
}

impl todo_application::ports::PoolMetrics for SeaPoolMetrics {
    fn stats(&self) -> todo_application::ports::PoolStats {
        let (mut size, mut idle) = (0u32, 0u32);
        for db in self.db.pools() {
            let (s, i) = match db.get_database_backend() {
                DbBackend::Postgres => {
                    let pool = db.get_postgres_connection_pool();
                    (pool.size(), pool.num_idle())
                }
                DbBackend::Sqlite => {
                    let pool = db.get_sqlite_connection_pool();
                    (pool.size(), pool.num_idle())
                }
                _ => (0, 0),
            };
            size = size.saturating_add(s);
            idle = idle.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
        }
        todo_application::ports::PoolStats {
            size,
            idle,
            max: self.max,
            waiting: waiting(operations(), size, idle),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::waiting;

    #[test]
    fn operations_beyond_busy_connections_are_waiting() {
        assert_eq!(waiting(0, 0, 0), 0);
        assert_eq!(
            waiting(3, 4, 1),
            0,
            "three busy connections serve three operations"
        );
        assert_eq!(waiting(5, 4, 1), 2);
        assert_eq!(waiting(2, 2, 0), 0);
        assert_eq!(
            waiting(1, 0, 0),
            1,
            "the first connection is still being opened"
        );
        // A snapshot may see idle before size moves: never underflow.
        assert_eq!(waiting(0, 1, 2), 0);
    }
}
