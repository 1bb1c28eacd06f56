//! Authentication: a bearer credential becomes a principal, through the verifiers and caches.

use std::sync::Arc;

use siphasher::sip128::SipHasher24;
use todo_domain::{AdminRoles, Principal, User, UserId, policy};

use crate::cache::{TtlCache, UserCache};
use crate::error::ApplicationError;
use crate::ports::{
    AuthFailure, Clock, CredentialError, CredentialVerifier, UserRepository, VerifiedCredential,
};
use crate::promotion::promote_user;

/// A credential's cache key: its 128-bit SipHash-2-4 under a key drawn when the service
/// starts, so the cache never holds credentials and no one outside the process can make
/// two credentials share a key. (SHA-256 did the same job for about twelve times the
/// instructions, 10 400 against 850 under callgrind: docs/performance.md.)
type CredentialKey = u128;

/// Keys the credential cache: a keyed hash of the credential's bytes.
#[derive(Clone)]
struct CredentialKeys(SipHasher24);

impl CredentialKeys {
    /// A secret key from the standard library's per-process random hash keys (drawn from
    /// the operating system's generator).
    fn random() -> Self {
        use std::hash::{BuildHasher, RandomState};
        let (a, b) = (RandomState::new(), RandomState::new());
        Self(SipHasher24::new_with_keys(a.hash_one(0u8), b.hash_one(1u8)))
    }

    fn of(&self, credential: &str) -> CredentialKey {
        self.0.hash(credential.as_bytes()).into()
    }
}

/// What the caches know of a credential.
enum Remembered {
    /// The credential's user and that user's row: the answer.
    Answer(Result<Principal, ApplicationError>),
    /// The credential's user, whose row is to be loaded.
    Credential(UserId),
    /// Nothing: the credential is to be verified.
    Nothing,
}

/// Turns a bearer credential into a [`Principal`].
///
/// Verifiers are asked in order; the first that recognises the credential decides. The
/// user's row must exist; roles and bans come from it, never from a token. A verified
/// credential is remembered for the cache TTL (never beyond its own expiry), so a repeated
/// request costs no database round trip, and a first one at most one.
#[derive(Clone)]
pub struct AuthService {
    verifiers: Vec<Arc<dyn CredentialVerifier>>,
    users: Arc<dyn UserRepository>,
    clock: Arc<dyn Clock>,
    cache: Arc<UserCache>,
    credentials: Arc<TtlCache<CredentialKey, UserId>>,
    credential_keys: CredentialKeys,
    admin_roles: AdminRoles,
    admin_user_id: Option<UserId>,
}

impl AuthService {
    pub fn new(
        verifiers: Vec<Arc<dyn CredentialVerifier>>,
        users: Arc<dyn UserRepository>,
        clock: Arc<dyn Clock>,
        cache: Arc<UserCache>,
        admin_roles: AdminRoles,
        admin_user_id: Option<UserId>,
    ) -> Self {
        let credentials = Arc::new(TtlCache::new(cache.ttl(), cache.capacity()));
        Self {
            verifiers,
            users,
            clock,
            cache,
            credentials,
            credential_keys: CredentialKeys::random(),
            admin_roles,
            admin_user_id,
        }
    }

    pub async fn authenticate(&self, credential: &str) -> Result<Principal, ApplicationError> {
        let now = self.clock.now();
        let key = self.credential_keys.of(credential);
        let user = match self.remembered(&key, now) {
            Remembered::Answer(answer) => return answer,
            Remembered::Credential(user_id) => self.user(&user_id, None, now).await?,
            Remembered::Nothing => {
                let verified = self.verify(credential).await?;
                let user = self.user(&verified.user_id, verified.user, now).await?;
                self.credentials
                    .put(key, user.id.clone(), now, verified.expires_at);
                user
            }
        };
        self.principal(&user, now)
    }

    /// What [`Self::authenticate`] answers when both caches remember the credential and its
    /// user, without awaiting anything (a request's usual case: the extractor then needs no
    /// future of its own); `None` when answering takes a verifier or the database.
    pub fn authenticate_cached(
        &self,
        credential: &str,
    ) -> Option<Result<Principal, ApplicationError>> {
        let now = self.clock.now();
        match self.remembered(&self.credential_keys.of(credential), now) {
            Remembered::Answer(answer) => Some(answer),
            Remembered::Credential(_) | Remembered::Nothing => None,
        }
    }

