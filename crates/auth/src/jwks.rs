//! JWTs from Better Auth's `jwt` plugin, verified against its public keys (JWKS).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use todo_application::ports::{
    CredentialError, CredentialVerifier, JwksSource, PortError, PublicJwk, VerifiedCredential,
};
use todo_domain::UserId;
use tokio::sync::Mutex;

/// The asymmetric algorithms accepted on this path. HMAC algorithms never are: an HS token
/// is the shared-secret verifier's business, so a public key can never act as a secret.
const ALLOWED: [Algorithm; 9] = [
    Algorithm::EdDSA,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// What a JWKS-verified token must carry besides a valid signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksSettings {
    /// Required `iss` (Better Auth sets its base URL), if any.
    pub issuer: Option<String>,
    /// Required `aud` (Better Auth sets its base URL), if any.
    pub audience: Option<String>,
    /// An unknown `kid` triggers a refetch at most this often, so forged key ids cannot
    /// make this service hammer the auth server.
    pub min_refresh_interval: Duration,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    exp: Option<i64>,
}

struct Key {
    decoding: DecodingKey,
    alg: Option<Algorithm>,
}

#[derive(Default)]
struct KeySet {
    keys: HashMap<String, Arc<Key>>,
    /// When the last fetch started (the rate limit counts from there).
    fetched: Option<Instant>,
    /// How many fetches have ended, and whether the last one failed: a token that waited
    /// for a fetch in flight takes its outcome rather than fetching again.
    fetches_ended: u64,
    last_fetch_failed: bool,
}

/// Verifies EdDSA / ECDSA / RSA JWTs against keys from a [`JwksSource`], cached by `kid`
/// and refetched (rate-limited) when a token names a key not seen yet, so keys rotate
/// without a restart.
///
/// The cache's lock is only ever held to read or swap the keys, never during a fetch: a
/// token whose key is known is verified at once while a fetch is under way. One fetch
/// runs at a time; tokens with unknown keys that arrive meanwhile wait for its outcome.
pub struct JwksVerifier {
    source: Arc<dyn JwksSource>,
    settings: JwksSettings,
    keys: std::sync::Mutex<KeySet>,
    /// Held by the one fetch in flight, and waited for by tokens whose key is unknown.
    fetching: Mutex<()>,
}

impl JwksVerifier {
    pub fn new(source: Arc<dyn JwksSource>, settings: JwksSettings) -> Self {
        Self {
            source,
            settings,
            keys: std::sync::Mutex::new(KeySet::default()),
            fetching: Mutex::new(()),
        }
    }

    /// The cached keys, locked for a moment (never across an `await`).
    fn cache(&self) -> std::sync::MutexGuard<'_, KeySet> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn key(&self, kid: &str) -> Result<Option<Arc<Key>>, PortError> {
        let seen = {
            let set = self.cache();
            if let Some(key) = set.keys.get(kid) {
                return Ok(Some(key.clone()));
            }
            set.fetches_ended
        };
        // The key is unknown: wait for the fetch in flight, if any, then look again.
        let _fetching = self.fetching.lock().await;
        {
            let mut set = self.cache();
            if let Some(key) = set.keys.get(kid) {
                return Ok(Some(key.clone()));
            }
            if set.fetches_ended != seen {
                // A fetch ended while this token waited: its outcome is this token's.
                return if set.last_fetch_failed {
                    Err(PortError::Unavailable(
                        "the signing keys could not be fetched".into(),
                    ))
                } else {
                    Ok(None)
                };
            }
            let due = set
                .fetched
                .is_none_or(|at| at.elapsed() >= self.settings.min_refresh_interval);
            if !due {
                return Ok(None);
            }
            set.fetched = Some(Instant::now());
        }
        let fetched = self.source.fetch().await;
        let mut set = self.cache();
        set.fetches_ended = set.fetches_ended.wrapping_add(1);
        set.last_fetch_failed = fetched.is_err();
        set.keys = fetched?.iter().filter_map(parse_key).collect();
        tracing::info!(keys = set.keys.len(), "signing keys fetched");
        Ok(set.keys.get(kid).cloned())
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = 60;
        v.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &self.settings.issuer {
            Some(iss) => {
                v.set_issuer(&[iss]);
                required.push("iss");
            }
            None => v.iss = None,
        }
        match &self.settings.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                required.push("aud");
            }
            None => v.validate_aud = false,
        }
        v.set_required_spec_claims(&required);
        v
    }
}

