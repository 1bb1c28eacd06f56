//! The actix-web adapter: routes, the bearer extractor, DTOs, the single error → HTTP
//! mapping, request ids, tracing spans and the OpenAPI document.

mod dto;
mod error;
mod extract;
mod handlers;
mod openapi;
mod telemetry;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers, from_fn};
use actix_web::{App, Error, HttpRequest, HttpResponse, web};
use todo_application::ports::ReadinessProbe;
use todo_application::{AdminService, AuthService, TaskService};
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use dto::{TaskDto, UserDto};
pub use error::{ApiError, FieldError, PROBLEM_JSON, Problem};
pub use openapi::ApiDoc;
pub use telemetry::{REQUEST_ID, RequestId, RequestSpan};

/// HTTP-level settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// Origins allowed by CORS; `["*"]` allows any (only sensible in development).
    pub cors_origins: Vec<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            cors_origins: Vec::new(),
        }
    }
}

/// Everything the handlers need, built once by the composition root.
#[derive(Clone)]
pub struct Services {
    pub tasks: TaskService,
    pub admin: AdminService,
    pub auth: AuthService,
    pub readiness: Arc<dyn ReadinessProbe>,
    pub http: HttpSettings,
    shutting_down: Arc<AtomicBool>,
}

impl Services {
    pub fn new(
        tasks: TaskService,
        admin: AdminService,
        auth: AuthService,
        readiness: Arc<dyn ReadinessProbe>,
        http: HttpSettings,
    ) -> Self {
        Self {
            tasks,
            admin,
            auth,
            readiness,
            http,
            shutting_down: Arc::new(AtomicBool::new(false)),
        }
    }

    /// From now on `/health/ready` answers 503 so load balancers stop sending traffic.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    #[must_use]
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}

/// The single route table, used by the server and by the tests.
pub fn configure(cfg: &mut web::ServiceConfig, services: Services) {
    use handlers as h;
    cfg.app_data(web::Data::new(services))
        .app_data(web::PathConfig::default().error_handler(|err, _| {
            ApiError::Shape {
                field: None,
                message: format!("invalid path: {err}"),
            }
            .into()
        }))
        .app_data(web::QueryConfig::default().error_handler(|err, _| query_error(&err).into()))
        .route("/", web::get().to(h::welcome))
        .route("/health", web::get().to(h::health))
        .route("/health/ready", web::get().to(h::ready))
        .service(
            web::scope("/api")
                .route("/admin/users", web::get().to(h::admin_list_users))
                .route(
                    "/admin/users/{user_id}",
                    web::delete().to(h::admin_delete_user),
                )
                .route(
                    "/admin/users/{user_id}/tasks",
                    web::get().to(h::admin_list_user_tasks),
                )
                .route(
                    "/admin/users/{user_id}/role",
                    web::patch().to(h::admin_set_role),
                )
                .route(
                    "/admin/users/{user_id}/tasks/{task_id}",
                    web::delete().to(h::admin_delete_user_task),
                )
                .service(
                    web::resource("/{user_id}/tasks")
                        .route(web::get().to(h::list_tasks))
                        .route(web::post().to(h::create_task)),
                )
                .service(
                    web::resource("/{user_id}/tasks/{task_id}")
                        .route(web::get().to(h::get_task))
                        .route(web::put().to(h::put_task))
                        .route(web::patch().to(h::patch_task))
                        .route(web::delete().to(h::delete_task)),
                )
                .route(
                    "/{user_id}/tasks/{task_id}/complete",
                    web::patch().to(h::complete_task),
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
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()));
}

fn query_error(err: &actix_web::error::QueryPayloadError) -> ApiError {
    let text = err.to_string();
    let text = text
        .strip_prefix("Query deserialize error: ")
        .unwrap_or(&text)
        .to_owned();
    ApiError::Shape {
        field: None,
        message: format!("invalid query string: {text}"),
    }
}

/// The whole application: routes plus request ids, tracing, CORS and the problem+json
/// safety net for any error response a framework layer produces.
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
        .wrap(ErrorHandlers::new().default_handler(problem_safety_net))
        .wrap(TracingLogger::<RequestSpan>::new())
        .wrap(from_fn(telemetry::request_id))
}

fn cors(origins: &[String]) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .allowed_header(REQUEST_ID)
        .expose_headers([header::LINK, header::LOCATION, header::RETRY_AFTER])
        .expose_headers([REQUEST_ID])
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

/// Turns any error response that is not problem+json yet (405 from routing, CORS refusals,
/// framework errors) into one, keeping its status and headers.
fn problem_safety_net<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => format!(
            "the method {} is not allowed on this resource",
            res.request().method()
        ),
        StatusCode::NOT_FOUND => "not found".to_owned(),
        other => other
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
    };
    let (req, old) = res.into_parts();
    let mut problem = Problem::new(status, detail, None).into_response();
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, problem).map_into_right_body(),
    ))
}
