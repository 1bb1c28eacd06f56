//! Lists and their members: create, read, change, order, share and delete them.

use std::sync::Arc;

use todo_domain::access::{self, ListAction};
use todo_domain::{
    Colour, Edit, ListChanges, ListId, ListName, ListView, Member, Position, Principal, Role,
    TaskList, UserId, policy,
};

use crate::error::ApplicationError;
use crate::inbox::Inboxes;
use crate::limits::Limits;
use crate::pagination::{Page, PageSettings, paginate};
use crate::ports::{
    AddMember, Clock, IdGenerator, IdempotentListInsert, ListRepository, UserRepository,
};
use crate::tasks::Idempotency;

/// A list to create, as parsed from a client's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewList {
    pub name: ListName,
    pub colour: Option<Colour>,
    /// Where among the owner's lists; by default after every list created before it.
    pub position: Option<Position>,
}

/// Who to add to a list: a user id or an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRef {
    Id(UserId),
    Email(String),
}

/// Where to move a list among its owner's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveListTo {
    After(ListId),
    Before(ListId),
}

/// A created list, and whether an earlier request with the same `Idempotency-Key`
/// created it (the answer is then a replay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedList {
    pub list: ListView,
    pub replayed: bool,
}

/// Lists as their members use them.
#[derive(Clone)]
pub struct ListService {
    lists: Arc<dyn ListRepository>,
    users: Arc<dyn UserRepository>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    inboxes: Inboxes,
    pages: PageSettings,
    limits: Limits,
    idempotency_window: chrono::TimeDelta,
}

impl ListService {
    pub fn new(
        lists: Arc<dyn ListRepository>,
        users: Arc<dyn UserRepository>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        inboxes: Inboxes,
    ) -> Self {
        Self {
            lists,
            users,
            clock,
            ids,
            inboxes,
            pages: PageSettings::default(),
            limits: Limits::default(),
            idempotency_window: chrono::TimeDelta::hours(24),
        }
    }

    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    #[must_use]
    pub fn with_pages(mut self, pages: PageSettings) -> Self {
        self.pages = pages;
        self
    }

    #[must_use]
    pub fn with_idempotency_window(mut self, window: chrono::TimeDelta) -> Self {
        self.idempotency_window = window;
        self
    }

    /// The list as `caller` sees it, refused unless their role allows `action`.
    async fn visible(
        &self,
        caller: &UserId,
        id: ListId,
        action: ListAction,
    ) -> Result<ListView, ApplicationError> {
        let view = self.lists.get(caller, id).await?;
        let role = view.as_ref().map(|v| v.role);
        match view {
            Some(view) => {
                access::authorize_on_list(&view.list, role, action)?;
                Ok(view)
            }
            None => Err(ApplicationError::NotFound("list")),
        }
    }

    /// A new list of `owner`'s, created now.
    fn new_list(&self, owner: &UserId, new: NewList) -> TaskList {
        let mut list = TaskList::new(
            self.ids.new_list_id(),
            owner.clone(),
            new.name,
            self.clock.now(),
        );
        list.colour = new.colour;
        if let Some(position) = new.position {
            list.position = position;
        }
        list
    }

    fn owned(list: TaskList) -> ListView {
        ListView {
            list,
            members: 1,
            role: Role::Owner,
        }
    }

    fn too_many_lists(&self) -> ApplicationError {
        todo_domain::DomainError::LimitReached {
            what: "lists per user",
            max: u64::from(self.limits.lists_per_user),
        }
        .into()
    }