fn parse_key(public: &PublicJwk) -> Option<(String, Arc<Key>)> {
    let jwk: Jwk = match serde_json::from_str(&public.jwk) {
        Ok(jwk) => jwk,
        Err(err) => {
            tracing::warn!(kid = %public.kid, error = %err, "ignoring an unreadable public key");
            return None;
        }
    };
    let decoding = match DecodingKey::from_jwk(&jwk) {
        Ok(key) => key,
        Err(err) => {
            tracing::warn!(kid = %public.kid, error = %err, "ignoring an unusable public key");
            return None;
        }
    };
    let alg = public
        .alg
        .as_deref()
        .and_then(|a| a.parse::<Algorithm>().ok());
    Some((public.kid.clone(), Arc::new(Key { decoding, alg })))
}

#[async_trait]
impl CredentialVerifier for JwksVerifier {
    async fn verify(
        &self,
        credential: &str,
    ) -> Result<Option<VerifiedCredential>, CredentialError> {
        if !crate::hs256::looks_like_jwt(credential) {
            return Ok(None);
        }
        let header = jsonwebtoken::decode_header(credential)
            .map_err(|_| CredentialError::invalid("malformed token header"))?;
        if !ALLOWED.contains(&header.alg) {
            // HS* (and anything else) is not ours.
            return Ok(None);
        }
        let kid = header
            .kid
            .ok_or(CredentialError::invalid("token names no signing key (kid)"))?;
        let key = self
            .key(&kid)
            .await
            .map_err(CredentialError::Unavailable)?
            .ok_or(CredentialError::invalid("unknown signing key"))?;
        if key.alg.is_some_and(|alg| alg != header.alg) {
            return Err(CredentialError::invalid(
                "token algorithm does not match its key",
            ));
        }
        let data =
            jsonwebtoken::decode::<Claims>(credential, &key.decoding, &self.validation(header.alg))
                .map_err(|e| crate::hs256::refusal(e.kind()))?;
        let user_id = UserId::parse(&data.claims.sub)
            .map_err(|_| CredentialError::invalid("token subject is not a valid user id"))?;
        Ok(Some(VerifiedCredential {
            user_id,
            expires_at: data
                .claims
                .exp
                .and_then(|exp| chrono::DateTime::from_timestamp(exp, 0)),
            user: None,
        }))
    }
}

/// Better Auth's JWKS endpoint (`<BETTER_AUTH_URL>/api/auth/jwks`), over HTTP(S) with a
/// timeout and a size limit. TLS uses rustls with the Mozilla roots.
pub struct HttpJwksSource {
    client: reqwest::Client,
    url: reqwest::Url,
}

/// Largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 256 * 1024;

