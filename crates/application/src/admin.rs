//! What admins do to other users: list them and their tasks, change roles, delete users and tasks.

use std::sync::Arc;

use todo_domain::{
    AdminRoles, DomainError, ListCursor, ListSpec, Principal, RoleList, Task, TaskId, Timestamp,
    User, UserId, policy,
};

use crate::cache::UserCache;
use crate::error::ApplicationError;
use crate::inbox::Inboxes;
use crate::pagination::{Page, PageSettings, paginate, task_page};
use crate::ports::{Clock, GuardedWrite, TaskRepository, UserRepository};
use crate::promotion::promote_user;

/// Where the next page of users starts.
pub type UserCursor = (Timestamp, UserId);

/// Operations on other users' accounts and tasks, for admins only.
#[derive(Clone)]
pub struct AdminService {
    users: Arc<dyn UserRepository>,
    tasks: Arc<dyn TaskRepository>,
    cache: Arc<UserCache>,
    admin_roles: AdminRoles,
    pages: PageSettings,
    clock: Arc<dyn Clock>,
    inboxes: Option<Inboxes>,
}

impl AdminService {
    /// `clock` stamps deletions (their tombstones) and judges "now" in task lists.
    pub fn new(
        users: Arc<dyn UserRepository>,
        tasks: Arc<dyn TaskRepository>,
        clock: Arc<dyn Clock>,
        cache: Arc<UserCache>,
        admin_roles: AdminRoles,
        pages: PageSettings,
    ) -> Self {
        Self {
            users,
            tasks,
            cache,
            admin_roles,
            pages,
            clock,
            inboxes: None,
        }
    }

    /// The Inboxes the task service creates tasks in: a deleted user's is forgotten, so
    /// that an account created again with the same id gets a new one.
    #[must_use]
    pub fn with_inboxes(mut self, inboxes: Inboxes) -> Self {
        self.inboxes = Some(inboxes);
        self
    }

    pub async fn list_users(
        &self,
        principal: &Principal,
        limit: Option<u32>,
        after: Option<UserCursor>,
    ) -> Result<Page<User, UserCursor>, ApplicationError> {
        policy::ensure_admin(principal)?;
        let limit = self.pages.limit(limit)?;
        let rows = self.users.list(limit.saturating_add(1), after).await?;
        Ok(paginate(rows, limit, |u: &User| {
            (u.created_at, u.id.clone())
        }))
    }

    pub async fn list_user_tasks(
        &self,
        principal: &Principal,
        target: &UserId,
        limit: Option<u32>,
        after: Option<ListCursor>,
    ) -> Result<Page<Task, ListCursor>, ApplicationError> {
        policy::ensure_admin(principal)?;
        let limit = self.pages.limit(limit)?;
        self.existing_user(target).await?;
        // Every task of theirs, oldest first.
        let query = ListSpec::default().query(self.clock.now());
        task_page(self.tasks.as_ref(), target, &query, limit, after).await
    }

    /// Replaces a user's roles; the last admin cannot be demoted.
    ///
    /// The rule is judged twice: here, on the admins as read now, so that a plain
    /// refusal costs no write; then by the store, on the admins as they are when it
    /// writes, so that two admins demoting each other at once cannot both pass.
    pub async fn set_role(
        &self,
        principal: &Principal,
        target: &UserId,
        roles: RoleList,
    ) -> Result<User, ApplicationError> {
        policy::ensure_admin(principal)?;
        let mut user = self.existing_user(target).await?;
        let target_is_admin = user.roles.is_admin(&self.admin_roles);
        let becomes_admin = roles.is_admin(&self.admin_roles);
        let admins = if target_is_admin && !becomes_admin {
            self.admin_count().await?
        } else {
            0
        };
        policy::ensure_can_change_role(principal, target_is_admin, becomes_admin, admins)?;
        let written = if becomes_admin {
            // Giving or keeping an admin role cannot leave the service without an admin.
            if self.users.set_role(target, &roles).await? {
                GuardedWrite::Written
            } else {
                GuardedWrite::NotFound
            }
        } else {
            // Whatever was read above may be stale by now (the target promoted, the other
            // admins demoted): the store judges the write again, atomically.
            self.users
                .set_role_keeping_an_admin(target, &roles, &self.admin_roles)
                .await?
        };
        written_or_refused(written)?;
        self.cache.forget(target);
        tracing::info!(target_user = %target, roles = %roles.to_stored(), "role changed");
        user.roles = roles;
        Ok(user)
    }

