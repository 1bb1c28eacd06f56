//! The API's route handlers (tasks, the caller, admin): parse at the boundary, call one
//! service method, shape the response.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use todo_application::{ApplicationError, Page};
use todo_domain::{ListCursor, ListSpec, RoleList, Task, TimeZone};

use crate::conditional::{self, etag};
use crate::cursor::{
    decode_task_cursor, decode_user_cursor, encode_task_cursor, encode_user_cursor, next_link,
};
use crate::dto::{
    Cleared, CompleteTask, CreateTask, ListQuery, MoveTask, SetRole, TagCountDto, TaskDto,
    TaskStatsDto, UpdateTask, UserDto,
};
use crate::error::{Problem, Result};
use crate::extract::{Authenticated, JsonBody, PathPair, PathValue};
use crate::idempotency::{IDEMPOTENT_REPLAYED, idempotency};
use crate::listing::{TaskListParams, TaskListQuery, check_clear_completed};
use crate::openapi_parts::{
    BadRequest, CollectionIfNoneMatch, CollectionNotModified, Forbidden, IdempotencyKey, IfMatch,
    IfNoneMatch, KeepsChanging, NotFound, PayloadTooLarge, StaleVersion, TimeZoneName,
    Unauthenticated, UnprocessableEntity, UnsupportedMediaType,
};
use crate::parse::{limit, parsed, task_id, user_id};
use crate::query::Query;
use crate::services::Services;
use crate::task_json::{changes_body, task_body, tasks_body};

/// A single task with its version as a strong `ETag`.
fn task_response(mut res: actix_web::HttpResponseBuilder, task: &Task) -> HttpResponse {
    res.insert_header((header::ETAG, etag(task.version)));
    json_body(res, task_body(task))
}

/// A JSON array response with `Link: <…>; rel="next"` when more items remain.
fn page_response<T, C>(
    req: &HttpRequest,
    page: Page<T, C>,
    limit: Option<u32>,
    encode: impl Fn(&C) -> String,
    body: impl FnOnce(actix_web::HttpResponseBuilder, &[T]) -> HttpResponse,
) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    if let Some(next) = &page.next {
        let limit = limit.map(|l| l.to_string());
        let params = limit.as_deref().map(|l| ("limit", l));
        res.insert_header((header::LINK, next_link(req.path(), &encode(next), params)));
    }
    body(res, &page.items)
}

/// A JSON body already written, or a 500 problem (logged) if writing it failed.
fn json_body(
    mut res: actix_web::HttpResponseBuilder,
    body: serde_json::Result<Vec<u8>>,
) -> HttpResponse {
    match body {
        Ok(bytes) => res.insert_header(header::ContentType::json()).body(bytes),
        Err(err) => {
            tracing::error!(error = %err, "could not serialise a response");
            Problem::new(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal error".to_owned(),
                None,
            )
            .into_response()
        }
    }
}

/// `limit` and `cursor` of the plain list of a user's tasks.
fn task_list_params(query: &ListQuery) -> Result<(Option<u32>, Option<ListCursor>)> {
    let after = query
        .cursor
        .as_deref()
        .map(|c| decode_task_cursor(&ListSpec::default(), c).map_err(ApplicationError::from))
        .transpose()?;
    Ok((limit(query.limit.as_deref())?, after))
}

fn task_page_response(
    req: &HttpRequest,
    page: Page<Task, ListCursor>,
    limit: Option<u32>,
) -> HttpResponse {
    let encode = |c: &ListCursor| encode_task_cursor(&ListSpec::default(), c);
    page_response(req, page, limit, encode, |res, tasks| {
        json_body(res, tasks_body(tasks))
    })
}

