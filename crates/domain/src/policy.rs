//! Authorisation rules, as pure functions.

use crate::error::DomainError;
use crate::ids::UserId;
use crate::time::Timestamp;
use crate::user::{Principal, User};

/// A principal may act on the tasks under `/api/{owner}` only if it *is* that user.
/// Admins use the admin operations for other users' data, not this path.
pub fn ensure_acts_for(principal: &Principal, owner: &UserId) -> Result<(), DomainError> {
    if principal.user_id == *owner {
        Ok(())
    } else {
        Err(DomainError::NotOwner)
    }
}

/// Admin operations require an admin role.
pub fn ensure_admin(principal: &Principal) -> Result<(), DomainError> {
    if principal.is_admin {
        Ok(())
    } else {
        Err(DomainError::NotAdmin)
    }
}

/// A user whose ban is in force at `now` is refused everything.
pub fn ensure_not_banned(user: &User, now: Timestamp) -> Result<(), DomainError> {
    if user.is_banned_at(now) {
        Err(DomainError::Banned {
            until: user.ban_expires,
        })
    } else {
        Ok(())
    }
}

/// An admin may delete any account but their own, as long as some admin remains
/// afterwards: the last admin cannot be deleted, not even by an admin who lost the role
/// meanwhile and finds the target the only admin left.
///
/// `target_is_admin` describes the target; `admins` is how many admins exist now.
pub fn ensure_can_delete_user(
    principal: &Principal,
    target: &UserId,
    target_is_admin: bool,
    admins: u64,
) -> Result<(), DomainError> {
    ensure_admin(principal)?;
    if principal.user_id == *target {
        return Err(DomainError::CannotDeleteSelf);
    }
    ensure_an_admin_remains(target_is_admin, false, admins)
}

/// An admin may change anyone's role, as long as some admin remains afterwards.
///
/// `target_is_admin` / `becomes_admin` describe the target before and after the change;
/// `admins` is how many admins exist now.
pub fn ensure_can_change_role(
    principal: &Principal,
    target_is_admin: bool,
    becomes_admin: bool,
    admins: u64,
) -> Result<(), DomainError> {
    ensure_admin(principal)?;
    ensure_an_admin_remains(target_is_admin, becomes_admin, admins)
}

