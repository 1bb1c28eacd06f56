//! The interfaces the services drive. Adapters implement them; tests mock them.

mod webhooks;

pub use webhooks::*;

use async_trait::async_trait;
use todo_domain::{
    AdminRoles, Change, ChangeCursor, ChangeRecord, DueWindow, Edit, Gap, IdempotencyKey,
    ListCursor, ListId, ListView, Member, Position, Role, RoleList, Tags, Task, TaskId, TaskList,
    TaskQuery, TaskStats, Timestamp, TrashEntry, User, UserId,
};

/// What one read of the change log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeRead {
    /// The records, in order, each with the members of its list as they are now.
    pub records: Vec<(ChangeRecord, Vec<UserId>)>,
}

/// The change log every write appends to, read in the one order every reader shares
/// ([`ChangeCursor`]): a record is read only once no record before it can still appear.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ChangeLog: Send + Sync {
    /// At most `limit` records after `after`, with their lists' members.
    async fn read(&self, after: ChangeCursor, limit: u32) -> Result<ChangeRead, PortError>;
    /// At most `limit` records after `after` and up to `up_to` that `reader` may see now
    /// ([`ChangeRecord::visible_to`]).
    async fn read_for(
        &self,
        reader: &UserId,
        after: ChangeCursor,
        up_to: ChangeCursor,
        limit: u32,
    ) -> Result<Vec<ChangeRecord>, PortError>;
    /// The place up to which old records were pruned: a reader resuming before it has
    /// missed some.
    async fn pruned(&self) -> Result<ChangeCursor, PortError>;
    /// Deletes the records written before `before`: how many.
    async fn prune(&self, before: Timestamp) -> Result<u64, PortError>;
    /// The place of the newest record a reader can read now.
    async fn head(&self) -> Result<ChangeCursor, PortError>;
}

/// Wakes the readers of the change log when records may have been written: by this
/// process, or (PostgreSQL) by another one sharing the database.
#[async_trait]
pub trait ChangeSignal: Send + Sync {
    /// Resolves after the next write this signal hears of (or at once if one came since
    /// the last call).
    async fn written(&self);
}

/// Any error, boxed: the cause an adapter reports, logged and never shown.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a store can report. Implementations MUST report a lost or unreachable database
/// (connection refused, pool timeout) as `Unavailable`, and a uniqueness violation as
/// `Conflict`; everything else is `Other`.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    #[error("store failure")]
    Other(#[source] BoxError),
}

