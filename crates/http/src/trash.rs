//! The handlers of the trash: parse at the boundary, call one `TrashService` method, shape
//! the response.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use todo_application::ApplicationError;
use todo_domain::TaskId;

use crate::cursor::{decode_trash_cursor, encode_trash_cursor, next_link};
use crate::error::{Problem, Result};
use crate::extract::{Authenticated, PathPair, PathValue};
use crate::openapi_parts::Unauthenticated;
use crate::parse::{as_field, limit, user_id};
use crate::query::Query;
use crate::services::Services;
use crate::trash_json::{TrashEntryDto, TrashQuery};

/// A trash entry's id from the path (`entry_id`), or a 422 naming it.
fn entry_id(raw: &str) -> Result<uuid::Uuid> {
    as_field(TaskId::parse(raw), "entry_id").map(|id| id.as_uuid())
}

#[utoipa::path(get, path = "/api/{user_id}/trash", tag = "trash",
    description = "What the caller deleted and can still restore, newest first (by `deleted_at`, then id), as a bare JSON array: each task they deleted (with the subtasks deleted with it, counted in `task_count`) and each list they deleted (with its tasks). An entry stays until it is restored, forgotten, or purged after `trash.retention_days` (30 by default; its `purge_at`). When more remain, `Link: <…>; rel=\"next\"` points to the next page.",
    params(("user_id" = String, Path, description = "The caller's user id"), TrashQuery),
    responses(
        (status = 200, description = "One page of the caller's trash", body = Vec<TrashEntryDto>,
            headers(("Link" = String, description = "`</api/alice/trash?cursor=…&limit=50>; rel=\"next\"` when more remain"))),
        Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown parameter, a `limit` out of range, a damaged `cursor`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_trash(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathValue,
    query: Query<TrashQuery>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let owner = user_id(&path)?;
    let limit = limit(query.limit.as_deref())?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| decode_trash_cursor(c).map_err(ApplicationError::from))
        .transpose()?;
    let page = services
        .trash
        .list(&principal, &owner, limit, after)
        .await?;
    let mut res = HttpResponse::Ok();
    if let Some(next) = &page.next {
        let limit = limit.map(|l| l.to_string());
        let params = limit.as_deref().map(|l| ("limit", l));
        res.insert_header((
            header::LINK,
            next_link(req.path(), &encode_trash_cursor(next), params),
        ));
    }
    let retention = services.trash.retention();
    Ok(res.json(
        page.items
            .iter()
            .map(|entry| TrashEntryDto::new(entry, retention))
            .collect::<Vec<_>>(),
    ))
}

#[utoipa::path(post, path = "/api/{user_id}/trash/{entry_id}/restore", tag = "trash",
    description = "Puts an entry back and removes it from the trash. A task comes back with the subtasks deleted with it, keeping their ids: into the list it was deleted from while the caller is still an editor or the owner of it, otherwise (they were made a viewer or removed, or the list is gone) into the caller's Inbox. A list comes back with its tasks and those of its members who still have an account. Each restored task is a new version (`version` and `updated_at` change), so the sync feed shows it after its tombstone. The answer is the entry, its `list_id` the list the tasks are in now.",
    params(("user_id" = String, Path, description = "The caller's user id"),
        ("entry_id" = String, Path, format = "uuid", description = "The entry's id: the deleted task's or list's")),
    responses(
        (status = 200, description = "Restored", body = TrashEntryDto),
        Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such entry in the caller's trash (also another user's entry, and one restored, forgotten or purged meanwhile)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The entry id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn restore_entry(
    Authenticated(principal): Authenticated,
    path: PathPair,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, entry_id(&path.1)?);
    let entry = services.trash.restore(&principal, &owner, id).await?;
    Ok(HttpResponse::Ok().json(TrashEntryDto::new(&entry, services.trash.retention())))
}

#[utoipa::path(delete, path = "/api/{user_id}/trash/{entry_id}", tag = "trash",
    description = "Forgets an entry for good: what it holds can no longer be restored.",
    params(("user_id" = String, Path, description = "The caller's user id"),
        ("entry_id" = String, Path, format = "uuid", description = "The entry's id: the deleted task's or list's")),
    responses(
        (status = 204, description = "Forgotten"),
        Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such entry in the caller's trash (also another user's entry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The entry id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_entry(
    Authenticated(principal): Authenticated,
    path: PathPair,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, entry_id(&path.1)?);
    services.trash.delete(&principal, &owner, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/{user_id}/trash", tag = "trash",
    description = "Empties the caller's trash: every entry is forgotten for good (an empty trash answers 204 too).",
    params(("user_id" = String, Path, description = "The caller's user id")),
    responses(
        (status = 204, description = "Emptied"),
        Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The user id in the path is not one", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn empty_trash(
    Authenticated(principal): Authenticated,
    path: PathValue,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let owner = user_id(&path)?;
    let emptied = services.trash.empty(&principal, &owner).await?;
    tracing::debug!(entries = emptied, "trash emptied");
    Ok(HttpResponse::NoContent().finish())
}