#[utoipa::path(get, path = "/api/{user_id}/tasks", tag = "tasks",
    description = "The caller's tasks as a bare JSON array: by default every task, oldest first (`(created_at, id)`). With `include_deleted=true&updated_since=…` it is the sync feed instead: an array of `ChangeDto` (tasks, and `{\"id\", \"deleted\": true, \"updated_at\"}` for tasks deleted since), in the order they changed. Parameters filter (all of them must hold) and sort the list; `priority` and `tag` may be repeated or comma-separated. When more remain, `Link: <…>; rel=\"next\"` points to the next page and repeats every parameter but `cursor`. An unknown parameter, a parameter given twice that may be given once, or a bad value is a 422 whose `errors[].field` names the parameter.",
    params(("user_id" = String, Path, description = "The caller's user id"), TaskListParams, CollectionIfNoneMatch),
    responses(
        (status = 200, description = "One page of the caller's tasks; `Link: <…>; rel=\"next\"` when more remain", body = Vec<TaskDto>,
            headers(("Link" = String, description = "`</api/alice/tasks?cursor=…&status=pending&sort=-due>; rel=\"next\"` when more remain"),
                ("ETag" = String, description = "The collection's weak tag, for `If-None-Match` (not for `overdue` or `due=today`)"))),
        CollectionNotModified, Unauthenticated, Forbidden, BadRequest,
        (status = 410, description = "`include_deleted=true` with an `updated_since` older than deleted tasks are remembered: fetch the whole list again", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown or repeated parameter, or a bad value (a status, priority, tag, q, date, instant, zone, sort or limit it cannot read, or a cursor that is damaged or belongs to a different query); `errors[].field` names each parameter",
            body = Problem, content_type = "application/problem+json",
            example = json!({"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
                "detail": "colour is not a parameter of this list; the parameters are status, priority, tag, q, due_before, due_after, overdue, due, tz, updated_since, include_deleted, list_id, parent_id, assignee, archived, sort, limit, cursor; sort must be one of created_at, updated_at, due, priority, title, position, optionally after a - for descending",
                "errors": [
                    {"field": "colour", "message": "is not a parameter of this list; the parameters are status, priority, tag, q, due_before, due_after, overdue, due, tz, updated_since, include_deleted, list_id, parent_id, assignee, archived, sort, limit, cursor"},
                    {"field": "sort", "message": "must be one of created_at, updated_at, due, priority, title, position, optionally after a - for descending"}
                ]})),
    ),
    security(("bearer" = [])))]
pub async fn list_tasks(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathValue,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let owner = user_id(&path)?;
    let mut query = TaskListQuery::parse_for(req.query_string(), &owner)?;
    let if_none_match = conditional::IfNoneMatch::parse(&req)?;
    let (spec, limit, after) = (&query.spec, query.limit, query.after.take());
    // Polling that costs nothing: the caller's newest change, as this replica has read it,
    // names the collection; unchanged, it is a 304 without reading the tasks. Not for
    // filters that move with the clock (overdue, due today).
    let tag = if spec.filter.overdue || spec.filter.due_today {
        None
    } else {
        conditional::collection_etag(&services, &principal, &owner, &req)?
    };
    if let (Some((opaque, value)), Some(condition)) = (&tag, &if_none_match)
        && condition.matches_collection(opaque)
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, value.as_str()))
            .finish());
    }
    // A page and, when more remain, the `Link` to the next one.
    let respond = |next: Option<&ListCursor>, body| {
        let mut res = HttpResponse::Ok();
        if let Some(next) = next {
            res.insert_header((header::LINK, query.next_link(req.path(), next)));
        }
        if let Some((_, value)) = &tag {
            res.insert_header((header::ETAG, value.as_str()));
        }
        json_body(res, body)
    };
    let tasks = &services.tasks;
    if spec.include_deleted {
        let page = tasks
            .changes(&principal, &owner, spec, limit, after)
            .await?;
        return Ok(respond(page.next.as_ref(), changes_body(&page.items)));
    }
    let page = tasks.list(&principal, &owner, spec, limit, after).await?;
    Ok(respond(page.next.as_ref(), tasks_body(&page.items)))
}

