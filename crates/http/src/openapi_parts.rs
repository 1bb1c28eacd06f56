//! The parts of the OpenAPI document several operations share, each declared once: error
//! responses (`responses(...)` of `#[utoipa::path]`), the conditional and idempotency
//! headers, the time zone names, and the rate limits: the 429 response and the
//! `RateLimit` / `RateLimit-Policy` headers, which [`RateLimits`] adds to every operation
//! under `/api`.
//!
//! Nothing here is built at run time: the types only describe what `ApiError` answers.
//! A response that an operation describes in its own words stays inline in `handlers.rs`.
//! The plain responses carry `//` comments, not doc comments, which utoipa would publish as
//! their description.
#![allow(dead_code, reason = "documents responses and a header; never built")]

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{Ref, RefOr, Type};
use utoipa::{IntoParams, IntoResponses, Modify};

use crate::error::Problem;

// 400 without a description of its own.
#[derive(IntoResponses)]
#[response(status = 400, content_type = "application/problem+json")]
pub(crate) struct BadRequest(Problem);

// 401: no credential, or one that is expired, forged or of an unknown user.
#[derive(IntoResponses)]
#[response(status = 401, content_type = "application/problem+json")]
pub(crate) struct Unauthenticated(Problem);

// 403: not the caller's own data, not an admin, or banned.
#[derive(IntoResponses)]
#[response(status = 403, content_type = "application/problem+json")]
pub(crate) struct Forbidden(Problem);

// 404: no such task or user (another user's task is a missing one).
#[derive(IntoResponses)]
#[response(status = 404, content_type = "application/problem+json")]
pub(crate) struct NotFound(Problem);

// 413: the body is larger than the configured limit.
#[derive(IntoResponses)]
#[response(status = 413, content_type = "application/problem+json")]
pub(crate) struct PayloadTooLarge(Problem);

// 415: the body is not declared as JSON.
#[derive(IntoResponses)]
#[response(status = 415, content_type = "application/problem+json")]
pub(crate) struct UnsupportedMediaType(Problem);

// 422 without a description of its own.
#[derive(IntoResponses)]
#[response(status = 422, content_type = "application/problem+json")]
pub(crate) struct UnprocessableEntity(Problem);

/// 409 of a task write that kept losing the race for the task's version.
#[derive(IntoResponses)]
#[response(
    status = 409,
    description = "Other requests keep changing the task; retry",
    content_type = "application/problem+json"
)]
pub(crate) struct KeepsChanging(Problem);

/// 412 of a write whose `If-Match` is stale, with the current `ETag`.
#[derive(IntoResponses)]
#[response(
    status = 412,
    description = "`If-Match` does not name the current version; nothing was changed. `ETag` is the current version.",
    content_type = "application/problem+json",
    headers(("ETag" = String, description = "The task's current version, e.g. `\"4\"`"))
)]
pub(crate) struct StaleVersion(Problem);

/// The `If-Match` header of a conditional write on one task.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct IfMatch {
    /// Only act if the task is still at this version: its ETag, e.g. `"3"` (strong; one tag), or `*` for any version. A stale one is refused with 412 and the current ETag.
    #[param(rename = "If-Match", value_type = String, required = false, example = "\"3\"", pattern = r#"^(\*|"(0|[1-9][0-9]{0,17})")$"#)]
    if_match: Option<String>,
}

/// The `If-None-Match` header of a read of one task.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct IfNoneMatch {
    /// The ETag(s) of the copy the client has, or `*`: when the task is still at that version the answer is 304 with no body (compared weakly; a comma-separated list is allowed).
    #[param(rename = "If-None-Match", value_type = String, required = false, example = "\"3\"",
        pattern = r#"^(\*|(W/)?"[!#-+\--~]*")([ \t]*,[ \t]*(\*|(W/)?"[!#-+\--~]*"))*$"#)]
    if_none_match: Option<String>,
}

