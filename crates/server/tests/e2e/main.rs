//! End-to-end: the real application (in-process and as the built binary) on a real
//! database, driven over HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod binary;
mod pg;
mod served;
