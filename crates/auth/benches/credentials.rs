//! Credential verification, run on every authenticated request.
//!
//! `cargo bench -p todo-auth --bench credentials`. Not a test: nothing here asserts on time.
//!
//! - `hs256`: a valid token from [`Hs256Issuer`], checked by [`Hs256Verifier`];
//! - `eddsa_jwks`: a valid Ed25519 JWT checked by [`JwksVerifier`] against an in-memory
//!   key source. The verifier keeps parsed public keys by `kid` (never verdicts), so once
//!   the key is known every iteration still decodes the token and checks its signature and
//!   claims; the one key fetch happens before timing, and that it stays one is asserted.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use chrono::{TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use todo_application::ports::{
    CredentialVerifier, JwksSource, PortError, PublicJwk, VerifiedCredential,
};
use todo_auth::{Hs256Issuer, Hs256Settings, Hs256Verifier, JwksSettings, JwksVerifier};
use todo_domain::UserId;

const USER: &str = "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr";
const ISS: &str = "http://127.0.0.1:3000";
const SECRET: &[u8] = b"bench-secret-0123456789abcdef0123456789";

/// The Ed25519 key of the crate's own JWKS tests (generated for tests only).
const ED25519_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFFFxhGLEPXgOlM7UQ21hIeN2tZi4GrSADVJEgyApEH/\n-----END PRIVATE KEY-----\n";
const ED25519_PUBLIC_X: &str = "33XuqKkfL7UJeKL04u1dV6k-IGkYQQ-GibYrwEvizvg";
const KID: &str = "bench-key";

/// A JWKS source that serves one fixed key set and counts how often it is asked.
struct StaticJwks {
    keys: Vec<PublicJwk>,
    fetches: AtomicUsize,
}

#[async_trait]
impl JwksSource for StaticJwks {
    async fn fetch(&self) -> Result<Vec<PublicJwk>, PortError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        Ok(self.keys.clone())
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    iat: i64,
    exp: i64,
    iss: &'a str,
    aud: &'a str,
}

/// A Better Auth `jwt`-plugin style token: EdDSA, `kid`, `iss` = `aud` = its base URL.
fn eddsa_token() -> String {
    let now = Utc::now().timestamp();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(KID.to_owned());
    let claims = Claims {
        sub: USER,
        iat: now,
        exp: now + 3600,
        iss: ISS,
        aud: ISS,
    };
    let pem_body: String = ED25519_PRIVATE
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(pem_body)
        .expect("PEM body");
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&der)).expect("sign")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

fn user_of(rt: &tokio::runtime::Runtime, verifier: &dyn CredentialVerifier, token: &str) -> UserId {
    let verified: VerifiedCredential = rt
        .block_on(verifier.verify(token))
        .expect("token accepted")
        .expect("token is this verifier's");
    verified.user_id
}

fn hs256(c: &mut Criterion) {
    let rt = runtime();
    let settings = Hs256Settings {
        issuer: Some(ISS.to_owned()),
        audience: Some(ISS.to_owned()),
    };
    let now = Utc::now();
    let user = UserId::parse(USER).expect("user id");
    let token = Hs256Issuer::new(SECRET, settings.clone())
        .issue(&user, now, now + TimeDelta::hours(1))
        .expect("issue");
    let verifier = Hs256Verifier::new(SECRET, &settings);
    assert_eq!(user_of(&rt, &verifier, &token), user);

    c.bench_function("credentials/hs256_verify", |b| {
        b.to_async(&rt)
            .iter(|| verifier.verify(black_box(token.as_str())));
    });
}

fn eddsa_jwks(c: &mut Criterion) {
    let rt = runtime();
    let source = Arc::new(StaticJwks {
        keys: vec![PublicJwk {
            kid: KID.to_owned(),
            alg: Some("EdDSA".to_owned()),
            jwk: format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED25519_PUBLIC_X}"}}"#),
        }],
        fetches: AtomicUsize::new(0),
    });
    let verifier = JwksVerifier::new(
        source.clone(),
        JwksSettings {
            issuer: Some(ISS.to_owned()),
            audience: Some(ISS.to_owned()),
            min_refresh_interval: Duration::from_secs(3600),
        },
    );
    let token = eddsa_token();
    // Also loads the key, so that the fetch is not timed.
    assert_eq!(user_of(&rt, &verifier, &token).as_str(), USER);
    assert_eq!(source.fetches.load(Ordering::Relaxed), 1);

    c.bench_function("credentials/eddsa_jwks_verify", |b| {
        b.to_async(&rt)
            .iter(|| verifier.verify(black_box(token.as_str())));
    });
    assert_eq!(
        source.fetches.load(Ordering::Relaxed),
        1,
        "the key must be fetched once, outside the measurement"
    );
}

criterion_group!(benches, hs256, eddsa_jwks);
criterion_main!(benches);
