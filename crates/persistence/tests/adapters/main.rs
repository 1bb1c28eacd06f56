//! The SeaORM adapters against real databases: every test body runs on SQLite and on
//! PostgreSQL (`TEST_DATABASE_URL`, each test in its own schema; with `TEST_POOLER_URL`,
//! through PgBouncer in transaction mode, each test in its own database).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod harness;

mod changelog;
mod lists;
mod lost_connections;
mod migrations;
mod search;
mod sessions;
mod sync;
mod tasks;
mod trash;
mod users;
mod webhook_deliveries;
mod webhooks;
