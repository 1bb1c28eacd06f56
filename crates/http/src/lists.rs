//! The handlers of lists and their members: parse at the boundary, call one `ListService`
//! method, shape the response.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use todo_application::ApplicationError;
use todo_domain::ListView;

use crate::conditional::{self, etag};
use crate::cursor::{decode_list_cursor, encode_list_cursor, next_link};
use crate::error::{Problem, Result};
use crate::extract::{Authenticated, JsonBody, PathPair, PathValue};
use crate::idempotency::{IDEMPOTENT_REPLAYED, scoped_idempotency};
use crate::list_json::{
    AddMember, CreateList, ListDto, MemberDto, MoveList, SetMemberRole, TransferList, UpdateList,
};
use crate::openapi_parts::{
    BadRequest, IdempotencyKey, ListIfMatch, ListIfNoneMatch, ListNotFound, PayloadTooLarge,
    RoleRequired, StaleListVersion, Unauthenticated, UnsupportedMediaType,
};
use crate::parse::{invalid, limit, list_id, member_id, user_id};
use crate::query::Query;
use crate::services::Services;

/// A single list with its version as a strong `ETag`.
fn list_response(mut res: actix_web::HttpResponseBuilder, view: &ListView) -> HttpResponse {
    res.insert_header((header::ETAG, etag(view.list.version)));
    res.json(ListDto::from(view))
}