    /// What the caches know of the credential whose key is `key` (the answer is read from
    /// the cached row where it lies, not from a copy of it).
    fn remembered(&self, key: &CredentialKey, now: todo_domain::Timestamp) -> Remembered {
        self.credentials
            .read(key, now, |user_id| {
                self.cache
                    .read(user_id, now, |user| self.principal(user, now))
                    .map_or_else(
                        || Remembered::Credential(user_id.clone()),
                        Remembered::Answer,
                    )
            })
            .unwrap_or(Remembered::Nothing)
    }

    fn principal(
        &self,
        user: &User,
        now: todo_domain::Timestamp,
    ) -> Result<Principal, ApplicationError> {
        policy::ensure_not_banned(user, now)?;
        Ok(Principal::new(
            user.id.clone(),
            &user.roles,
            &self.admin_roles,
        ))
    }

    /// The caller's own row (for `GET /api/me`).
    pub async fn current_user(&self, principal: &Principal) -> Result<User, ApplicationError> {
        self.user(&principal.user_id, None, self.clock.now()).await
    }

    async fn verify(&self, credential: &str) -> Result<VerifiedCredential, ApplicationError> {
        for verifier in &self.verifiers {
            match verifier.verify(credential).await {
                Ok(Some(verified)) => return Ok(verified),
                Ok(None) => {}
                Err(CredentialError::Refused { reason, detail }) => {
                    tracing::debug!(reason = reason.as_str(), detail, "credential refused");
                    return Err(ApplicationError::unauthenticated(
                        reason,
                        format!("invalid credential: {detail}"),
                    ));
                }
                Err(CredentialError::Unavailable(err)) => return Err(err.into()),
            }
        }
        Err(ApplicationError::unauthenticated(
            AuthFailure::Unsupported,
            "unsupported credential: send a bearer token issued by the sign-in service",
        ))
    }