/// Storage of tasks. A task is visible to the members of its list: every read taking a
/// `caller` is scoped to the lists `caller` is a member of, so a task of any other list
/// behaves exactly as a missing one. Writes that take a task were checked by the service
/// against the caller's role first. Every write is a single statement or transaction.
/// Every task read carries its `subtasks` count. Every write appends its records to the
/// change log ([`ChangeLog`]) in the same transaction: one per task it changed.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TaskRepository: Send + Sync {
    /// Inserts the task (into `task.list`, which exists), unless `max_open` is given and
    /// the list holds that many open tasks already: then `false`, with nothing written.
    /// The count and the insert are one statement (creates at the same instant may pass
    /// the limit by their number).
    async fn insert(&self, task: &Task, max_open: Option<u32>) -> Result<bool, PortError>;
    /// The task with `caller`'s role in its list; `None` when there is no such task or
    /// `caller` is not a member of its list.
    async fn get(&self, caller: &UserId, id: TaskId) -> Result<Option<(Task, Role)>, PortError>;
    /// The tasks of the lists `caller` is a member of (not those of archived lists unless
    /// `query.filter.archived` or `query.filter.list` names the list) matching
    /// `query.filter`, in `query.sort` order with ties broken by
    /// id in the same direction (tasks without the sort's value — no due date, no
    /// priority — come last in both directions); at most `limit`, strictly after `after`.
    /// The one listing of tasks: the plain list ([`TaskQuery::is_plain`]) too.
    async fn search(
        &self,
        caller: &UserId,
        query: &TaskQuery,
        limit: u32,
        after: Option<ListCursor>,
    ) -> Result<Vec<Task>, PortError>;
    /// Writes every field of `task` (found by its id) if its stored version is still
    /// `expected`, atomically with what follows from it: when `task.list` changed, its
    /// subtasks at every depth move to that list too; when it went from open to
    /// completed, its open subtasks at every depth are completed at `task.updated_at`
    /// (each one's version + 1). `false` when nothing was written: no such task, or it
    /// changed since it was read. `edit` is the task's record; the subtasks carried along
    /// get [`Edit::for_subtasks`]'s.
    async fn replace(&self, task: &Task, expected: i64, edit: &Edit) -> Result<bool, PortError>;
    /// What nesting `id` under another task needs to know: the ids of its ancestors,
    /// nearest first (at most `limit`), and how many levels of subtasks lie below it (0:
    /// none, at most `limit`). Whatever the caller may see.
    async fn lineage(&self, id: TaskId, limit: u32) -> Result<Lineage, PortError>;
    /// How many open tasks `list` holds.
    async fn open_in_list(&self, list: ListId) -> Result<u64, PortError>;
    /// Writes `task`, moved to a position inside `gap` (the positions of its neighbours
    /// when that position was chosen), if its stored version is still `expected` and no
    /// other task of its owner has a position strictly inside `gap`: only while those
    /// neighbours are still neighbours, so the position is held by no other task. The
    /// check and the write are atomic with respect to every other `move_into` of the same
    /// owner: concurrent moves never write positions that tie. `false` when nothing was
    /// written: no such task, it changed since it was read, or another task now lies in
    /// the gap.
    async fn move_into(
        &self,
        task: &Task,
        expected: i64,
        gap: &Gap,
        edit: &Edit,
    ) -> Result<bool, PortError>;
    /// The one-statement form of [`Task::toggle`] at `now` for a task that does not
    /// repeat (no lost update between concurrent toggles, as nothing is read and written
    /// back): the task as `Task::toggle` leaves it. Only for a task in a list where
    /// `caller` is an editor or the owner, and that has no open subtask (completing it
    /// would complete them: [`TaskRepository::replace`]). A task that repeats is left
    /// alone: completing it records an occurrence
    /// ([`TaskRepository::complete_occurrence`]). With `expected`, only if the stored
    /// version equals it. `None` when nothing was written.
    async fn toggle_completed(
        &self,
        caller: &UserId,
        id: TaskId,
        now: Timestamp,
        expected: Option<i64>,
    ) -> Result<Option<Task>, PortError>;
    /// In one transaction: inserts `finished` (the completed occurrence) and replaces
    /// `next` if its stored version is still `expected`. `false`, with nothing written,
    /// when it is not. `edit` is `next`'s record; `finished` is recorded as created.
    async fn complete_occurrence(
        &self,
        finished: &Task,
        next: &Task,
        expected: i64,
        edit: &Edit,
    ) -> Result<bool, PortError>;
    /// Deletes the task with its subtasks at every depth, records their tombstones
    /// (deleted at `now`) and keeps them in `caller`'s trash as one entry
    /// ([`TrashRepository`]), in one transaction. Only in a list where `caller` is an editor
    /// or the owner. With `expected`, only if the task's stored version equals it.
    /// `false` when nothing was deleted.
    async fn delete(
        &self,
        caller: &UserId,
        id: TaskId,
        expected: Option<i64>,
        now: Timestamp,
    ) -> Result<bool, PortError>;
    /// Deletes every completed task (with its subtasks) of the lists where `caller` is an
    /// editor or the owner, recording their tombstones and keeping each in `caller`'s
    /// trash, in one transaction; how many were deleted.
    async fn delete_completed(&self, caller: &UserId, now: Timestamp) -> Result<u64, PortError>;
    /// The sync feed of `caller`: the tasks of their lists with `updated_at >= since`,
    /// the tombstones of tasks deleted from them at or after `since`, and, for each list
    /// they lost access to at or after `since` (removed, left, list deleted), a tombstone
    /// at that instant for each task it holds; merged in `(time, id)` order, strictly after
    /// `after` (whose value is an instant), at most `limit`.
    async fn changes(
        &self,
        caller: &UserId,
        since: Timestamp,
        limit: u32,
        after: Option<ListCursor>,
    ) -> Result<Vec<Change>, PortError>;
    /// Each distinct tag list among the tasks of `caller`'s lists that are not archived
    /// (tasks without tags left out) with how many tasks carry exactly it.
    async fn tag_lists(&self, caller: &UserId) -> Result<Vec<(Tags, u64)>, PortError>;
    /// Counts of the tasks of `caller`'s lists that are not archived, "overdue" and "due
    /// today" judged by `window`, in one query.
    async fn stats(&self, caller: &UserId, window: &DueWindow) -> Result<TaskStats, PortError>;
    /// Inserts `task` unless `owner` (the task's) already used `key` since
    /// `expired_before` (an older use is forgotten first), recording the key with
    /// `fingerprint` and the task's id; key and task are written in one transaction.
    /// With `max_open`, as [`insert`](Self::insert): `Full` when the list has no room.
    async fn insert_idempotent(
        &self,
        task: &Task,
        max_open: Option<u32>,
        key: &IdempotencyKey,
        fingerprint: &str,
        expired_before: Timestamp,
    ) -> Result<IdempotentInsert, PortError>;
    /// Deletes tombstones deleted before `tombstones_before` and idempotency keys used
    /// before `keys_before`; how many of each.
    async fn purge(
        &self,
        tombstones_before: Timestamp,
        keys_before: Timestamp,
    ) -> Result<Purged, PortError>;
}