#[utoipa::path(post, path = "/api/{user_id}/tasks", tag = "tasks",
    description = "Creates a task. Only `title` is required; `recurrence` needs `due`. Invalid values are a 422 naming the field. With an `Idempotency-Key`, a retry of the same request (same key, same JSON body) within 24 hours answers with the task the first one created (201, `Idempotent-Replayed: true`) instead of creating another.",
    params(("user_id" = String, Path, description = "The caller's user id"),
        IdempotencyKey),
    request_body = CreateTask,
    responses(
        (status = 201, description = "Created; `Location` names the new task (or, for a replayed `Idempotency-Key`, the task the first request created, as it is now)", body = TaskDto,
            headers(("Location" = String, description = "`/api/{user_id}/tasks/{task_id}`"),
                ("ETag" = String, description = "The new task's version, `\"1\"`"),
                ("Idempotent-Replayed" = String, description = "`true` when this answers a retry of an earlier request with the same `Idempotency-Key`"))),
        BadRequest, Unauthenticated, Forbidden, PayloadTooLarge, UnsupportedMediaType,
        (status = 409, description = "The task created with this `Idempotency-Key` has been deleted since", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value breaks a rule (`errors[0].field` names it), including the rules no schema states: a `recurrence` the RRULE grammar does not allow, or one without a `due`; or the `Idempotency-Key` was used with a different body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_task(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathValue,
    body: JsonBody<CreateTask>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let owner = user_id(&path)?;
    let idempotency = idempotency(&req, body.raw())?;
    let new = body.parse()?.into_domain()?;
    let (task, replayed) = match &idempotency {
        None => (services.tasks.create(&principal, &owner, new).await?, false),
        Some(idempotency) => {
            let created = services
                .tasks
                .create_idempotent(&principal, &owner, new, idempotency)
                .await?;
            (created.task, created.replayed)
        }
    };
    let location = format!("{}/{}", req.path().trim_end_matches('/'), task.id);
    let mut res = HttpResponse::Created();
    res.insert_header((header::LOCATION, location));
    if replayed {
        res.insert_header((IDEMPOTENT_REPLAYED, "true"));
    }
    Ok(task_response(res, &task))
}

#[utoipa::path(get, path = "/api/{user_id}/tasks/{task_id}", tag = "tasks",
    params(("user_id" = String, Path), ("task_id" = String, Path, format = "uuid"),
        IfNoneMatch),
    responses(
        (status = 200, body = TaskDto, headers(("ETag" = String, description = "The task's version as a strong entity tag, e.g. `\"3\"`; send it back in `If-Match`"))),
        (status = 304, description = "Not Modified: `If-None-Match` matches the current version; no body", headers(("ETag" = String, description = "The task's version as a strong entity tag, e.g. `\"3\"`; send it back in `If-Match`"))),
        (status = 400, description = "A malformed `If-None-Match`", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, Forbidden,
        (status = 404, description = "No such task of this user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The task id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_task(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathPair,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, task_id(&path.1)?);
    let if_none_match = conditional::IfNoneMatch::parse(&req)?;
    let task = services.tasks.get(&principal, &owner, id).await?;
    if if_none_match.is_some_and(|tags| tags.matches(task.version)) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag(task.version)))
            .finish());
    }
    Ok(task_response(HttpResponse::Ok(), &task))
}

