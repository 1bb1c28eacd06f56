//! Use cases of the todo service and the ports (traits) they drive.
//!
//! Services take every dependency as an `Arc<dyn Port>`; adapters live in other crates.
//! Every rule here is unit-tested with mockall mocks of the ports, without a database.

mod admin;
mod auth;
mod cache;
mod error;
pub mod events;
mod inbox;
mod limits;
mod lists;
mod pagination;
pub mod ports;
mod promotion;
mod tasks;
mod trash;
mod webhooks;

pub use admin::AdminService;
pub use auth::AuthService;
pub use cache::{TtlCache, UserCache};
pub use error::ApplicationError;
pub use events::{Delivery, EventHub, EventSettings, EventStats, Subscription};
pub use inbox::Inboxes;
pub use limits::Limits;
pub use lists::{CreatedList, ListService, MemberRef, MoveListTo, NewList};
pub use pagination::{Page, PageSettings};
pub use ports::{AuthFailure, BoxError};
pub use tasks::{Created, Idempotency, MoveTo, NewTask, SyncSettings, TaskService};
pub use trash::{TrashCursor, TrashService};
pub use webhooks::{
    DeliveryCounts, DeliveryPage, DeliveryStats, DispatchSettings, Jitter, NewWebhook, OnDemand,
    WebhookDispatcher, WebhookPatch, WebhookService, WebhookSettings, WithSecret,
};

#[cfg(test)]
pub(crate) mod testing;