    pub async fn create(
        &self,
        principal: &Principal,
        owner: &UserId,
        new: NewList,
    ) -> Result<ListView, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        // The Inbox first, so that it is the first list and counts against the limit.
        self.inboxes.of(owner).await?;
        let list = self.new_list(owner, new);
        if !self.lists.insert(&list, self.limits.lists_per_user).await? {
            return Err(self.too_many_lists());
        }
        Ok(Self::owned(list))
    }

    /// Creates a list once per `Idempotency-Key`, as `TaskService::create_idempotent`
    /// does for tasks.
    pub async fn create_idempotent(
        &self,
        principal: &Principal,
        owner: &UserId,
        new: NewList,
        idempotency: &Idempotency,
    ) -> Result<CreatedList, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        self.inboxes.of(owner).await?;
        let list = self.new_list(owner, new);
        let expired_before = list.created_at - self.idempotency_window;
        match self
            .lists
            .insert_idempotent(
                &list,
                self.limits.lists_per_user,
                &idempotency.key,
                &idempotency.fingerprint,
                expired_before,
            )
            .await?
        {
            IdempotentListInsert::Inserted => Ok(CreatedList {
                list: Self::owned(list),
                replayed: false,
            }),
            IdempotentListInsert::Full => Err(self.too_many_lists()),
            IdempotentListInsert::Existing { fingerprint, .. }
                if fingerprint != idempotency.fingerprint =>
            {
                Err(ApplicationError::Validation {
                    field: "Idempotency-Key".to_owned(),
                    message: "was already used with a different request body; \
                              use a new key for a new list"
                        .to_owned(),
                })
            }
            IdempotentListInsert::Existing { id, .. } => {
                match self.lists.get(owner, ListId::from_uuid(id)).await? {
                    Some(list) => Ok(CreatedList {
                        list,
                        replayed: true,
                    }),
                    None => Err(ApplicationError::Conflict(
                        "the list created with this Idempotency-Key has been deleted since"
                            .to_owned(),
                    )),
                }
            }
        }
    }

    /// One page of the lists `owner` is a member of (their Inbox first created when
    /// missing), by position; only archived ones with `archived`.
    pub async fn list(
        &self,
        principal: &Principal,
        owner: &UserId,
        archived: bool,
        limit: Option<u32>,
        after: Option<(Position, ListId)>,
    ) -> Result<Page<ListView, (Position, ListId)>, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        self.inboxes.of(owner).await?;
        let limit = self.pages.limit(limit)?;
        let rows = self
            .lists
            .list(owner, archived, limit.saturating_add(1), after)
            .await?;
        Ok(paginate(rows, limit, |v: &ListView| {
            (v.list.position.clone(), v.list.id)
        }))
    }

    pub async fn get(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: ListId,
    ) -> Result<ListView, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        self.visible(owner, id, ListAction::Read).await
    }

    /// The list, checked against the client's `If-Match` version and `action`.
    async fn current(
        &self,
        caller: &UserId,
        id: ListId,
        action: ListAction,
        if_match: Option<i64>,
    ) -> Result<ListView, ApplicationError> {
        let view = self.visible(caller, id, action).await?;
        match if_match {
            Some(v) if v != view.list.version => Err(ApplicationError::PreconditionFailed {
                what: "list",
                current_version: view.list.version,
            }),
            _ => Ok(view),
        }
    }

    /// Renames, recolours, archives or positions a list (its owner only); an empty change
    /// returns it as it is.
    pub async fn update(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: ListId,
        changes: ListChanges,
        if_match: Option<i64>,
    ) -> Result<ListView, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let view = self.current(owner, id, ListAction::Edit, if_match).await?;
        if changes.is_empty() {
            return Ok(view);
        }
        let next = view.list.apply(&changes, self.clock.now())?;
        self.write(view, next).await
    }

    /// Writes `next`, the new state of `view.list`; a conflict when it changed meanwhile.
    async fn write(&self, view: ListView, next: TaskList) -> Result<ListView, ApplicationError> {
        // Only the owner writes a list.
        let edit = Edit::of_list(&view.list.owner, &view.list, &next);
        if self.lists.replace(&next, view.list.version, &edit).await? {
            return Ok(ListView { list: next, ..view });
        }
        Err(ApplicationError::Conflict(
            "the list was changed by another request meanwhile; read it again and retry".to_owned(),
        ))
    }

    /// Moves a list right after or before another of the caller's lists.
    pub async fn move_list(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: ListId,
        to: MoveListTo,
        if_match: Option<i64>,
    ) -> Result<ListView, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let view = self.current(owner, id, ListAction::Edit, if_match).await?;
        let (field, anchor) = match to {
            MoveListTo::After(anchor) => ("after", anchor),
            MoveListTo::Before(anchor) => ("before", anchor),
        };
        let invalid = |message: &str| ApplicationError::Validation {
            field: field.to_owned(),
            message: message.to_owned(),
        };
        if anchor == id {
            return Err(invalid("names the list being moved"));
        }
        let Some(anchor) = self.lists.get(owner, anchor).await? else {
            return Err(invalid("names no list of yours"));
        };
        // Its neighbour on the other side, among the caller's lists as they are now.
        let all = self
            .lists
            .list(owner, anchor.list.archived, self.pages.max_limit, None)
            .await?;
        let others: Vec<&Position> = all
            .iter()
            .filter(|v| v.list.id != id)
            .map(|v| &v.list.position)
            .collect();
        let at = &anchor.list.position;
        let (low, high) = match to {
            MoveListTo::After(_) => (Some(at), others.iter().copied().find(|p| *p > at)),
            MoveListTo::Before(_) => (others.iter().rev().copied().find(|p| *p < at), Some(at)),
        };
        let position = Position::between(low, high).ok_or_else(|| {
            ApplicationError::Conflict(
                "no position fits between those neighbours (they share one): move one of them first"
                    .to_owned(),
            )
        })?;
        let changes = ListChanges {
            position: Some(position),
            ..ListChanges::default()
        };
        let next = view.list.apply(&changes, self.clock.now())?;
        self.write(view, next).await
    }

    /// Deletes a list with its tasks (its owner only; never an Inbox).
    pub async fn delete(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: ListId,
        if_match: Option<i64>,
    ) -> Result<(), ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let view = self
            .current(owner, id, ListAction::Delete, if_match)
            .await?;
        if self
            .lists
            .delete(id, Some(view.list.version), self.clock.now())
            .await?
        {
            return Ok(());
        }
        Err(ApplicationError::Conflict(
            "the list was changed by another request meanwhile; read it again and retry".to_owned(),
        ))
    }

    /// Every member of the list, the owner first.
    pub async fn members(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: ListId,
    ) -> Result<Vec<Member>, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        self.visible(owner, id, ListAction::Read).await?;
        Ok(self.lists.members(id).await?)
    }

    /// The member `user` of the list, as stored.
    async fn member(&self, list: ListId, user: &UserId) -> Result<Member, ApplicationError> {
        self.lists
            .members(list)
            .await?
            .into_iter()
            .find(|m| m.user_id == *user)
            .ok_or(ApplicationError::NotFound("member"))
    }

    /// Shares the list with an existing user (found by id or e-mail) as a viewer or an
    /// editor (its owner only; never an Inbox).
    pub async fn add_member(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: ListId,
        who: MemberRef,
        role: Role,
    ) -> Result<Member, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        if role == Role::Owner {
            return Err(ApplicationError::Validation {
                field: "role".to_owned(),
                message: "must be \"viewer\" or \"editor\": ownership is transferred, not given"
                    .to_owned(),
            });
        }
        self.visible(owner, id, ListAction::ManageMembers).await?;
        let user = match &who {
            MemberRef::Id(user) => self.users.find(user).await?,
            MemberRef::Email(email) => self.users.find_by_email(email).await?,
        };
        let Some(user) = user else {
            let field = match who {
                MemberRef::Id(_) => "user_id",
                MemberRef::Email(_) => "email",
            };
            return Err(ApplicationError::Validation {
                field: field.to_owned(),
                message: "names no user of this service".to_owned(),
            });
        };
        let now = self.clock.now();
        match self
            .lists
            .add_member(id, &user.id, role, now, self.limits.members_per_list)
            .await?
        {
            AddMember::Added => Ok(Member {
                user_id: user.id,
                name: user.name,
                email: user.email,
                role,
                added_at: now,
            }),
            AddMember::AlreadyMember => Err(ApplicationError::Conflict(
                "that user is a member of this list already: change their role instead".to_owned(),
            )),
            AddMember::Full => Err(todo_domain::DomainError::LimitReached {
                what: "members per list",
                max: u64::from(self.limits.members_per_list),
            }
            .into()),
            AddMember::NoList => Err(ApplicationError::NotFound("list")),
        }
    }

    /// Gives a member (not the owner) another role (the owner only).
    pub async fn set_member_role(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: ListId,
        member: &UserId,
        role: Role,
    ) -> Result<Member, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        self.visible(owner, id, ListAction::ManageMembers).await?;
        let current = self.member(id, member).await?;
        if current.role == Role::Owner {
            return Err(ApplicationError::Conflict(
                "the owner's role cannot change: transfer the list instead".to_owned(),
            ));
        }
        if !self
            .lists
            .set_member_role(id, member, role, self.clock.now())
            .await?
        {
            return Err(ApplicationError::NotFound("member"));
        }
        Ok(Member { role, ..current })
    }

    /// Removes a member: the owner removes anyone but themself; any other member only
    /// themself (leaving the list). Their assignments in the list are cleared.
    pub async fn remove_member(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: ListId,
        member: &UserId,
    ) -> Result<(), ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        let view = self.visible(owner, id, ListAction::Read).await?;
        let removing_self = member == owner;
        let target = if removing_self {
            view.role
        } else {
            // Only the owner learns whether someone else is a member.
            access::authorize(Some(view.role), ListAction::ManageMembers, "list")?;
            self.member(id, member).await?.role
        };
        access::authorize_removal(Some(view.role), removing_self, target)?;
        if self
            .lists
            .remove_member(id, member, owner, self.clock.now())
            .await?
        {
            return Ok(());
        }
        Err(ApplicationError::NotFound("member"))
    }

    /// Hands the list to one of its editors, who becomes its owner; the old owner stays
    /// as an editor.
    pub async fn transfer(
        &self,
        principal: &Principal,
        owner: &UserId,
        id: ListId,
        to: &UserId,
    ) -> Result<ListView, ApplicationError> {
        policy::ensure_acts_for(principal, owner)?;
        self.visible(owner, id, ListAction::Transfer).await?;
        let target = self.lists.role(to, id).await?;
        access::ensure_transfer_target(target)?;
        if !self.lists.transfer(id, owner, to, self.clock.now()).await? {
            return Err(ApplicationError::Conflict(
                "the list's members changed meanwhile; read them again and retry".to_owned(),
            ));
        }
        self.visible(owner, id, ListAction::Read).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
