//! End-to-end: the real application (in-process and as the built binary) on a real
//! database, driven over HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod admins;
mod binary;
mod events;
mod moves;
mod outage;
mod pg;
mod round_trips;
mod served;
mod webhooks;

/// A plain HTTP client. The workspace's reqwest has TLS without a built-in crypto
/// provider (the JWKS client brings its own), so one is installed for the process first.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
