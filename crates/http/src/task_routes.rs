//! A user's task routes — `/api/{user_id}/tasks`, `…/stats`, `…/{task_id}`,
//! `…/{task_id}/complete`, `…/{task_id}/move` — found by splitting the path by hand.
//!
//! actix-router matches every pattern with a variable part by running its regex (regex-lite's
//! PikeVM, actix-web's default features being off), about 10 000–40 000 instructions each:
//! as a scope of resources, a get ran two regexes and a toggle three, a fifth to a third of
//! the request (issue 18, docs/performance.md). Here none runs: the routes are one service,
//! behind a guard that takes a path whose second segment after `/api` is `tasks` (no other
//! route has one), and the service splits the rest: the task id, then nothing, `complete`
//! or `move`.
//!
//! It answers as the resources did: the user and task ids in the match info for the
//! handlers' `Path`, 405 with the route's methods in `Allow` for a method it does not take,
//! 404 (the application's) for a path under a user's tasks that names no route, and the
//! route's template for the metrics and the request's span ([`RouteTemplate`]). A test holds
//! it to the resources it replaces, method by method and path by path, `Allow` included.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse, Url, always_ready};
use actix_web::guard::{self, GuardContext};
use actix_web::http::{Method, header};
use actix_web::{Error, HttpMessage, HttpResponse, Route, Scope, web};
use futures_util::future::{Either, LocalBoxFuture};

use crate::error::ApiError;
use crate::handlers as h;

/// The template of the route a request was dispatched to outside actix's resource table,
/// for [`crate::telemetry`]'s route label (actix's `match_pattern` knows only its own).
#[derive(Clone, Copy)]
pub(crate) struct RouteTemplate(pub(crate) &'static str);

/// Where the routes are mounted (the templates say it too).
const MOUNT: &str = "/api";

/// A route under a user's tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Tasks,
    Stats,
    Task,
    Complete,
    Move,
}

impl Place {
    fn template(self) -> &'static str {
        match self {
            Place::Tasks => "/api/{user_id}/tasks",
            Place::Stats => "/api/{user_id}/tasks/stats",
            Place::Task => "/api/{user_id}/tasks/{task_id}",
            Place::Complete => "/api/{user_id}/tasks/{task_id}/complete",
            Place::Move => "/api/{user_id}/tasks/{task_id}/move",
        }
    }
}

/// A path below [`MOUNT`]: the user id's place in it and what follows the user's tasks;
/// `None` when it is not under a user's tasks.
fn user_tasks(rest: &str) -> Option<((usize, usize), &str)> {
    let user = rest.strip_prefix('/')?;
    let (user, after) = user.split_once('/')?;
    let tail = after.strip_prefix("tasks")?;
    (!user.is_empty() && (tail.is_empty() || tail.starts_with('/')))
        .then_some(((1, 1 + user.len()), tail))
}

/// What follows a user's tasks: the route and the task id's place in `tail`, if any;
/// `None` for a path that names no route.
fn place(tail: &str) -> Option<(Place, Option<(usize, usize)>)> {
    if tail.is_empty() {
        return Some((Place::Tasks, None));
    }
    if tail == "/stats" {
        return Some((Place::Stats, None));
    }
    let id = tail.strip_prefix('/')?;
    let (id, route) = match id.split_once('/') {
        None => (id, Place::Task),
        Some((id, "complete")) => (id, Place::Complete),
        Some((id, "move")) => (id, Place::Move),
        Some(_) => return None,
    };
    (!id.is_empty()).then_some((route, Some((1, 1 + id.len()))))
}

/// Whether the request is for a user's tasks: the path as actix routes it (percent-decoded
/// where that changes nothing, [`Url`]) under [`MOUNT`].
fn for_user_tasks(ctx: &GuardContext<'_>) -> bool {
    let uri = &ctx.head().uri;
    let under = |path: &str| path.strip_prefix(MOUNT).and_then(user_tasks).is_some();
    if uri.path().contains('%') {
        under(Url::new(uri.clone()).path())
    } else {
        under(uri.path())
    }
}

/// The routes, to mount in the `/api` scope before any other route with a variable first
/// segment.
pub(crate) fn scope() -> Scope {
    mounted(TaskRoutes::new())
}

fn mounted(routes: TaskRoutes) -> Scope {
    web::scope("")
        .guard(guard::fn_guard(for_user_tasks))
        .default_service(routes)
}

/// Each route's handler, by place and method.
pub(crate) struct TaskRoutes(Vec<(Place, Method, Route)>);

