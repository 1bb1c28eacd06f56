//! Request extractors: the bearer principal and JSON bodies with precise errors.

use std::future::{Future, Ready, ready};
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::Either;
use serde::de::DeserializeOwned;
use todo_application::{ApplicationError, AuthFailure};
use todo_domain::Principal;
use tracing_actix_web::RootSpan;

use crate::error::ApiError;
use crate::rate_limit::{Budget, Decision, Spent};
use crate::services::{HttpSettings, Services};

/// The authenticated caller, from `Authorization: Bearer <credential>`.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Either<
        Ready<Result<Self, ApiError>>,
        Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>,
    >;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // The budgets are decided in plain functions before and after the one await, so
        // that the future holds no more than it did without them.
        let (services, credential, spent, now) = match before_authentication(req) {
            Ok(ready) => ready,
            Err(err) => return Either::Left(ready(Err(err))),
        };
        // A credential the caches remember is answered here, with no future to allocate.
        if let Some(outcome) = services.auth.authenticate_cached(credential) {
            let outcome = outcome.map_err(ApiError::from);
            return Either::Left(ready(after_authentication(
                req, &services, spent, now, outcome,
            )));
        }
        let credential = credential.to_owned();
        let req = req.clone();
        Either::Right(Box::pin(async move {
            let outcome = services.auth.authenticate(&credential).await;
            after_authentication(&req, &services, spent, now, outcome.map_err(ApiError::from))
        }))
    }
}

/// A route's one path value (`/api/{user_id}/tasks`), as `web::Path<String>` gives it.
#[derive(Debug)]
pub struct PathValue(pub String);

/// A route's two path values, in order (`/api/{user_id}/tasks/{task_id}`), as
/// `web::Path<(String, String)>` gives them.
#[derive(Debug)]
pub struct PathPair(pub String, pub String);

impl std::ops::Deref for PathValue {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl FromRequest for PathValue {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match path_values(req) {
            Some([value]) => Ok(Self(value)),
            None => web::Path::<String>::extract(req)
                .into_inner()
                .map(|p| Self(p.into_inner())),
        })
    }
}

impl FromRequest for PathPair {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match path_values(req) {
            Some([first, second]) => Ok(Self(first, second)),
            None => web::Path::<(String, String)>::extract(req)
                .into_inner()
                .map(|p| {
                    let (first, second) = p.into_inner();
                    Self(first, second)
                }),
        })
    }
}

/// The route's `N` path values as the router split them, when there are `N` and none has a
/// `%` to decode (the usual case); otherwise `None`, and `web::Path` reads them (it decodes
/// every value through serde's deserializer, ~2 000 instructions of a get whatever the
/// value: docs/performance.md).
fn path_values<const N: usize>(req: &HttpRequest) -> Option<[String; N]> {
    let info = req.match_info();
    if info.segment_count() != N {
        return None;
    }
    let mut values = info.iter().map(|(_, value)| value);
    let values: [&str; N] = std::array::from_fn(|_| values.next().unwrap_or_default());
    if values.iter().any(|value| value.contains('%')) {
        return None;
    }
    Some(values.map(str::to_owned))
}

/// Everything before the credential is verified: the client address's reads or writes
/// (429 when used up), the bearer header (401), and the address's auth failures (429
/// before the credential costs a verification or a database lookup). With the rate
/// limiter's clock read once, for every budget the request is counted against.
fn before_authentication(
    req: &HttpRequest,
) -> Result<(web::Data<Services>, &str, Spent, Duration), ApiError> {
    let services = services(req)?;
    let limiter = &services.rate_limits;
    let mut spent = Spent::default();
    let enabled = limiter.settings().enabled;
    let now = if enabled {
        limiter.now()
    } else {
        Duration::ZERO
    };
    let addr = enabled.then(|| {
        let addr = client_addr(req, &services);
        spent.address = Some(limiter.take_address(Budget::of_method(req.method()), addr, now));
        addr
    });
    if let Some(refusal) = spent.refusal() {
        return Err(limited(req, &services, spent, refusal));
    }
    let credential = match bearer(req) {
        Ok(credential) => credential,
        Err(err) => {
            if let Some(addr) = addr {
                spent.caller = Some(limiter.check_auth_failures(addr, now));
                req.extensions_mut().insert(spent);
            }
            if let Some(reason) = failure_reason(&err) {
                services.metrics.auth_failure(reason);
            }
            return Err(err);
        }
    };
    if let Some(addr) = addr {
        let check = limiter.check_auth_failures(addr, now);
        if check.retry_after().is_some() {
            spent.caller = Some(check);
            return Err(limited(req, &services, spent, check));
        }
    }
    Ok((services, credential, spent, now))
}