/// Where a task sits in its tree of subtasks ([`TaskRepository::lineage`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    /// Its parent, its parent's parent, …
    pub ancestors: Vec<TaskId>,
    /// Levels of subtasks below it: 0 without subtasks, 1 with subtasks that have none, …
    pub depth_below: u32,
}

/// Storage of lists and their members. Each list has exactly one member with the owner
/// role (its `owner`); every other member is a viewer or an editor. Reads taking a
/// `caller` are scoped to the lists `caller` is a member of. Every write is a single
/// statement or transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
/// Every write appends its records to the change log in its transaction: `list.*` by the
/// list's owner (their writes alone change a list), `member.*` with the member as subject.
pub trait ListRepository: Send + Sync {
    /// The id of `candidate.owner`'s Inbox, created as `candidate` (with its owner as
    /// member) when they have none; concurrent calls create one.
    async fn ensure_inbox(&self, candidate: &TaskList) -> Result<ListId, PortError>;
    /// `caller`'s role in the list; `None` when there is no such list or they are not a
    /// member.
    async fn role(&self, caller: &UserId, list: ListId) -> Result<Option<Role>, PortError>;
    /// The list as `caller` sees it; `None` when there is no such list or they are not a
    /// member.
    async fn get(&self, caller: &UserId, id: ListId) -> Result<Option<ListView>, PortError>;
    /// The lists `caller` is a member of (archived ones only with `archived`, and then
    /// only those), by `(position, id)`, at most `limit`, strictly after `after`.
    async fn list(
        &self,
        caller: &UserId,
        archived: bool,
        limit: u32,
        after: Option<(Position, ListId)>,
    ) -> Result<Vec<ListView>, PortError>;
    /// Inserts `list` with its owner as member, in one transaction, unless the owner
    /// already owns `max_owned` lists: then `false`, with nothing written.
    async fn insert(&self, list: &TaskList, max_owned: u32) -> Result<bool, PortError>;
    /// [`insert`](Self::insert), unless the owner already used `key` since
    /// `expired_before` (the same keys as [`TaskRepository::insert_idempotent`]'s),
    /// recording the key with `fingerprint` and the list's id in the same transaction.
    async fn insert_idempotent(
        &self,
        list: &TaskList,
        max_owned: u32,
        key: &IdempotencyKey,
        fingerprint: &str,
        expired_before: Timestamp,
    ) -> Result<IdempotentListInsert, PortError>;
    /// Writes every mutable field of `list` if its stored version is still `expected`,
    /// with `edit`'s record. `false` when nothing was written.
    async fn replace(&self, list: &TaskList, expected: i64, edit: &Edit)
    -> Result<bool, PortError>;
    /// Deletes the list with its tasks (recording their tombstones, deleted at `now`) and
    /// its members (recording that each lost access at `now`), keeping it whole in its
    /// owner's trash ([`TrashRepository`]), in one transaction; with
    /// `expected`, only if its stored version equals it. `false` when nothing was deleted.
    async fn delete(
        &self,
        id: ListId,
        expected: Option<i64>,
        now: Timestamp,
    ) -> Result<bool, PortError>;
    /// Every member of the list, the owner first, then by when they were added.
    async fn members(&self, list: ListId) -> Result<Vec<Member>, PortError>;
    /// Makes `user` a member with `role` (viewer or editor) at `now`, atomically judged
    /// against the list as it is when written.
    async fn add_member(
        &self,
        list: ListId,
        user: &UserId,
        role: Role,
        now: Timestamp,
        max_members: u32,
    ) -> Result<AddMember, PortError>;
    /// Gives a member other than the owner `role` (viewer or editor). `false` when
    /// `user` is not such a member.
    /// The change is recorded as the owner's, at `now`.
    async fn set_member_role(
        &self,
        list: ListId,
        user: &UserId,
        role: Role,
        now: Timestamp,
    ) -> Result<bool, PortError>;
    /// Removes a member other than the owner, clears their assignments in the list and
    /// records that they lost access at `now`, in one transaction. `false` when `user` is
    /// not such a member.
    /// `actor`: who removes them (the owner, or they themself, leaving).
    async fn remove_member(
        &self,
        list: ListId,
        user: &UserId,
        actor: &UserId,
        now: Timestamp,
    ) -> Result<bool, PortError>;
    /// Makes `to` the owner and `from` an editor, in one transaction, only while `from`
    /// is the owner and `to` an editor. `false`, with nothing written, otherwise.
    async fn transfer(
        &self,
        list: ListId,
        from: &UserId,
        to: &UserId,
        now: Timestamp,
    ) -> Result<bool, PortError>;
}

