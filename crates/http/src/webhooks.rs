//! The handlers of webhooks: parse at the boundary, call one `WebhookService` method,
//! shape the response. A secret leaves the service in two answers only (creation and
//! rotation), marked `Cache-Control: no-store`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use todo_domain::webhook::{DeliveryId, WebhookId};

use crate::conditional::{self, etag};
use crate::cursor::next_link;
use crate::error::{Problem, Result};
use crate::extract::{Authenticated, JsonBody, PathPair, PathValue};
use crate::openapi_parts::{BadRequest, PayloadTooLarge, Unauthenticated, UnsupportedMediaType};
use crate::parse::{as_field, limit, user_id};
use crate::query::Query;
use crate::services::Services;
use crate::webhook_json::{
    CreateWebhook, DeliveriesQuery, DeliveryDto, UpdateWebhook, WebhookDto, WebhookWithSecret,
};

fn webhook_id(raw: &str) -> Result<WebhookId> {
    as_field(WebhookId::parse(raw), "webhook_id")
}

fn delivery_id(raw: &str, field: &str) -> Result<DeliveryId> {
    as_field(DeliveryId::parse(raw), field)
}

/// An answer carrying a secret: never kept by a cache.
fn with_secret(mut res: actix_web::HttpResponseBuilder, body: &WebhookWithSecret) -> HttpResponse {
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::ETAG, etag(body.webhook.version)))
        .json(body)
}

