//! Users as the service sees them: Better Auth's user row, its roles, and the
//! authenticated caller.

use crate::error::{DomainError, InvalidReason};
use crate::ids::UserId;
use crate::time::Timestamp;

/// The roles stored in Better Auth's `"user".role` column.
///
/// Better Auth's admin plugin allows several roles separated by commas (`"user,admin"`);
/// a missing (NULL) or blank role means the plain `user` role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleList(Vec<String>);

impl RoleList {
    /// Longest role name accepted when a role is set through this service.
    pub const MAX_NAME_CHARS: usize = 50;

    /// Reads a stored role column leniently: whatever Better Auth or an operator wrote is kept.
    #[must_use]
    pub fn from_stored(raw: Option<&str>) -> Self {
        let names: Vec<String> = raw
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect();
        if names.is_empty() {
            Self::user()
        } else {
            Self(names)
        }
    }

    /// Parses a role list given by a client: one or more comma-separated names, each
    /// 1–50 characters of lower-case letters, digits, `_` or `-`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let bad = |reason| Err(DomainError::invalid("role", reason));
        let mut names: Vec<String> = Vec::new();
        for name in raw.split(',').map(str::trim) {
            if name.is_empty() {
                return bad(InvalidReason::Empty);
            }
            if name.chars().count() > Self::MAX_NAME_CHARS {
                return bad(InvalidReason::TooLong {
                    max: Self::MAX_NAME_CHARS,
                });
            }
            if !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
            {
                return bad(InvalidReason::Malformed(
                    "a comma-separated list of role names made of a-z, 0-9, '_' and '-'",
                ));
            }
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        Ok(Self(names))
    }

    /// The plain `user` role.
    #[must_use]
    pub fn user() -> Self {
        Self(vec!["user".to_owned()])
    }

    #[must_use]
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// The comma-separated form, as stored.
    #[must_use]
    pub fn to_stored(&self) -> String {
        self.0.join(",")
    }

    #[must_use]
    pub fn is_admin(&self, admin_roles: &AdminRoles) -> bool {
        self.0.iter().any(|r| admin_roles.contains(r))
    }

    /// This list with the first admin role added (no-op when already admin).
    #[must_use]
    pub fn promoted(&self, admin_roles: &AdminRoles) -> Self {
        if self.is_admin(admin_roles) {
            return self.clone();
        }
        let mut names = self.0.clone();
        names.push(admin_roles.primary().to_owned());
        Self(names)
    }
}

/// The role names that make a user an admin (configurable; default `["admin"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRoles(Vec<String>);

impl AdminRoles {
    /// Builds the set; an empty list falls back to `["admin"]` so there is always a way to
    /// be an admin.
    #[must_use]
    pub fn new<I: IntoIterator<Item = String>>(names: I) -> Self {
        let names: Vec<String> = names
            .into_iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            Self::default()
        } else {
            Self(names)
        }
    }

    #[must_use]
    pub fn contains(&self, role: &str) -> bool {
        self.0.iter().any(|r| r == role)
    }

    /// The role written when this service makes someone an admin.
    #[must_use]
    pub fn primary(&self) -> &str {
        self.0.first().map_or("admin", String::as_str)
    }

    #[must_use]
    pub fn names(&self) -> &[String] {
        &self.0
    }
}

impl Default for AdminRoles {
    fn default() -> Self {
        Self(vec!["admin".to_owned()])
    }
}

/// A row of Better Auth's `"user"` table, as far as this service cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub roles: RoleList,
    /// Better Auth admin plugin: `banned` (NULL = not banned).
    pub banned: bool,
    /// Better Auth admin plugin: when the ban ends (NULL = never, while banned).
    pub ban_expires: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl User {
    /// Whether a ban is in force at `now`.
    #[must_use]
    pub fn is_banned_at(&self, now: Timestamp) -> bool {
        self.banned && self.ban_expires.is_none_or(|until| until > now)
    }
}

/// An authenticated caller, as resolved from a credential and the user's row: who, and
/// whether their roles make them an admin (all any rule asks of the roles; the roles
/// themselves stay on the user's row, not copied into every request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub is_admin: bool,
}

impl Principal {
    #[must_use]
    pub fn new(user_id: UserId, roles: &RoleList, admin_roles: &AdminRoles) -> Self {
        Self {
            user_id,
            is_admin: roles.is_admin(admin_roles),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(secs, 0).unwrap()
    }

    #[test]
    fn stored_roles_default_to_user() {
        assert_eq!(RoleList::from_stored(None), RoleList::user());
        assert_eq!(RoleList::from_stored(Some("")), RoleList::user());
        assert_eq!(RoleList::from_stored(Some(" , ")), RoleList::user());
    }

    #[test]
    fn any_configured_admin_role_in_a_comma_list_makes_an_admin() {
        let admins = AdminRoles::default();
        assert!(RoleList::from_stored(Some("admin")).is_admin(&admins));
        assert!(RoleList::from_stored(Some("user, admin")).is_admin(&admins));
        assert!(!RoleList::from_stored(Some("user")).is_admin(&admins));
        assert!(!RoleList::from_stored(Some("administrator")).is_admin(&admins));
        let custom = AdminRoles::new(["owner".to_owned(), "superadmin".to_owned()]);
        assert!(RoleList::from_stored(Some("user,superadmin")).is_admin(&custom));
        assert!(!RoleList::from_stored(Some("admin")).is_admin(&custom));
    }

    #[test]
    fn empty_admin_role_config_falls_back_to_admin() {
        assert_eq!(AdminRoles::new(Vec::new()), AdminRoles::default());
        assert_eq!(AdminRoles::new([" ".to_owned()]).primary(), "admin");
    }

    #[test]
    fn client_role_lists_are_checked() {
        assert_eq!(RoleList::parse("admin").unwrap().to_stored(), "admin");
        assert_eq!(
            RoleList::parse("user, admin,user").unwrap().to_stored(),
            "user,admin"
        );
        assert!(RoleList::parse("").is_err());
        assert!(RoleList::parse("user,,admin").is_err());
        assert!(RoleList::parse("Admin").is_err());
        assert!(RoleList::parse("ad min").is_err());
        assert!(RoleList::parse("x'; drop table").is_err());
        assert!(RoleList::parse(&"a".repeat(51)).is_err());
    }

    #[test]
    fn promotion_adds_the_primary_admin_role_once() {
        let admins = AdminRoles::default();
        assert_eq!(RoleList::user().promoted(&admins).to_stored(), "user,admin");
        let already = RoleList::from_stored(Some("admin"));
        assert_eq!(already.promoted(&admins), already);
    }

    #[test]
    fn bans_end_when_they_expire() {
        let mut user = User {
            id: UserId::parse("u").unwrap(),
            email: "u@example.com".into(),
            name: "U".into(),
            roles: RoleList::user(),
            banned: false,
            ban_expires: None,
            created_at: at(0),
        };
        assert!(!user.is_banned_at(at(10)));
        user.banned = true;
        assert!(
            user.is_banned_at(at(10)),
            "a ban without expiry is permanent"
        );
        user.ban_expires = Some(at(20));
        assert!(user.is_banned_at(at(19)));
        assert!(!user.is_banned_at(at(20)));
        assert!(!user.is_banned_at(at(21)));
    }
}
