//! Better Auth's signing keys: the public keys that verify its JWTs.

use async_trait::async_trait;
use todo_application::ports::{JwksSource, PortError, PublicJwk};

use crate::db::Db;
use crate::error::map_db_err;

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