impl TaskRoutes {
    /// The task handlers.
    fn new() -> Self {
        Self(vec![
            (Place::Tasks, Method::GET, web::get().to(h::list_tasks)),
            (Place::Tasks, Method::POST, web::post().to(h::create_task)),
            (
                Place::Tasks,
                Method::DELETE,
                web::delete().to(h::clear_completed),
            ),
            (Place::Stats, Method::GET, web::get().to(h::task_stats)),
            (Place::Task, Method::GET, web::get().to(h::get_task)),
            (Place::Task, Method::PUT, web::put().to(h::put_task)),
            (Place::Task, Method::PATCH, web::patch().to(h::patch_task)),
            (
                Place::Task,
                Method::DELETE,
                web::delete().to(h::delete_task),
            ),
            (
                Place::Complete,
                Method::PATCH,
                web::patch().to(h::complete_task),
            ),
            (Place::Move, Method::POST, web::post().to(h::move_task)),
        ])
    }
}

type RouteService = <Route as ServiceFactory<ServiceRequest>>::Service;

/// The services of [`TaskRoutes`].
pub(crate) struct TaskRoutesService(Rc<[(Place, Method, RouteService)]>);

impl ServiceFactory<ServiceRequest> for TaskRoutes {
    type Response = ServiceResponse;
    type Error = Error;
    type Config = ();
    type Service = TaskRoutesService;
    type InitError = ();
    type Future = LocalBoxFuture<'static, Result<TaskRoutesService, ()>>;

