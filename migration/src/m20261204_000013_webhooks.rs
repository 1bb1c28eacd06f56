//! Webhooks: where a user's changes are delivered.
//!
//! - `webhook`: one target of one user (`owner_id`, Better Auth's `"user"` id), with its
//!   signing secret (and, after a rotation, the previous one until `previous_secret_until`),
//!   and the change log position (`cursor_tx`, `cursor_id`) its deliveries continue after.
//! - `webhook_delivery`: one attempt to deliver one change to one webhook, kept for its
//!   owner to inspect.
//!
//! No foreign keys: deleting a webhook deletes its deliveries, and deleting a user deletes
//! their webhooks, explicitly (the repositories do both in the deleting transaction).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000013_webhooks"
    }
}

#[derive(DeriveIden)]
enum Webhook {
    Table,
    Id,
    OwnerId,
    Url,
    /// The event kinds it takes, comma-separated.
    Events,
    /// Only this list's changes, or (NULL) every list's.
    ListId,
    Enabled,
    /// Why the service disabled it.
    DisabledReason,
    /// Consecutive failed deliveries.
    Failures,
    Secret,
    /// The secret before the last rotation, still signing until `previous_secret_until`.
    PreviousSecret,
    PreviousSecretUntil,
    /// The change log position its deliveries continue after.
    CursorTx,
    CursorId,
    /// When the next delivery may be tried (after a failure).
    NextAttemptAt,
    /// Until when a sender holds it.
    ClaimedUntil,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum WebhookDelivery {
    Table,
    Id,
    WebhookId,
    /// The change delivered (its change log position).
    EventTx,
    EventId,
    /// The event's kind.
    Kind,
    Attempt,
    /// `delivered`, `failed`, ...
    Outcome,
    /// The receiver's HTTP status, when it answered.
    Status,
    DurationMs,
    Error,
    At,
}

/// A timestamp, set or not.
fn at(column: impl IntoIden, set: bool) -> ColumnDef {
    let mut def = ColumnDef::new(column);
    def.timestamp_with_time_zone();
    if set {
        def.not_null();
    } else {
        def.null();
    }
    def
}

fn webhook_table() -> TableCreateStatement {
    Table::create()
        .table(Webhook::Table)
        .if_not_exists()
        .col(ColumnDef::new(Webhook::Id).uuid().not_null().primary_key())
        .col(ColumnDef::new(Webhook::OwnerId).text().not_null())
        .col(ColumnDef::new(Webhook::Url).text().not_null())
        .col(ColumnDef::new(Webhook::Events).text().not_null())
        .col(ColumnDef::new(Webhook::ListId).uuid().null())
        .col(ColumnDef::new(Webhook::Enabled).boolean().not_null())
        .col(ColumnDef::new(Webhook::DisabledReason).text().null())
        .col(
            ColumnDef::new(Webhook::Failures)
                .integer()
                .not_null()
                .default(0),
        )
        .col(ColumnDef::new(Webhook::Secret).text().not_null())
        .col(ColumnDef::new(Webhook::PreviousSecret).text().null())
        .col(at(Webhook::PreviousSecretUntil, false))
        .col(ColumnDef::new(Webhook::CursorTx).big_integer().not_null())
        .col(ColumnDef::new(Webhook::CursorId).big_integer().not_null())
        .col(at(Webhook::NextAttemptAt, false))
        .col(at(Webhook::ClaimedUntil, false))
        .col(at(Webhook::CreatedAt, true))
        .col(at(Webhook::UpdatedAt, true))
        .col(ColumnDef::new(Webhook::Version).big_integer().not_null())
        .to_owned()
}

fn delivery_table() -> TableCreateStatement {
    Table::create()
        .table(WebhookDelivery::Table)
        .if_not_exists()
        .col(
            ColumnDef::new(WebhookDelivery::Id)
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(WebhookDelivery::WebhookId).uuid().not_null())
        .col(
            ColumnDef::new(WebhookDelivery::EventTx)
                .big_integer()
                .null(),
        )
        .col(
            ColumnDef::new(WebhookDelivery::EventId)
                .big_integer()
                .null(),
        )
        .col(ColumnDef::new(WebhookDelivery::Kind).text().not_null())
        .col(
            ColumnDef::new(WebhookDelivery::Attempt)
                .integer()
                .not_null(),
        )
        .col(ColumnDef::new(WebhookDelivery::Outcome).text().not_null())
        .col(ColumnDef::new(WebhookDelivery::Status).integer().null())
        .col(
            ColumnDef::new(WebhookDelivery::DurationMs)
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(WebhookDelivery::Error).text().null())
        .col(at(WebhookDelivery::At, true))
        .to_owned()
}

/// A user's webhooks; a webhook's deliveries, newest (UUID v7) last.
fn indexes() -> [IndexCreateStatement; 2] {
    [
        Index::create()
            .if_not_exists()
            .name("idx_webhook_owner")
            .table(Webhook::Table)
            .col(Webhook::OwnerId)
            .to_owned(),
        Index::create()
            .if_not_exists()
            .name("idx_webhook_delivery_webhook")
            .table(WebhookDelivery::Table)
            .col(WebhookDelivery::WebhookId)
            .col(WebhookDelivery::Id)
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(webhook_table()).await?;
        manager.create_table(delivery_table()).await?;
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookDelivery::Table.into_iden(),
            Webhook::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
