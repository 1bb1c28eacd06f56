//! The OpenAPI 3.1 document served at `/openapi.json` and rendered at `/docs`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto::{
    ChangeDto, Cleared, CompleteTask, CreateTask, DeletedTaskDto, Health, MoveEnd, MoveTask,
    Priority, PriorityCounts, SetRole, TagCountDto, TaskDto, TaskStatsDto, UpdateTask, UserDto,
    Welcome,
};
use crate::error::{FieldError, Problem};
use crate::events::{ChangeEventDto, ChangeEventFrame};
use crate::list_json::{
    AddMember, CreateList, ListDto, ListRole, MemberDto, MemberRole, MoveList, SetMemberRole,
    TransferList, UpdateList,
};
use crate::openapi_parts::{RateLimits, TagName, TimeZoneName};
use crate::trash_json::{TrashEntryDto, TrashEntryKind};
use crate::webhook_json::{
    CreateWebhook, DeliveryDto, DeliveryOutcome, EventKindName, UpdateWebhook, WebhookDto,
    WebhookWithSecret,
};
use crate::{events, handlers, health, lists, trash, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "todo-api",
        description = "Multi-user task API for a Better Auth frontend. Send `Authorization: Bearer <token>`; errors are `application/problem+json` with a human-readable `detail`. Single-task responses carry the task's `version` as a strong `ETag` (`\"3\"`); send it back in `If-Match` to make a write conditional (412 when it is stale), or in `If-None-Match` to get a 304 when nothing changed.",
    ),
    paths(
        health::welcome,
        health::health,
        health::ready,
        handlers::me,
        handlers::list_tasks,
        handlers::create_task,
        handlers::get_task,
        handlers::put_task,
        handlers::patch_task,
        handlers::complete_task,
        handlers::move_task,
        handlers::delete_task,
        handlers::clear_completed,
        handlers::list_tags,
        handlers::task_stats,
        events::events,
        lists::list_lists,
        lists::create_list,
        lists::get_list,
        lists::patch_list,
        lists::delete_list,
        lists::move_list,
        lists::transfer_list,
        lists::list_members,
        lists::add_member,
        lists::set_member_role,
        lists::remove_member,
        trash::list_trash,
        trash::restore_entry,
        trash::delete_entry,
        trash::empty_trash,
        webhooks::list_webhooks,
        webhooks::create_webhook,
        webhooks::get_webhook,
        webhooks::patch_webhook,
        webhooks::delete_webhook,
        webhooks::rotate_secret,
        webhooks::list_deliveries,
        webhooks::redeliver,
        webhooks::test_webhook,
        handlers::admin_list_users,
        handlers::admin_list_user_tasks,
        handlers::admin_set_role,
        handlers::admin_delete_user,
        handlers::admin_delete_user_task,
    ),
    components(schemas(
        TaskDto, Priority, CreateTask, UpdateTask, CompleteTask, MoveTask, MoveEnd, ChangeDto,
        DeletedTaskDto, Cleared, TagCountDto, TaskStatsDto, PriorityCounts, UserDto, SetRole,
        Welcome, Health, Problem, FieldError, TimeZoneName, TagName, ListDto, ListRole,
        MemberDto, MemberRole, CreateList, UpdateList, MoveList, AddMember, SetMemberRole,
        TransferList, TrashEntryDto, TrashEntryKind, ChangeEventDto, ChangeEventFrame, WebhookDto, WebhookWithSecret,
        CreateWebhook, UpdateWebhook, DeliveryDto, DeliveryOutcome, EventKindName
    )),
    modifiers(&BearerAuth, &RateLimits),
    tags(
        (name = "tasks", description = "The tasks of every list the caller is a member of"),
        (name = "lists", description = "Lists, their members and their roles"),
        (name = "events", description = "The caller's changes, live, as a resumable event stream"),
        (name = "trash", description = "Deleted tasks and lists, restored or forgotten"),
        (name = "webhooks", description = "The caller's changes, sent signed to their own endpoints, with every attempt on record"),
        (name = "users", description = "The caller's account"),
        (name = "admin", description = "Users and their tasks, for admins"),
        (name = "service", description = "Liveness, readiness and metadata"),
    )
)]
pub struct ApiDoc;

/// The document as JSON, byte for byte what `GET /openapi.json` serves.
pub fn openapi_json() -> Result<String, serde_json::Error> {
    ApiDoc::openapi().to_json()
}

/// The same document indented by two spaces: the form committed beside the clients
/// generated from it, so that a change to the API reads as a diff.
pub fn openapi_pretty_json() -> Result<String, serde_json::Error> {
    ApiDoc::openapi().to_pretty_json()
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A credential from Better Auth: a session token (raw or signed), a JWT from its jwt plugin, or an HS256 JWT signed with BETTER_AUTH_SECRET (`sub` = user id).",
                    ))
                    .build(),
            ),
        );
    }
}
