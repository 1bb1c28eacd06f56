//! One task's routes — `/{task_id}`, `/{task_id}/complete`, `/{task_id}/move` under a
//! user's tasks — found by splitting the path by hand.
//!
//! actix-router matches every pattern with a variable part by running its regex (regex-lite's
//! PikeVM, actix-web's default features being off): as resources of the tasks' scope, a get
//! ran two regexes (the scope's and `/{task_id}`'s) and a toggle three (`/{task_id}` failing
//! before `/{task_id}/complete`), about 20 000 instructions each (issue 18,
//! docs/performance.md). Here the scope's regex is the only one: what follows the user's
//! tasks is one segment, the task's id, and then nothing, `complete` or `move`.
//!
//! It answers as the resources did: the task id in the match info for the handlers'
//! `Path`, 405 for a method the route does not take, 404 (the application's) for a path it
//! does not know, and the route's template for the metrics and the request's span
//! ([`RouteTemplate`]). A test holds it to the resources it replaces, path by path.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse, always_ready};
use actix_web::http::Method;
use actix_web::{Error, HttpMessage, HttpResponse, Route, web};
use futures_util::future::{Either, LocalBoxFuture};

use crate::error::ApiError;
use crate::handlers as h;

/// The template of the route a request was dispatched to outside actix's resource table,
/// for [`crate::telemetry`]'s route label (actix's `match_pattern` knows only its own).
#[derive(Clone, Copy)]
pub(crate) struct RouteTemplate(pub(crate) &'static str);

const ITEM: &str = "/api/{user_id}/tasks/{task_id}";
const COMPLETE: &str = "/api/{user_id}/tasks/{task_id}/complete";
const MOVE: &str = "/api/{user_id}/tasks/{task_id}/move";

/// What follows a user's tasks in a path: one task's route, the task id's place in `rest`
/// and the route's template; `None` for a path with no such route.
fn split(rest: &str) -> Option<(usize, usize, Action)> {
    let id = rest.strip_prefix('/')?;
    let (id, action) = match id.split_once('/') {
        None => (id, Action::Item),
        Some((id, "complete")) => (id, Action::Complete),
        Some((id, "move")) => (id, Action::Move),
        Some(_) => return None,
    };
    (!id.is_empty()).then_some((1, 1 + id.len(), action))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Item,
    Complete,
    Move,
}

/// The factory, given to the tasks' scope as its default service: each route's handler, by
/// method.
pub(crate) struct TaskRoutes {
    get: Route,
    put: Route,
    patch: Route,
    delete: Route,
    complete: Route,
    moved: Route,
}

impl TaskRoutes {
    /// The task handlers.
    pub(crate) fn new() -> Self {
        Self {
            get: web::get().to(h::get_task),
            put: web::put().to(h::put_task),
            patch: web::patch().to(h::patch_task),
            delete: web::delete().to(h::delete_task),
            complete: web::patch().to(h::complete_task),
            moved: web::post().to(h::move_task),
        }
    }
}

/// The services of [`TaskRoutes`].
pub(crate) struct TaskRoutesService(Rc<Handlers>);

struct Handlers {
    get: RouteService,
    put: RouteService,
    patch: RouteService,
    delete: RouteService,
    complete: RouteService,
    moved: RouteService,
}

type RouteService = <Route as ServiceFactory<ServiceRequest>>::Service;

impl ServiceFactory<ServiceRequest> for TaskRoutes {
    type Response = ServiceResponse;
    type Error = Error;
    type Config = ();
    type Service = TaskRoutesService;
    type InitError = ();
    type Future = LocalBoxFuture<'static, Result<TaskRoutesService, ()>>;

    fn new_service(&self, (): ()) -> Self::Future {
        let get = self.get.new_service(());
        let put = self.put.new_service(());
        let patch = self.patch.new_service(());
        let delete = self.delete.new_service(());
        let complete = self.complete.new_service(());
        let moved = self.moved.new_service(());
        Box::pin(async move {
            Ok(TaskRoutesService(Rc::new(Handlers {
                get: get.await?,
                put: put.await?,
                patch: patch.await?,
                delete: delete.await?,
                complete: complete.await?,
                moved: moved.await?,
            })))
        })
    }
}

impl Service<ServiceRequest> for TaskRoutesService {
    type Response = ServiceResponse;
    type Error = Error;
    type Future = Either<
        Ready<Result<ServiceResponse, Error>>,
        LocalBoxFuture<'static, Result<ServiceResponse, Error>>,
    >;

    always_ready!();

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let Some((start, end, action)) = split(req.match_info().unprocessed()) else {
            let err = ApiError::NotFound(format!("no route for {} {}", req.method(), req.path()));
            return Either::Left(ready(Ok(req.error_response(err))));
        };
        let handlers = &*self.0;
        let method = req.method();
        let (route, template) = match action {
            Action::Item => (
                match *method {
                    Method::GET => Some(&handlers.get),
                    Method::PUT => Some(&handlers.put),
                    Method::PATCH => Some(&handlers.patch),
                    Method::DELETE => Some(&handlers.delete),
                    _ => None,
                },
                ITEM,
            ),
            Action::Complete => (
                (method == Method::PATCH).then_some(&handlers.complete),
                COMPLETE,
            ),
            Action::Move => ((method == Method::POST).then_some(&handlers.moved), MOVE),
        };
        req.extensions_mut().insert(RouteTemplate(template));
        let Some(route) = route else {
            return Either::Left(ready(Ok(
                req.into_response(HttpResponse::MethodNotAllowed())
            )));
        };
        let id = req.match_info().unprocessed()[start..end].to_owned();
        req.match_info_mut().add_static("task_id", id);
        Either::Right(route.call(req))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use actix_web::http::StatusCode;
    use actix_web::{App, HttpRequest, test as actix_test};

    /// A route answering with its name, the path's values and the route's template.
    fn echo(route: Route, name: &'static str) -> Route {
        route.to(
            move |req: HttpRequest, path: web::Path<(String, String)>| async move {
                let template = crate::telemetry::route_template(&req);
                format!("{name} {:?} {template}", path.into_inner())
            },
        )
    }

    fn echoes() -> TaskRoutes {
        TaskRoutes {
            get: echo(web::get(), "get"),
            put: echo(web::put(), "put"),
            patch: echo(web::patch(), "patch"),
            delete: echo(web::delete(), "delete"),
            complete: echo(web::patch(), "complete"),
            moved: echo(web::post(), "move"),
        }
    }

    /// The routes split by hand answer every method on every path as the resources they
    /// replace: the same handler with the same values and template, or the same status.
    #[actix_web::test]
    async fn split_by_hand_is_what_the_resources_did() {
        let tasks = || {
            web::scope("/{user_id}/tasks")
                .service(web::resource("").route(echo(web::get(), "list")))
                .service(web::resource("/stats").route(echo(web::get(), "stats")))
        };
        let resources = actix_test::init_service(
            App::new().service(
                web::scope("/api").service(
                    tasks()
                        .service(
                            web::resource("/{task_id}")
                                .route(echo(web::get(), "get"))
                                .route(echo(web::put(), "put"))
                                .route(echo(web::patch(), "patch"))
                                .route(echo(web::delete(), "delete")),
                        )
                        .service(
                            web::resource("/{task_id}/complete")
                                .route(echo(web::patch(), "complete")),
                        )
                        .service(web::resource("/{task_id}/move").route(echo(web::post(), "move"))),
                ),
            ),
        )
        .await;
        let by_hand = actix_test::init_service(
            App::new().service(web::scope("/api").service(tasks().default_service(echoes()))),
        )
        .await;
        let ids = [
            "abc",
            "0192f1e2-7c3a-7000-8000-000000000001",
            "a%2Fb",
            "%61bc",
            "stats",
        ];
        let mut paths = vec![
            "/api/alice/tasks".to_owned(),
            "/api/alice/tasks/".to_owned(),
            "/api/alice/tasks//complete".to_owned(),
            "/api/alice/tasks//".to_owned(),
        ];
        for id in ids {
            for tail in [
                "",
                "/",
                "/complete",
                "/move",
                "/complete/",
                "/move/x",
                "/other",
                "/stats",
            ] {
                paths.push(format!("/api/alice/tasks/{id}{tail}"));
            }
        }
        let methods = [
            Method::GET,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::POST,
            Method::HEAD,
            Method::OPTIONS,
        ];
        let mut answered = 0;
        for path in &paths {
            for method in &methods {
                let call = |app| {
                    let req = actix_test::TestRequest::default()
                        .method(method.clone())
                        .uri(path)
                        .to_request();
                    actix_test::call_service(app, req)
                };
                let expected = call(&resources).await;
                let got = call(&by_hand).await;
                assert_eq!(got.status(), expected.status(), "{method} {path}");
                if expected.status() == StatusCode::OK {
                    answered += 1;
                    let expected = actix_test::read_body(expected).await;
                    let got = actix_test::read_body(got).await;
                    assert_eq!(got, expected, "{method} {path}");
                }
            }
        }
        // Each of the six routes was reached with every id but "stats" (a route of its own).
        assert!(answered > (ids.len() - 1) * 6, "{answered}");
    }

    #[test]
    fn a_path_splits_into_a_task_id_and_its_route() {
        let cases = [
            ("/abc", Some((1, 4, Action::Item))),
            ("/abc/complete", Some((1, 4, Action::Complete))),
            ("/abc/move", Some((1, 4, Action::Move))),
            ("/abc/", None),
            ("/abc/other", None),
            ("/abc/complete/", None),
            ("/abc/move/x", None),
            ("//complete", None),
            ("/", None),
            ("", None),
            ("abc", None),
        ];
        for (rest, expected) in cases {
            assert_eq!(split(rest), expected, "{rest:?}");
        }
    }
}