    fn new_service(&self, (): ()) -> Self::Future {
        let building: Vec<_> = (self.0.iter())
            .map(|(place, method, route)| (*place, method.clone(), route.new_service(())))
            .collect();
        Box::pin(async move {
            let mut services = Vec::with_capacity(building.len());
            for (place, method, service) in building {
                services.push((place, method, service.await?));
            }
            Ok(TaskRoutesService(services.into()))
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
        let rest = req.match_info().unprocessed();
        let found = user_tasks(rest).and_then(|(user, tail)| {
            let offset = rest.len() - tail.len();
            place(tail)
                .map(|(place, task)| (user, place, task.map(|(a, b)| (offset + a, offset + b))))
        });
        let Some((user, place, task)) = found else {
            let err = ApiError::NotFound(format!("no route for {} {}", req.method(), req.path()));
            return Either::Left(ready(Ok(req.error_response(err))));
        };
        req.extensions_mut().insert(RouteTemplate(place.template()));
        let route = (self.0.iter())
            .find(|(p, m, _)| *p == place && m == req.method())
            .map(|(_, _, route)| route);
        let Some(route) = route else {
            // As actix's resources answer: the route's methods in `Allow` (RFC 9110).
            let allowed = (self.0.iter())
                .filter(|(p, _, _)| *p == place)
                .map(|(_, m, _)| m.clone())
                .collect();
            let refused = HttpResponse::MethodNotAllowed()
                .insert_header(header::Allow(allowed))
                .finish();
            return Either::Left(ready(Ok(req.into_response(refused))));
        };
        let rest = req.match_info().unprocessed();
        let user_id = rest[user.0..user.1].to_owned();
        let task_id = task.map(|(a, b)| rest[a..b].to_owned());
        let info = req.match_info_mut();
        info.add_static("user_id", user_id);
        if let Some(task_id) = task_id {
            info.add_static("task_id", task_id);
        }
        Either::Right(route.call(req))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use actix_web::http::{StatusCode, header};
    use actix_web::{App, HttpRequest, test as actix_test};

    /// A route answering with its name, the path's values and the route's template.
    fn echo(route: Route, name: &'static str) -> Route {
        route.to(move |req: HttpRequest| async move {
            let template = crate::telemetry::route_template(&req);
            let values: Vec<_> = req
                .match_info()
                .iter()
                .map(|(k, v)| (k, v.to_owned()))
                .collect();
            let user: Option<String> = req.match_info().load::<(String,)>().ok().map(|p| p.0);
            format!("{name} {values:?} {user:?} {template}")
        })
    }

    fn echoes() -> TaskRoutes {
        TaskRoutes(vec![
            (Place::Tasks, Method::GET, echo(web::get(), "list")),
            (Place::Tasks, Method::POST, echo(web::post(), "create")),
            (Place::Tasks, Method::DELETE, echo(web::delete(), "clear")),
            (Place::Stats, Method::GET, echo(web::get(), "stats")),
            (Place::Task, Method::GET, echo(web::get(), "get")),
            (Place::Task, Method::PUT, echo(web::put(), "put")),
            (Place::Task, Method::PATCH, echo(web::patch(), "patch")),
            (Place::Task, Method::DELETE, echo(web::delete(), "delete")),
            (
                Place::Complete,
                Method::PATCH,
                echo(web::patch(), "complete"),
            ),
            (Place::Move, Method::POST, echo(web::post(), "move")),
        ])
    }

    /// The resources the hand-split routes replace, as they were registered.
    fn resources() -> Scope {
        web::scope("/{user_id}/tasks")
            .service(
                web::resource("")
                    .route(echo(web::get(), "list"))
                    .route(echo(web::post(), "create"))
                    .route(echo(web::delete(), "clear")),
            )
            .service(web::resource("/stats").route(echo(web::get(), "stats")))
            .service(
                web::resource("/{task_id}")
                    .route(echo(web::get(), "get"))
                    .route(echo(web::put(), "put"))
                    .route(echo(web::patch(), "patch"))
                    .route(echo(web::delete(), "delete")),
            )
            .service(web::resource("/{task_id}/complete").route(echo(web::patch(), "complete")))
            .service(web::resource("/{task_id}/move").route(echo(web::post(), "move")))
    }

    /// `/api` with the task routes first, and after them routes that must still be reached.
    fn api(
        tasks: Scope,
    ) -> App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse,
            Error = Error,
            InitError = (),
        >,
    > {
        App::new().service(
            web::scope("/api")
                .service(web::resource("/me").route(echo(web::get(), "me")))
                .service(tasks)
                .service(web::resource("/{user_id}/lists").route(echo(web::get(), "lists")))
                .service(web::resource("/admin/users").route(echo(web::get(), "admin"))),
        )
    }

    /// The routes split by hand answer every method on every path as the resources they
    /// replace: the same handler with the same values and template, or the same status.
    #[actix_web::test]
    async fn split_by_hand_is_what_the_resources_did() {
        let resources = actix_test::init_service(api(resources())).await;
        let by_hand = actix_test::init_service(api(mounted(echoes()))).await;
        let ids = [
            "abc",
            "0192f1e2-7c3a-7000-8000-000000000001",
            "a%2Fb",
            "%61bc",
            "stats",
        ];
        let mut paths = vec![];
        for user in ["alice", "admin", "a%20b", "%61lice"] {
            for tail in [
                "",
                "/",
                "//",
                "//complete",
                "s",
                "x",
                "/stats",
                "/stats/",
                "/stats/x",
            ] {
                paths.push(format!("/api/{user}/tasks{tail}"));
            }
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
                    paths.push(format!("/api/{user}/tasks/{id}{tail}"));
                }
            }
            paths.push(format!("/api/{user}/lists"));
            paths.push(format!("/api/{user}/ta%73ks"));
            paths.push(format!("/api/{user}/tasks%2Fabc"));
        }
        paths.extend(
            [
                "/api/me",
                "/api/admin/users",
                "/api//tasks",
                "/api/tasks",
                "/tasks",
                "/api",
            ]
            .map(String::from),
        );
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
                assert_eq!(
                    got.headers().get(header::ALLOW),
                    expected.headers().get(header::ALLOW),
                    "{method} {path}"
                );
                if expected.status() == StatusCode::OK {
                    answered += 1;
                    let expected = actix_test::read_body(expected).await;
                    let got = actix_test::read_body(got).await;
                    assert_eq!(got, expected, "{method} {path}");
                }
            }
        }
        // Every route was reached, for every user, with every id but "stats".
        assert!(answered > 4 * (4 * 6 + 4), "{answered}");
    }

    #[test]
    fn a_path_splits_into_a_user_a_route_and_a_task_id() {
        assert_eq!(user_tasks("/alice/tasks"), Some(((1, 6), "")));
        assert_eq!(user_tasks("/alice/tasks/x"), Some(((1, 6), "/x")));
        for no in [
            "/alice/tasksx",
            "//tasks",
            "/alice",
            "alice/tasks",
            "/alice/lists",
        ] {
            assert_eq!(user_tasks(no), None, "{no:?}");
        }
        let cases = [
            ("", Some((Place::Tasks, None))),
            ("/stats", Some((Place::Stats, None))),
            ("/abc", Some((Place::Task, Some((1, 4))))),
            ("/abc/complete", Some((Place::Complete, Some((1, 4))))),
            ("/abc/move", Some((Place::Move, Some((1, 4))))),
            ("/abc/", None),
            ("/abc/other", None),
            ("/abc/complete/", None),
            ("/abc/move/x", None),
            ("//complete", None),
            ("/", None),
            ("abc", None),
        ];
        for (tail, expected) in cases {
            assert_eq!(place(tail), expected, "{tail:?}");
        }
    }
}
