//! HS256 JWTs signed with the secret shared with Better Auth: verified, and issued for dev tokens.

use std::collections::HashSet;

use async_trait::async_trait;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use todo_application::ports::{CredentialError, CredentialVerifier, VerifiedCredential};
use todo_domain::{Timestamp, UserId};

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 60;

/// What HS256 tokens must carry besides a valid signature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hs256Settings {
    /// When set, `iss` must be present and equal to it.
    pub issuer: Option<String>,
    /// When set, `aud` must be present and contain it.
    pub audience: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    /// Required (the validation refuses a token without it); optional here so that a
    /// missing `exp` is reported as such rather than as malformed claims.
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
}

/// Whether `token` has the shape of a compact JWS: three dot-separated base64url parts.
#[must_use]
pub fn looks_like_jwt(token: &str) -> bool {
    let mut parts = 0;
    for part in token.split('.') {
        parts += 1;
        if part.is_empty()
            || !part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return false;
        }
    }
    parts == 3
}

/// Verifies HS256 JWTs signed with the shared secret (`sub` = the Better Auth user id).
///
/// Only `HS256` is accepted on this path. A token whose header names an asymmetric algorithm
/// is not this verifier's (`Ok(None)`), so it can never be checked against the secret; `none`
/// and other HMAC variants are refused.
pub struct Hs256Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl Hs256Verifier {
    #[must_use]
    pub fn new(secret: &[u8], settings: &Hs256Settings) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required: HashSet<String> = ["exp", "sub"].map(str::to_owned).into();
        if let Some(iss) = &settings.issuer {
            validation.set_issuer(&[iss]);
            required.insert("iss".to_owned());
        }
        match &settings.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.insert("aud".to_owned());
            }
            None => validation.validate_aud = false,
        }
        validation.required_spec_claims = required;
        Self {
            key: DecodingKey::from_secret(secret),
            validation,
        }
    }

    fn check(&self, token: &str) -> Result<Option<VerifiedCredential>, CredentialError> {
        if !looks_like_jwt(token) {
            return Ok(None);
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| CredentialError::invalid("malformed token header"))?;
        match header.alg {
            Algorithm::HS256 => {}
            Algorithm::HS384 | Algorithm::HS512 => {
                return Err(CredentialError::invalid("unsupported token algorithm"));
            }
            // Asymmetric algorithms belong to the JWKS verifier, never to the secret.
            _ => return Ok(None),
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| refusal(e.kind()))?;
        let claims = data.claims;
        let now = chrono::Utc::now().timestamp();
        if claims
            .iat
            .is_some_and(|iat| iat > now.saturating_add(LEEWAY_SECS as i64))
        {
            return Err(CredentialError::invalid("token issued in the future"));
        }
        let user_id = UserId::parse(&claims.sub)
            .map_err(|_| CredentialError::invalid("token subject is not a valid user id"))?;
        Ok(Some(VerifiedCredential {
            user_id,
            expires_at: claims
                .exp
                .and_then(|exp| chrono::DateTime::from_timestamp(exp, 0)),
            user: None,
        }))
    }
}

/// The refusal a token verification failure of `kind` stands for.
pub(crate) fn refusal(kind: &ErrorKind) -> CredentialError {
    match kind {
        ErrorKind::ExpiredSignature => CredentialError::expired("token has expired"),
        ErrorKind::InvalidSignature => CredentialError::bad_signature("bad token signature"),
        ErrorKind::ImmatureSignature => CredentialError::invalid("token is not valid yet"),
        ErrorKind::InvalidIssuer => CredentialError::invalid("unexpected token issuer"),
        ErrorKind::InvalidAudience => CredentialError::invalid("unexpected token audience"),
        ErrorKind::InvalidAlgorithm => CredentialError::invalid("unsupported token algorithm"),
        ErrorKind::MissingRequiredClaim(_) => {
            CredentialError::invalid("token lacks a required claim")
        }
        ErrorKind::InvalidClaimFormat(_) | ErrorKind::Json(_) => {
            CredentialError::invalid("malformed token claims")
        }
        _ => CredentialError::invalid("malformed token"),
    }
}

#[async_trait]
impl CredentialVerifier for Hs256Verifier {
    async fn verify(
        &self,
        credential: &str,
    ) -> Result<Option<VerifiedCredential>, CredentialError> {
        self.check(credential)
    }
}

#[derive(Debug, Serialize)]
struct IssuedClaims<'a> {
    sub: &'a str,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
#[error("could not sign the token: {0}")]
pub struct IssueError(String);

/// Signs HS256 tokens the way a Better Auth frontend sharing the secret would
/// (used by `todo-server dev-token` and by tests).
pub struct Hs256Issuer {
    key: EncodingKey,
    settings: Hs256Settings,
}

impl Hs256Issuer {
    #[must_use]
    pub fn new(secret: &[u8], settings: Hs256Settings) -> Self {
        Self {
            key: EncodingKey::from_secret(secret),
            settings,
        }
    }