/// The `If-None-Match` header of a poll of a collection (tasks, the sync feed, lists).
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct CollectionIfNoneMatch {
    /// The collection's ETag from an earlier answer (weak, `W/"c…"`), or `*`: when none of the caller's lists changed since, the answer is 304 with no body, and no task is read. Not given for `overdue` and `due=today`, which move with the clock.
    #[param(rename = "If-None-Match", value_type = String, required = false, example = "W/\"c7421-88.5f0c2a1e8d4b4f7a\"",
        pattern = r#"^(\*|(W/)?"[!#-+\--~]*")([ \t]*,[ \t]*(\*|(W/)?"[!#-+\--~]*"))*$"#)]
    if_none_match: Option<String>,
}

/// The `Last-Event-ID` header of a stream that resumes (browsers' `EventSource` sends it
/// on reconnecting).
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct LastEventId {
    /// Resume after this event id: every later change the caller may see comes, none twice.
    #[param(rename = "Last-Event-ID", value_type = String, required = false, example = "7421-88",
        pattern = "^[0-9]{1,18}-[0-9]{1,18}$")]
    last_event_id: Option<String>,
}

/// 304 of a poll of a collection that has not changed.
#[derive(IntoResponses)]
#[response(
    status = 304,
    description = "Nothing the caller may see changed since the `If-None-Match` tag: no body",
    headers(("ETag" = String, description = "The collection's tag, as sent"))
)]
pub(crate) struct CollectionNotModified;

/// The `Idempotency-Key` header of a create.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct IdempotencyKey {
    /// A key unique to this create, chosen by the client (a UUID, say; 1–255 visible ASCII characters). Keys are per user and remembered for 24 hours.
    #[param(rename = "Idempotency-Key", value_type = String, required = false, example = "5f0c2a1e-8d4b-4f7a-9c3e-2b1d0a9f8e7d",
        pattern = "^[!-~]{1,255}$")]
    idempotency_key: Option<String>,
}

/// 412 of a list write whose `If-Match` is stale, with the current `ETag`.
#[derive(IntoResponses)]
#[response(
    status = 412,
    description = "`If-Match` does not name the list's current version; nothing was changed. `ETag` is the current version.",
    content_type = "application/problem+json",
    headers(("ETag" = String, description = "The list's current version, e.g. `\"4\"`"))
)]
pub(crate) struct StaleListVersion(Problem);

/// 404 of a list, or of anything in it, for a caller who is not a member.
#[derive(IntoResponses)]
#[response(
    status = 404,
    description = "No such list, or the caller is not a member of it (the two are not told apart)",
    content_type = "application/problem+json"
)]
pub(crate) struct ListNotFound(Problem);

/// 403 of a list operation: the path names another user, or the caller's role in the
/// list is too low.
#[derive(IntoResponses)]
#[response(
    status = 403,
    description = "The path names another user, or the caller's role in the list does not allow this; `detail` names the role needed (\"changing this list requires the owner role\")",
    content_type = "application/problem+json"
)]
pub(crate) struct RoleRequired(Problem);

/// The `If-Match` header of a conditional write on one list.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct ListIfMatch {
    /// Only act if the list is still at this version: its ETag, e.g. `"3"` (strong; one tag), or `*` for any version. A stale one is refused with 412 and the current ETag.
    #[param(rename = "If-Match", value_type = String, required = false, example = "\"3\"", pattern = r#"^(\*|"(0|[1-9][0-9]{0,17})")$"#)]
    if_match: Option<String>,
}

/// The `If-None-Match` header of a read of one list.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct ListIfNoneMatch {
    /// The ETag(s) of the copy the client has, or `*`: when the list is still at that version the answer is 304 with no body (compared weakly; a comma-separated list is allowed).
    #[param(rename = "If-None-Match", value_type = String, required = false, example = "\"3\"",
        pattern = r#"^(\*|(W/)?"[!#-+\--~]*")([ \t]*,[ \t]*(\*|(W/)?"[!#-+\--~]*"))*$"#)]
    if_none_match: Option<String>,
}

/// An IANA time zone name, as the service knows them (`UTC`, `Europe/Berlin`, …).
pub(crate) struct TimeZoneName;

impl utoipa::PartialSchema for TimeZoneName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("An IANA time zone name"))
            .enum_values(Some(todo_domain::TimeZone::names()))
            .examples(["Europe/Berlin"])
            .into()
    }
}

impl utoipa::ToSchema for TimeZoneName {}

