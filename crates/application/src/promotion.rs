//! Promotion of the configured admin user (the `ADMIN_USER_ID` setting), shared by the
//! admin service and sign-in.

use todo_domain::{AdminRoles, User};

use crate::cache::UserCache;
use crate::error::ApplicationError;
use crate::ports::UserRepository;

/// Adds the primary admin role to `user` unless they are an admin already.
pub(crate) async fn promote_user(
    users: &dyn UserRepository,
    cache: &UserCache,
    admin_roles: &AdminRoles,
    mut user: User,
) -> Result<(User, bool), ApplicationError> {
    if user.roles.is_admin(admin_roles) {
        return Ok((user, false));
    }
    let roles = user.roles.promoted(admin_roles);
    users.set_role(&user.id, &roles).await?;
    cache.forget(&user.id);
    tracing::info!(user = %user.id, "configured admin user promoted to admin");
    user.roles = roles;
    Ok((user, true))
}