    pub fn issue(
        &self,
        user_id: &UserId,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<String, IssueError> {
        let claims = IssuedClaims {
            sub: user_id.as_str(),
            iat: issued_at.timestamp(),
            exp: expires_at.timestamp(),
            iss: self.settings.issuer.as_deref(),
            aud: self.settings.audience.as_deref(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map_err(|e| IssueError(e.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, Utc};

    const SECRET: &[u8] = b"test-secret-0123456789abcdef0123456789";

    fn uid(raw: &str) -> UserId {
        UserId::parse(raw).unwrap()
    }

    fn token(secret: &[u8], settings: Hs256Settings, ttl: TimeDelta) -> String {
        let now = Utc::now();
        Hs256Issuer::new(secret, settings)
            .issue(&uid("alice"), now, now + ttl)
            .unwrap()
    }

    fn invalid_reason(r: Result<Option<VerifiedCredential>, CredentialError>) -> &'static str {
        match r {
            Err(CredentialError::Refused { detail, .. }) => detail,
            other => panic!("expected an invalid credential, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_token_signed_with_the_secret_names_its_user() {
        let v = Hs256Verifier::new(SECRET, &Hs256Settings::default());
        let got = v
            .verify(&token(
                SECRET,
                Hs256Settings::default(),
                TimeDelta::minutes(5),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.user_id, uid("alice"));
        assert!(got.expires_at.unwrap() > Utc::now());
    }

    #[tokio::test]
    async fn a_token_signed_with_another_secret_is_refused() {
        let v = Hs256Verifier::new(SECRET, &Hs256Settings::default());
        let forged = token(
            b"another-secret-0123456789abcdef",
            Hs256Settings::default(),
            TimeDelta::minutes(5),
        );
        assert_eq!(
            invalid_reason(v.verify(&forged).await),
            "bad token signature"
        );
    }

    #[tokio::test]
    async fn expired_tokens_are_refused_after_the_leeway() {
        let v = Hs256Verifier::new(SECRET, &Hs256Settings::default());
        let stale = token(SECRET, Hs256Settings::default(), TimeDelta::minutes(-5));
        assert_eq!(invalid_reason(v.verify(&stale).await), "token has expired");
        let within_leeway = token(SECRET, Hs256Settings::default(), TimeDelta::seconds(-30));
        assert!(v.verify(&within_leeway).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn issuer_and_audience_are_checked_when_configured() {
        let expected = Hs256Settings {
            issuer: Some("https://auth.example.com".into()),
            audience: Some("todo-api".into()),
        };
        let v = Hs256Verifier::new(SECRET, &expected);
        assert!(
            v.verify(&token(SECRET, expected.clone(), TimeDelta::minutes(5)))
                .await
                .unwrap()
                .is_some()
        );
        let bare = token(SECRET, Hs256Settings::default(), TimeDelta::minutes(5));
        assert_eq!(
            invalid_reason(v.verify(&bare).await),
            "token lacks a required claim"
        );
        let wrong_iss = Hs256Settings {
            issuer: Some("https://evil.example.com".into()),
            ..expected.clone()
        };
        assert_eq!(
            invalid_reason(
                v.verify(&token(SECRET, wrong_iss, TimeDelta::minutes(5)))
                    .await
            ),
            "unexpected token issuer"
        );
    }

    #[tokio::test]
    async fn tokens_without_exp_are_refused() {
        #[derive(Serialize)]
        struct NoExp {
            sub: &'static str,
        }
        let claims = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &NoExp { sub: "alice" },
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        let v = Hs256Verifier::new(SECRET, &Hs256Settings::default());
        assert_eq!(
            invalid_reason(v.verify(&claims).await),
            "token lacks a required claim"
        );
    }

    #[tokio::test]
    async fn the_none_algorithm_and_other_hmacs_are_refused() {
        let v = Hs256Verifier::new(SECRET, &Hs256Settings::default());
        // {"alg":"none"} . {"sub":"alice","exp":9999999999} . (empty signature is not a JWS)
        let none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OX0.x";
        assert!(matches!(
            v.verify(none).await,
            Err(CredentialError::Refused { .. })
        ));
        let hs512 = {
            let now = Utc::now();
            let claims = IssuedClaims {
                sub: "alice",
                iat: now.timestamp(),
                exp: (now + TimeDelta::minutes(5)).timestamp(),
                iss: None,
                aud: None,
            };
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS512),
                &claims,
                &EncodingKey::from_secret(SECRET),
            )
            .unwrap()
        };
        assert_eq!(
            invalid_reason(v.verify(&hs512).await),
            "unsupported token algorithm"
        );
    }

    #[tokio::test]
    async fn asymmetric_tokens_are_left_to_other_verifiers() {
        // {"alg":"EdDSA","kid":"k1"} . {"sub":"alice"} . sig
        let eddsa = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2ln";
        let v = Hs256Verifier::new(SECRET, &Hs256Settings::default());
        assert!(v.verify(eddsa).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn opaque_tokens_are_not_jwts() {
        let v = Hs256Verifier::new(SECRET, &Hs256Settings::default());
        assert!(
            v.verify("bvniPtqc6nEkDHoOovvuhuGN0t0vomv8")
                .await
                .unwrap()
                .is_none()
        );
        assert!(v.verify("a.b").await.unwrap().is_none());
        assert!(v.verify("a..c").await.unwrap().is_none());
        assert!(v.verify("tok.sig+/=.x").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_subject_that_is_no_user_id_is_refused() {
        let now = Utc::now();
        let long = "x".repeat(300);
        let claims = IssuedClaims {
            sub: &long,
            iat: now.timestamp(),
            exp: (now + TimeDelta::minutes(5)).timestamp(),
            iss: None,
            aud: None,
        };
        let t = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        let v = Hs256Verifier::new(SECRET, &Hs256Settings::default());
        assert_eq!(
            invalid_reason(v.verify(&t).await),
            "token subject is not a valid user id"
        );
    }

    #[tokio::test]
    async fn tokens_issued_in_the_future_are_refused() {
        let now = Utc::now();
        let t = Hs256Issuer::new(SECRET, Hs256Settings::default())
            .issue(
                &uid("alice"),
                now + TimeDelta::hours(1),
                now + TimeDelta::hours(2),
            )
            .unwrap();
        let v = Hs256Verifier::new(SECRET, &Hs256Settings::default());
        assert_eq!(
            invalid_reason(v.verify(&t).await),
            "token issued in the future"
        );
    }
}
