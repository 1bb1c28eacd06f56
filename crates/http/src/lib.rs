//! The actix-web adapter: routes, the bearer extractor, DTOs, the single error → HTTP
//! mapping, request ids, tracing spans and the OpenAPI document.

mod conditional;
mod cursor;
mod dto;
mod error;
mod events;
mod extract;
mod handlers;
mod health;
mod idempotency;
mod list_json;
mod listing;
mod lists;
mod metrics;
mod openapi;
mod openapi_parts;
mod parse;
mod query;
mod rate_limit;
mod services;
mod task_json;
mod task_routes;
mod telemetry;
mod trash;
mod trash_json;
mod webhook_json;
mod webhook_payloads;
mod webhooks;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{App, Error, HttpRequest, HttpResponse, web};
use tracing_actix_web::TracingLogger;
use utoipa_swagger_ui::SwaggerUi;

pub use dto::{TaskDto, UserDto};
pub use error::{ApiError, FieldError, PROBLEM_JSON, Problem};
pub use list_json::{ListDto, ListRole, MemberDto};
pub use metrics::Metrics;
pub use openapi::{ApiDoc, openapi_json, openapi_pretty_json};
pub use rate_limit::{Budget, Policy, RateLimitSettings, RateLimiter};
pub use services::{HttpSettings, Services};
pub use task_json::tasks_body;
pub use telemetry::{REQUEST_ID, RequestId, RequestSpan};
pub use trash_json::{TrashEntryDto, TrashEntryKind};
pub use webhook_json::{DeliveryDto, WebhookDto, WebhookWithSecret};
pub use webhook_payloads::ApiPayloads;

/// The single route table, used by the server and by the tests.
pub fn configure(cfg: &mut web::ServiceConfig, services: Services) {
    use handlers as h;
    use lists as l;
    use trash as t;
    use webhooks as w;
    if services.http.metrics_on_main_port {
        cfg.service(web::resource("/metrics").get(health::metrics));
    }
    cfg.app_data(web::Data::new(services))
        .app_data(web::PathConfig::default().error_handler(|err, _| {
            ApiError::Shape {
                field: None,
                message: format!("invalid path: {err}"),
            }
            .into()
        }))
        .service(web::resource("/").get(health::welcome))
        .service(web::resource("/health").get(health::health))
        .service(web::resource("/health/ready").get(health::ready))
        .service(
            web::scope("/api")
                .service(web::resource("/me").get(h::me))
                // A user's tasks first, split by hand (`task_routes.rs`): actix-router
                // tries patterns in order and matches each dynamic one with a regex, so
                // a task request runs none instead of two to nine (docs/performance.md).
                // No other route has "tasks" as its second segment.
                .service(task_routes::scope())
                // A user's lists, under one prefix for the same reason: no other route has
                // "lists" as its second segment.
                .service(
                    web::scope("/{user_id}/lists")
                        .service(web::resource("").get(l::list_lists).post(l::create_list))
                        .service(
                            web::resource("/{list_id}")
                                .get(l::get_list)
                                .patch(l::patch_list)
                                .delete(l::delete_list),
                        )
                        .service(web::resource("/{list_id}/move").post(l::move_list))
                        .service(web::resource("/{list_id}/transfer").post(l::transfer_list))
                        .service(
                            web::resource("/{list_id}/members")
                                .get(l::list_members)
                                .post(l::add_member),
                        )
                        .service(
                            web::resource("/{list_id}/members/{member_id}")
                                .patch(l::set_member_role)
                                .delete(l::remove_member),
                        ),
                )
                // A user's trash, under one prefix for the same reason.
                .service(
                    web::scope("/{user_id}/trash")
                        .service(web::resource("").get(t::list_trash).delete(t::empty_trash))
                        .service(web::resource("/{entry_id}").delete(t::delete_entry))
                        .service(web::resource("/{entry_id}/restore").post(t::restore_entry)),
                )
                // A user's webhooks, under one prefix for the same reason.
                .service(
                    web::scope("/{user_id}/webhooks")
                        .service(
                            web::resource("")
                                .get(w::list_webhooks)
                                .post(w::create_webhook),
                        )
                        .service(
                            web::resource("/{webhook_id}")
                                .get(w::get_webhook)
                                .patch(w::patch_webhook)
                                .delete(w::delete_webhook),
                        )
                        .service(web::resource("/{webhook_id}/rotate").post(w::rotate_secret))
                        .service(web::resource("/{webhook_id}/test").post(w::test_webhook))
                        .service(web::resource("/{webhook_id}/deliveries").get(w::list_deliveries))
                        .service(
                            web::resource("/{webhook_id}/deliveries/{delivery_id}/redeliver")
                                .post(w::redeliver),
                        ),
                )
                .service(web::resource("/{user_id}/tags").get(h::list_tags))
                .service(web::resource("/{user_id}/events").get(events::events))
                .service(web::resource("/admin/users").get(h::admin_list_users))
                .service(web::resource("/admin/users/{user_id}").delete(h::admin_delete_user))
                .service(
                    web::resource("/admin/users/{user_id}/tasks").get(h::admin_list_user_tasks),
                )
                .service(web::resource("/admin/users/{user_id}/role").patch(h::admin_set_role))
                .service(
                    web::resource("/admin/users/{user_id}/tasks/{task_id}")
                        .delete(h::admin_delete_user_task),
                ),
        )
        .route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header((header::LOCATION, "/docs/"))
                    .finish()
            }),
        )
        .service(web::resource("/openapi.json").get(serve_openapi))
        .service(
            SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::from("/openapi.json")),
        );
}

/// The OpenAPI document, built and serialised once per process on first request: every
/// worker holding its own document tree cost each idle server about 1 MiB per worker.
async fn serve_openapi() -> HttpResponse {
    static DOCUMENT: std::sync::OnceLock<web::Bytes> = std::sync::OnceLock::new();
    let body = DOCUMENT.get_or_init(|| {
        web::Bytes::from(openapi_json().unwrap_or_else(|err| {
            tracing::error!(error = %err, "could not serialise the OpenAPI document");
            String::from("{}")
        }))
    });
    HttpResponse::Ok()
        .insert_header(header::ContentType::json())
        .body(body.clone())
}

/// An app serving only `/metrics`, for a separate (private) listener.
pub fn metrics_app(
    services: Services,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(services))
        .service(web::resource("/metrics").get(health::metrics))
}

/// The whole application: routes plus request ids, tracing, CORS and the problem+json
/// envelope for any error response a framework layer produces.
pub fn app(
    services: Services,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let cors = cors(&services.http.cors_origins);
    App::new()
        .configure(|cfg| configure(cfg, services))
        .default_service(web::to(not_found))
        .wrap(cors)
        .wrap(TracingLogger::<RequestSpan>::new())
        .wrap(from_fn(telemetry::envelope))
}

fn cors(origins: &[String]) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
        ])
        .allowed_header(REQUEST_ID)
        .allowed_header(idempotency::IDEMPOTENCY_KEY)
        .expose_headers([
            header::LINK,
            header::LOCATION,
            header::RETRY_AFTER,
            header::ETAG,
        ])
        .expose_headers([REQUEST_ID, idempotency::IDEMPOTENT_REPLAYED])
        .expose_headers([telemetry::RATELIMIT, telemetry::RATELIMIT_POLICY])
        .max_age(600);
    if origins.iter().any(|o| o == "*") {
        return cors.allow_any_origin();
    }
    origins
        .iter()
        .fold(cors, |cors, origin| cors.allowed_origin(origin))
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}
