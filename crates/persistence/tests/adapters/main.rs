//! The SeaORM adapters against real databases: every test body runs on SQLite and on
//! PostgreSQL (`TEST_DATABASE_URL`, each test in its own schema).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod harness;

mod migrations;
mod sessions;
mod tasks;
mod users;