    /// Deletes a user with all their tasks and sessions; admins cannot delete themselves,
    /// and the last admin cannot be deleted (judged twice, as in [`Self::set_role`]).
    pub async fn delete_user(
        &self,
        principal: &Principal,
        target: &UserId,
    ) -> Result<(), ApplicationError> {
        policy::ensure_admin(principal)?;
        let user = self.existing_user(target).await?;
        let target_is_admin = user.roles.is_admin(&self.admin_roles);
        let admins = if target_is_admin {
            self.admin_count().await?
        } else {
            0
        };
        policy::ensure_can_delete_user(principal, target, target_is_admin, admins)?;
        let written = self
            .users
            .delete_keeping_an_admin(
                target,
                &self.admin_roles,
                &principal.user_id,
                self.clock.now(),
            )
            .await?;
        // Gone now or already (a deleted user's cached row must not outlive them).
        self.cache.forget(target);
        if let Some(inboxes) = &self.inboxes {
            inboxes.forget(target);
        }
        written_or_refused(written)?;
        tracing::info!(target_user = %target, "user deleted");
        Ok(())
    }

    pub async fn delete_user_task(
        &self,
        principal: &Principal,
        target: &UserId,
        id: TaskId,
    ) -> Result<(), ApplicationError> {
        policy::ensure_admin(principal)?;
        if self
            .tasks
            .delete(target, id, None, self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(ApplicationError::NotFound("task"))
        }
    }

    /// Gives `id` an admin role if the user exists and is not an admin yet (the
    /// `ADMIN_USER_ID` setting). Returns whether the user was promoted.
    pub async fn promote(&self, id: &UserId) -> Result<bool, ApplicationError> {
        let Some(user) = self.users.find(id).await? else {
            return Ok(false);
        };
        promote_user(self.users.as_ref(), &self.cache, &self.admin_roles, user)
            .await
            .map(|(_, promoted)| promoted)
    }

    async fn admin_count(&self) -> Result<u64, ApplicationError> {
        let admins = self.users.admins(&self.admin_roles).await?;
        Ok(u64::try_from(admins.len()).unwrap_or(u64::MAX))
    }

    async fn existing_user(&self, id: &UserId) -> Result<User, ApplicationError> {
        self.users
            .find(id)
            .await?
            .ok_or(ApplicationError::NotFound("user"))
    }
}

