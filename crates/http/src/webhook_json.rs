//! The bodies of the webhook endpoints: what they accept and what they answer. The secret
//! appears in one answer only, [`WebhookWithSecret`], given at creation and rotation.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use todo_application::ports::{AttemptOutcome, DeliveryRecord};
use todo_application::{NewWebhook, WebhookPatch, WithSecret};
use todo_domain::ChangeKind;
use todo_domain::webhook::Webhook;
use utoipa::ToSchema;

use crate::dto::rfc3339;
use crate::error::Result;
use crate::extract::FromEmptyBody;
use crate::parse::{as_field, invalid};

/// An event kind a webhook can ask for (as the event stream names it).
pub(crate) struct EventKindName;

impl utoipa::PartialSchema for EventKindName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("An event kind, as the event stream names it"))
            .enum_values(Some(ChangeKind::ALL.map(ChangeKind::as_str)))
            .examples(["task.completed"])
            .into()
    }
}

impl utoipa::ToSchema for EventKindName {}

/// A webhook as its owner sees it (never its secret). Single-webhook responses also carry
/// its `version` as a strong `ETag`, to send back in `If-Match`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookDto {
    #[schema(example = "0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a00", format = "uuid")]
    pub id: String,
    /// Where the events are sent.
    #[schema(example = "https://hooks.example.com/todo", format = "uri")]
    pub url: String,
    /// The event kinds it receives.
    #[schema(value_type = Vec<EventKindName>, example = json!(["task.created", "task.completed"]))]
    pub events: Vec<String>,
    /// Only this list's changes; `null`: the changes of every list its owner can read.
    #[schema(required = true, format = "uuid")]
    pub list_id: Option<String>,
    /// Whether events are being delivered.
    pub enabled: bool,
    /// Why the service disabled it (its deliveries kept failing, or its owner can no
    /// longer read its list); `null` otherwise. Enabling it again clears it.
    #[schema(
        required = true,
        example = "10 deliveries in a row failed: the receiver answered 500"
    )]
    pub disabled_reason: Option<String>,
    /// Failed attempts in a row (0 after a delivery succeeds).
    #[schema(example = 0, minimum = 0)]
    pub failures: u32,
    #[schema(example = "2026-12-04T09:30:00.000000Z", format = "date-time")]
    pub created_at: String,
    #[schema(example = "2026-12-04T09:30:00.000000Z", format = "date-time")]
    pub updated_at: String,
    /// Starts at 1; every change adds one.
    #[schema(example = 1, minimum = 1)]
    pub version: i64,
}

impl From<&Webhook> for WebhookDto {
    fn from(h: &Webhook) -> Self {
        Self {
            id: h.id.to_string(),
            url: h.url.as_str().to_owned(),
            events: h
                .events
                .kinds()
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect(),
            list_id: h.list.map(|l| l.to_string()),
            enabled: h.enabled,
            disabled_reason: h.disabled_reason.clone(),
            failures: h.failures,
            created_at: rfc3339(h.created_at),
            updated_at: rfc3339(h.updated_at),
            version: h.version,
        }
    }
}

/// A webhook with its signing secret: the answer to its creation and to a rotation, and
/// the only place the secret is ever shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookDto,
    /// The signing secret (Standard Webhooks: `whsec_` and base64 of the key). Keep it:
    /// it is not shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
    /// After a rotation: until when deliveries are also signed with the previous secret
    /// (a second `v1,` signature), so that the receiver can switch without losing events;
    /// `null` at creation.
    #[schema(required = true, format = "date-time")]
    pub previous_secret_expires_at: Option<String>,
}