/// The trash: what was deleted, kept for whoever deleted it until it is restored,
/// forgotten or purged. [`TaskRepository::delete`], [`TaskRepository::delete_completed`]
/// and [`ListRepository::delete`] put what they delete here, in the same transaction: one
/// entry per deleted task (with the subtasks deleted with it) or list (with its tasks and
/// members), whose id is the task's or the list's. Every read is scoped by the entry's
/// owner (the deleter).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TrashRepository: Send + Sync {
    /// `owner`'s entries, newest first (`(deleted_at, id)` descending), at most `limit`,
    /// strictly after `after`.
    async fn list(
        &self,
        owner: &UserId,
        limit: u32,
        after: Option<(Timestamp, uuid::Uuid)>,
    ) -> Result<Vec<TrashEntry>, PortError>;
    async fn get(&self, owner: &UserId, id: uuid::Uuid) -> Result<Option<TrashEntry>, PortError>;
    /// Puts a task entry's tasks back, in one transaction with removing the entry: the
    /// task into `into` (its parent kept only when that task exists in `into`, else it
    /// comes back top-level), its subtasks under it as they were; each one written at
    /// `now` (`updated_at`, version + 1), so that sync clients see it after its
    /// tombstone. `false`, with nothing written, when the entry is gone (restored or
    /// purged meanwhile).
    async fn restore_task(
        &self,
        entry: &TrashEntry,
        into: ListId,
        now: Timestamp,
    ) -> Result<bool, PortError>;
    /// Puts a list entry back with its tasks (written at `now` as above) and those of its
    /// members who still exist, in one transaction with removing the entry. `false`, with
    /// nothing written, when the entry is gone.
    async fn restore_list(&self, entry: &TrashEntry, now: Timestamp) -> Result<bool, PortError>;
    /// Forgets one of `owner`'s entries for good; `false` when there is no such entry.
    async fn delete(&self, owner: &UserId, id: uuid::Uuid) -> Result<bool, PortError>;
    /// Forgets every entry of `owner`'s; how many there were.
    async fn empty(&self, owner: &UserId) -> Result<u64, PortError>;
    /// Forgets every entry deleted before `before`; how many.
    async fn purge(&self, before: Timestamp) -> Result<u64, PortError>;
}

/// What [`ListRepository::add_member`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddMember {
    Added,
    /// The user is a member already; nothing was written.
    AlreadyMember,
    /// The list has its most members; nothing was written.
    Full,
    /// The list is gone (deleted meanwhile); nothing was written.
    NoList,
}

/// What [`ListRepository::insert_idempotent`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotentListInsert {
    Inserted,
    /// The owner owns their most lists; nothing was written.
    Full,
    /// The key was used before with a body whose fingerprint is `fingerprint`, for the
    /// list `id` (or for a task, whose id names no list). Nothing was written.
    Existing {
        fingerprint: String,
        id: uuid::Uuid,
    },
}

/// What [`TaskRepository::purge`] forgot: how many tombstones and idempotency keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub tombstones: u64,
    pub keys: u64,
}

