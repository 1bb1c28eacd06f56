use async_trait::async_trait;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use todo_application::ports::{JwksSource, PortError, PublicJwk, SessionRecord, SessionRepository};

use crate::Db;
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

/// The public half of Better Auth's `jwks` table (the `jwt` plugin's keys). The private
/// key column is never read.
pub struct SeaJwksSource {
    db: Db,
}

impl SeaJwksSource {
    #[must_use]
    pub fn new(db: impl Into<Db>) -> Self {
        Self { db: db.into() }
    }
}

#[async_trait]
impl JwksSource for SeaJwksSource {
    async fn fetch(&self) -> Result<Vec<PublicJwk>, PortError> {
        let db = self.db.conn().await.map_err(map_db_err)?;
        use sea_orm::{FromQueryResult, Statement};
        #[derive(FromQueryResult)]
        struct Row {
            id: String,
            public_key: String,
            alg: Option<String>,
        }
        // Without Better Auth's jwt plugin there is no jwks table: no keys.
        let exists = todo_migration::SchemaManager::new(&*db)
            .has_table("jwks")
            .await
            .map_err(map_db_err)?;
        if !exists {
            tracing::warn!("no jwks table: is Better Auth's jwt plugin enabled?");
            return Ok(Vec::new());
        }
        let rows = Row::find_by_statement(Statement::from_string(
            db.get_database_backend(),
            r#"SELECT id, "publicKey" AS public_key, alg FROM jwks"#,
        ))
        .all(&*db)
        .await
        .map_err(map_db_err)?;
        Ok(rows
            .into_iter()
            .map(|r| PublicJwk {
                kid: r.id,
                alg: r.alg,
                jwk: r.public_key,
            })
            .collect())
    }
}
