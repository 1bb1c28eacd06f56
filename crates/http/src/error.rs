//! The one place where outcomes become HTTP statuses and problem+json bodies (RFC 9457).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use todo_application::ApplicationError;
use utoipa::ToSchema;

use crate::conditional::{HeaderError, etag};
use crate::rate_limit::Decision;

/// The result of a handler or extractor: an [`ApiError`] unless said otherwise.
pub(crate) type Result<T, E = ApiError> = std::result::Result<T, E>;

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 2;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Every failure a handler or extractor can produce.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    App(#[from] ApplicationError),
    /// The body is not syntactically valid JSON.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// Well-formed JSON of the wrong shape; `field` is the JSON path when known.
    #[error("{}", shape_detail(.field, .message))]
    Shape {
        field: Option<String>,
        message: String,
    },
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("the request body could not be read")]
    BadBody,
    /// The body did not arrive in time (the connection is closed after the answer).
    #[error("the request body did not arrive within {}", seconds(.0))]
    BodyTimeout(std::time::Duration),
    #[error("{0}")]
    NotFound(String),
    /// Query parameters that are unknown, repeated or invalid, each named in `errors[]`.
    #[error("{}", fields_detail(.0))]
    Query(Vec<FieldError>),
    /// A request header the operation reads is malformed.
    #[error("{header} {message}")]
    BadHeader {
        header: &'static str,
        message: String,
    },
    /// The service is not ready (dependencies down, shutting down).
    #[error("{0}")]
    NotReady(String),
    /// A request budget is used up; the detail names it, `Retry-After` says when to retry.
    #[error("{}", .0.detail())]
    RateLimited(Decision),
}

impl From<HeaderError> for ApiError {
    fn from(HeaderError { header, message }: HeaderError) -> Self {
        Self::BadHeader { header, message }
    }
}

fn shape_detail(field: &Option<String>, message: &str) -> String {
    match field {
        Some(f) => format!("{f}: {message}"),
        None => message.to_owned(),
    }
}

fn seconds(duration: &std::time::Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

fn fields_detail(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{} {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// An RFC 9457 problem document. `detail` is always a human-readable sentence.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference identifying the problem type (`about:blank`: see `title`).
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: &'static str,
    #[schema(example = "Unprocessable Entity")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    #[schema(example = "title must not be empty")]
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl Problem {
    #[must_use]
    pub fn new(status: StatusCode, detail: String, errors: Option<Vec<FieldError>>) -> Self {
        Self {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors,
        }
    }

    /// The response for this problem, with the headers its status calls for.
    #[must_use]
    pub fn into_response(self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = HttpResponse::build(status);
        res.content_type(PROBLEM_JSON);
        if status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
        }
        let body = serde_json::to_string(&self).unwrap_or_else(|_| {
            r#"{"type":"about:blank","title":"Error","status":500,"detail":"internal error"}"#
                .to_owned()
        });
        res.body(body)
    }
}

impl ApiError {
    fn field_errors(&self) -> Option<Vec<FieldError>> {
        match self {
            Self::App(ApplicationError::Validation { field, message }) => Some(vec![FieldError {
                field: field.clone(),
                message: message.clone(),
            }]),
            Self::Shape {
                field: Some(field),
                message,
            } => Some(vec![FieldError {
                field: field.clone(),
                message: message.clone(),
            }]),
            Self::Query(errors) => Some(errors.clone()),
            Self::BadHeader { header, message } => Some(vec![FieldError {
                field: (*header).to_owned(),
                message: message.clone(),
            }]),
            _ => None,
        }
    }

    fn detail(&self) -> String {
        match self {
            // Never show causes of server-side failures.
            Self::App(ApplicationError::Internal(_)) => {
                "an internal error occurred; it has been logged".to_owned()
            }
            Self::App(ApplicationError::Unavailable(_)) => {
                "the database is unavailable; retry shortly".to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        use ApplicationError as A;
        match self {
            Self::App(A::NotFound(_)) | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::App(A::Forbidden(_)) => StatusCode::FORBIDDEN,
            Self::App(A::Unauthenticated { .. }) => StatusCode::UNAUTHORIZED,
            Self::App(A::Validation { .. } | A::Limit(_)) | Self::Shape { .. } | Self::Query(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::App(A::Conflict(_)) => StatusCode::CONFLICT,
            Self::App(A::Gone(_)) => StatusCode::GONE,
            Self::App(A::PreconditionFailed { .. }) => StatusCode::PRECONDITION_FAILED,
            Self::App(A::Unavailable(_)) | Self::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::App(A::Internal(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::MalformedJson(_) | Self::BadBody | Self::BadHeader { .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited(_) | Self::App(A::TooMany { .. }) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            Self::App(ApplicationError::Internal(cause)) => {
                tracing::error!(error.cause_chain = %chain(cause.as_ref()), "request failed");
            }
            Self::App(ApplicationError::Unavailable(cause)) => {
                tracing::warn!(error.cause_chain = %chain(cause.as_ref()), "database unavailable");
            }
            Self::App(ApplicationError::Unauthenticated { reason, detail }) => {
                tracing::info!(reason = reason.as_str(), detail, "authentication failed");
            }
            _ => {}
        }
        let mut res = Problem::new(status, self.detail(), self.field_errors()).into_response();
        if let Self::App(ApplicationError::PreconditionFailed {
            current_version, ..
        }) = self
            && let Ok(etag) = HeaderValue::from_str(&etag(*current_version))
        {
            // What the client's copy should be refreshed to.
            res.headers_mut().insert(header::ETAG, etag);
        }
        if let Self::RateLimited(decision) = self {
            let retry_after = decision.retry_after().unwrap_or(1);
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if let Self::App(ApplicationError::TooMany {
            retry_after_secs, ..
        }) = self
        {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        if let Self::BodyTimeout(_) = self {
            // The rest of the body may still come: this connection cannot carry another request.
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        res
    }
}

/// `error: cause: cause…`, for logs.
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