/// What [`TaskRepository::insert_idempotent`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // One per create: boxing buys nothing.
pub enum IdempotentInsert {
    /// The key was new: the task is stored.
    Inserted,
    /// The key was new but the list holds its most open tasks: nothing was written.
    Full,
    /// The key was used before, with a body whose fingerprint is `fingerprint`, and created
    /// `task` (`None`: it has been deleted since). Nothing was written.
    Existing {
        fingerprint: String,
        task: Option<Task>,
    },
}

/// What a write kept by the last-admin rule did
/// ([`UserRepository::set_role_keeping_an_admin`], [`UserRepository::delete_keeping_an_admin`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardedWrite {
    /// Written: an admin remains.
    Written,
    /// There is no such user. Nothing was written.
    NotFound,
    /// The write would have left no admin. Nothing was written.
    LastAdmin,
}

/// Better Auth's `"user"` table.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    async fn find(&self, id: &UserId) -> Result<Option<User>, PortError>;
    /// The user with this e-mail address, compared ignoring ASCII case.
    async fn find_by_email(&self, email: &str) -> Result<Option<User>, PortError>;
    /// Users ordered by `(created_at, id)`; at most `limit`, strictly after `after`.
    async fn list(
        &self,
        limit: u32,
        after: Option<(Timestamp, UserId)>,
    ) -> Result<Vec<User>, PortError>;
    /// Ids of every user holding one of `admin_roles`.
    async fn admins(&self, admin_roles: &AdminRoles) -> Result<Vec<UserId>, PortError>;
    /// Replaces the user's roles, with no last-admin check: only for role lists that give
    /// or keep an admin role (a promotion), which cannot leave the service without an
    /// admin. `false` when there is no such user.
    async fn set_role(&self, id: &UserId, roles: &RoleList) -> Result<bool, PortError>;
    /// Replaces the user's roles only if at least one user holding one of `admin_roles`
    /// remains after the write, atomically: the target and the admins are read and the row
    /// written in one transaction, which keeps any other call of this method or of
    /// [`delete_keeping_an_admin`](Self::delete_keeping_an_admin) from changing what it
    /// read until it ends, and the write is judged by `policy::ensure_an_admin_remains` on
    /// what it read. So, however calls interleave, two admins demoting each other (or
    /// themselves) leave one admin. `NotFound` when there is no such user.
    async fn set_role_keeping_an_admin(
        &self,
        id: &UserId,
        roles: &RoleList,
        admin_roles: &AdminRoles,
    ) -> Result<GuardedWrite, PortError>;
    /// Deletes the user with their sessions, memberships and assignments, with no
    /// last-admin check (the service deletes through
    /// [`delete_keeping_an_admin`](Self::delete_keeping_an_admin)). Each list they own is
    /// handed to its earliest editor when it has one (who becomes the creator of the
    /// tasks the deleted user created in it, so that none is lost), and deleted with its
    /// tasks otherwise; the tasks they created in lists of others go to those lists'
    /// owners the same way; all in one transaction, with the change records of what the
    /// remaining members see change (`actor`'s, at `now`).
    /// `false` when there is no such user.
    async fn delete(&self, id: &UserId, actor: &UserId, now: Timestamp) -> Result<bool, PortError>;
    /// [`delete`](Self::delete), only if at least one user holding
    /// one of `admin_roles` remains after the write, atomically, exactly as
    /// [`set_role_keeping_an_admin`](Self::set_role_keeping_an_admin) does.
    async fn delete_keeping_an_admin(
        &self,
        id: &UserId,
        admin_roles: &AdminRoles,
        actor: &UserId,
        now: Timestamp,
    ) -> Result<GuardedWrite, PortError>;
    /// Creates the user unless one with that id exists; `true` when created.
    async fn create_if_absent(&self, user: &User) -> Result<bool, PortError>;
}

/// A credential that checked out: whose it is and until when it may be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCredential {
    pub user_id: UserId,
    pub expires_at: Option<Timestamp>,
    /// The user's row, when the verifier read it anyway (a session lookup joins it), so
    /// that authentication costs one database round trip.
    pub user: Option<User>,
}

/// A Better Auth session and its user, as read in one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: User,
    pub expires_at: Timestamp,
}