/// The last-admin rule: no write to a user may leave the service without an admin.
///
/// A write after which the target holds no admin role (a demotion, `stays_admin` false,
/// or a deletion) is refused when the target is an admin (`target_is_admin`) and no other
/// admin exists: `admins`, how many admins exist before the write, the target included,
/// is at most one. Whoever writes: the last admin demoting themselves, or an admin
/// demoting or deleting another admin who is, by then, the only one left.
///
/// The store applies this rule to what it reads while it holds off other such writes
/// (`UserRepository::set_role_keeping_an_admin`, `delete_keeping_an_admin`), so that it
/// holds when two admins act at once.
pub fn ensure_an_admin_remains(
    target_is_admin: bool,
    stays_admin: bool,
    admins: u64,
) -> Result<(), DomainError> {
    if target_is_admin && !stays_admin && admins <= 1 {
        return Err(DomainError::LastAdmin);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::user::{AdminRoles, RoleList};
    use chrono::TimeZone;

    fn id(raw: &str) -> UserId {
        UserId::parse(raw).unwrap()
    }

    fn user(raw: &str) -> Principal {
        Principal::new(id(raw), &RoleList::user(), &AdminRoles::default())
    }

    fn admin(raw: &str) -> Principal {
        Principal::new(
            id(raw),
            &RoleList::from_stored(Some("admin")),
            &AdminRoles::default(),
        )
    }

    #[test]
    fn only_the_owner_acts_on_their_tasks() {
        assert_eq!(ensure_acts_for(&user("alice"), &id("alice")), Ok(()));
        assert_eq!(
            ensure_acts_for(&user("alice"), &id("bob")),
            Err(DomainError::NotOwner)
        );
        // Being an admin does not open another user's task path.
        assert_eq!(
            ensure_acts_for(&admin("root"), &id("bob")),
            Err(DomainError::NotOwner)
        );
        // Ids are compared exactly: no case folding, no trimming.
        assert_eq!(
            ensure_acts_for(&user("alice"), &id("Alice")),
            Err(DomainError::NotOwner)
        );
    }

    #[test]
    fn admin_operations_need_the_admin_role() {
        assert_eq!(ensure_admin(&admin("root")), Ok(()));
        assert_eq!(ensure_admin(&user("alice")), Err(DomainError::NotAdmin));
    }

    #[test]
    fn bans_are_enforced_until_they_expire() {
        let now = chrono::Utc.timestamp_opt(1_000, 0).unwrap();
        let mut u = User {
            id: id("alice"),
            email: "a@example.com".into(),
            name: "A".into(),
            roles: RoleList::user(),
            banned: true,
            ban_expires: None,
            created_at: now,
        };
        assert_eq!(
            ensure_not_banned(&u, now),
            Err(DomainError::Banned { until: None })
        );
        let later = chrono::Utc.timestamp_opt(2_000, 0).unwrap();
        u.ban_expires = Some(later);
        assert_eq!(
            ensure_not_banned(&u, now).unwrap_err().to_string(),
            "this account is banned until 1970-01-01T00:33:20Z"
        );
        assert_eq!(ensure_not_banned(&u, later), Ok(()));
        u.banned = false;
        u.ban_expires = None;
        assert_eq!(ensure_not_banned(&u, now), Ok(()));
    }

    #[test]
    fn admins_cannot_delete_themselves() {
        assert_eq!(
            ensure_can_delete_user(&admin("root"), &id("bob"), false, 1),
            Ok(())
        );
        assert_eq!(
            ensure_can_delete_user(&admin("root"), &id("root"), true, 2),
            Err(DomainError::CannotDeleteSelf)
        );
        assert_eq!(
            ensure_can_delete_user(&user("alice"), &id("bob"), false, 1),
            Err(DomainError::NotAdmin)
        );
    }

    #[test]
    fn an_admin_remains_after_every_write() {
        for target_is_admin in [false, true] {
            for stays_admin in [false, true] {
                for admins in 0..=3 {
                    let refused = target_is_admin && !stays_admin && admins <= 1;
                    assert_eq!(
                        ensure_an_admin_remains(target_is_admin, stays_admin, admins),
                        if refused {
                            Err(DomainError::LastAdmin)
                        } else {
                            Ok(())
                        },
                        "target_is_admin {target_is_admin}, stays_admin {stays_admin}, \
                         admins {admins}"
                    );
                }
            }
        }
        // Named cases. The only admin loses the role, or is deleted: refused.
        assert_eq!(
            ensure_an_admin_remains(true, false, 1),
            Err(DomainError::LastAdmin)
        );
        // A count that no longer includes the target (read after someone else's write)
        // refuses too rather than letting the last admin go.
        assert_eq!(
            ensure_an_admin_remains(true, false, 0),
            Err(DomainError::LastAdmin)
        );
        // Another admin remains: the target may go.
        assert_eq!(ensure_an_admin_remains(true, false, 2), Ok(()));
        // Plain users come and go even when there is no admin at all.
        assert_eq!(ensure_an_admin_remains(false, false, 0), Ok(()));
    }

    #[test]
    fn deleting_the_last_admin_is_refused() {
        let root = admin("root");
        for target_is_admin in [false, true] {
            for admins in 0..=3 {
                // Deleting oneself is refused whatever the count.
                assert_eq!(
                    ensure_can_delete_user(&root, &id("root"), target_is_admin, admins),
                    Err(DomainError::CannotDeleteSelf)
                );
                // Deleting another: refused only when they are the last admin.
                let expected = if target_is_admin && admins <= 1 {
                    Err(DomainError::LastAdmin)
                } else {
                    Ok(())
                };
                assert_eq!(
                    ensure_can_delete_user(&root, &id("other"), target_is_admin, admins),
                    expected,
                    "target_is_admin {target_is_admin}, admins {admins}"
                );
                // Non-admins are refused before anything else.
                assert_eq!(
                    ensure_can_delete_user(&user("alice"), &id("alice"), target_is_admin, admins),
                    Err(DomainError::NotAdmin)
                );
            }
        }
        // Both admins: one may delete the other.
        assert_eq!(ensure_can_delete_user(&root, &id("other"), true, 2), Ok(()));
        // The caller lost the role meanwhile and the other admin is the only one left.
        assert_eq!(
            ensure_can_delete_user(&root, &id("other"), true, 1),
            Err(DomainError::LastAdmin)
        );
    }

    #[test]
    fn the_last_admin_keeps_the_role() {
        let root = admin("root");
        // Demoting the only admin (possibly oneself) is refused.
        assert_eq!(
            ensure_can_change_role(&root, true, false, 1),
            Err(DomainError::LastAdmin)
        );
        // With another admin left it is fine.
        assert_eq!(ensure_can_change_role(&root, true, false, 2), Ok(()));
        // Keeping or granting admin is always fine.
        assert_eq!(ensure_can_change_role(&root, true, true, 1), Ok(()));
        assert_eq!(ensure_can_change_role(&root, false, true, 1), Ok(()));
        assert_eq!(ensure_can_change_role(&root, false, false, 1), Ok(()));
        assert_eq!(
            ensure_can_change_role(&user("alice"), false, true, 1),
            Err(DomainError::NotAdmin)
        );
    }
}
