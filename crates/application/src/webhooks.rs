//! Webhooks as their owners manage them: create (the secret shown once), list, read,
//! change, rotate the secret, delete.
//!
//! A webhook carries the changes its owner may see; one scoped to a list needs its owner
//! to be able to read that list, checked when it is created or pointed at another list.
//! Deliveries start after the change log's head at creation: a new webhook never
//! receives what happened before it existed.

mod attempts;
mod dispatch;

use std::sync::Arc;

use todo_domain::access::{self, ListAction};
use todo_domain::webhook::{
    AllowedHosts, DEFAULT_MAX_PER_USER, EventKinds, TargetUrl, Webhook, WebhookChanges, WebhookId,
};
use todo_domain::{ListId, Principal, Timestamp, UserId, policy};

use crate::error::ApplicationError;
use crate::ports::{
    ChangeLog, Clock, ListRepository, SecretGenerator, WebhookPayloads, WebhookRepository,
    WebhookSender,
};

pub use attempts::DeliveryPage;
pub use dispatch::{DeliveryCounts, DeliveryStats, DispatchSettings, Jitter, WebhookDispatcher};

/// Limits and rules of webhooks, from the configuration.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Webhooks per user (`webhooks.max_per_user`).
    pub max_per_user: u32,
    /// Hosts that may be reached over plain HTTP (`webhooks.allow_hosts`).
    pub allowed: AllowedHosts,
    /// How long a rotated-out secret keeps signing beside the new one
    /// (`webhooks.secret_overlap_secs`).
    pub secret_overlap: chrono::TimeDelta,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            max_per_user: DEFAULT_MAX_PER_USER,
            allowed: AllowedHosts::default(),
            secret_overlap: chrono::TimeDelta::hours(24),
        }
    }
}

/// A webhook to create, as the client sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    /// `None`: every kind.
    pub events: Option<Vec<String>>,
    pub list: Option<ListId>,
    /// `None`: enabled.
    pub enabled: Option<bool>,
}

/// A change to a webhook, as the client sent it; `None` keeps the value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// `Some(None)`: every list.
    pub list: Option<Option<ListId>>,
    pub enabled: Option<bool>,
}

/// A webhook with a secret the client sees this once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithSecret {
    pub hook: Webhook,
    pub secret: String,
    /// After a rotation: until when the previous secret still signs.
    pub previous_valid_until: Option<Timestamp>,
}

/// Webhooks as their owners manage them.
pub struct WebhookService {
    hooks: Arc<dyn WebhookRepository>,
    lists: Arc<dyn ListRepository>,
    log: Arc<dyn ChangeLog>,
    secrets: Arc<dyn SecretGenerator>,
    /// For the deliveries its owner asks for (a redelivery, a ping).
    payloads: Arc<dyn WebhookPayloads>,
    sender: Arc<dyn WebhookSender>,
    clock: Arc<dyn Clock>,
    settings: WebhookSettings,
}

/// Where [`WebhookService`] sends what its owners ask for at once (a redelivery, a ping):
/// the bodies and the sender the deliverer uses.
#[derive(Clone)]
pub struct OnDemand {
    pub payloads: Arc<dyn WebhookPayloads>,
    pub sender: Arc<dyn WebhookSender>,
}

impl WebhookService {
    pub fn new(
        hooks: Arc<dyn WebhookRepository>,
        lists: Arc<dyn ListRepository>,
        log: Arc<dyn ChangeLog>,
        secrets: Arc<dyn SecretGenerator>,
        on_demand: OnDemand,
        clock: Arc<dyn Clock>,
        settings: WebhookSettings,
    ) -> Self {
        Self {
            hooks,
            lists,
            log,
            secrets,
            payloads: on_demand.payloads,
            sender: on_demand.sender,
            clock,
            settings,
        }
    }

