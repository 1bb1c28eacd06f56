//! Better Auth's `"user"` and `session` tables, exactly as Better Auth lays them out, made
//! only when absent; on an existing `"user"` table the admin plugin's columns this service
//! reads (`role`, `banned`, `banReason`, `banExpires`) are added when missing.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20260101_000001_better_auth"
    }
}

#[derive(DeriveIden)]
pub enum User {
    Table,
    Id,
    Name,
    Email,
    #[sea_orm(iden = "emailVerified")]
    EmailVerified,
    Image,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
    #[sea_orm(iden = "updatedAt")]
    UpdatedAt,
    Role,
    Banned,
    #[sea_orm(iden = "banReason")]
    BanReason,
    #[sea_orm(iden = "banExpires")]
    BanExpires,
}

#[derive(DeriveIden)]
enum Session {
    Table,
    Id,
    #[sea_orm(iden = "expiresAt")]
    ExpiresAt,
    Token,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
    #[sea_orm(iden = "updatedAt")]
    UpdatedAt,
    #[sea_orm(iden = "ipAddress")]
    IpAddress,
    #[sea_orm(iden = "userAgent")]
    UserAgent,
    #[sea_orm(iden = "userId")]
    UserId,
    #[sea_orm(iden = "impersonatedBy")]
    ImpersonatedBy,
}

fn role() -> ColumnDef {
    ColumnDef::new(User::Role)
        .text()
        .null()
        .default("user")
        .to_owned()
}

fn banned() -> ColumnDef {
    ColumnDef::new(User::Banned).boolean().null().to_owned()
}

fn ban_reason() -> ColumnDef {
    ColumnDef::new(User::BanReason).text().null().to_owned()
}

fn ban_expires() -> ColumnDef {
    ColumnDef::new(User::BanExpires)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(User::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(User::Id).text().not_null().primary_key())
                    .col(ColumnDef::new(User::Name).text().not_null())
                    .col(ColumnDef::new(User::Email).text().not_null().unique_key())
                    .col(
                        ColumnDef::new(User::EmailVerified)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(User::Image).text().null())
                    .col(
                        ColumnDef::new(User::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null()
                            .default(Expr::current_timestamp()),
                    )
                    .col(
                        ColumnDef::new(User::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null()
                            .default(Expr::current_timestamp()),
                    )
                    .col(role())
                    .col(banned())
                    .col(ban_reason())
                    .col(ban_expires())
                    .to_owned(),
            )
            .await?;

        // A "user" table made by Better Auth without the admin plugin lacks these.
        for (name, column) in [
            ("role", role()),
            ("banned", banned()),
            ("banReason", ban_reason()),
            ("banExpires", ban_expires()),
        ] {
            if !manager.has_column("user", name).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(User::Table)
                            .add_column(column)
                            .to_owned(),
                    )
                    .await?;
            }
        }

        manager
            .create_table(
                Table::create()
                    .table(Session::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Session::Id).text().not_null().primary_key())
                    .col(
                        ColumnDef::new(Session::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Session::Token)
                            .text()
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Session::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null()
                            .default(Expr::current_timestamp()),
                    )
                    .col(
                        ColumnDef::new(Session::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Session::IpAddress).text().null())
                    .col(ColumnDef::new(Session::UserAgent).text().null())
                    .col(ColumnDef::new(Session::UserId).text().not_null())
                    .col(ColumnDef::new(Session::ImpersonatedBy).text().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("session_userId_fkey")
                            .from(Session::Table, Session::UserId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("session_userId_idx")
                    .table(Session::Table)
                    .col(Session::UserId)
                    .to_owned(),
            )
            .await
    }

    /// Better Auth owns these tables and their data: rolling back never drops them.
    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