    /// The user's row: as the verifier read it, else cached, else loaded.
    async fn user(
        &self,
        id: &UserId,
        read: Option<User>,
        now: todo_domain::Timestamp,
    ) -> Result<User, ApplicationError> {
        let user = match read {
            Some(user) => user,
            None => match self.cache.get(id, now) {
                Some(user) => return Ok(user),
                None => self.users.find(id).await?.ok_or_else(|| {
                    ApplicationError::unauthenticated(
                        AuthFailure::UnknownUser,
                        "the credential's user does not exist",
                    )
                })?,
            },
        };
        let user = if self.admin_user_id.as_ref() == Some(id) {
            promote_user(self.users.as_ref(), &self.cache, &self.admin_roles, user)
                .await?
                .0
        } else {
            user
        };
        self.cache.put(user.id.clone(), user.clone(), now, None);
        Ok(user)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ports::{MockCredentialVerifier, MockUserRepository, PortError};
    use crate::testing::*;
    use mockall::predicate::eq;

    fn accepting(user: &'static str) -> MockCredentialVerifier {
        let mut v = MockCredentialVerifier::new();
        v.expect_verify().returning(move |_| {
            Ok(Some(VerifiedCredential {
                user_id: uid(user),
                expires_at: None,
                user: None,
            }))
        });
        v
    }

    fn service_with(
        verifiers: Vec<MockCredentialVerifier>,
        users: MockUserRepository,
        cache: UserCache,
        admin_user_id: Option<&str>,
    ) -> AuthService {
        AuthService::new(
            verifiers
                .into_iter()
                .map(|v| Arc::new(v) as Arc<dyn CredentialVerifier>)
                .collect(),
            Arc::new(users),
            fixed_clock(100),
            Arc::new(cache),
            AdminRoles::default(),
            admin_user_id.map(uid),
        )
    }

    fn unauthenticated(r: Result<Principal, ApplicationError>, why: AuthFailure) {
        assert!(
            matches!(r, Err(ApplicationError::Unauthenticated { reason, .. }) if reason == why),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn a_verified_credential_of_an_existing_user_yields_a_principal() {
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .with(eq(uid("alice")))
            .returning(|_| Ok(Some(user_row("alice", Some("user,admin")))));
        let p = service_with(vec![accepting("alice")], users, UserCache::disabled(), None)
            .authenticate("token")
            .await
            .unwrap();
        assert_eq!(p.user_id, uid("alice"));
        assert!(p.is_admin, "roles come from the database row");
    }

    #[tokio::test]
    async fn a_credential_of_an_unknown_user_is_refused() {
        let mut users = MockUserRepository::new();
        users.expect_find().returning(|_| Ok(None));
        unauthenticated(
            service_with(vec![accepting("ghost")], users, UserCache::disabled(), None)
                .authenticate("token")
                .await,
            AuthFailure::UnknownUser,
        );
    }

    #[tokio::test]
    async fn an_invalid_credential_is_refused_without_a_lookup() {
        let mut v = MockCredentialVerifier::new();
        v.expect_verify()
            .returning(|_| Err(CredentialError::bad_signature("bad signature")));
        let mut later = MockCredentialVerifier::new();
        later.expect_verify().never();
        let mut users = MockUserRepository::new();
        users.expect_find().never();
        let err = service_with(vec![v, later], users, UserCache::disabled(), None)
            .authenticate("token")
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "invalid credential: bad signature");
        assert!(matches!(
            err,
            ApplicationError::Unauthenticated {
                reason: AuthFailure::BadSignature,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn verifiers_are_asked_in_order_until_one_recognises_the_credential() {
        let mut first = MockCredentialVerifier::new();
        first.expect_verify().times(1).returning(|_| Ok(None));
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .returning(|_| Ok(Some(user_row("bob", None))));
        let p = service_with(
            vec![first, accepting("bob")],
            users,
            UserCache::disabled(),
            None,
        )
        .authenticate("token")
        .await
        .unwrap();
        assert_eq!(p.user_id, uid("bob"));
    }

    #[tokio::test]
    async fn a_credential_nobody_recognises_is_refused() {
        let mut first = MockCredentialVerifier::new();
        first.expect_verify().returning(|_| Ok(None));
        unauthenticated(
            service_with(
                vec![first],
                MockUserRepository::new(),
                UserCache::disabled(),
                None,
            )
            .authenticate("token")
            .await,
            AuthFailure::Unsupported,
        );
    }

    #[tokio::test]
    async fn banned_users_are_forbidden() {
        let mut users = MockUserRepository::new();
        users.expect_find().returning(|_| {
            let mut u = user_row("alice", None);
            u.banned = true;
            Ok(Some(u))
        });
        let err = service_with(vec![accepting("alice")], users, UserCache::disabled(), None)
            .authenticate("token")
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Forbidden(ref m) if m.contains("banned")));
    }

    #[tokio::test]
    async fn expired_bans_no_longer_apply() {
        let mut users = MockUserRepository::new();
        users.expect_find().returning(|_| {
            let mut u = user_row("alice", None);
            u.banned = true;
            u.ban_expires = Some(at(99));
            Ok(Some(u))
        });
        assert!(
            service_with(vec![accepting("alice")], users, UserCache::disabled(), None)
                .authenticate("token")
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn user_rows_are_cached_between_requests() {
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .times(1)
            .returning(|_| Ok(Some(user_row("alice", None))));
        let svc = service_with(
            vec![accepting("alice")],
            users,
            UserCache::new(std::time::Duration::from_secs(5), 100),
            None,
        );
        svc.authenticate("token").await.unwrap();
        svc.authenticate("token").await.unwrap();
    }

    #[tokio::test]
    async fn a_remembered_credential_is_answered_without_awaiting() {
        let mut users = MockUserRepository::new();
        users.expect_find().times(1).returning(|_| {
            let mut u = user_row("alice", Some("user,admin"));
            u.banned = true;
            u.ban_expires = Some(at(150));
            Ok(Some(u))
        });
        let mut v = MockCredentialVerifier::new();
        v.expect_verify().times(1).returning(|_| {
            Ok(Some(VerifiedCredential {
                user_id: uid("alice"),
                expires_at: None,
                user: None,
            }))
        });
        let svc = service_with(
            vec![v],
            users,
            UserCache::new(std::time::Duration::from_secs(60), 100),
            None,
        );
        // Nothing remembered yet: the caller awaits the verifier and the database.
        assert!(svc.authenticate_cached("token").is_none());
        assert!(matches!(
            svc.authenticate("token").await,
            Err(ApplicationError::Forbidden(_))
        ));
        // Remembered: the same answer as `authenticate`, the ban included, with no
        // verifier or lookup (each mock allows one call).
        assert!(matches!(
            svc.authenticate_cached("token"),
            Some(Err(ApplicationError::Forbidden(_)))
        ));
        assert!(svc.authenticate_cached("another token").is_none());
        // Once the user's row is forgotten, the credential alone is not an answer.
        svc.cache.forget(&uid("alice"));
        assert!(svc.authenticate_cached("token").is_none());
    }

    #[tokio::test]
    async fn the_configured_admin_is_promoted_when_first_seen() {
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .returning(|_| Ok(Some(user_row("boss", None))));
        users
            .expect_set_role()
            .withf(|id, roles| *id == uid("boss") && roles.to_stored() == "user,admin")
            .times(1)
            .returning(|_, _| Ok(true));
        let p = service_with(
            vec![accepting("boss")],
            users,
            UserCache::disabled(),
            Some("boss"),
        )
        .authenticate("token")
        .await
        .unwrap();
        assert!(p.is_admin);
    }

    #[tokio::test]
    async fn a_database_outage_during_lookup_is_unavailable() {
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .returning(|_| Err(PortError::Unavailable("down".into())));
        let err = service_with(vec![accepting("alice")], users, UserCache::disabled(), None)
            .authenticate("token")
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Unavailable(_)));
    }

    #[tokio::test]
    async fn a_user_read_by_the_verifier_costs_no_second_lookup() {
        let mut v = MockCredentialVerifier::new();
        v.expect_verify().returning(|_| {
            Ok(Some(VerifiedCredential {
                user_id: uid("alice"),
                expires_at: Some(at(1_000)),
                user: Some(user_row("alice", Some("admin"))),
            }))
        });
        let mut users = MockUserRepository::new();
        users.expect_find().never();
        let p = service_with(vec![v], users, UserCache::disabled(), None)
            .authenticate("session-token")
            .await
            .unwrap();
        assert!(p.is_admin);
    }

    #[tokio::test]
    async fn verified_credentials_are_remembered_but_never_past_their_expiry() {
        let mut v = MockCredentialVerifier::new();
        // Expires at 102: the clock stands at 100, the cache TTL is 60 s.
        v.expect_verify().times(1).returning(|_| {
            Ok(Some(VerifiedCredential {
                user_id: uid("alice"),
                expires_at: Some(at(102)),
                user: Some(user_row("alice", None)),
            }))
        });
        let svc = service_with(
            vec![v],
            MockUserRepository::new(),
            UserCache::new(std::time::Duration::from_secs(60), 100),
            None,
        );
        svc.authenticate("token").await.unwrap();
        svc.authenticate("token").await.unwrap();
        let stored = svc
            .credentials
            .get(&svc.credential_keys.of("token"), at(101));
        assert_eq!(stored, Some(uid("alice")));
        assert_eq!(
            svc.credentials
                .get(&svc.credential_keys.of("token"), at(102)),
            None
        );
    }

    #[test]
    fn credential_keys_are_secret_per_service_and_tell_credentials_apart() {
        let keys = CredentialKeys::random();
        assert_eq!(keys.of("token"), keys.of("token"));
        assert_ne!(keys.of("token"), keys.of("token2"));
        assert_ne!(keys.of(""), keys.of("\0"));
        // Another service draws another key: a cache key computed elsewhere (or from a
        // published algorithm alone) says nothing about this one's.
        assert_ne!(keys.of("token"), CredentialKeys::random().of("token"));
    }

    #[tokio::test]
    async fn the_current_user_is_the_principals_row() {
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .with(eq(uid("alice")))
            .returning(|_| Ok(Some(user_row("alice", None))));
        let svc = service_with(vec![accepting("alice")], users, UserCache::disabled(), None);
        let p = svc.authenticate("token").await.unwrap();
        let me = svc.current_user(&p).await.unwrap();
        assert_eq!(me.email, "alice@example.com");
    }
}
