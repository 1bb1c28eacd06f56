//! The HTTP contract, driven through `actix_web::test` against the real services and the
//! real SeaORM adapters on an in-memory SQLite database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod harness;

mod access_matrix;
mod admin;
mod auth;
mod bad_input;
mod document;
mod etags;
mod fields;
mod listing;
mod lists;
mod members;
mod polling;
mod rate_limits;
mod service;
mod subtasks;
mod sync;
mod tasks;
mod trash;
mod webhooks;
