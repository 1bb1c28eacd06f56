//! Credential verifiers: adapters of `todo_application::ports::CredentialVerifier`.
//!
//! Today: HS256 JWTs signed with the shared `BETTER_AUTH_SECRET`. Better Auth session
//! tokens and JWKS-verified JWTs slot in beside it as further verifiers.

mod hs256;

pub use hs256::{Hs256Issuer, Hs256Settings, Hs256Verifier, IssueError, looks_like_jwt};
