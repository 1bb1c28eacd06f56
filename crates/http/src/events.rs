//! `GET /api/{user_id}/events`: the caller's changes as a `text/event-stream`.
//!
//! Each event: `id:` its cursor (what `Last-Event-ID` or `?after=` resumes from),
//! `event:` its kind, `data:` the change as JSON. A comment line every
//! `events.heartbeat_secs` keeps proxies from closing the stream; the credential is checked
//! again as often as the credential cache forgets it, and the stream ends when it no longer
//! passes. `reset`: the cursor is older than the log keeps; resync through the sync feed.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use todo_application::{Delivery, Subscription};
use todo_domain::{ChangeCursor, ChangeRecord};

use crate::error::{ApiError, Result};
use crate::extract::{Authenticated, PathValue, bearer};
use crate::parse::user_id;
use crate::query::Query;
use crate::services::Services;

/// The query of `GET /api/{user_id}/events`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Resume after this event id (as `Last-Event-ID` does; the header wins).
    #[param(example = "7421-88", pattern = "^[0-9]{1,18}-[0-9]{1,18}$")]
    pub after: Option<String>,
}

/// One change as an event's `data`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeEventDto {
    /// The event's id: where a stream resumes after it.
    #[schema(example = "7421-88")]
    pub id: String,
    #[schema(example = "task.updated")]
    pub kind: &'static str,
    pub list_id: Option<String>,
    pub task_id: Option<String>,
    /// Who made the change.
    pub actor_id: String,
    /// The member a `member.*` change concerns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    /// The task's or list's version after the change.
    pub version: Option<i64>,
    /// The names of the changed fields.
    pub fields: Vec<String>,
    /// When the change was made.
    #[schema(example = "2026-12-04T10:15:00.123456Z")]
    pub at: String,
}

impl From<ChangeRecord> for ChangeEventDto {
    fn from(r: ChangeRecord) -> Self {
        Self {
            id: r.cursor.to_string(),
            kind: r.kind.as_str(),
            list_id: r.list.map(|l| l.as_uuid().to_string()),
            task_id: r.task.map(|t| t.as_uuid().to_string()),
            actor_id: r.actor.as_str().to_owned(),
            member_id: r.subject.map(|s| s.as_str().to_owned()),
            version: r.version,
            fields: r.fields,
            at: crate::dto::rfc3339(r.at),
        }
    }
}

/// One event of the stream as it goes over the wire (the `text/event-stream` fields).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Documents the frame; the stream writes it by hand.
pub struct ChangeEventFrame {
    /// The event id: resume after it with `Last-Event-ID`.
    #[schema(example = "7421-88")]
    pub id: String,
    /// The change's kind (as `ChangeEventDto.kind`), or `reset`.
    #[schema(example = "task.created")]
    pub event: String,
    /// A `ChangeEventDto` as JSON; for `reset`, `{"detail": …}`.
    pub data: String,
}

/// The cursor to resume from: `Last-Event-ID`, else `?after=`.
fn resume_from(req: &HttpRequest, query: &EventsQuery) -> Result<Option<ChangeCursor>> {
    if let Some(value) = req.headers().get("last-event-id") {
        let text = value.to_str().map_err(|_| ApiError::BadHeader {
            header: "Last-Event-ID",
            message: "must be an event id of the form 12-34".to_owned(),
        })?;
        return ChangeCursor::parse(text)
            .map(Some)
            .map_err(|_| ApiError::BadHeader {
                header: "Last-Event-ID",
                message: "must be an event id of the form 12-34".to_owned(),
            });
    }
    match &query.after {
        Some(after) => Ok(Some(
            ChangeCursor::parse(after).map_err(todo_application::ApplicationError::from)?,
        )),
        None => Ok(None),
    }
}

/// The stream of the caller's changes.
#[utoipa::path(get, path = "/api/{user_id}/events", tag = "events",
    params(("user_id" = String, Path, description = "The caller's id"), EventsQuery,
        crate::openapi_parts::LastEventId),
    responses(
        (status = 200, description = "`text/event-stream`: one event per change the caller may see \
            (`id:` the event id, `event:` the kind, `data:` a ChangeEventDto as JSON), a `reset` event when \
            the cursor is older than the log keeps, a comment line every heartbeat; the schema is one event's fields", body = ChangeEventFrame,
            content_type = "text/event-stream"),
        crate::openapi_parts::Unauthenticated, crate::openapi_parts::Forbidden,
        (status = 400, description = "A malformed `Last-Event-ID`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed `after`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many streams open (see `Retry-After`)", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn events(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathValue,
    query: Query<EventsQuery>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let reader = user_id(&path)?;
    let after = resume_from(&req, &query)?;
    let Some(hub) = &services.events else {
        return Err(ApiError::NotReady(
            "the event stream is not running".to_owned(),
        ));
    };
    let subscription = hub.subscribe(&principal, &reader, after)?;
    let credential = bearer(&req)?.to_owned();
    let settings = hub.settings().clone();
    let stream = Stream {
        subscription,
        services: services.clone(),
        credential,
        heartbeat: tokio::time::interval_at(
            tokio::time::Instant::now() + settings.heartbeat,
            settings.heartbeat,
        ),
        recheck: tokio::time::interval_at(
            tokio::time::Instant::now() + settings.recheck,
            settings.recheck,
        ),
        opened: false,
    };
    let body = futures_util::stream::unfold(stream, |mut s| async move {
        let chunk = s.next_chunk().await?;
        Some((Ok::<_, actix_web::Error>(chunk), s))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache, no-transform"))
        // nginx and others buffer responses unless told not to.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

/// One open stream and its timers.
struct Stream {
    subscription: Subscription,
    services: web::Data<Services>,
    credential: String,
    heartbeat: tokio::time::Interval,
    recheck: tokio::time::Interval,
    opened: bool,
}

impl Stream {
    /// The next bytes to send; `None` ends the stream.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if !self.opened {
            // At once, so that the client (and any proxy) sees the stream open; `retry`:
            // how long an EventSource waits before it reconnects.
            self.opened = true;
            return Some(Bytes::from_static(b"retry: 2000\n: open\n\n"));
        }
        loop {
            tokio::select! {
                delivery = self.subscription.next() => {
                    return match delivery {
                        Ok(Delivery::Event(record)) => Some(event(record)),
                        Ok(Delivery::Reset(at)) => Some(reset(at)),
                        Ok(Delivery::Closed) => None,
                        Err(err) => {
                            tracing::warn!(error = %err, "an event stream failed; it ends");
                            None
                        }
                    };
                }
                _ = self.heartbeat.tick() => return Some(Bytes::from_static(b": keep-alive\n\n")),
                _ = self.recheck.tick() => {
                    if let Err(err) = self.services.auth.authenticate(&self.credential).await {
                        tracing::info!(error = %err, "an event stream's credential no longer passes; it ends");
                        return None;
                    }
                }
            }
        }
    }
}

fn event(record: ChangeRecord) -> Bytes {
    let kind = record.kind.as_str();
    let id = record.cursor;
    let data = serde_json::to_string(&ChangeEventDto::from(record)).unwrap_or_default();
    Bytes::from(format!("id: {id}\nevent: {kind}\ndata: {data}\n\n"))
}

fn reset(at: ChangeCursor) -> Bytes {
    Bytes::from(format!(
        "id: {at}\nevent: reset\ndata: {{\"detail\":\"changes since your last event are no longer \
         kept: resync through the sync feed, then resume from this event\"}}\n\n"
    ))
}
