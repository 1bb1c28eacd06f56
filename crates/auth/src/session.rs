//! Better Auth session tokens: the raw `session.token`, or the signed cookie form
//! `<token>.<base64 HMAC-SHA256(secret, token)>` (also URL-encoded, as in the cookie).

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use todo_application::ports::{
    Clock, CredentialError, CredentialVerifier, SessionRepository, VerifiedCredential,
};

/// Longest raw session token looked up (Better Auth's are 32 characters).
const MAX_TOKEN_LEN: usize = 255;

/// Verifies Better Auth session tokens against its `session` table.
pub struct SessionVerifier {
    sessions: Arc<dyn SessionRepository>,
    clock: Arc<dyn Clock>,
    secret: Vec<u8>,
}

impl SessionVerifier {
    pub fn new(sessions: Arc<dyn SessionRepository>, clock: Arc<dyn Clock>, secret: &[u8]) -> Self {
        Self {
            sessions,
            clock,
            secret: secret.to_vec(),
        }
    }

    /// The raw token inside `credential`, after checking the signature of the signed form.
    /// `Ok(None)`: not a session token at all.
    fn raw_token(&self, credential: &str) -> Result<Option<String>, CredentialError> {
        let decoded;
        let credential = if credential.contains('%') {
            decoded = percent_encoding::percent_decode_str(credential)
                .decode_utf8()
                .map_err(|_| CredentialError::invalid("malformed session token"))?;
            decoded.as_ref()
        } else {
            credential
        };
        let (token, signature) = match credential.split_once('.') {
            Some((token, signature)) => (token, Some(signature)),
            None => (credential, None),
        };
        if token.is_empty()
            || token.len() > MAX_TOKEN_LEN
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Ok(None);
        }
        if let Some(signature) = signature {
            let signature = base64::engine::general_purpose::STANDARD
                .decode(signature)
                .map_err(|_| CredentialError::bad_signature("malformed session token signature"))?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret)
                .map_err(|_| CredentialError::invalid("session signing is not configured"))?;
            mac.update(token.as_bytes());
            mac.verify_slice(&signature)
                .map_err(|_| CredentialError::bad_signature("bad session token signature"))?;
        }
        Ok(Some(token.to_owned()))
    }
}

#[async_trait]
impl CredentialVerifier for SessionVerifier {
    async fn verify(
        &self,
        credential: &str,
    ) -> Result<Option<VerifiedCredential>, CredentialError> {
        if crate::hs256::looks_like_jwt(credential) {
            return Ok(None);
        }
        let Some(token) = self.raw_token(credential)? else {
            return Ok(None);
        };
        let session = self
            .sessions
            .find_by_token(&token)
            .await
            .map_err(CredentialError::Unavailable)?
            .ok_or(CredentialError::invalid("unknown or signed-out session"))?;
        if session.expires_at <= self.clock.now() {
            return Err(CredentialError::expired("session has expired"));
        }
        Ok(Some(VerifiedCredential {
            user_id: session.user.id.clone(),
            expires_at: Some(session.expires_at),
            user: Some(session.user),
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use mockall::predicate::eq;
    use todo_application::AuthFailure;
    use todo_application::ports::{MockClock, MockSessionRepository, SessionRecord};
    use todo_domain::{RoleList, Timestamp, User, UserId};

    /// The example from Better Auth itself (see shared/better-auth/README.md).
    const SECRET: &str = "ceo-secret-0123456789abcdef0123456789";
    const RAW: &str = "bvniPtqc6nEkDHoOovvuhuGN0t0vomv8";
    const SIGNED: &str =
        "bvniPtqc6nEkDHoOovvuhuGN0t0vomv8.eG4Pfj+cREij4jaDf65ou+4DEJC/8WBSD1oUQWMLg8k=";

    fn at(secs: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(secs, 0).unwrap()
    }

    fn record(expires: i64) -> SessionRecord {
        SessionRecord {
            user: User {
                id: UserId::parse("PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr").unwrap(),
                email: "ada@example.com".into(),
                name: "Ada".into(),
                roles: RoleList::user(),
                banned: false,
                ban_expires: None,
                created_at: at(0),
            },
            expires_at: at(expires),
        }
    }

    fn verifier(sessions: MockSessionRepository) -> SessionVerifier {
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| at(1_000));
        SessionVerifier::new(Arc::new(sessions), Arc::new(clock), SECRET.as_bytes())
    }

    fn found() -> MockSessionRepository {
        let mut sessions = MockSessionRepository::new();
        sessions
            .expect_find_by_token()
            .with(eq(RAW))
            .returning(|_| Ok(Some(record(2_000))));
        sessions
    }

    #[tokio::test]
    async fn raw_signed_and_url_encoded_tokens_are_accepted() {
        let v = verifier(found());
        let encoded = SIGNED
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        for credential in [RAW, SIGNED, encoded.as_str()] {
            let got = v.verify(credential).await.unwrap().unwrap();
            assert_eq!(
                got.user_id.as_str(),
                "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr",
                "{credential}"
            );
            assert_eq!(got.expires_at, Some(at(2_000)));
            assert!(got.user.is_some(), "the user comes with the session");
        }
    }

    #[tokio::test]
    async fn a_bad_signature_is_refused_without_a_lookup() {
        let mut sessions = MockSessionRepository::new();
        sessions.expect_find_by_token().never();
        let v = verifier(sessions);
        let tampered = SIGNED.replace("eG4P", "eG4Q");
        for credential in [
            tampered.as_str(),
            "bvniPtqc6nEkDHoOovvuhuGN0t0vomv8.AAAA",
            "bvniPtqc6nEkDHoOovvuhuGN0t0vomv8.!!",
        ] {
            assert!(
                matches!(
                    v.verify(credential).await,
                    Err(CredentialError::Refused { .. })
                ),
                "{credential}"
            );
        }
        // Signed with another secret.
        let other = SessionVerifier::new(
            Arc::new(MockSessionRepository::new()),
            Arc::new(MockClock::new()),
            b"another-secret",
        );
        assert!(matches!(
            other.verify(SIGNED).await,
            Err(CredentialError::Refused {
                reason: AuthFailure::BadSignature,
                detail: "bad session token signature"
            })
        ));
    }

    #[tokio::test]
    async fn unknown_and_expired_sessions_are_refused() {
        let mut sessions = MockSessionRepository::new();
        sessions
            .expect_find_by_token()
            .with(eq("signedout"))
            .returning(|_| Ok(None));
        sessions
            .expect_find_by_token()
            .with(eq("stale"))
            .returning(|_| Ok(Some(record(1_000))));
        let v = verifier(sessions);
        assert!(matches!(
            v.verify("signedout").await,
            Err(CredentialError::Refused {
                reason: AuthFailure::Invalid,
                detail: "unknown or signed-out session"
            })
        ));
        assert!(matches!(
            v.verify("stale").await,
            Err(CredentialError::Refused {
                reason: AuthFailure::Expired,
                detail: "session has expired"
            })
        ));
    }

    #[tokio::test]
    async fn things_that_are_no_session_token_are_left_alone() {
        let mut sessions = MockSessionRepository::new();
        sessions.expect_find_by_token().never();
        let v = verifier(sessions);
        for credential in ["", "has space", "semi;colon", &"x".repeat(300)] {
            assert!(
                v.verify(credential).await.unwrap().is_none(),
                "{credential:?}"
            );
        }
    }
}