#[utoipa::path(put, path = "/api/{user_id}/tasks/{task_id}", tag = "tasks",
    description = "Updates the fields present in the body (as the original service did); absent fields keep their value, `null` clears an optional one. Same as PATCH.",
    params(("user_id" = String, Path), ("task_id" = String, Path, format = "uuid"), IfMatch),
    request_body = UpdateTask,
    responses(
        (status = 200, description = "The updated task (completing a repeating one returns it moved on to its next occurrence)", body = TaskDto, headers(("ETag" = String, description = "The task's version as a strong entity tag, e.g. `\"3\"`; send it back in `If-Match`"))),
        (status = 400, description = "Malformed JSON, or a malformed `If-Match` (not a quoted version or `*`, a weak `W/` tag, a list of several)", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, Forbidden, NotFound, KeepsChanging, StaleVersion, PayloadTooLarge, UnsupportedMediaType,
        (status = 422, description = "A value breaks a rule (`errors[0].field` names it), including the rules no schema states: a `recurrence` the RRULE grammar does not allow, or one without a `due`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put_task(
    req: HttpRequest,
    principal: Authenticated,
    path: PathPair,
    body: JsonBody<UpdateTask>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    update(req, principal, path, body, services).await
}

#[utoipa::path(patch, path = "/api/{user_id}/tasks/{task_id}", tag = "tasks",
    description = "Updates the fields present in the body; absent fields keep their value, `null` clears an optional one (`tags`: `null` or `[]`).",
    params(("user_id" = String, Path), ("task_id" = String, Path, format = "uuid"), IfMatch),
    request_body = UpdateTask,
    responses(
        (status = 200, description = "The updated task (completing a repeating one returns it moved on to its next occurrence)", body = TaskDto, headers(("ETag" = String, description = "The task's version as a strong entity tag, e.g. `\"3\"`; send it back in `If-Match`"))),
        (status = 400, description = "Malformed JSON, or a malformed `If-Match` (not a quoted version or `*`, a weak `W/` tag, a list of several)", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, Forbidden, NotFound, KeepsChanging, StaleVersion, PayloadTooLarge, UnsupportedMediaType,
        (status = 422, description = "A value breaks a rule (`errors[0].field` names it), including the rules no schema states: a `recurrence` the RRULE grammar does not allow, or one without a `due`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn patch_task(
    req: HttpRequest,
    principal: Authenticated,
    path: PathPair,
    body: JsonBody<UpdateTask>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    update(req, principal, path, body, services).await
}

async fn update(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathPair,
    body: JsonBody<UpdateTask>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, task_id(&path.1)?);
    let if_match = conditional::if_match(&req)?;
    let changes = body.parse()?.into_domain()?;
    let task = services
        .tasks
        .update(&principal, &owner, id, changes, if_match)
        .await?;
    Ok(task_response(HttpResponse::Ok(), &task))
}

#[utoipa::path(patch, path = "/api/{user_id}/tasks/{task_id}/complete", tag = "tasks",
    description = "With `{\"completed\": true|false}` sets the flag; with an empty body toggles it. Completing a repeating task (one with `recurrence` and `due`) records the finished occurrence as a separate completed task and returns this task moved on: `due` (and `remind_at`, by the same distance) at the next occurrence, still open. When the series is over it is simply completed.",
    params(("user_id" = String, Path), ("task_id" = String, Path, format = "uuid"), IfMatch),
    request_body(content = Option<CompleteTask>, description = "Optional: an empty or `null` body toggles"),
    responses(
        (status = 200, description = "The task, completed, reopened or moved on to its next occurrence", body = TaskDto, headers(("ETag" = String, description = "The task's version as a strong entity tag, e.g. `\"3\"`; send it back in `If-Match`"))),
        (status = 400, description = "Malformed JSON or a malformed `If-Match`", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, Forbidden, NotFound, KeepsChanging, StaleVersion, PayloadTooLarge,
        UnsupportedMediaType, UnprocessableEntity,
    ),
    security(("bearer" = [])))]
pub async fn complete_task(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathPair,
    body: JsonBody<CompleteTask>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, task_id(&path.1)?);
    let if_match = conditional::if_match(&req)?;
    let completed = body.parse()?.into_domain()?;
    let task = services
        .tasks
        .set_completed(&principal, &owner, id, completed, if_match)
        .await?;
    Ok(task_response(HttpResponse::Ok(), &task))
}

#[utoipa::path(delete, path = "/api/{user_id}/tasks/{task_id}", tag = "tasks",
    params(("user_id" = String, Path), ("task_id" = String, Path, format = "uuid"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A malformed `If-Match`", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, Forbidden, NotFound, StaleVersion,
        (status = 422, description = "The task id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_task(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathPair,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, task_id(&path.1)?);
    let if_match = conditional::if_match(&req)?;
    services
        .tasks
        .delete(&principal, &owner, id, if_match)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/{user_id}/tasks", tag = "tasks",
    description = "Clears the completed tasks: deletes every completed task of the caller at once (sync clients see each one's tombstone). `status=completed` is required, so that a bare `DELETE` cannot empty the list.",
    params(("user_id" = String, Path, description = "The caller's user id"),
        ClearParams),
    responses(
        (status = 200, description = "How many were deleted", body = Cleared),
        Unauthenticated, Forbidden,
        (status = 422, description = "`status` missing, repeated or not `completed`, or another parameter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn clear_completed(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathValue,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let owner = user_id(&path)?;
    check_clear_completed(req.query_string())?;
    let deleted = services.tasks.delete_completed(&principal, &owner).await?;
    Ok(HttpResponse::Ok().json(Cleared { deleted }))
}

#[utoipa::path(get, path = "/api/{user_id}/tags", tag = "tasks",
    description = "Every tag the caller uses, with how many of their tasks carry it, sorted ignoring case. Tags compare ignoring case; each is shown as most of its tasks spell it.",
    params(("user_id" = String, Path, description = "The caller's user id")),
    responses(
        (status = 200, body = Vec<TagCountDto>, example = json!([{"tag": "home", "count": 3}, {"tag": "Work", "count": 7}])),
        Unauthenticated, Forbidden,
        (status = 422, description = "A query parameter (this endpoint takes none)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_tags(
    Authenticated(principal): Authenticated,
    path: PathValue,
    _none: Query<NoParameters>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let owner = user_id(&path)?;
    let tags = services.tasks.tags(&principal, &owner).await?;
    let body: Vec<TagCountDto> = tags
        .into_iter()
        .map(|t| TagCountDto {
            tag: t.tag.as_str().to_owned(),
            count: t.count,
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// The query of `DELETE /api/{user_id}/tasks`, for the OpenAPI document only (the handler
/// reads it with [`check_clear_completed`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "documents the parameter; never built")]
pub(crate) struct ClearParams {
    /// Must be `completed`.
    #[param(inline, example = "completed")]
    status: ClearStatus,
}

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code, reason = "documents the parameter; never built")]
enum ClearStatus {
    Completed,
}

/// The query of an endpoint that takes no parameters: any one is a 422 naming it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParameters {}

/// The query of `GET /api/{user_id}/tasks/stats`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// The IANA time zone in which `overdue` and `due_today` are judged (default `UTC`).
    #[param(value_type = TimeZoneName, required = false, example = "Europe/Berlin")]
    pub tz: Option<String>,
}

#[utoipa::path(get, path = "/api/{user_id}/tasks/stats", tag = "tasks",
    description = "Counts of the caller's tasks: by status, open ones by priority, overdue and due today (judged in `tz`), in one database query.",
    params(("user_id" = String, Path, description = "The caller's user id"), StatsQuery),
    responses(
        (status = 200, body = TaskStatsDto),
        Unauthenticated, Forbidden,
        (status = 422, description = "An unknown parameter or zone", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn task_stats(
    Authenticated(principal): Authenticated,
    path: PathValue,
    query: Query<StatsQuery>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let owner = user_id(&path)?;
    let tz = match query.tz.as_deref() {
        None => TimeZone::UTC,
        Some(raw) => parsed(TimeZone::parse("tz", raw))?,
    };
    let stats = services.tasks.stats(&principal, &owner, tz).await?;
    Ok(HttpResponse::Ok().json(TaskStatsDto::from(stats)))
}

#[utoipa::path(post, path = "/api/{user_id}/tasks/{task_id}/move", tag = "tasks",
    description = "Moves a task in the manual order (`sort=position`): right after or before another of the caller's tasks, or to the top or bottom. Only this task changes: it gets a `position` between its new neighbours'.",
    params(("user_id" = String, Path), ("task_id" = String, Path, format = "uuid"), IfMatch),
    request_body(content = MoveTask, examples(
        ("after" = (value = json!({"after": "0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a99"}))),
        ("top" = (value = json!({"to": "top"}))))),
    responses(
        (status = 200, description = "The moved task, with its new `position`", body = TaskDto, headers(("ETag" = String))),
        BadRequest, Unauthenticated, Forbidden, NotFound, PayloadTooLarge, UnsupportedMediaType,
        (status = 409, description = "The neighbours share a position (set by a client), so nothing fits between them; or other moves kept taking the place between them (retry the request)", body = Problem, content_type = "application/problem+json"),
        StaleVersion,
        (status = 422, description = "Not exactly one of `after`, `before`, `to`; a neighbour that is this task or none of the caller's; `to` not `top` or `bottom`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn move_task(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathPair,
    body: JsonBody<MoveTask>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, task_id(&path.1)?);
    let if_match = conditional::if_match(&req)?;
    let to = body.parse()?.into_domain()?;
    let task = services
        .tasks
        .move_task(&principal, &owner, id, to, if_match)
        .await?;
    Ok(task_response(HttpResponse::Ok(), &task))
}

#[utoipa::path(get, path = "/api/me", tag = "users",
    description = "The caller, whatever the credential: lets a frontend learn its user id and rights.",
    responses(
        (status = 200, body = UserDto),
        Unauthenticated,
        (status = 403, description = "Banned", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn me(
    Authenticated(principal): Authenticated,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let user = services.auth.current_user(&principal).await?;
    Ok(HttpResponse::Ok().json(UserDto::from(user)))
}

#[utoipa::path(get, path = "/api/admin/users", tag = "admin",
    params(ListQuery),
    responses(
        (status = 200, description = "Users, oldest first; `Link: <…>; rel=\"next\"` when more remain", body = Vec<UserDto>),
        Unauthenticated,
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown or bad parameter (a `limit` that is not a whole number in range, a `cursor` not taken from a `Link` header)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn admin_list_users(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    query: Query<ListQuery>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let limit = limit(query.limit.as_deref())?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| decode_user_cursor(c).map_err(ApplicationError::from))
        .transpose()?;
    let page = services.admin.list_users(&principal, limit, after).await?;
    Ok(page_response(
        &req,
        page,
        limit,
        encode_user_cursor,
        |mut res, users| res.json(users.iter().cloned().map(UserDto::from).collect::<Vec<_>>()),
    ))
}

#[utoipa::path(get, path = "/api/admin/users/{user_id}/tasks", tag = "admin",
    params(("user_id" = String, Path), ListQuery),
    responses(
        (status = 200, body = Vec<TaskDto>),
        Unauthenticated, Forbidden,
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown or bad parameter (a `limit` that is not a whole number in range, a `cursor` not taken from a `Link` header)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn admin_list_user_tasks(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathValue,
    query: Query<ListQuery>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let target = user_id(&path)?;
    let (limit, after) = task_list_params(&query)?;
    let page = services
        .admin
        .list_user_tasks(&principal, &target, limit, after)
        .await?;
    Ok(task_page_response(&req, page, limit))
}

#[utoipa::path(patch, path = "/api/admin/users/{user_id}/role", tag = "admin",
    params(("user_id" = String, Path)),
    request_body = SetRole,
    responses(
        (status = 200, body = UserDto),
        BadRequest, Unauthenticated, Forbidden, NotFound, PayloadTooLarge, UnsupportedMediaType,
        UnprocessableEntity,
        (status = 409, description = "The last admin would lose the role", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn admin_set_role(
    Authenticated(principal): Authenticated,
    path: PathValue,
    body: JsonBody<SetRole>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let target = user_id(&path)?;
    let body = body.parse()?;
    let roles = RoleList::parse(&body.role).map_err(ApplicationError::from)?;
    let user = services.admin.set_role(&principal, &target, roles).await?;
    Ok(HttpResponse::Ok().json(UserDto::from(user)))
}

#[utoipa::path(delete, path = "/api/admin/users/{user_id}", tag = "admin",
    params(("user_id" = String, Path)),
    responses(
        (status = 204, description = "The user, their tasks and sessions are gone"),
        Unauthenticated, Forbidden, NotFound,
        (status = 409, description = "Admins cannot delete themselves, nor the last admin", body = Problem, content_type = "application/problem+json"),
        UnprocessableEntity,
    ),
    security(("bearer" = [])))]
pub async fn admin_delete_user(
    Authenticated(principal): Authenticated,
    path: PathValue,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let target = user_id(&path)?;
    services.admin.delete_user(&principal, &target).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/admin/users/{user_id}/tasks/{task_id}", tag = "admin",
    params(("user_id" = String, Path), ("task_id" = String, Path, format = "uuid")),
    responses(
        (status = 204, description = "Deleted"),
        Unauthenticated, Forbidden, NotFound,
        (status = 422, description = "The task id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn admin_delete_user_task(
    Authenticated(principal): Authenticated,
    path: PathPair,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (target, id) = (user_id(&path.0)?, task_id(&path.1)?);
    services
        .admin
        .delete_user_task(&principal, &target, id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
