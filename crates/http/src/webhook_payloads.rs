//! What a webhook delivery says, in the API's own JSON: the Standard Webhooks envelope
//! (`type`, `timestamp`, `data`) around the change as the event stream sends it, with the
//! task or the list as its owner reads it through the API.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use todo_application::ports::{ListRepository, PortError, TaskRepository, WebhookPayloads};
use todo_domain::webhook::{DeliveryEvent, Webhook};
use todo_domain::{ChangeKind, ChangeRecord, Timestamp, UserId};

use crate::dto::rfc3339;
use crate::events::ChangeEventDto;
use crate::list_json::ListDto;

/// A delivery's body.
#[derive(Debug, Serialize)]
struct Envelope {
    /// The event kind, as the event stream names it.
    #[serde(rename = "type")]
    kind: &'static str,
    /// When the change was made.
    timestamp: String,
    data: Data,
}

#[derive(Debug, Serialize)]
struct Data {
    /// The change, as the event stream's `data` carries it.
    #[serde(flatten)]
    change: ChangeEventDto,
    /// The task after the change, as `GET /api/{user_id}/tasks/{id}` answers it; `null`
    /// when it is gone (deleted, or no longer the owner's to read).
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<Option<serde_json::Value>>,
    /// The list after the change (`list.*` and `member.*` events), as its endpoint
    /// answers it; `null` when it is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    list: Option<Option<ListDto>>,
}

/// Webhook bodies from the stores, read as the webhook's owner.
pub struct ApiPayloads {
    tasks: Arc<dyn TaskRepository>,
    lists: Arc<dyn ListRepository>,
}

impl ApiPayloads {
    pub fn new(tasks: Arc<dyn TaskRepository>, lists: Arc<dyn ListRepository>) -> Self {
        Self { tasks, lists }
    }
}

fn is_task_event(kind: ChangeKind) -> bool {
    kind.as_str().starts_with("task.")
}

#[async_trait]
impl WebhookPayloads for ApiPayloads {
    async fn body(&self, owner: &UserId, event: &ChangeRecord) -> Result<Vec<u8>, PortError> {
        let (task, list) = if is_task_event(event.kind) {
            let task = match event.task {
                Some(id) => match self.tasks.get(owner, id).await? {
                    // The bytes `GET /api/{user_id}/tasks/{id}` answers with.
                    Some((task, _)) => Some(
                        crate::task_json::task_body(&task)
                            .and_then(|bytes| serde_json::from_slice(&bytes))
                            .map_err(|e| PortError::Other(e.into()))?,
                    ),
                    None => None,
                },
                None => None,
            };
            (Some(task), None)
        } else {
            let list = match event.list {
                Some(id) => self.lists.get(owner, id).await?.as_ref().map(ListDto::from),
                None => None,
            };
            (None, Some(list))
        };
        let envelope = Envelope {
            kind: event.kind.as_str(),
            timestamp: rfc3339(event.at),
            data: Data {
                change: ChangeEventDto::from(event.clone()),
                task,
                list,
            },
        };
        serde_json::to_vec(&envelope).map_err(|e| PortError::Other(e.into()))
    }

    async fn ping(&self, hook: &Webhook, at: Timestamp) -> Result<Vec<u8>, PortError> {
        let body = serde_json::json!({
            "type": DeliveryEvent::PING,
            "timestamp": rfc3339(at),
            "data": {"webhook_id": hook.id.to_string(), "url": hook.url.as_str()},
        });
        serde_json::to_vec(&body).map_err(|e| PortError::Other(e.into()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use todo_application::ports::{MockListRepository, MockTaskRepository};
    use todo_domain::{ChangeCursor, ListId, Role, Task, TaskId, TaskTitle};

    fn at(s: i64) -> todo_domain::Timestamp {
        chrono::DateTime::from_timestamp(s, 0).unwrap()
    }

    fn record(kind: ChangeKind) -> ChangeRecord {
        ChangeRecord {
            cursor: ChangeCursor { tx: 3, id: 9 },
            kind,
            list: Some(ListId::from_uuid(uuid::Uuid::from_u128(1))),
            task: Some(TaskId::from_uuid(uuid::Uuid::from_u128(2))),
            actor: UserId::parse("bob").unwrap(),
            subject: None,
            version: Some(4),
            fields: vec!["title".to_owned()],
            at: at(1_700_000_000),
        }
    }

    #[tokio::test]
    async fn a_task_event_carries_the_task_as_the_api_sends_it() {
        let event = record(ChangeKind::TaskUpdated);
        let task = Task::new(
            event.task.unwrap(),
            UserId::parse("alice").unwrap(),
            event.list.unwrap(),
            TaskTitle::parse("Renamed").unwrap(),
            None,
            at(1),
        );
        let sent: serde_json::Value =
            serde_json::from_slice(&crate::task_json::task_body(&task).unwrap()).unwrap();
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_get()
            .returning(move |_, _| Ok(Some((task.clone(), Role::Owner))));
        let payloads = ApiPayloads::new(Arc::new(tasks), Arc::new(MockListRepository::new()));
        let body: serde_json::Value = serde_json::from_slice(
            &payloads
                .body(&UserId::parse("alice").unwrap(), &event)
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(body["type"], "task.updated");
        assert_eq!(body["timestamp"], "2023-11-14T22:13:20.000000Z");
        assert_eq!(body["data"]["id"], "3-9");
        assert_eq!(body["data"]["actor_id"], "bob");
        assert_eq!(body["data"]["fields"], serde_json::json!(["title"]));
        assert_eq!(body["data"]["task"], sent);
        assert_eq!(body["data"]["task"]["title"], "Renamed");
        assert!(body["data"].get("list").is_none());
    }

    #[tokio::test]
    async fn a_deleted_task_is_null() {
        let mut tasks = MockTaskRepository::new();
        tasks.expect_get().returning(|_, _| Ok(None));
        let payloads = ApiPayloads::new(Arc::new(tasks), Arc::new(MockListRepository::new()));
        let body: serde_json::Value = serde_json::from_slice(
            &payloads
                .body(
                    &UserId::parse("alice").unwrap(),
                    &record(ChangeKind::TaskDeleted),
                )
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(body["type"], "task.deleted");
        assert!(body["data"]["task"].is_null());
    }
}