/// Everything after: a refused credential counts against the address's auth failures; a
/// known caller spends one of the user's reads or writes (429 when none is left).
fn after_authentication(
    req: &HttpRequest,
    services: &Services,
    mut spent: Spent,
    now: Duration,
    outcome: Result<Principal, ApiError>,
) -> Result<Authenticated, ApiError> {
    let limiter = &services.rate_limits;
    let limits = limiter.settings().enabled;
    let principal = match outcome {
        Ok(principal) => principal,
        Err(err) => {
            if let Some(reason) = failure_reason(&err) {
                services.metrics.auth_failure(reason);
            }
            if limits {
                if let ApiError::App(ApplicationError::Unauthenticated { .. }) = err {
                    let addr = client_addr(req, services);
                    spent.caller = Some(limiter.record_auth_failure(addr, now));
                }
                req.extensions_mut().insert(spent);
            }
            return Err(err);
        }
    };
    if let Some(span) = req.extensions().get::<RootSpan>() {
        span.record("user_id", tracing::field::display(&principal.user_id));
    }
    if limits {
        let decision = limiter.take_user(
            Budget::of_method(req.method()),
            principal.user_id.as_str(),
            now,
        );
        spent.caller = Some(decision);
        if decision.retry_after().is_some() {
            return Err(limited(req, services, spent, decision));
        }
        req.extensions_mut().insert(spent);
    }
    Ok(Authenticated(principal))
}

/// The 429 of a used-up budget, counted, what was spent kept for the `RateLimit` headers.
fn limited(req: &HttpRequest, services: &Services, spent: Spent, refusal: Decision) -> ApiError {
    services.metrics.rate_limited(refusal.budget);
    req.extensions_mut().insert(spent);
    ApiError::RateLimited(refusal)
}

/// The client's address for per-address budgets (`X-Forwarded-For` only from a trusted
/// proxy, and only read then).
fn client_addr(req: &HttpRequest, services: &Services) -> std::net::IpAddr {
    services
        .rate_limits
        .client_addr(req.peer_addr().map(|a| a.ip()), || {
            req.headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
        })
}

/// A short, bounded label for why authentication failed (for metrics).
fn failure_reason(err: &ApiError) -> Option<&'static str> {
    match err {
        ApiError::App(ApplicationError::Unauthenticated { reason, .. }) => Some(reason.as_str()),
        ApiError::App(ApplicationError::Forbidden(_)) => Some("banned"),
        ApiError::App(ApplicationError::Unavailable(_)) => Some("unavailable"),
        _ => None,
    }
}

/// No usable bearer header: `detail` says what is wrong with it.
fn unauthenticated(detail: &str) -> ApiError {
    ApiError::App(ApplicationError::unauthenticated(
        AuthFailure::Missing,
        detail,
    ))
}

/// The credential of an `Authorization: Bearer …` header.
pub(crate) fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthenticated("missing Authorization header with a bearer token"))?;
    let value = header_text(value.as_bytes())
        .ok_or_else(|| unauthenticated("the Authorization header is not valid text"))?;
    let (scheme, credential) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| unauthenticated("the Authorization header must be `Bearer <token>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthenticated(
            "the Authorization header must use the Bearer scheme",
        ));
    }
    let credential = credential.trim();
    if credential.is_empty() {
        return Err(unauthenticated("the bearer token is empty"));
    }
    if credential.len() > 8192 {
        return Err(unauthenticated("the bearer token is too long"));
    }
    Ok(credential)
}