/// The query of `GET /api/{user_id}/lists`; any other parameter is a 422.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListsQuery {
    /// `true`: only the archived lists (which are hidden otherwise).
    #[param(value_type = Option<bool>, example = true)]
    pub archived: Option<String>,
    /// Page size, 1–1000 (the default and maximum are configured; both default to 1000, the
    /// maximum this document states).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// Where to continue: copy it from the `Link: <…>; rel="next"` header (opaque; one the
    /// service did not hand out is a 422).
    #[param(value_type = String, required = false, pattern = "^[0-9a-z_.-]+$")]
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/{user_id}/lists", tag = "lists",
    description = "The lists the caller is a member of (their own, their Inbox, and those shared with them), as a bare JSON array in the caller's order (`position`, then id). Archived lists are left out; `archived=true` lists only them. The Inbox is created on first need. When more remain, `Link: <…>; rel=\"next\"` points to the next page.",
    params(("user_id" = String, Path, description = "The caller's user id"), ListsQuery,
        crate::openapi_parts::CollectionIfNoneMatch),
    responses(
        (status = 200, description = "One page of the caller's lists", body = Vec<ListDto>,
            headers(("Link" = String, description = "`</api/alice/lists?cursor=…&limit=50>; rel=\"next\"` when more remain"),
                ("ETag" = String, description = "The collection's weak tag, for `If-None-Match`"))),
        crate::openapi_parts::CollectionNotModified, Unauthenticated,
        (status = 400, description = "A malformed `If-None-Match`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown parameter, `archived` not `true` or `false`, a `limit` out of range, a damaged `cursor`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_lists(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathValue,
    query: Query<ListsQuery>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let owner = user_id(&path)?;
    let if_none_match = crate::conditional::IfNoneMatch::parse(&req)?;
    let archived = match query.archived.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(invalid("archived", "must be true or false")),
    };
    let limit = limit(query.limit.as_deref())?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| decode_list_cursor(c).map_err(ApplicationError::from))
        .transpose()?;
    // As for the tasks: the caller's newest change names their lists (taken before they
    // are read); unchanged, a 304 without reading them.
    let tag = crate::conditional::collection_etag(&services, &principal, &owner, &req)?;
    if let (Some((opaque, value)), Some(condition)) = (&tag, &if_none_match)
        && condition.matches_collection(opaque)
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((actix_web::http::header::ETAG, value.as_str()))
            .finish());
    }
    let page = services
        .lists
        .list(&principal, &owner, archived, limit, after)
        .await?;
    let mut res = HttpResponse::Ok();
    if let Some((_, value)) = &tag {
        res.insert_header((actix_web::http::header::ETAG, value.as_str()));
    }
    if let Some(next) = &page.next {
        let limit = limit.map(|l| l.to_string());
        let mut params = Vec::new();
        if archived {
            params.push(("archived", "true"));
        }
        if let Some(limit) = &limit {
            params.push(("limit", limit.as_str()));
        }
        res.insert_header((
            header::LINK,
            next_link(req.path(), &encode_list_cursor(next), params),
        ));
    }
    Ok(res.json(page.items.iter().map(ListDto::from).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/api/{user_id}/lists", tag = "lists",
    description = "Creates a list owned by the caller (who is its only member). With an `Idempotency-Key`, a retry of the same request (same key, same JSON body) within 24 hours answers with the list the first one created (201, `Idempotent-Replayed: true`). Keys are shared with task creates: a key used for a task is refused here (422).",
    params(("user_id" = String, Path, description = "The caller's user id"), IdempotencyKey),
    request_body = CreateList,
    responses(
        (status = 201, description = "Created; `Location` names the new list", body = ListDto,
            headers(("Location" = String, description = "`/api/{user_id}/lists/{list_id}`"),
                ("ETag" = String, description = "The new list's version, `\"1\"`"),
                ("Idempotent-Replayed" = String, description = "`true` when this answers a retry of an earlier request with the same `Idempotency-Key`"))),
        BadRequest, Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        PayloadTooLarge, UnsupportedMediaType,
        (status = 409, description = "The list created with this `Idempotency-Key` has been deleted since", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value breaks a rule (`errors[0].field` names it: `name`, `colour`, `position`), the caller owns the most lists allowed (1000 by default), or the `Idempotency-Key` was used with a different body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_list(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathValue,
    body: JsonBody<CreateList>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let owner = user_id(&path)?;
    let idempotency = scoped_idempotency(&req, body.raw(), "POST /lists")?;
    let new = body.parse()?.into_domain()?;
    let (view, replayed) = match &idempotency {
        None => (services.lists.create(&principal, &owner, new).await?, false),
        Some(idempotency) => {
            let created = services
                .lists
                .create_idempotent(&principal, &owner, new, idempotency)
                .await?;
            (created.list, created.replayed)
        }
    };
    let location = format!("{}/{}", req.path().trim_end_matches('/'), view.list.id);
    let mut res = HttpResponse::Created();
    res.insert_header((header::LOCATION, location));
    if replayed {
        res.insert_header((IDEMPOTENT_REPLAYED, "true"));
    }
    Ok(list_response(res, &view))
}

#[utoipa::path(get, path = "/api/{user_id}/lists/{list_id}", tag = "lists",
    params(("user_id" = String, Path), ("list_id" = String, Path, format = "uuid"), ListIfNoneMatch),
    responses(
        (status = 200, body = ListDto, headers(("ETag" = String, description = "The list's version as a strong entity tag, e.g. `\"3\"`; send it back in `If-Match`"))),
        (status = 304, description = "Not Modified: `If-None-Match` matches the current version; no body", headers(("ETag" = String))),
        (status = 400, description = "A malformed `If-None-Match`", body = Problem, content_type = "application/problem+json"),
        Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        ListNotFound,
        (status = 422, description = "The list id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_list(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathPair,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, list_id(&path.1)?);
    let if_none_match = conditional::IfNoneMatch::parse(&req)?;
    let view = services.lists.get(&principal, &owner, id).await?;
    if if_none_match.is_some_and(|tags| tags.matches(view.list.version)) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag(view.list.version)))
            .finish());
    }
    Ok(list_response(HttpResponse::Ok(), &view))
}

#[utoipa::path(patch, path = "/api/{user_id}/lists/{list_id}", tag = "lists",
    description = "Renames, recolours or archives the list (its owner only): the fields present in the body change, absent ones keep their value; `colour: null` removes the colour. An Inbox cannot be archived.",
    params(("user_id" = String, Path), ("list_id" = String, Path, format = "uuid"), ListIfMatch),
    request_body = UpdateList,
    responses(
        (status = 200, description = "The updated list", body = ListDto, headers(("ETag" = String, description = "The list's new version"))),
        (status = 400, description = "Malformed JSON, or a malformed `If-Match`", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, RoleRequired, ListNotFound,
        (status = 409, description = "An Inbox cannot be archived; or the list changed meanwhile (retry)", body = Problem, content_type = "application/problem+json"),
        StaleListVersion, PayloadTooLarge, UnsupportedMediaType,
        (status = 422, description = "A value breaks a rule; `errors[0].field` names it (`name`, `colour`, `archived`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn patch_list(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathPair,
    body: JsonBody<UpdateList>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, list_id(&path.1)?);
    let if_match = conditional::if_match(&req)?;
    let changes = body.parse()?.into_domain()?;
    let view = services
        .lists
        .update(&principal, &owner, id, changes, if_match)
        .await?;
    Ok(list_response(HttpResponse::Ok(), &view))
}

#[utoipa::path(delete, path = "/api/{user_id}/lists/{list_id}", tag = "lists",
    description = "Deletes the list with its tasks (its owner only; never an Inbox). Its members' sync feeds show a tombstone for each of its tasks.",
    params(("user_id" = String, Path), ("list_id" = String, Path, format = "uuid"), ListIfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A malformed `If-Match`", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, RoleRequired, ListNotFound,
        (status = 409, description = "An Inbox cannot be deleted; or the list changed meanwhile (retry)", body = Problem, content_type = "application/problem+json"),
        StaleListVersion,
        (status = 422, description = "The list id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_list(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathPair,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, list_id(&path.1)?);
    let if_match = conditional::if_match(&req)?;
    services
        .lists
        .delete(&principal, &owner, id, if_match)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/{user_id}/lists/{list_id}/move", tag = "lists",
    description = "Moves the list among the caller's lists (its owner only): right after or before another of them. Only this list changes: it gets a `position` between its new neighbours'.",
    params(("user_id" = String, Path), ("list_id" = String, Path, format = "uuid"), ListIfMatch),
    request_body(content = MoveList, examples(
        ("after" = (value = json!({"after": "0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a00"}))))),
    responses(
        (status = 200, description = "The moved list, with its new `position`", body = ListDto, headers(("ETag" = String))),
        BadRequest, Unauthenticated, RoleRequired, ListNotFound, PayloadTooLarge, UnsupportedMediaType,
        (status = 409, description = "The neighbours share a position, so nothing fits between them; or the list changed meanwhile", body = Problem, content_type = "application/problem+json"),
        StaleListVersion,
        (status = 422, description = "Not exactly one of `after` or `before`; a neighbour that is this list or none of the caller's", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn move_list(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathPair,
    body: JsonBody<MoveList>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, list_id(&path.1)?);
    let if_match = conditional::if_match(&req)?;
    let to = body.parse()?.into_domain()?;
    let view = services
        .lists
        .move_list(&principal, &owner, id, to, if_match)
        .await?;
    Ok(list_response(HttpResponse::Ok(), &view))
}

#[utoipa::path(post, path = "/api/{user_id}/lists/{list_id}/transfer", tag = "lists",
    description = "Hands the list to one of its editors, who becomes its owner; the caller (its owner until now) stays as an editor. Never an Inbox.",
    params(("user_id" = String, Path), ("list_id" = String, Path, format = "uuid")),
    request_body = TransferList,
    responses(
        (status = 200, description = "The list, as the caller now sees it (role `editor`)", body = ListDto, headers(("ETag" = String))),
        BadRequest, Unauthenticated, RoleRequired, ListNotFound, PayloadTooLarge, UnsupportedMediaType,
        (status = 409, description = "An Inbox cannot be transferred; or the members changed meanwhile (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`user_id` is not an editor of this list", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn transfer_list(
    Authenticated(principal): Authenticated,
    path: PathPair,
    body: JsonBody<TransferList>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, list_id(&path.1)?);
    let to = body.parse()?.into_domain()?;
    let view = services.lists.transfer(&principal, &owner, id, &to).await?;
    Ok(list_response(HttpResponse::Ok(), &view))
}

#[utoipa::path(get, path = "/api/{user_id}/lists/{list_id}/members", tag = "lists",
    description = "Every member of the list, the owner first, then by when they were added. Any member may read them.",
    params(("user_id" = String, Path), ("list_id" = String, Path, format = "uuid")),
    responses(
        (status = 200, body = Vec<MemberDto>),
        Unauthenticated,
        (status = 403, description = "The path names another user", body = Problem, content_type = "application/problem+json"),
        ListNotFound,
        (status = 422, description = "The list id is not a UUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_members(
    Authenticated(principal): Authenticated,
    path: PathPair,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, list_id(&path.1)?);
    let members = services.lists.members(&principal, &owner, id).await?;
    Ok(HttpResponse::Ok().json(members.iter().map(MemberDto::from).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/api/{user_id}/lists/{list_id}/members", tag = "lists",
    description = "Shares the list with an existing user, found by `user_id` or by `email` (exactly one), as a `viewer` or an `editor` (the owner only; never an Inbox).",
    params(("user_id" = String, Path), ("list_id" = String, Path, format = "uuid")),
    request_body(content = AddMember, examples(
        ("by e-mail" = (value = json!({"email": "ada@example.com", "role": "editor"}))),
        ("by id" = (value = json!({"user_id": "PVL84nb3WKj8GHRW4JOgGQE0OvDh4NLr", "role": "viewer"}))))),
    responses(
        (status = 201, description = "The new member", body = MemberDto,
            headers(("Location" = String, description = "`/api/{user_id}/lists/{list_id}/members/{member_id}`"))),
        BadRequest, Unauthenticated, RoleRequired, ListNotFound, PayloadTooLarge, UnsupportedMediaType,
        (status = 409, description = "An Inbox cannot be shared; or the user is a member already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not exactly one of `user_id` or `email`; no such user; `role` not `viewer` or `editor`; the list has the most members allowed (100 by default)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn add_member(
    req: HttpRequest,
    Authenticated(principal): Authenticated,
    path: PathPair,
    body: JsonBody<AddMember>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id) = (user_id(&path.0)?, list_id(&path.1)?);
    let (who, role) = body.parse()?.into_domain()?;
    let member = services
        .lists
        .add_member(&principal, &owner, id, who, role)
        .await?;
    let location = format!(
        "{}/{}",
        req.path().trim_end_matches('/'),
        member.user_id.as_str()
    );
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(MemberDto::from(&member)))
}

#[utoipa::path(patch, path = "/api/{user_id}/lists/{list_id}/members/{member_id}", tag = "lists",
    description = "Gives a member another role (the owner only). The owner's own role does not change this way: transfer the list instead.",
    params(("user_id" = String, Path), ("list_id" = String, Path, format = "uuid"),
        ("member_id" = String, Path, description = "The member's user id: no control characters, at most 255 bytes", pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$", min_length = 1, max_length = 255)),
    request_body = SetMemberRole,
    responses(
        (status = 200, description = "The member with their new role", body = MemberDto),
        BadRequest, Unauthenticated, RoleRequired,
        (status = 404, description = "No such list for the caller, or no such member", body = Problem, content_type = "application/problem+json"),
        PayloadTooLarge, UnsupportedMediaType,
        (status = 409, description = "The owner's role cannot change", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`role` not `viewer` or `editor`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn set_member_role(
    Authenticated(principal): Authenticated,
    path: web::Path<(String, String, String)>,
    body: JsonBody<SetMemberRole>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id, member) = (user_id(&path.0)?, list_id(&path.1)?, member_id(&path.2)?);
    let role = body.parse()?.into_domain()?;
    let member = services
        .lists
        .set_member_role(&principal, &owner, id, &member, role)
        .await?;
    Ok(HttpResponse::Ok().json(MemberDto::from(&member)))
}

#[utoipa::path(delete, path = "/api/{user_id}/lists/{list_id}/members/{member_id}", tag = "lists",
    description = "Removes a member: the owner removes anyone but themself; any other member removes only themself (leaves the list). Their assignments in the list are cleared, and their sync feed shows a tombstone for each of its tasks.",
    params(("user_id" = String, Path), ("list_id" = String, Path, format = "uuid"),
        ("member_id" = String, Path, description = "The member's user id (the caller's own to leave): no control characters, at most 255 bytes", pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$", min_length = 1, max_length = 255)),
    responses(
        (status = 204, description = "Removed"),
        Unauthenticated, RoleRequired,
        (status = 404, description = "No such list for the caller, or no such member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The owner cannot leave or be removed: transfer the list first", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The list id is not a UUID, or the member id is not a user id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn remove_member(
    Authenticated(principal): Authenticated,
    path: web::Path<(String, String, String)>,
    services: web::Data<Services>,
) -> Result<HttpResponse> {
    let (owner, id, member) = (user_id(&path.0)?, list_id(&path.1)?, member_id(&path.2)?);
    services
        .lists
        .remove_member(&principal, &owner, id, &member)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
