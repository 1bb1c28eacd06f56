//! Better Auth's sessions: a session token's user and expiry.

use async_trait::async_trait;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use todo_application::ports::{PortError, SessionRecord, SessionRepository};

use crate::db::Db;
use crate::entities::{session, user};
use crate::error::map_db_err;

/// Better Auth's `session` table, read together with the session's user.
pub struct SeaSessionRepository {
    db: Db,
}

impl SeaSessionRepository {
    #[must_use]
    pub fn new(db: impl Into<Db>) -> Self {
        Self { db: db.into() }
    }
}

#[async_trait]
impl SessionRepository for SeaSessionRepository {
    async fn find_by_token(&self, token: &str) -> Result<Option<SessionRecord>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        // One round trip: the session joined with its user.
        let row = session::Entity::find()
            .filter(session::Column::Token.eq(token))
            .find_also_related(user::Entity)
            .one(&*db)
            .await
            .map_err(map_db_err)?;
        let Some((session, Some(user))) = row else {
            return Ok(None);
        };
        Ok(Some(SessionRecord {
            user: crate::users::to_domain(user)?,
            expires_at: session.expires_at,
        }))
    }
}
