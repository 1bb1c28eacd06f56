//! Better Auth's `account` (where e-mail sign-up keeps the password hash) and
//! `verification` tables, laid out exactly as better-auth 1.7.24's own migration lays them
//! out on each backend, so that Better Auth can sign users up on a database migrated by
//! this service alone.
//!
//! - PostgreSQL: `text` and `timestamptz` columns; `"createdAt"` (both tables) and
//!   `verification."updatedAt"` default to `CURRENT_TIMESTAMP`, `account."updatedAt"` has
//!   no default.
//! - SQLite: `text` and `date` columns, no defaults.
//! - Both: `account."userId"` references `"user"(id) on delete cascade`; the indexes
//!   `account_userId_idx` and `verification_identifier_idx`.
//!
//! Each table (with its index) is created only when absent: a table Better Auth created
//! first is adopted as it is, untouched.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20260101_000001_better_auth::User;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000007_better_auth_core"
    }
}

#[allow(clippy::enum_variant_names)] // Better Auth's column names: `accountId`.
#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
    #[sea_orm(iden = "accountId")]
    AccountId,
    #[sea_orm(iden = "providerId")]
    ProviderId,
    #[sea_orm(iden = "userId")]
    UserId,
    #[sea_orm(iden = "accessToken")]
    AccessToken,
    #[sea_orm(iden = "refreshToken")]
    RefreshToken,
    #[sea_orm(iden = "idToken")]
    IdToken,
    #[sea_orm(iden = "accessTokenExpiresAt")]
    AccessTokenExpiresAt,
    #[sea_orm(iden = "refreshTokenExpiresAt")]
    RefreshTokenExpiresAt,
    Scope,
    Password,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
    #[sea_orm(iden = "updatedAt")]
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Verification {
    Table,
    Id,
    Identifier,
    Value,
    #[sea_orm(iden = "expiresAt")]
    ExpiresAt,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
    #[sea_orm(iden = "updatedAt")]
    UpdatedAt,
}

/// A Better Auth `date` field: `timestamptz` on PostgreSQL, `date` on SQLite (where Better
/// Auth stores ISO 8601 text).
fn moment<T: IntoIden>(backend: DbBackend, name: T) -> ColumnDef {
    let mut column = ColumnDef::new(name);
    if backend == DbBackend::Postgres {
        column.timestamp_with_time_zone();
    } else {
        column.custom(Alias::new("date"));
    }
    column
}

/// A Better Auth `date` field with a default value: PostgreSQL gets `CURRENT_TIMESTAMP` as
/// the column default, SQLite no default (Better Auth always writes it).
fn moment_defaulting_to_now<T: IntoIden>(backend: DbBackend, name: T) -> ColumnDef {
    let mut column = moment(backend, name);
    if backend == DbBackend::Postgres {
        column.default(Expr::current_timestamp());
    }
    column
}

fn account(backend: DbBackend) -> TableCreateStatement {
    Table::create()
        .table(Account::Table)
        .col(ColumnDef::new(Account::Id).text().not_null().primary_key())
        .col(ColumnDef::new(Account::AccountId).text().not_null())
        .col(ColumnDef::new(Account::ProviderId).text().not_null())
        .col(ColumnDef::new(Account::UserId).text().not_null())
        .col(ColumnDef::new(Account::AccessToken).text().null())
        .col(ColumnDef::new(Account::RefreshToken).text().null())
        .col(ColumnDef::new(Account::IdToken).text().null())
        .col(moment(backend, Account::AccessTokenExpiresAt).null())
        .col(moment(backend, Account::RefreshTokenExpiresAt).null())
        .col(ColumnDef::new(Account::Scope).text().null())
        .col(ColumnDef::new(Account::Password).text().null())
        .col(moment_defaulting_to_now(backend, Account::CreatedAt).not_null())
        .col(moment(backend, Account::UpdatedAt).not_null())
        .foreign_key(
            ForeignKey::create()
                .name("account_userId_fkey")
                .from(Account::Table, Account::UserId)
                .to(User::Table, User::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn verification(backend: DbBackend) -> TableCreateStatement {
    Table::create()
        .table(Verification::Table)
        .col(
            ColumnDef::new(Verification::Id)
                .text()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(Verification::Identifier).text().not_null())
        .col(ColumnDef::new(Verification::Value).text().not_null())
        .col(moment(backend, Verification::ExpiresAt).not_null())
        .col(moment_defaulting_to_now(backend, Verification::CreatedAt).not_null())
        .col(moment_defaulting_to_now(backend, Verification::UpdatedAt).not_null())
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let tables = [
            (
                "account",
                account(backend),
                Index::create()
                    .if_not_exists()
                    .name("account_userId_idx")
                    .table(Account::Table)
                    .col(Account::UserId)
                    .to_owned(),
            ),
            (
                "verification",
                verification(backend),
                Index::create()
                    .if_not_exists()
                    .name("verification_identifier_idx")
                    .table(Verification::Table)
                    .col(Verification::Identifier)
                    .to_owned(),
            ),
        ];
        for (name, table, index) in tables {
            // A table Better Auth made first is its own: adopted as it is, index and all.
            if manager.has_table(name).await? {
                continue;
            }
            manager.create_table(table).await?;
            manager.create_index(index).await?;
        }
        Ok(())
    }

    /// Better Auth owns these tables and their data (`account` holds every password hash):
    /// rolling back never drops them, as for `"user"` and `session`.
    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
