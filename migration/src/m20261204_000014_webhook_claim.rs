//! `webhook.claim_id`: which claim holds a webhook (NULL: none).
//!
//! A deliverer claims due webhooks by setting `claimed_until`, renews the claim before
//! each delivery and releases it at the end of its pass. A deliverer whose claim lapsed
//! (a slow pass) may find the webhook claimed by another process meanwhile: renewing or
//! releasing it by its id alone would extend or end the other process's claim, and both
//! would deliver the same events. So every claim carries an id (a UUID the deliverer draws
//! per pass), set with `claimed_until` when it claims; a renewal and a release change the
//! webhook only while `claim_id` is still theirs, and a release clears both columns.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000014_webhook_claim"
    }
}

#[derive(DeriveIden)]
enum Webhook {
    Table,
    /// The claim that holds it (with `claimed_until`), or NULL.
    ClaimId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if !manager.has_column("webhook", "claim_id").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Webhook::Table)
                        .add_column(ColumnDef::new(Webhook::ClaimId).uuid().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.has_column("webhook", "claim_id").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Webhook::Table)
                        .drop_column(Webhook::ClaimId)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
