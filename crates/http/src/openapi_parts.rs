//! The parts of the OpenAPI document several operations share, each declared once: error
//! responses (`responses(...)` of `#[utoipa::path]`), the conditional and idempotency
//! headers, and the time zone names.
//!
//! Nothing here is built at run time: the types only describe what `ApiError` answers.
//! A response that an operation describes in its own words stays inline in `handlers.rs`.
//! The plain responses carry `//` comments, not doc comments, which utoipa would publish as
//! their description.
#![allow(dead_code, reason = "documents responses and a header; never built")]

use utoipa::{IntoParams, IntoResponses};

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

/// The `Idempotency-Key` header of a create.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct IdempotencyKey {
    /// A key unique to this create, chosen by the client (a UUID, say; 1–255 visible ASCII characters). Keys are per user and remembered for 24 hours.
    #[param(rename = "Idempotency-Key", value_type = String, required = false, example = "5f0c2a1e-8d4b-4f7a-9c3e-2b1d0a9f8e7d",
        pattern = "^[!-~]{1,255}$")]
    idempotency_key: Option<String>,
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
