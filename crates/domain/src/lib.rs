//! The todo service's domain: entities, value objects and the policies that guard them.
//!
//! Nothing here performs I/O, knows about HTTP or a database, or needs an async runtime.
//! Value objects *parse* their input: once a `TaskTitle` exists, it is a valid title.

pub mod access;
mod changelog;
mod due;
mod error;
mod ids;
mod list;
pub mod nesting;
mod organise;
mod page;
pub mod policy;
mod position;
mod query;
mod recurrence;
pub mod search_keys;
mod summary;
mod sync;
mod task;
mod time;
pub mod trash;
mod user;
pub mod webhook;

pub use changelog::{ChangeCursor, ChangeKind, ChangeRecord, Edit, task_fields};
pub use due::{Due, parse_instant};
pub use error::{DomainError, InvalidReason};
pub use ids::{IdempotencyKey, TaskId, UserId};
pub use list::{Colour, ListChanges, ListId, ListName, ListView, Member, Role, TaskList};
pub use organise::{Priority, Tag, Tags};
pub use page::page_limit;
pub use position::{Gap, Position};
pub use query::{
    DueWindow, ListCursor, ListSpec, SearchText, Sort, SortKey, SortValue, Status, TaskFilter,
    TaskQuery,
};
pub use recurrence::{ByDay, Frequency, Recurrence, Until};
pub use summary::{TagCount, TaskStats, count_tags};
pub use sync::{Change, Tombstone, merge_changes};
pub use task::{Edited, Task, TaskChanges, TaskDescription, TaskTitle};
pub use time::{TimeZone, Timestamp, to_stored_precision};
pub use trash::{TrashEntry, TrashKind};
pub use user::{AdminRoles, Principal, RoleList, User};