/// The outcome of a write the last-admin rule guards, as the service reports it.
fn written_or_refused(written: GuardedWrite) -> Result<(), ApplicationError> {
    match written {
        GuardedWrite::Written => Ok(()),
        GuardedWrite::NotFound => Err(ApplicationError::NotFound("user")),
        GuardedWrite::LastAdmin => Err(DomainError::LastAdmin.into()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ports::{MockTaskRepository, MockUserRepository};
    use crate::testing::*;
    use mockall::predicate::{always, eq};

    fn service(users: MockUserRepository, tasks: MockTaskRepository) -> AdminService {
        AdminService::new(
            Arc::new(users),
            Arc::new(tasks),
            fixed_clock(50),
            Arc::new(UserCache::disabled()),
            AdminRoles::default(),
            PageSettings {
                default_limit: 2,
                max_limit: 5,
            },
        )
    }

    fn forbidden<T: std::fmt::Debug>(r: Result<T, ApplicationError>) {
        assert!(matches!(r, Err(ApplicationError::Forbidden(_))), "{r:?}");
    }

    #[tokio::test]
    async fn non_admins_are_refused_every_admin_operation() {
        let mut users = MockUserRepository::new();
        users.expect_list().never();
        users.expect_find().never();
        users.expect_set_role().never();
        users.expect_set_role_keeping_an_admin().never();
        users.expect_delete().never();
        users.expect_delete_keeping_an_admin().never();
        let mut tasks = MockTaskRepository::new();
        tasks.expect_delete().never();
        tasks.expect_search().never();
        let svc = service(users, tasks);
        let alice = principal("alice");
        forbidden(svc.list_users(&alice, None, None).await);
        forbidden(svc.list_user_tasks(&alice, &uid("bob"), None, None).await);
        forbidden(
            svc.set_role(&alice, &uid("alice"), RoleList::parse("admin").unwrap())
                .await,
        );
        forbidden(svc.delete_user(&alice, &uid("bob")).await);
        forbidden(svc.delete_user_task(&alice, &uid("bob"), tid(1)).await);
    }

    #[tokio::test]
    async fn admins_list_users_a_page_at_a_time() {
        let mut users = MockUserRepository::new();
        users.expect_list().with(eq(3), eq(None)).returning(|_, _| {
            Ok(vec![
                user_row("a", None),
                user_row("b", None),
                user_row("c", None),
            ])
        });
        let page = service(users, MockTaskRepository::new())
            .list_users(&admin("root"), None, None)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next, Some((at(0), uid("b"))));
    }

    #[tokio::test]
    async fn listing_tasks_of_an_unknown_user_is_not_found() {
        let mut users = MockUserRepository::new();
        users.expect_find().returning(|_| Ok(None));
        let mut tasks = MockTaskRepository::new();
        tasks.expect_search().never();
        let err = service(users, tasks)
            .list_user_tasks(&admin("root"), &uid("ghost"), None, None)
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::NotFound("user")));
    }

    #[tokio::test]
    async fn admins_list_any_users_tasks() {
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .with(eq(uid("bob")))
            .returning(|_| Ok(Some(user_row("bob", None))));
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_search()
            .withf(|owner, query, _, _| *owner == uid("bob") && query.is_plain())
            .returning(|_, _, _, _| Ok(vec![task("bob", 1, "x")]));
        let page = service(users, tasks)
            .list_user_tasks(&admin("root"), &uid("bob"), None, None)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items.first().unwrap().owner, uid("bob"));
    }

    #[tokio::test]
    async fn the_last_admin_cannot_be_demoted() {
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .returning(|_| Ok(Some(user_row("root", Some("admin")))));
        users.expect_admins().returning(|_| Ok(vec![uid("root")]));
        users.expect_set_role().never();
        users.expect_set_role_keeping_an_admin().never();
        let err = service(users, MockTaskRepository::new())
            .set_role(&admin("root"), &uid("root"), RoleList::user())
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Conflict(_)), "{err:?}");
    }

    #[tokio::test]
    async fn an_admin_may_step_down_when_another_admin_remains() {
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .returning(|_| Ok(Some(user_row("root", Some("admin")))));
        users
            .expect_admins()
            .returning(|_| Ok(vec![uid("root"), uid("other")]));
        users.expect_set_role().never();
        users
            .expect_set_role_keeping_an_admin()
            .withf(|id, roles, admin_roles| {
                *id == uid("root")
                    && roles.to_stored() == "user"
                    && *admin_roles == AdminRoles::default()
            })
            .times(1)
            .returning(|_, _, _| Ok(GuardedWrite::Written));
        let user = service(users, MockTaskRepository::new())
            .set_role(&admin("root"), &uid("root"), RoleList::user())
            .await
            .unwrap();
        assert_eq!(user.roles, RoleList::user());
    }

    #[tokio::test]
    async fn granting_admin_does_not_count_admins() {
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .returning(|_| Ok(Some(user_row("bob", None))));
        users.expect_admins().never();
        users.expect_set_role().times(1).returning(|_, _| Ok(true));
        let user = service(users, MockTaskRepository::new())
            .set_role(
                &admin("root"),
                &uid("bob"),
                RoleList::parse("user,admin").unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(user.roles.to_stored(), "user,admin");
    }

    #[tokio::test]
    async fn setting_the_role_of_an_unknown_user_is_not_found() {
        let mut users = MockUserRepository::new();
        users.expect_find().returning(|_| Ok(None));
        users.expect_set_role().never();
        users.expect_set_role_keeping_an_admin().never();
        let err = service(users, MockTaskRepository::new())
            .set_role(&admin("root"), &uid("ghost"), RoleList::user())
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::NotFound("user")));
    }

    #[tokio::test]
    async fn role_changes_clear_the_cached_user() {
        let cache = Arc::new(UserCache::new(std::time::Duration::from_secs(60), 10));
        cache.put(uid("bob"), user_row("bob", None), at(0), None);
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .returning(|_| Ok(Some(user_row("bob", None))));
        users.expect_set_role().returning(|_, _| Ok(true));
        let svc = AdminService::new(
            Arc::new(users),
            Arc::new(MockTaskRepository::new()),
            fixed_clock(50),
            cache.clone(),
            AdminRoles::default(),
            PageSettings::default(),
        );
        svc.set_role(
            &admin("root"),
            &uid("bob"),
            RoleList::parse("admin").unwrap(),
        )
        .await
        .unwrap();
        assert!(cache.get(&uid("bob"), at(1)).is_none());
    }

    #[tokio::test]
    async fn admins_cannot_delete_themselves() {
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .returning(|_| Ok(Some(user_row("root", Some("admin")))));
        users
            .expect_admins()
            .returning(|_| Ok(vec![uid("root"), uid("other")]));
        users.expect_delete().never();
        users.expect_delete_keeping_an_admin().never();
        let err = service(users, MockTaskRepository::new())
            .delete_user(&admin("root"), &uid("root"))
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Conflict(_)));
    }

    #[tokio::test]
    async fn deleting_users_and_their_tasks() {
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .with(eq(uid("bob")))
            .returning(|_| Ok(Some(user_row("bob", None))));
        users
            .expect_find()
            .with(eq(uid("ghost")))
            .returning(|_| Ok(None));
        // Deleting a plain user does not count the admins; the store still guards it.
        users.expect_admins().never();
        users.expect_delete().never();
        users
            .expect_delete_keeping_an_admin()
            .with(
                eq(uid("bob")),
                eq(AdminRoles::default()),
                eq(uid("root")),
                always(),
            )
            .times(1)
            .returning(|_, _, _, _| Ok(GuardedWrite::Written));
        let mut tasks = MockTaskRepository::new();
        tasks
            .expect_delete()
            .with(eq(uid("bob")), eq(tid(1)), eq(None), always())
            .returning(|_, _, _, _| Ok(true));
        tasks
            .expect_delete()
            .with(eq(uid("bob")), eq(tid(2)), eq(None), always())
            .returning(|_, _, _, _| Ok(false));
        let svc = service(users, tasks);
        let root = admin("root");
        svc.delete_user(&root, &uid("bob")).await.unwrap();
        assert!(matches!(
            svc.delete_user(&root, &uid("ghost")).await,
            Err(ApplicationError::NotFound("user"))
        ));
        svc.delete_user_task(&root, &uid("bob"), tid(1))
            .await
            .unwrap();
        assert!(matches!(
            svc.delete_user_task(&root, &uid("bob"), tid(2)).await,
            Err(ApplicationError::NotFound("task"))
        ));
    }

    #[tokio::test]
    async fn a_deleted_users_inbox_is_forgotten() {
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .returning(|_| Ok(Some(user_row("bob", None))));
        users
            .expect_delete_keeping_an_admin()
            .returning(|_, _, _, _| Ok(GuardedWrite::Written));
        let mut lists = crate::ports::MockListRepository::new();
        // Once before the deletion (then remembered), once after: a new Inbox.
        lists
            .expect_ensure_inbox()
            .times(2)
            .returning(|l| Ok(inbox_of(&l.owner)));
        let lists: Arc<dyn crate::ports::ListRepository> = Arc::new(lists);
        let inboxes = Inboxes::new(lists, fixed_clock(50), fixed_ids(3));
        let svc = service(users, MockTaskRepository::new()).with_inboxes(inboxes.clone());
        inboxes.of(&uid("bob")).await.unwrap();
        inboxes.of(&uid("bob")).await.unwrap();
        svc.delete_user(&admin("root"), &uid("bob")).await.unwrap();
        inboxes.of(&uid("bob")).await.unwrap();
    }

    #[tokio::test]
    async fn a_demotion_the_store_refuses_is_the_last_admin_conflict() {
        // Two admins as read, but the other one lost the role before the write: the store
        // refuses, and the service answers as if it had seen that itself.
        let cache = Arc::new(UserCache::new(std::time::Duration::from_secs(60), 10));
        cache.put(uid("root"), user_row("root", Some("admin")), at(0), None);
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .returning(|_| Ok(Some(user_row("root", Some("admin")))));
        users
            .expect_admins()
            .returning(|_| Ok(vec![uid("root"), uid("other")]));
        users.expect_set_role().never();
        users
            .expect_set_role_keeping_an_admin()
            .times(1)
            .returning(|_, _, _| Ok(GuardedWrite::LastAdmin));
        let svc = AdminService::new(
            Arc::new(users),
            Arc::new(MockTaskRepository::new()),
            fixed_clock(50),
            cache.clone(),
            AdminRoles::default(),
            PageSettings::default(),
        );
        let err = svc
            .set_role(&admin("root"), &uid("root"), RoleList::user())
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Conflict(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            DomainError::LastAdmin.to_string(),
            "the same answer as a refusal the service judged itself"
        );
        assert!(
            cache.get(&uid("root"), at(1)).is_some(),
            "nothing was written, so nothing is forgotten"
        );
    }

    #[tokio::test]
    async fn every_demotion_goes_through_the_guarded_write() {
        // A plain user as read may have been made the only admin since: the write that
        // takes admin away is always the guarded one, and never counts for it here.
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .returning(|_| Ok(Some(user_row("bob", Some("user")))));
        users.expect_admins().never();
        users.expect_set_role().never();
        users
            .expect_set_role_keeping_an_admin()
            .withf(|id, roles, _| *id == uid("bob") && roles.to_stored() == "editor")
            .times(1)
            .returning(|_, _, _| Ok(GuardedWrite::Written));
        let user = service(users, MockTaskRepository::new())
            .set_role(
                &admin("root"),
                &uid("bob"),
                RoleList::parse("editor").unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(user.roles.to_stored(), "editor");
    }

    #[tokio::test]
    async fn a_user_gone_before_the_guarded_write_is_not_found() {
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .returning(|_| Ok(Some(user_row("bob", None))));
        users
            .expect_set_role_keeping_an_admin()
            .returning(|_, _, _| Ok(GuardedWrite::NotFound));
        users
            .expect_delete_keeping_an_admin()
            .returning(|_, _, _, _| Ok(GuardedWrite::NotFound));
        let svc = service(users, MockTaskRepository::new());
        let root = admin("root");
        assert!(matches!(
            svc.set_role(&root, &uid("bob"), RoleList::user()).await,
            Err(ApplicationError::NotFound("user"))
        ));
        assert!(matches!(
            svc.delete_user(&root, &uid("bob")).await,
            Err(ApplicationError::NotFound("user"))
        ));
    }

    #[tokio::test]
    async fn the_last_admin_cannot_be_deleted_and_nothing_is_written() {
        // The caller is no admin in the store any more: the target is the only admin.
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .with(eq(uid("other")))
            .returning(|_| Ok(Some(user_row("other", Some("user,admin")))));
        users.expect_admins().returning(|_| Ok(vec![uid("other")]));
        users.expect_delete().never();
        users.expect_delete_keeping_an_admin().never();
        let err = service(users, MockTaskRepository::new())
            .delete_user(&admin("root"), &uid("other"))
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Conflict(_)), "{err:?}");
        assert_eq!(err.to_string(), DomainError::LastAdmin.to_string());
    }

    #[tokio::test]
    async fn an_admin_deletes_another_admin_through_the_guarded_write() {
        let cache = Arc::new(UserCache::new(std::time::Duration::from_secs(60), 10));
        cache.put(uid("other"), user_row("other", Some("admin")), at(0), None);
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .returning(|_| Ok(Some(user_row("other", Some("admin")))));
        users
            .expect_admins()
            .returning(|_| Ok(vec![uid("root"), uid("other")]));
        users.expect_delete().never();
        users
            .expect_delete_keeping_an_admin()
            .with(
                eq(uid("other")),
                eq(AdminRoles::default()),
                eq(uid("root")),
                eq(at(50)),
            )
            .times(1)
            .returning(|_, _, _, _| Ok(GuardedWrite::Written));
        let svc = AdminService::new(
            Arc::new(users),
            Arc::new(MockTaskRepository::new()),
            fixed_clock(50),
            cache.clone(),
            AdminRoles::default(),
            PageSettings::default(),
        );
        svc.delete_user(&admin("root"), &uid("other"))
            .await
            .unwrap();
        assert!(
            cache.get(&uid("other"), at(1)).is_none(),
            "a deleted user is forgotten"
        );
    }

    #[tokio::test]
    async fn a_deletion_the_store_refuses_is_the_last_admin_conflict() {
        // Both admins as read, but the target demoted the caller before the write: the
        // store finds the target the only admin and refuses.
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .returning(|_| Ok(Some(user_row("other", Some("admin")))));
        users
            .expect_admins()
            .returning(|_| Ok(vec![uid("root"), uid("other")]));
        users.expect_delete().never();
        users
            .expect_delete_keeping_an_admin()
            .times(1)
            .returning(|_, _, _, _| Ok(GuardedWrite::LastAdmin));
        let err = service(users, MockTaskRepository::new())
            .delete_user(&admin("root"), &uid("other"))
            .await
            .unwrap_err();
        assert!(matches!(err, ApplicationError::Conflict(_)), "{err:?}");
        assert_eq!(err.to_string(), DomainError::LastAdmin.to_string());
    }

    #[tokio::test]
    async fn promotion_adds_admin_once() {
        let mut users = MockUserRepository::new();
        users
            .expect_find()
            .with(eq(uid("boss")))
            .returning(|_| Ok(Some(user_row("boss", Some("user")))));
        users
            .expect_find()
            .with(eq(uid("root")))
            .returning(|_| Ok(Some(user_row("root", Some("admin")))));
        users
            .expect_find()
            .with(eq(uid("ghost")))
            .returning(|_| Ok(None));
        users
            .expect_set_role()
            .withf(|id, roles| *id == uid("boss") && roles.to_stored() == "user,admin")
            .times(1)
            .returning(|_, _| Ok(true));
        let svc = service(users, MockTaskRepository::new());
        assert!(svc.promote(&uid("boss")).await.unwrap());
        assert!(!svc.promote(&uid("root")).await.unwrap());
        assert!(!svc.promote(&uid("ghost")).await.unwrap());
    }
}