#[utoipa::path(get, path = "/api/{user_id}/webhooks", tag = "webhooks",
    description = "The caller's webhooks, oldest first, as a bare JSON array (without their secrets).",
    params(("user_id" = String, Path, description = "The caller's user id")),
    responses(
        (status = 200, body = Vec<WebhookDto>),
        Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The user id in the path is not one", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_webhooks(
    Authenticated(principal): Authenticated,
    path: PathValue,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let owner = user_id(&path)?;
    let hooks = services.webhooks.list(&principal, &owner).await?;
    Ok(HttpResponse::Ok().json(hooks.iter().map(WebhookDto::from).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/api/{user_id}/webhooks", tag = "webhooks",
    description = "Creates a webhook: from now on, each change the caller may see (of the kinds asked for, in the list asked for) is sent to `url`, signed the Standard Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature`). The answer holds the signing secret, shown this once. Nothing that happened before the webhook existed is sent.",
    params(("user_id" = String, Path, description = "The caller's user id")),
    request_body(content = CreateWebhook, examples(
        ("every change" = (value = json!({"url": "https://hooks.example.com/todo"}))),
        ("one list's completions" = (value = json!({"url": "https://hooks.example.com/todo", "events": ["task.completed"], "list_id": "0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a00"}))))),
    responses(
        (status = 201, description = "Created; `Location` names it. The only answer with its secret besides a rotation's.", body = WebhookWithSecret,
            headers(("Location" = String, description = "`/api/{user_id}/webhooks/{webhook_id}`"),
                ("ETag" = String, description = "Its version, `\"1\"`"))),
        BadRequest, Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`list_id` names no list the caller can read", body = Problem, content_type = "application/problem+json"),
        PayloadTooLarge, UnsupportedMediaType,
        (status = 422, description = "A value breaks a rule (`errors[0].field` names it: `url`, `events`, `list_id`), or the caller has the most webhooks allowed (`webhooks.max_per_user`, 20 by default)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_webhook(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathValue,
    body: JsonBody<CreateWebhook>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let owner = user_id(&path)?;
    let new = body.parse()?.into_application()?;
    let created = services.webhooks.create(&principal, &owner, new).await?;
    let location = format!("{}/{}", req.path().trim_end_matches('/'), created.hook.id);
    let mut res = HttpResponse::Created();
    res.insert_header((header::LOCATION, location));
    Ok(with_secret(res, &WebhookWithSecret::from(&created)))
}

#[utoipa::path(get, path = "/api/{user_id}/webhooks/{webhook_id}", tag = "webhooks",
    description = "One of the caller's webhooks (without its secret): whether it is enabled, and why the service disabled it if it did.",
    params(("user_id" = String, Path), ("webhook_id" = String, Path, format = "uuid")),
    responses(
        (status = 200, body = WebhookDto, headers(("ETag" = String, description = "Its version, for `If-Match`"))),
        Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The webhook id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_webhook(
    Authenticated(principal): Authenticated,
    path: PathPair,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, webhook_id(&path.1)?);
    let hook = services.webhooks.get(&principal, &owner, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(hook.version)))
        .json(WebhookDto::from(&hook)))
}

#[utoipa::path(patch, path = "/api/{user_id}/webhooks/{webhook_id}", tag = "webhooks",
    description = "Changes the webhook's URL, event kinds, list, or whether it is enabled: the fields present change, absent ones keep their value. Enabling one the service disabled starts it afresh (no failures, no reason); its deliveries go on from the event that stopped it.",
    params(("user_id" = String, Path), ("webhook_id" = String, Path, format = "uuid"), crate::openapi_parts::WebhookIfMatch),
    request_body(content = UpdateWebhook, examples(
        ("enable again" = (value = json!({"enabled": true}))),
        ("every list" = (value = json!({"list_id": null}))))),
    responses(
        (status = 200, description = "The changed webhook", body = WebhookDto, headers(("ETag" = String, description = "Its new version"))),
        (status = 400, description = "Malformed JSON, or a malformed `If-Match`", body = Problem, content_type = "application/problem+json"),
        Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook of the caller's, or `list_id` names no list the caller can read", body = Problem, content_type = "application/problem+json"),
        PayloadTooLarge, UnsupportedMediaType,
        (status = 412, description = "`If-Match` does not name its current version, or it changed meanwhile; nothing was changed. `ETag` is the current version.", body = Problem, content_type = "application/problem+json",
            headers(("ETag" = String, description = "Its current version"))),
        (status = 422, description = "A value breaks a rule; `errors[0].field` names it (`url`, `events`, `list_id`, `enabled`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn patch_webhook(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathPair,
    body: JsonBody<UpdateWebhook>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, webhook_id(&path.1)?);
    let if_match = conditional::if_match(&req)?;
    let patch = body.parse()?.into_application()?;
    let hook = services
        .webhooks
        .update(&principal, &owner, id, patch, if_match)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(hook.version)))
        .json(WebhookDto::from(&hook)))
}