impl From<&WithSecret> for WebhookWithSecret {
    fn from(w: &WithSecret) -> Self {
        Self {
            webhook: WebhookDto::from(&w.hook),
            secret: w.secret.clone(),
            previous_secret_expires_at: w.previous_valid_until.map(rfc3339),
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// Another status, a timeout, a connection or TLS failure.
    Failed,
    /// Not sent: the target resolved to an address a webhook may not reach.
    Refused,
}

impl From<AttemptOutcome> for DeliveryOutcome {
    fn from(o: AttemptOutcome) -> Self {
        match o {
            AttemptOutcome::Delivered => Self::Delivered,
            AttemptOutcome::Failed => Self::Failed,
            AttemptOutcome::Refused => Self::Refused,
        }
    }
}

/// One attempt to deliver one event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryDto {
    /// The attempt's id (for `…/deliveries/{delivery_id}/redeliver`).
    #[schema(example = "0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a00", format = "uuid")]
    pub id: String,
    /// The `webhook-id` it was sent with: the same for every attempt at one change, so a
    /// receiver tells a repeat by it; a ping's is its own.
    #[schema(example = "evt_7421-88")]
    pub event_id: String,
    /// The event kind (`ping` for a test).
    #[schema(example = "task.completed")]
    pub event: String,
    /// Which attempt at its event (1 for the first; redeliveries count).
    #[schema(example = 1, minimum = 1)]
    pub attempt: u32,
    pub outcome: DeliveryOutcome,
    /// The receiver's HTTP status; `null` when it did not answer (or was not reached).
    #[schema(required = true, example = 204, minimum = 100, maximum = 599)]
    pub status_code: Option<u16>,
    /// How long the attempt took, in milliseconds.
    #[schema(example = 84, minimum = 0)]
    pub duration_ms: u64,
    /// Why it failed or was refused; `null` when delivered.
    #[schema(required = true, example = "the receiver answered 503")]
    pub error: Option<String>,
    /// When the attempt ended.
    #[schema(example = "2026-12-04T09:30:00.000000Z", format = "date-time")]
    pub at: String,
}

impl From<&DeliveryRecord> for DeliveryDto {
    fn from(d: &DeliveryRecord) -> Self {
        Self {
            id: d.id.to_string(),
            event_id: d.event.message_id(d.id),
            event: d.event.kind_name().to_owned(),
            attempt: d.attempt,
            outcome: d.result.outcome.into(),
            status_code: d.result.status,
            duration_ms: d.result.duration_ms,
            error: d.result.error.clone(),
            at: rfc3339(d.at),
        }
    }
}

/// Body of `POST /api/{user_id}/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// An absolute `https` URL (`http` only to a host in `webhooks.allow_hosts`), at most
    /// 2000 characters, no credentials, no fragment; its host a DNS name (at most 253
    /// characters, labels of at most 63 letters, digits, `-` or `_`) or an IP address.
    #[schema(
        example = "https://hooks.example.com/todo",
        format = "uri",
        min_length = 1,
        max_length = 2000
    )]
    pub url: String,
    /// The event kinds wanted (at least one); default every kind.
    #[serde(default)]
    #[schema(value_type = Option<Vec<EventKindName>>, min_items = 1, example = json!(["task.created", "task.completed"]))]
    pub events: Option<Vec<String>>,
    /// Only this list's changes (the caller must be able to read it); default every list
    /// the caller can read.
    #[serde(default)]
    #[schema(format = "uuid")]
    pub list_id: Option<String>,
    /// Default `true`.
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default, rename = "id")]
    #[schema(ignore)]
    pub _id: Option<IgnoredAny>,
    #[serde(default, rename = "secret")]
    #[schema(ignore)]
    pub _secret: Option<IgnoredAny>,
}

impl FromEmptyBody for CreateWebhook {}

impl CreateWebhook {
    pub(crate) fn into_application(self) -> Result<NewWebhook> {
        Ok(NewWebhook {
            url: self.url,
            events: self.events,
            list: self
                .list_id
                .as_deref()
                .map(|raw| as_field(todo_domain::ListId::parse(raw), "list_id"))
                .transpose()?,
            enabled: self.enabled,
        })
    }
}

/// Body of `PATCH /api/{user_id}/webhooks/{webhook_id}`: every field optional; an absent
/// field keeps its value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    /// As at creation; not `null`.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = String, example = "https://hooks.example.com/todo", format = "uri", min_length = 1, max_length = 2000)]
    pub url: Option<Option<String>>,
    /// At least one kind; not `null`.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = Vec<EventKindName>, min_items = 1)]
    pub events: Option<Option<Vec<String>>>,
    /// Another list (the caller must be able to read it), or `null` for every list.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = Option<String>, format = "uuid")]
    pub list_id: Option<Option<String>>,
    /// `true` enables it (one the service disabled starts afresh: no failures, no
    /// reason), `false` pauses it; not `null`.
    #[serde(default, deserialize_with = "crate::parse::present")]
    #[schema(value_type = bool)]
    pub enabled: Option<Option<bool>>,
    #[serde(default, rename = "id")]
    #[schema(ignore)]
    pub _id: Option<IgnoredAny>,
    #[serde(default, rename = "version")]
    #[schema(ignore)]
    pub _version: Option<IgnoredAny>,
}

impl FromEmptyBody for UpdateWebhook {}

impl UpdateWebhook {
    pub(crate) fn into_application(self) -> Result<WebhookPatch> {
        let not_null = |field: &str| invalid(field, "must not be null");
        Ok(WebhookPatch {
            url: match self.url {
                None => None,
                Some(None) => return Err(not_null("url")),
                Some(Some(url)) => Some(url),
            },
            events: match self.events {
                None => None,
                Some(None) => return Err(not_null("events")),
                Some(Some(events)) => Some(events),
            },
            list: match self.list_id {
                None => None,
                Some(None) => Some(None),
                Some(Some(raw)) => {
                    Some(Some(as_field(todo_domain::ListId::parse(&raw), "list_id")?))
                }
            },
            enabled: match self.enabled {
                None => None,
                Some(None) => return Err(not_null("enabled")),
                Some(Some(enabled)) => Some(enabled),
            },
        })
    }
}

/// The query of `GET …/webhooks/{webhook_id}/deliveries`; any other parameter is a 422.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Page size, 1–100 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Where to continue: copy it from the `Link: <…>; rel="next"` header.
    #[param(value_type = String, required = false, format = "uuid")]
    pub cursor: Option<String>,
}