/// `bytes` as text when `HeaderValue::to_str` takes them as text (each byte visible ASCII, a
/// space or a tab), checked with no branch per byte (which let the compiler compare 16 or 32
/// bytes at once): the check ran on every request's credential, a byte at a time.
fn header_text(bytes: &[u8]) -> Option<&str> {
    let text = bytes.iter().fold(true, |text, &b| {
        text & ((b' '..=b'~').contains(&b) | (b == b'\t'))
    });
    if text {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

pub(crate) fn services(req: &HttpRequest) -> Result<web::Data<Services>, ApiError> {
    req.app_data::<web::Data<Services>>()
        .cloned()
        .ok_or_else(|| {
            ApiError::App(ApplicationError::Internal(
                "services are not registered with the app".into(),
            ))
        })
}

/// A JSON request body, read (size-bounded) by the extractor but parsed only when the
/// handler asks, after authentication: a client without a valid credential always gets
/// 401, whatever its body.
///
/// `T` decides whether an empty body is acceptable through [`FromEmptyBody`].
#[derive(Debug)]
pub struct JsonBody<T> {
    bytes: web::Bytes,
    json_content_type: bool,
    _shape: PhantomData<T>,
}

/// What an empty request body means for a body type (`None`: a body is required), and
/// whether a JSON `null` body means the same (an optional body a client may send as `null`).
pub trait FromEmptyBody: Sized {
    fn from_empty_body() -> Option<Self> {
        None
    }

    fn null_is_empty() -> bool {
        false
    }
}

impl<T> JsonBody<T> {
    /// The body as received.
    pub fn raw(&self) -> &[u8] {
        &self.bytes
    }
}

impl<T: DeserializeOwned + FromEmptyBody> JsonBody<T> {
    /// 415 for a non-JSON content type, 400 for malformed JSON, 422 for a wrong shape.
    pub fn parse(self) -> Result<T, ApiError> {
        if self.bytes.iter().all(u8::is_ascii_whitespace) {
            return T::from_empty_body().ok_or(ApiError::Shape {
                field: None,
                message: "a JSON object body is required".to_owned(),
            });
        }
        if !self.json_content_type {
            return Err(ApiError::UnsupportedMediaType);
        }
        if T::null_is_empty()
            && self.bytes.trim_ascii() == b"null"
            && let Some(empty) = T::from_empty_body()
        {
            return Ok(empty);
        }
        parse_json(&self.bytes)
    }
}

impl<T: 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (limit, timeout) = req.app_data::<web::Data<Services>>().map_or_else(
            || {
                let defaults = HttpSettings::default();
                (defaults.body_limit, defaults.body_timeout)
            },
            |s| (s.http.body_limit, s.http.body_timeout),
        );
        let json_content_type = is_json(req);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|len| len > limit) {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            // A body that never arrives would hold the connection (and its memory) forever:
            // the whole body gets `timeout`, then the client gets a 408 and the connection
            // is closed (actix closes it when a body was left unread).
            let read = async {
                let mut body = web::BytesMut::new();
                while let Some(chunk) = payload.next().await {
                    let chunk = chunk.map_err(|_| ApiError::BadBody)?;
                    if body.len() + chunk.len() > limit {
                        return Err(ApiError::PayloadTooLarge { limit });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(body)
            };
            let body = actix_web::rt::time::timeout(timeout, read)
                .await
                .map_err(|_| ApiError::BodyTimeout(timeout))??;
            Ok(Self {
                bytes: body.freeze(),
                json_content_type,
                _shape: PhantomData,
            })
        })
    }
}

/// `application/json` or any `application/*+json`, with any parameters.
fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses `bytes`, telling malformed JSON (400) from JSON of the wrong shape (422).
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde would read a JSON array into a struct field by field; bodies are objects only.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Err(err) if err.is_syntax() || err.is_eof() => {
                Err(ApiError::MalformedJson(err.to_string()))
            }
            _ => Err(ApiError::Shape {
                field: None,
                message: "the body must be a JSON object".to_owned(),
            }),
        };
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let (path, inner) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => match de.end() {
            Ok(()) => return Ok(value),
            Err(trailing) => (String::new(), trailing),
        },
        Err(err) => (err.path().to_string(), err.into_inner()),
    };
    {
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                Err(ApiError::MalformedJson(inner.to_string()))
            }
            serde_json::error::Category::Data | serde_json::error::Category::Io => {
                Err(shape_error(&path, &inner.to_string()))
            }
        }
    }
}