    /// Creates a webhook of `owner`'s; its secret is in the answer and nowhere else.
    ///
    /// # Errors
    /// `Forbidden` for another user's path; `Validation` for a bad URL or event kind;
    /// `NotFound("list")` for a list the owner cannot read; `Limit` at the per-user limit.
    pub async fn create(
        &self,
        principal: &Principal,
        owner: &UserId,
        new: NewWebhook,
    ) -> Result<WithSecret, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let url = TargetUrl::parse(&new.url, &self.settings.allowed)?;
        let events = match new.events {
            Some(names) => EventKinds::parse(&names)?,
            None => EventKinds::all(),
        };
        if let Some(list) = new.list {
            self.ensure_readable(owner, list).await?;
        }
        let now = self.clock.now();
        let hook = Webhook {
            id: WebhookId::from_uuid(uuid::Uuid::now_v7()),
            owner: owner.clone(),
            url,
            events,
            list: new.list,
            enabled: new.enabled.unwrap_or(true),
            disabled_reason: None,
            failures: 0,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let secret = self.secrets.new_secret();
        let head = self.log.head().await?;
        if !self
            .hooks
            .insert(&hook, &secret, head, self.settings.max_per_user)
            .await?
        {
            return Err(ApplicationError::Limit(format!(
                "a user may have at most {} webhooks",
                self.settings.max_per_user
            )));
        }
        tracing::info!(webhook = %hook.id, host = hook.url.host(), "webhook created");
        Ok(WithSecret {
            hook,
            secret,
            previous_valid_until: None,
        })
    }