/// One tag, as the service accepts it: 1–50 characters once trimmed of white space, no
/// control characters and no comma (`todo_domain::Tag`). The pattern is that rule, with
/// white space spelled out as Unicode's `White_Space` (what Rust's `trim` removes) so that
/// every regex engine reads it alike.
pub(crate) struct TagName;

/// The pattern of [`TagName`]: optional white space, then a visible character, optionally
/// anything but control characters and commas up to another visible one, then white space.
pub(crate) const TAG_PATTERN: &str = r"^[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000,]([^\u0000-\u001F\u007F-\u009F,]{0,48}[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000,])?[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$";

impl utoipa::PartialSchema for TagName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "A tag: 1–50 characters after trimming white space, no control characters, no comma",
            ))
            .min_length(Some(1))
            .pattern(Some(TAG_PATTERN))
            .examples(["home"])
            .into()
    }
}

impl utoipa::ToSchema for TagName {}

/// 429 of a used-up request budget (reads or writes per user; reads, writes or auth
/// failures per client address).
#[derive(IntoResponses)]
#[response(
    status = 429,
    description = "A request budget is used up; `detail` names it. Retry after `Retry-After` seconds.",
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds until the budget allows a request again"))
)]
pub(crate) struct TooManyRequests(Problem);

const RATELIMIT_HEADERS: [(&str, &str); 2] = [
    (
        "RateLimit-Policy",
        "The budgets this request counts against, in the IETF httpapi draft's form: `\"reads\";q=6000;w=10, \"address_reads\";q=12000;w=10` is 6000 requests per 10 seconds for the user and 12000 for the client address (`auth_failures` instead of the user's budget on a refused credential). Per replica.",
    ),
    (
        "RateLimit",
        "What is left of those budgets: `\"reads\";r=5999;t=1, \"address_reads\";r=11999;t=1` is 5999 requests left to the user and 11999 to the address, each whole again in 1 second.",
    ),
];

/// Declares the rate-limit headers and the 429 response once, in `components`, and refers
/// to them from every operation under `/api`.
pub(crate) struct RateLimits;

impl Modify for RateLimits {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, description) in RATELIMIT_HEADERS {
            components.headers.insert(
                name.to_owned(),
                RefOr::T(
                    HeaderBuilder::new()
                        .schema(Some(utoipa::openapi::schema::Object::with_type(
                            Type::String,
                        )))
                        .description(Some(description))
                        .build(),
                ),
            );
        }
        for (_, response) in TooManyRequests::responses() {
            components.responses.insert(
                "TooManyRequests".to_owned(),
                with_rate_limit_headers(response),
            );
        }
        for (_, item) in openapi
            .paths
            .paths
            .iter_mut()
            .filter(|(path, _)| path.starts_with("/api/"))
        {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
            ];
            for operation in operations.into_iter().flatten() {
                add_rate_limits(operation);
            }
        }
    }
}

fn add_rate_limits(operation: &mut Operation) {
    let responses = std::mem::take(&mut operation.responses.responses);
    operation.responses.responses = responses
        .into_iter()
        .map(|(status, response)| (status, with_rate_limit_headers(response)))
        .collect();
    operation.responses.responses.insert(
        "429".to_owned(),
        RefOr::Ref(Ref::from_response_name("TooManyRequests")),
    );
}

fn with_rate_limit_headers(
    response: RefOr<utoipa::openapi::Response>,
) -> RefOr<utoipa::openapi::Response> {
    match response {
        RefOr::T(mut response) => {
            for (name, _) in RATELIMIT_HEADERS {
                response.headers.insert(
                    name.to_owned(),
                    RefOr::Ref(Ref::new(format!("#/components/headers/{name}"))),
                );
            }
            RefOr::T(response)
        }
        reference @ RefOr::Ref(_) => reference,
    }
}

/// The `If-Match` header of a conditional change of one webhook.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct WebhookIfMatch {
    /// Only act if the webhook is still at this version: its ETag, e.g. `"3"` (strong; one tag), or `*` for any version. A stale one is refused with 412 and the current ETag.
    #[param(rename = "If-Match", value_type = String, required = false, example = "\"3\"", pattern = r#"^(\*|"(0|[1-9][0-9]{0,17})")$"#)]
    if_match: Option<String>,
}
