//! Request ids and the per-request tracing span.

use std::borrow::Cow;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{ConnectionType, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse};

use actix_web::web;

use crate::error::{PROBLEM_JSON, Problem};
use crate::rate_limit::Spent;
use crate::services::Services;
use crate::task_routes::RouteTemplate;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served: the client's `X-Request-Id` when sane, else new.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A client-supplied id is kept when it is 1–128 characters of `[A-Za-z0-9._:-]`.
fn sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Outermost middleware: assigns the request id and echoes it on every response, turns
/// any error response that is not problem+json yet (405 from routing, CORS refusals,
/// framework errors) into one, keeping its status and headers, and closes the connection
/// after each response once shutdown has begun.
pub async fn envelope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let header = HeaderValue::from_str(&id).ok();
    let services = req.app_data::<web::Data<Services>>();
    let metrics = services.map(|s| s.metrics.clone());
    // Once shutdown has begun every response closes its connection, so a client's next
    // request opens a new one (to another replica) instead of meeting the closed listener.
    let draining = services.is_some_and(|s| s.is_shutting_down());
    let _in_flight = metrics.as_ref().map(|m| m.start());
    let started = Instant::now();
    let (outcome, status, route) = match next.call(req).await {
        Ok(res) => {
            let route = route_template(res.request());
            let (req, res) = res.into_parts();
            let mut res = as_problem(res.map_into_boxed_body(), &method).await;
            if let Some(services) = req.app_data::<web::Data<Services>>() {
                rate_limit_headers(&req, services, &mut res);
            }
            if let Some(value) = header {
                res.headers_mut().insert(REQUEST_ID, value);
            }
            if draining {
                res.head_mut().set_connection_type(ConnectionType::Close);
            }
            let status = res.status();
            (Ok(ServiceResponse::new(req, res)), status, route)
        }
        Err(err) => {
            // No request to build a ServiceResponse with: attach the finished response to
            // the error, which actix renders as it is.
            let mut res = as_problem(err.error_response(), &method).await;
            if let Some(value) = header {
                res.headers_mut().insert(REQUEST_ID, value);
            }
            if draining {
                res.head_mut().set_connection_type(ConnectionType::Close);
            }
            let status = res.status();
            let route = Cow::Borrowed("unknown");
            (
                Err(InternalError::from_response(err, res).into()),
                status,
                route,
            )
        }
    };
    if let Some(metrics) = &metrics {
        metrics.record(method.as_str(), &route, status.as_u16(), started.elapsed());
    }
    outcome
}

pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// `RateLimit-Policy` and `RateLimit` on every response under `/api`: the budgets the
/// request was counted against (set by the bearer extractor), or when it never got that
/// far, the policies of its method's budgets. The policies are values written once; only
/// `RateLimit` is written per request.
fn rate_limit_headers(req: &HttpRequest, services: &Services, res: &mut HttpResponse) {
    let limiter = &services.rate_limits;
    if !limiter.settings().enabled {
        return;
    }
    let (policy, limit) = {
        let extensions = req.extensions();
        let spent = extensions.get::<Spent>();
        if spent.is_none() && !req.path().starts_with("/api/") {
            return;
        }
        limiter.headers(spent, req.method())
    };
    let headers = res.headers_mut();
    if let Some(value) = policy {
        headers.insert(RATELIMIT_POLICY, value);
    }
    if let Some(value) = limit {
        headers.insert(RATELIMIT, value);
    }
}

/// The route template the request was routed to (never the raw path: user ids would
/// each get their own metric series), or `unmatched`. Asked after routing, when actix
/// answers it from the matched resource instead of matching the path again.
pub(crate) fn route_template(req: &HttpRequest) -> Cow<'static, str> {
    if let Some(RouteTemplate(template)) = req.extensions().get::<RouteTemplate>().copied() {
        return Cow::Borrowed(template);
    }
    req.match_pattern()
        .map_or(Cow::Borrowed("unmatched"), Cow::Owned)
}

async fn as_problem(res: HttpResponse, method: &Method) -> HttpResponse {
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return res;
    }
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            format!("the method {method} is not allowed on this resource")
        }
        other => {
            let generic = other
                .canonical_reason()
                .unwrap_or("request failed")
                .to_lowercase();
            if status.is_client_error() {
                // actix's errors (CORS refusals among them) carry their reason as a short
                // plain-text body: keep it as the detail. Server errors keep the generic
                // sentence, whatever their body says.
                let (res, body) = res.into_parts();
                let detail = plain_reason(body).await.unwrap_or(generic);
                return problem_like(&res, status, detail);
            }
            generic
        }
    };
    problem_like(&res, status, detail)
}

/// A short, printable, plain-text body, as actix's own error responses have.
async fn plain_reason(body: BoxBody) -> Option<String> {
    let bytes = actix_web::body::to_bytes_limited(body, 256)
        .await
        .ok()?
        .ok()?;
    let text = std::str::from_utf8(&bytes).ok()?.trim();
    (!text.is_empty() && text.len() <= 200 && !text.chars().any(char::is_control))
        .then(|| text.to_owned())
}

/// A problem+json response with `status` and `detail`, keeping the headers of `res`.
fn problem_like<B>(res: &HttpResponse<B>, status: StatusCode, detail: String) -> HttpResponse {
    let mut problem = Problem::new(status, detail, None).into_response();
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}

#[derive(Debug, Clone, Copy)]
struct Started(Instant);

/// One span per request: method, request id, the user id once authenticated and the route
/// template (never the raw path) once routed; a closing event with status and latency.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        request.extensions_mut().insert(Started(Instant::now()));
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = tracing::field::Empty,
            request_id = %request_id,
            user_id = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, started) = match outcome {
            Ok(res) => {
                span.record("route", route_template(res.request()).as_ref());
                (
                    res.status().as_u16(),
                    res.request().extensions().get::<Started>().copied(),
                )
            }
            Err(err) => (err.as_response_error().status_code().as_u16(), None),
        };
        let latency_ms = started.map_or(0.0, |s| s.0.elapsed().as_secs_f64() * 1000.0);
        span.in_scope(|| {
            if status >= 500 {
                tracing::error!(status, latency_ms, "request finished");
            } else {
                tracing::info!(status, latency_ms, "request finished");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::sane;

    #[test]
    fn only_sane_request_ids_are_kept() {
        assert!(sane("0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a99"));
        assert!(sane("req_42.a:b"));
        assert!(!sane(""));
        assert!(!sane(&"a".repeat(129)));
        assert!(!sane("has space"));
        assert!(!sane("line\nbreak"));
    }
}