#[utoipa::path(delete, path = "/api/{user_id}/webhooks/{webhook_id}", tag = "webhooks",
    description = "Deletes the webhook with its deliveries: nothing more is sent.",
    params(("user_id" = String, Path), ("webhook_id" = String, Path, format = "uuid")),
    responses(
        (status = 204, description = "Deleted"),
        Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The webhook id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_webhook(
    Authenticated(principal): Authenticated,
    path: PathPair,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, webhook_id(&path.1)?);
    services.webhooks.delete(&principal, &owner, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/{user_id}/webhooks/{webhook_id}/rotate", tag = "webhooks",
    description = "Gives the webhook a new signing secret, shown in this answer only. Until `previous_secret_expires_at` (`webhooks.secret_overlap_secs` from now, a day by default) each delivery carries a signature by the old secret beside the new one's, so the receiver can switch without losing an event.",
    params(("user_id" = String, Path), ("webhook_id" = String, Path, format = "uuid")),
    responses(
        (status = 200, description = "The webhook with its new secret", body = WebhookWithSecret, headers(("ETag" = String, description = "Its new version"))),
        Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The webhook id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    Authenticated(principal): Authenticated,
    path: PathPair,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, webhook_id(&path.1)?);
    let rotated = services
        .webhooks
        .rotate_secret(&principal, &owner, id)
        .await?;
    Ok(with_secret(
        HttpResponse::Ok(),
        &WebhookWithSecret::from(&rotated),
    ))
}

#[utoipa::path(get, path = "/api/{user_id}/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    description = "The webhook's delivery attempts, newest first, as a bare JSON array: the event, which attempt it was, how it ended, the receiver's status, how long it took, and why it failed. When more remain, `Link: <…>; rel=\"next\"` points to the next page.",
    params(("user_id" = String, Path), ("webhook_id" = String, Path, format = "uuid"), DeliveriesQuery),
    responses(
        (status = 200, description = "One page of attempts", body = Vec<DeliveryDto>,
            headers(("Link" = String, description = "`</api/alice/webhooks/…/deliveries?cursor=…&limit=50>; rel=\"next\"` when more remain"))),
        Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The webhook id is not a UUID; an unknown parameter, a `limit` out of range, a `cursor` that is not one", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_deliveries(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathPair,
    query: Query<DeliveriesQuery>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, webhook_id(&path.1)?);
    let limit = limit(query.limit.as_deref())?;
    let before = query
        .cursor
        .as_deref()
        .map(|c| delivery_id(c, "cursor"))
        .transpose()?;
    let page = services
        .webhooks
        .deliveries(&principal, &owner, id, limit, before)
        .await?;
    let mut res = HttpResponse::Ok();
    if let Some(next) = page.next {
        let limit = limit.map(|l| l.to_string());
        let params = limit.as_deref().map(|l| ("limit", l));
        res.insert_header((
            header::LINK,
            next_link(req.path(), &next.to_string(), params),
        ));
    }
    Ok(res.json(page.items.iter().map(DeliveryDto::from).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/api/{user_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    description = "Sends that attempt's event again, now, while the caller waits (at most the delivery timeout, 5 s by default), and answers with the new attempt. A change is sent as it reads now, under its own `webhook-id` (a receiver that has it tells the repeat). The webhook's place in its events, its failures and its retries stay as they are; a disabled webhook can be tried too.",
    params(("user_id" = String, Path), ("webhook_id" = String, Path, format = "uuid"),
        ("delivery_id" = String, Path, format = "uuid", description = "An attempt's id, from the deliveries")),
    responses(
        (status = 200, description = "The new attempt (its `outcome` says whether the receiver took it)", body = DeliveryDto),
        Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook of the caller's, or no such attempt of it", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The change is no longer kept (older than the change log's retention) or no longer the caller's to see", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn redeliver(
    Authenticated(principal): Authenticated,
    path: web::Path<(String, String, String)>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, webhook_id(&path.1)?);
    let delivery = delivery_id(&path.2, "delivery_id")?;
    let attempt = services
        .webhooks
        .redeliver(&principal, &owner, id, delivery)
        .await?;
    Ok(HttpResponse::Ok().json(DeliveryDto::from(&attempt)))
}

#[utoipa::path(post, path = "/api/{user_id}/webhooks/{webhook_id}/test", tag = "webhooks",
    description = "Sends the webhook a `ping` event, now, while the caller waits (at most the delivery timeout, 5 s by default), and answers with the attempt: a way to try the receiver and its signature check, also on a disabled webhook. The body: `{\"type\": \"ping\", \"timestamp\": …, \"data\": {\"webhook_id\": …, \"url\": …}}`.",
    params(("user_id" = String, Path), ("webhook_id" = String, Path, format = "uuid")),
    responses(
        (status = 200, description = "The attempt (its `outcome` says whether the receiver took it)", body = DeliveryDto),
        Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such webhook of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The webhook id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn test_webhook(
    Authenticated(principal): Authenticated,
    path: PathPair,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, webhook_id(&path.1)?);
    let attempt = services.webhooks.ping(&principal, &owner, id).await?;
    Ok(HttpResponse::Ok().json(DeliveryDto::from(&attempt)))
}
