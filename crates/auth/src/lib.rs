//! Credential verifiers: adapters of `todo_application::ports::CredentialVerifier`.
//!
//! - [`Hs256Verifier`]: HS256 JWTs signed with the shared `BETTER_AUTH_SECRET`;
//! - [`JwksVerifier`]: JWTs from Better Auth's `jwt` plugin (EdDSA, ECDSA, RSA) checked
//!   against its public keys, from its JWKS endpoint or its `jwks` table;
//! - [`SessionVerifier`]: Better Auth session tokens, raw or in the signed cookie form.

mod hs256;
mod jwks;
mod session;

pub use hs256::{Hs256Issuer, Hs256Settings, Hs256Verifier, IssueError, looks_like_jwt};
pub use jwks::{HttpJwksSource, JwksSettings, JwksVerifier};
pub use session::SessionVerifier;