fn shape_error(path: &str, raw: &str) -> ApiError {
    // serde_json appends " at line L column C"; the field path says more.
    let message = raw
        .rfind(" at line ")
        .map_or(raw, |i| raw.get(..i).unwrap_or(raw));
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        // The path already ends with the unknown field's name.
        let field = if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            path.to_owned()
        };
        return ApiError::Shape {
            field: Some(field),
            message: "is not a known field".to_owned(),
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        return ApiError::Shape {
            field: Some(name.to_owned()),
            message: "is required".to_owned(),
        };
    }
    if path == "." || path.is_empty() {
        return ApiError::Shape {
            field: None,
            message: if message.contains("expected struct") || message.contains("expected a map") {
                "the body must be a JSON object".to_owned()
            } else {
                message.to_owned()
            },
        };
    }
    ApiError::Shape {
        field: Some(path.to_owned()),
        message: message.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        #[serde(default)]
        completed: Option<bool>,
    }

    fn detail(bytes: &str) -> (u16, String) {
        use actix_web::ResponseError;
        let err = parse_json::<Body>(bytes.as_bytes()).unwrap_err();
        (err.status_code().as_u16(), err.to_string())
    }

    #[test]
    fn header_text_is_what_header_values_take_as_text() {
        use actix_web::http::header::HeaderValue;
        for b in 0..=255u8 {
            for bytes in [
                vec![b],
                vec![b'a', b, b'z'],
                [vec![b'x'; 40], vec![b]].concat(),
            ] {
                // The values a request can carry: `HeaderValue` refuses the others.
                let Ok(value) = HeaderValue::from_bytes(&bytes) else {
                    continue;
                };
                assert_eq!(header_text(&bytes), value.to_str().ok(), "{bytes:?}");
            }
        }
        assert_eq!(header_text(b""), Some(""));
    }

    #[actix_web::test]
    async fn path_values_are_what_web_path_gives() {
        use actix_web::{App, HttpResponse, test};
        async fn pair(p: PathPair, q: web::Path<(String, String)>) -> HttpResponse {
            assert_eq!((p.0, p.1), q.into_inner());
            HttpResponse::Ok().finish()
        }
        async fn one(p: PathValue, q: web::Path<String>) -> HttpResponse {
            assert_eq!(p.0, q.into_inner());
            HttpResponse::Ok().finish()
        }
        let app = test::init_service(
            App::new()
                .route("/a/{user_id}/tasks/{task_id}", web::get().to(pair))
                .route("/a/{user_id}/tasks", web::get().to(one)),
        )
        .await;
        let values = [
            "u1",
            "a+b",
            "%2F",
            "a%2Fb",
            "%25",
            "%2525",
            "%E2%9C%93",
            "%FF",
            "%zz",
            "%",
            "a%",
            "%41",
            "~!$&'()*,;=:@",
            "01a24312-b356-77a0-be5b-aca1b28770b7",
        ];
        for a in values {
            for b in values {
                for uri in [format!("/a/{a}/tasks/{b}"), format!("/a/{a}/tasks")] {
                    let res =
                        test::call_service(&app, test::TestRequest::get().uri(&uri).to_request())
                            .await;
                    assert!(res.status().is_success(), "{uri}: {}", res.status());
                }
            }
        }
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        assert_eq!(detail("{\"title\": ").0, 400);
        assert_eq!(detail("{title: 1}").0, 400);
        assert_eq!(detail("{\"title\": \"a\"} trailing").0, 400);
    }

    #[test]
    fn shape_errors_name_the_field() {
        assert_eq!(
            detail(r#"{"title": "a", "colour": "red"}"#),
            (422, "colour: is not a known field".to_owned())
        );
        assert_eq!(detail(r#"{}"#), (422, "title: is required".to_owned()));
        let (status, text) = detail(r#"{"title": 5}"#);
        assert_eq!(status, 422);
        assert!(
            text.starts_with("title: invalid type: integer `5`"),
            "{text}"
        );
        assert!(!text.contains("line"), "{text}");
        assert_eq!(detail(r#"{"title": "a", "completed": "yes"}"#).0, 422);
        assert_eq!(
            detail("[1, 2]"),
            (422, "the body must be a JSON object".to_owned())
        );
        assert_eq!(detail("null").0, 422);
        assert_eq!(
            detail(r#"["a", true]"#),
            (422, "the body must be a JSON object".to_owned())
        );
        assert_eq!(detail("[1, ").0, 400);
    }
}