    /// The owner's webhooks, without their secrets.
    ///
    /// # Errors
    /// `Forbidden` for another user's path.
    pub async fn list(
        &self,
        principal: &Principal,
        owner: &UserId,
    ) -> Result<Vec<Webhook>, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        Ok(self.hooks.list(owner).await?)
    }

    /// One of the owner's webhooks.
    ///
    /// # Errors
    /// `Forbidden` for another user's path; `NotFound("webhook")`.
    pub async fn get(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: WebhookId,
    ) -> Result<Webhook, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        self.existing(owner, id).await
    }

    /// Changes a webhook; `expected` is the client's `If-Match` version, if it sent one.
    ///
    /// # Errors
    /// As [`Self::create`], and `PreconditionFailed` when the webhook changed since
    /// `expected`.
    pub async fn update(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: WebhookId,
        patch: WebhookPatch,
        expected: Option<i64>,
    ) -> Result<Webhook, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let changes = WebhookChanges {
            url: patch
                .url
                .map(|raw| TargetUrl::parse(&raw, &self.settings.allowed))
                .transpose()?,
            events: patch
                .events
                .map(|names| EventKinds::parse(&names))
                .transpose()?,
            list: patch.list,
            enabled: patch.enabled,
        };
        let current = self.existing(owner, id).await?;
        if let Some(expected) = expected
            && expected != current.version
        {
            return Err(ApplicationError::PreconditionFailed {
                what: "webhook",
                current_version: current.version,
            });
        }
        if let Some(Some(list)) = changes.list {
            self.ensure_readable(owner, list).await?;
        }
        let next = current.apply(changes, self.clock.now());
        if !self.hooks.replace(&next, current.version).await? {
            // Changed or deleted between the read and the write.
            let now = self.existing(owner, id).await?;
            return Err(ApplicationError::PreconditionFailed {
                what: "webhook",
                current_version: now.version,
            });
        }
        Ok(next)
    }

    /// Deletes a webhook with its deliveries.
    ///
    /// # Errors
    /// `Forbidden` for another user's path; `NotFound("webhook")`.
    pub async fn delete(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: WebhookId,
    ) -> Result<(), ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        if self.hooks.delete(owner, id).await? {
            tracing::info!(webhook = %id, "webhook deleted");
            Ok(())
        } else {
            Err(ApplicationError::NotFound("webhook"))
        }
    }

    /// Gives a webhook a new secret, shown this once; the old one keeps signing beside it
    /// for the configured overlap, so that the receiver can switch without losing events.
    ///
    /// # Errors
    /// `Forbidden` for another user's path; `NotFound("webhook")`.
    pub async fn rotate_secret(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: WebhookId,
    ) -> Result<WithSecret, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let now = self.clock.now();
        let until = now + self.settings.secret_overlap;
        let secret = self.secrets.new_secret();
        if !self
            .hooks
            .rotate_secret(owner, id, &secret, until, now)
            .await?
        {
            return Err(ApplicationError::NotFound("webhook"));
        }
        tracing::info!(webhook = %id, "webhook secret rotated");
        let hook = self.existing(owner, id).await?;
        Ok(WithSecret {
            hook,
            secret,
            previous_valid_until: Some(until),
        })
    }

    async fn existing(&self, owner: &UserId, id: WebhookId) -> Result<Webhook, ApplicationError> {
        self.hooks
            .get(owner, id)
            .await?
            .ok_or(ApplicationError::NotFound("webhook"))
    }

    /// A list's changes go only where its reader could read them (a non-member is told
    /// there is no such list).
    async fn ensure_readable(&self, owner: &UserId, list: ListId) -> Result<(), ApplicationError> {
        let role = self.lists.role(owner, list).await?;
        access::authorize(role, ListAction::Read, "list")?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ports::{
        MockChangeLog, MockListRepository, MockSecretGenerator, MockWebhookRepository,
    };
    use crate::testing::*;
    use mockall::predicate::{always, eq};
    use todo_domain::{ChangeCursor, ChangeKind, Role};

    struct Mocks {
        hooks: MockWebhookRepository,
        lists: MockListRepository,
        log: MockChangeLog,
        secrets: MockSecretGenerator,
    }

    fn mocks() -> Mocks {
        let mut log = MockChangeLog::new();
        log.expect_head()
            .returning(|| Ok(ChangeCursor { tx: 7, id: 42 }));
        let mut secrets = MockSecretGenerator::new();
        secrets
            .expect_new_secret()
            .returning(|| "whsec_c2VjcmV0".to_owned());
        Mocks {
            hooks: MockWebhookRepository::new(),
            lists: MockListRepository::new(),
            log,
            secrets,
        }
    }

    fn service(m: Mocks) -> WebhookService {
        WebhookService::new(
            Arc::new(m.hooks),
            Arc::new(m.lists),
            Arc::new(m.log),
            Arc::new(m.secrets),
            OnDemand {
                payloads: Arc::new(crate::ports::MockWebhookPayloads::new()),
                sender: Arc::new(crate::ports::MockWebhookSender::new()),
            },
            fixed_clock(100),
            WebhookSettings {
                max_per_user: 3,
                allowed: AllowedHosts::new(["127.0.0.1"]),
                secret_overlap: chrono::TimeDelta::hours(1),
            },
        )
    }

    fn new(url: &str) -> NewWebhook {
        NewWebhook {
            url: url.to_owned(),
            ..NewWebhook::default()
        }
    }

    #[tokio::test]
    async fn a_webhook_is_stored_from_the_logs_head_and_its_secret_shown_once() {
        let mut m = mocks();
        m.hooks
            .expect_insert()
            .withf(|hook, secret, after, max| {
                hook.url.as_str() == "https://example.com/in"
                    && hook.events == EventKinds::all()
                    && hook.enabled
                    && hook.version == 1
                    && hook.created_at == at(100)
                    && secret == "whsec_c2VjcmV0"
                    && *after == ChangeCursor { tx: 7, id: 42 }
                    && *max == 3
            })
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        let created = service(m)
            .create(
                &principal("alice"),
                &uid("alice"),
                new("https://example.com/in"),
            )
            .await
            .unwrap();
        assert_eq!(created.secret, "whsec_c2VjcmV0");
        assert_eq!(created.hook.owner, uid("alice"));
        assert_eq!(created.previous_valid_until, None);
    }

    #[tokio::test]
    async fn a_refused_webhook_never_reaches_the_store() {
        let refused = [
            (principal("bob"), new("https://example.com/"), "forbidden"),
            (principal("alice"), new("http://example.com/"), "url"),
            (principal("alice"), new("https://10.0.0.1:99999/"), "url"),
            (
                principal("alice"),
                NewWebhook {
                    events: Some(vec!["task.vanished".to_owned()]),
                    ..new("https://example.com/")
                },
                "events",
            ),
        ];
        for (who, hook, why) in refused {
            let mut m = mocks();
            m.hooks.expect_insert().never();
            let err = service(m)
                .create(&who, &uid("alice"), hook)
                .await
                .unwrap_err();
            match (why, &err) {
                ("forbidden", ApplicationError::Forbidden(_)) => {}
                (field, ApplicationError::Validation { field: got, .. }) if got == field => {}
                _ => panic!("{why}: {err:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_list_scoped_webhook_needs_a_list_its_owner_can_read() {
        // A list alice is not a member of: as if it did not exist.
        let mut m = mocks();
        m.lists
            .expect_role()
            .with(eq(uid("alice")), eq(lid(9)))
            .returning(|_, _| Ok(None));
        m.hooks.expect_insert().never();
        let err = service(m)
            .create(
                &principal("alice"),
                &uid("alice"),
                NewWebhook {
                    list: Some(lid(9)),
                    ..new("https://example.com/")
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::NotFound("list")), "{err:?}");

        // A viewer reads: enough.
        let mut m = mocks();
        m.lists
            .expect_role()
            .with(eq(uid("alice")), eq(lid(5)))
            .returning(|_, _| Ok(Some(Role::Viewer)));
        m.hooks
            .expect_insert()
            .withf(|hook, _, _, _| hook.list == Some(lid(5)))
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        service(m)
            .create(
                &principal("alice"),
                &uid("alice"),
                NewWebhook {
                    list: Some(lid(5)),
                    events: Some(vec!["task.completed".to_owned()]),
                    ..new("https://example.com/")
                },
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_per_user_limit_is_a_limit_error() {
        let mut m = mocks();
        m.hooks.expect_insert().returning(|_, _, _, _| Ok(false));
        let err = service(m)
            .create(
                &principal("alice"),
                &uid("alice"),
                new("https://example.com/"),
            )
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "a user may have at most 3 webhooks");
    }

    fn stored(version: i64) -> Webhook {
        Webhook {
            id: WebhookId::from_uuid(uuid::Uuid::from_u128(1)),
            owner: uid("alice"),
            url: TargetUrl::parse("https://example.com/", &AllowedHosts::default()).unwrap(),
            events: EventKinds::all(),
            list: None,
            enabled: false,
            disabled_reason: Some("10 deliveries in a row failed".to_owned()),
            failures: 10,
            created_at: at(1),
            updated_at: at(1),
            version,
        }
    }

    #[tokio::test]
    async fn an_update_checks_its_version_and_writes_the_changes() {
        let id = stored(1).id;
        // Stale If-Match: nothing written.
        let mut m = mocks();
        m.hooks.expect_get().returning(|_, _| Ok(Some(stored(4))));
        m.hooks.expect_replace().never();
        let err = service(m)
            .update(
                &principal("alice"),
                &uid("alice"),
                id,
                WebhookPatch {
                    enabled: Some(true),
                    ..WebhookPatch::default()
                },
                Some(3),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ApplicationError::PreconditionFailed {
                    current_version: 4,
                    ..
                }
            ),
            "{err:?}"
        );

        // Re-enabled with new events: written against the version read.
        let mut m = mocks();
        m.hooks.expect_get().returning(|_, _| Ok(Some(stored(4))));
        m.hooks
            .expect_replace()
            .withf(|hook, expected| {
                *expected == 4
                    && hook.version == 5
                    && hook.enabled
                    && hook.failures == 0
                    && hook.disabled_reason.is_none()
                    && hook.events.kinds() == [ChangeKind::TaskCreated]
                    && hook.updated_at == at(100)
            })
            .times(1)
            .returning(|_, _| Ok(true));
        let updated = service(m)
            .update(
                &principal("alice"),
                &uid("alice"),
                id,
                WebhookPatch {
                    enabled: Some(true),
                    events: Some(vec!["task.created".to_owned()]),
                    ..WebhookPatch::default()
                },
                Some(4),
            )
            .await
            .unwrap();
        assert_eq!(updated.version, 5);

        // Another user's webhook, or none: not found, nothing written.
        let mut m = mocks();
        m.hooks.expect_get().returning(|_, _| Ok(None));
        m.hooks.expect_replace().never();
        let err = service(m)
            .update(
                &principal("alice"),
                &uid("alice"),
                id,
                WebhookPatch::default(),
                None,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::NotFound("webhook")));
    }

    #[tokio::test]
    async fn a_rotation_keeps_the_old_secret_for_the_overlap() {
        let id = stored(1).id;
        let mut m = mocks();
        m.hooks
            .expect_rotate_secret()
            .with(
                eq(uid("alice")),
                eq(id),
                eq("whsec_c2VjcmV0"),
                eq(at(100 + 3_600)),
                eq(at(100)),
            )
            .times(1)
            .returning(|_, _, _, _, _| Ok(true));
        m.hooks.expect_get().returning(|_, _| Ok(Some(stored(2))));
        let rotated = service(m)
            .rotate_secret(&principal("alice"), &uid("alice"), id)
            .await
            .unwrap();
        assert_eq!(rotated.secret, "whsec_c2VjcmV0");
        assert_eq!(rotated.previous_valid_until, Some(at(3_700)));

        let mut m = mocks();
        m.hooks
            .expect_rotate_secret()
            .returning(|_, _, _, _, _| Ok(false));
        let err = service(m)
            .rotate_secret(&principal("alice"), &uid("alice"), id)
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::NotFound("webhook")));

        let mut m = mocks();
        m.hooks
            .expect_delete()
            .with(eq(uid("alice")), always())
            .returning(|_, _| Ok(false));
        let err = service(m)
            .delete(&principal("alice"), &uid("alice"), id)
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::NotFound("webhook")));
    }
}