impl HttpJwksSource {
    /// Only `http` and `https` URLs are accepted.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, String> {
        let url = reqwest::Url::parse(url).map_err(|e| format!("invalid JWKS URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err("the JWKS URL must be an http(s) URL with a host".to_owned());
        }
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(timeout)
            .connect_timeout(timeout)
            // Keys come from the configured host only.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client setup failed: {e}"))?;
        Ok(Self { client, url })
    }
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

#[async_trait]
impl JwksSource for HttpJwksSource {
    async fn fetch(&self) -> Result<Vec<PublicJwk>, PortError> {
        let unavailable = |e: String| PortError::Unavailable(e.into());
        let mut res = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .map_err(|e| unavailable(format!("fetching the JWKS failed: {e}")))?;
        if !res.status().is_success() {
            return Err(unavailable(format!(
                "the JWKS endpoint answered {}",
                res.status()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| unavailable(format!("reading the JWKS failed: {e}")))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(unavailable("the JWKS document is too large".to_owned()));
            }
            body.extend_from_slice(&chunk);
        }
        let set: JwkSet = serde_json::from_slice(&body)
            .map_err(|e| PortError::Other(format!("the JWKS document is malformed: {e}").into()))?;
        Ok(set
            .keys
            .into_iter()
            .filter_map(|key| {
                let kid = key.get("kid")?.as_str()?.to_owned();
                let alg = key.get("alg").and_then(|a| a.as_str()).map(str::to_owned);
                Some(PublicJwk {
                    kid,
                    alg,
                    jwk: key.to_string(),
                })
            })
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde::Serialize;
    use todo_application::ports::MockJwksSource;

    /// Test keys (generated for these tests only).
    const KEY_A: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFFFxhGLEPXgOlM7UQ21hIeN2tZi4GrSADVJEgyApEH/\n-----END PRIVATE KEY-----\n";
    const PUB_A: &str = "33XuqKkfL7UJeKL04u1dV6k-IGkYQQ-GibYrwEvizvg";
    const KEY_B: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEILgk3Nns6uJ8dP0OdCGqa9JMjFxirlsN+J5jwkso8h9L\n-----END PRIVATE KEY-----\n";
    const PUB_B: &str = "bxOAUyr6s7RJCrqyKEjzjFgdGMg43h-D9wa6W8yxB3g";
    const ISS: &str = "http://127.0.0.1:3000";

    fn public(kid: &str, x: &str) -> PublicJwk {
        PublicJwk {
            kid: kid.to_owned(),
            alg: Some("EdDSA".to_owned()),
            jwk: format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}"#),
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

    fn token(kid: &str, pem: &str, ttl: i64, iss: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        let claims = Claims {
            sub: "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr",
            iat: now,
            exp: now + ttl,
            iss,
            aud: ISS,
        };
        use base64::Engine;
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&der)).unwrap()
    }

    fn verifier(source: MockJwksSource, interval: Duration) -> JwksVerifier {
        JwksVerifier::new(
            Arc::new(source),
            JwksSettings {
                issuer: Some(ISS.to_owned()),
                audience: Some(ISS.to_owned()),
                min_refresh_interval: interval,
            },
        )
    }

    fn reason(r: Result<Option<VerifiedCredential>, CredentialError>) -> &'static str {
        match r {
            Err(CredentialError::Refused { detail, .. }) => detail,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_token_signed_by_a_published_key_is_accepted_and_keys_are_cached() {
        let mut source = MockJwksSource::new();
        source
            .expect_fetch()
            .times(1)
            .returning(|| Ok(vec![public("a", PUB_A)]));
        let v = verifier(source, Duration::from_secs(60));
        for _ in 0..3 {
            let got = v
                .verify(&token("a", KEY_A, 900, ISS))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got.user_id.as_str(), "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr");
        }
    }

    #[tokio::test]
    async fn rotated_keys_are_fetched_when_first_seen() {
        let mut source = MockJwksSource::new();
        let mut seq = mockall::Sequence::new();
        source
            .expect_fetch()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|| Ok(vec![public("a", PUB_A)]));
        source
            .expect_fetch()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|| Ok(vec![public("a", PUB_A), public("b", PUB_B)]));
        let v = verifier(source, Duration::ZERO);
        assert!(
            v.verify(&token("a", KEY_A, 900, ISS))
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            v.verify(&token("b", KEY_B, 900, ISS))
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn unknown_key_ids_cannot_make_us_hammer_the_auth_server() {
        let mut source = MockJwksSource::new();
        source
            .expect_fetch()
            .times(1)
            .returning(|| Ok(vec![public("a", PUB_A)]));
        let v = verifier(source, Duration::from_secs(60));
        for i in 0..5 {
            let forged = token(&format!("forged-{i}"), KEY_B, 900, ISS);
            assert_eq!(reason(v.verify(&forged).await), "unknown signing key");
        }
    }

    #[tokio::test]
    async fn wrong_signatures_claims_and_expiry_are_refused() {
        let mut source = MockJwksSource::new();
        source
            .expect_fetch()
            .returning(|| Ok(vec![public("a", PUB_A), public("b", PUB_B)]));
        let v = verifier(source, Duration::from_secs(60));
        // Key B's signature under key A's id.
        assert_eq!(
            reason(v.verify(&token("a", KEY_B, 900, ISS)).await),
            "bad token signature"
        );
        assert_eq!(
            reason(v.verify(&token("a", KEY_A, -300, ISS)).await),
            "token has expired"
        );
        assert_eq!(
            reason(
                v.verify(&token("a", KEY_A, 900, "https://evil.example"))
                    .await
            ),
            "unexpected token issuer"
        );
    }

    #[tokio::test]
    async fn hmac_tokens_never_reach_the_public_keys() {
        let mut source = MockJwksSource::new();
        source.expect_fetch().never();
        let v = verifier(source, Duration::from_secs(60));
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("a".to_owned());
        let now = chrono::Utc::now().timestamp();
        // An attacker signs with the *public* key as an HMAC secret.
        let forged = jsonwebtoken::encode(
            &header,
            &Claims {
                sub: "x",
                iat: now,
                exp: now + 60,
                iss: ISS,
                aud: ISS,
            },
            &EncodingKey::from_secret(PUB_A.as_bytes()),
        )
        .unwrap();
        assert!(v.verify(&forged).await.unwrap().is_none());
        assert!(v.verify("opaque-session-token").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_unreachable_key_server_is_unavailable() {
        let mut source = MockJwksSource::new();
        source
            .expect_fetch()
            .returning(|| Err(PortError::Unavailable("connection refused".into())));
        let v = verifier(source, Duration::ZERO);
        assert!(matches!(
            v.verify(&token("a", KEY_A, 900, ISS)).await,
            Err(CredentialError::Unavailable(_))
        ));
    }

    /// A key server whose fetches, after the first `free` ones, each wait until the test
    /// lets one through; it counts fetches and serves whatever `published` holds then.
    struct HeldSource {
        published: std::sync::Mutex<Vec<PublicJwk>>,
        fetches: std::sync::atomic::AtomicUsize,
        passes: tokio::sync::Semaphore,
        fail: std::sync::atomic::AtomicBool,
    }

    impl HeldSource {
        fn new(free: usize, published: Vec<PublicJwk>) -> Arc<Self> {
            Arc::new(Self {
                published: std::sync::Mutex::new(published),
                fetches: std::sync::atomic::AtomicUsize::new(0),
                passes: tokio::sync::Semaphore::new(free),
                fail: std::sync::atomic::AtomicBool::new(false),
            })
        }

        fn fetches(&self) -> usize {
            self.fetches.load(std::sync::atomic::Ordering::SeqCst)
        }

        /// Lets the fetch that is waiting (or the next one) complete.
        fn release(&self) {
            self.passes.add_permits(1);
        }
    }

    #[async_trait]
    impl JwksSource for HeldSource {
        async fn fetch(&self) -> Result<Vec<PublicJwk>, PortError> {
            self.fetches
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.passes.acquire().await.unwrap().forget();
            if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(PortError::Unavailable("connection refused".into()));
            }
            Ok(self.published.lock().unwrap().clone())
        }
    }

    /// Polls `future` once: its output if it completes without waiting for anything.
    async fn poll_once<F: std::future::Future>(
        mut future: std::pin::Pin<&mut F>,
    ) -> Option<F::Output> {
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match future.as_mut().poll(cx) {
                std::task::Poll::Ready(output) => Some(output),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }

    #[tokio::test]
    async fn a_fetch_in_flight_neither_blocks_known_keys_nor_multiplies() {
        // No rate limit: only the fetch in flight may hold back other fetches.
        let source = HeldSource::new(1, vec![public("a", PUB_A)]);
        let v = JwksVerifier::new(
            source.clone(),
            JwksSettings {
                issuer: Some(ISS.to_owned()),
                audience: Some(ISS.to_owned()),
                min_refresh_interval: Duration::ZERO,
            },
        );
        let known = token("a", KEY_A, 900, ISS);
        assert!(v.verify(&known).await.unwrap().is_some());
        assert_eq!(source.fetches(), 1);

        // Key b is published; a token signed with it starts a fetch, held at the server.
        source.published.lock().unwrap().push(public("b", PUB_B));
        let rotated = token("b", KEY_B, 900, ISS);
        let mut first = std::pin::pin!(v.verify(&rotated));
        assert!(
            poll_once(first.as_mut()).await.is_none(),
            "waits for the keys"
        );
        assert_eq!(source.fetches(), 2, "the fetch is under way");

        // Meanwhile a token with a known key is verified at once, without waiting.
        let at_once = poll_once(std::pin::pin!(v.verify(&known))).await;
        assert!(
            matches!(at_once, Some(Ok(Some(_)))),
            "a known key must not wait for the fetch: {at_once:?}"
        );

        // More unknown key ids (the new one, forged ones) wait for the fetch in flight
        // rather than starting their own.
        let forged = [0, 1, 2].map(|i| token(&format!("forged-{i}"), KEY_B, 900, ISS));
        let mut followers = std::pin::pin!(async {
            tokio::join!(
                v.verify(&rotated),
                v.verify(&forged[0]),
                v.verify(&forged[1]),
                v.verify(&forged[2]),
            )
        });
        assert!(poll_once(followers.as_mut()).await.is_none());
        assert_eq!(source.fetches(), 2, "nobody else fetches meanwhile");

        source.release();
        assert!(first.await.unwrap().is_some(), "the new key is found");
        let (rotated_again, f0, f1, f2) = followers.await;
        assert!(rotated_again.unwrap().is_some());
        for outcome in [f0, f1, f2] {
            assert_eq!(reason(outcome), "unknown signing key");
        }
        assert_eq!(source.fetches(), 2, "one fetch served every waiting token");
    }

    #[tokio::test]
    async fn tokens_that_waited_for_a_failed_fetch_are_told_it_failed() {
        let source = HeldSource::new(0, vec![public("a", PUB_A)]);
        source.fail.store(true, std::sync::atomic::Ordering::SeqCst);
        let v = JwksVerifier::new(
            source.clone(),
            JwksSettings {
                issuer: Some(ISS.to_owned()),
                audience: Some(ISS.to_owned()),
                min_refresh_interval: Duration::ZERO,
            },
        );
        let (a, b) = (token("a", KEY_A, 900, ISS), token("b", KEY_B, 900, ISS));
        let mut both = std::pin::pin!(async { tokio::join!(v.verify(&a), v.verify(&b)) });
        assert!(poll_once(both.as_mut()).await.is_none());
        assert_eq!(source.fetches(), 1);
        source.release();
        let (a, b) = both.await;
        for outcome in [a, b] {
            assert!(
                matches!(outcome, Err(CredentialError::Unavailable(_))),
                "{outcome:?}"
            );
        }
        assert_eq!(source.fetches(), 1);
    }

    #[test]
    fn only_http_urls_are_accepted_for_the_jwks() {
        assert!(
            HttpJwksSource::new(
                "https://auth.example.com/api/auth/jwks",
                Duration::from_secs(1)
            )
            .is_ok()
        );
        assert!(HttpJwksSource::new("file:///etc/passwd", Duration::from_secs(1)).is_err());
        assert!(HttpJwksSource::new("not a url", Duration::from_secs(1)).is_err());
    }
}