/// Better Auth's `session` table.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// The session whose raw token is `token`, with its user; `None` when there is none
    /// (never issued, signed out, or its user deleted).
    async fn find_by_token(&self, token: &str) -> Result<Option<SessionRecord>, PortError>;
}

/// One public key Better Auth signs JWTs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    /// The JWT header's `kid`.
    pub kid: String,
    /// The algorithm the key is for, when stated (`EdDSA`, `ES256`, …).
    pub alg: Option<String>,
    /// The key as a JWK JSON object (public parts only).
    pub jwk: String,
}

/// Where the public keys come from (Better Auth's JWKS endpoint or its `jwks` table).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait JwksSource: Send + Sync {
    async fn fetch(&self) -> Result<Vec<PublicJwk>, PortError>;
}

/// Why a request could not be authenticated: a short, bounded set (for metrics and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthFailure {
    /// No usable `Authorization: Bearer …` header.
    Missing,
    /// A token or session past its expiry.
    Expired,
    /// A signature that does not verify.
    BadSignature,
    /// A valid credential of a user who does not exist (any more).
    UnknownUser,
    /// No verifier knows this kind of credential.
    Unsupported,
    /// Any other refusal: malformed, unknown session, wrong issuer, …
    Invalid,
}

impl AuthFailure {
    /// The label: `missing`, `expired`, `bad_signature`, `unknown_user`, `unsupported` or
    /// `invalid`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Expired => "expired",
            Self::BadSignature => "bad_signature",
            Self::UnknownUser => "unknown_user",
            Self::Unsupported => "unsupported",
            Self::Invalid => "invalid",
        }
    }
}

/// Why a credential was refused.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// Malformed, badly signed, expired or revoked: the reason's class, and a sentence for
    /// logs and the client that never contains the credential.
    #[error("{detail}")]
    Refused {
        reason: AuthFailure,
        detail: &'static str,
    },
    /// The verifier could not reach what it needs (database, key server).
    #[error(transparent)]
    Unavailable(PortError),
}

impl CredentialError {
    /// Refused for a reason with no class of its own (malformed, unknown, …).
    #[must_use]
    pub fn invalid(detail: &'static str) -> Self {
        Self::Refused {
            reason: AuthFailure::Invalid,
            detail,
        }
    }

    /// Refused because it has expired.
    #[must_use]
    pub fn expired(detail: &'static str) -> Self {
        Self::Refused {
            reason: AuthFailure::Expired,
            detail,
        }
    }

    /// Refused because its signature does not verify.
    #[must_use]
    pub fn bad_signature(detail: &'static str) -> Self {
        Self::Refused {
            reason: AuthFailure::BadSignature,
            detail,
        }
    }
}

/// One kind of credential (HS256 JWT, Better Auth session token, JWKS-signed JWT, …).
///
/// `Ok(None)` means "not my kind of credential": the next verifier is asked.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CredentialVerifier: Send + Sync {
    async fn verify(&self, credential: &str)
    -> Result<Option<VerifiedCredential>, CredentialError>;
}

/// The current time (UTC, microsecond precision).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// Fresh task and list ids.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait IdGenerator: Send + Sync {
    fn new_task_id(&self) -> TaskId;
    fn new_list_id(&self) -> ListId;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        todo_domain::to_stored_precision(chrono::Utc::now())
    }
}

/// UUID version 7 ids: unique and ordered by creation time.
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidV7Ids;

impl IdGenerator for UuidV7Ids {
    fn new_task_id(&self) -> TaskId {
        TaskId::from_uuid(uuid::Uuid::now_v7())
    }

    fn new_list_id(&self) -> ListId {
        ListId::from_uuid(uuid::Uuid::now_v7())
    }
}

/// Whether the store can serve requests: reachable and fully migrated.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReadinessProbe: Send + Sync {
    /// `Err(PortError::Unavailable)` when unreachable; `Err(PortError::Other)` with a
    /// message when reachable but not ready (for example, migrations pending).
    async fn check(&self) -> Result<(), PortError>;
}

/// Connection pool occupancy, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most connections the pool will open.
    pub max: u32,
    /// Database operations waiting for a connection (all are in use).
    pub waiting: u32,
}

/// Reads the pool's current occupancy (cheap, no I/O).
pub trait PoolMetrics: Send + Sync {
    fn stats(&self) -> PoolStats;
}
