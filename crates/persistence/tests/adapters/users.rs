use sea_orm::ConnectionTrait;
use todo_application::ports::{GuardedWrite, TaskRepository, UserRepository};
use todo_domain::{AdminRoles, RoleList};
use todo_persistence::{SeaTaskRepository, SeaUserRepository};

use crate::harness::*;

on_both!(users_are_created_once, |t: Ctx| async move {
    let users = SeaUserRepository::new(t.db.clone());
    assert!(
        users
            .create_if_absent(&user("alice", Some("admin"), 5))
            .await
            .unwrap()
    );
    assert!(
        !users
            .create_if_absent(&user("alice", None, 6))
            .await
            .unwrap()
    );
    let alice = users.find(&uid("alice")).await.unwrap().unwrap();
    assert_eq!(alice, user("alice", Some("admin"), 5), "{}", t.backend);
    // Another id with the same e-mail address breaks Better Auth's unique e-mail.
    let mut twin = user("alice2", None, 7);
    twin.email = "alice@example.com".to_owned();
    let err = users.create_if_absent(&twin).await.unwrap_err();
    assert!(
        matches!(err, todo_application::ports::PortError::Conflict(_)),
        "{}: {err:?}",
        t.backend
    );
    assert_eq!(users.find(&uid("ghost")).await.unwrap(), None);
});

on_both!(
    null_roles_and_bans_read_as_plain_users,
    |t: Ctx| async move {
        t.db.execute_unprepared(
        r#"INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt", role, banned)
           VALUES ('ba1', 'Ada', 'ada@example.com', false, '2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z', NULL, NULL)"#,
    )
    .await
    .unwrap();
        let ada = SeaUserRepository::new(t.db.clone())
            .find(&uid("ba1"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ada.roles, RoleList::user(), "{}", t.backend);
        assert!(!ada.banned);
    }
);

on_both!(
    bans_are_read_from_the_admin_plugin_columns,
    |t: Ctx| async move {
        let users = SeaUserRepository::new(t.db.clone());
        users.create_if_absent(&user("eve", None, 1)).await.unwrap();
        t.db.execute_unprepared(
        r#"UPDATE "user" SET banned = true, "banExpires" = '2099-01-01T00:00:00Z' WHERE id = 'eve'"#,
    )
    .await
    .unwrap();
        let eve = users.find(&uid("eve")).await.unwrap().unwrap();
        assert!(eve.banned, "{}", t.backend);
        assert_eq!(
            eve.ban_expires,
            Some(
                chrono::DateTime::parse_from_rfc3339("2099-01-01T00:00:00Z")
                    .unwrap()
                    .into()
            )
        );
    }
);

on_both!(users_are_listed_a_page_at_a_time, |t: Ctx| async move {
    let users = SeaUserRepository::new(t.db.clone());
    for (id, created) in [("c", 2), ("a", 1), ("b", 2), ("d", 3)] {
        users
            .create_if_absent(&user(id, None, created))
            .await
            .unwrap();
    }
    let first = users.list(2, None).await.unwrap();
    let ids: Vec<&str> = first.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"], "{}", t.backend);
    let last = first.last().unwrap();
    let rest = users
        .list(10, Some((last.created_at, last.id.clone())))
        .await
        .unwrap();
    let ids: Vec<&str> = rest.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["c", "d"], "{}", t.backend);
});

on_both!(
    admins_are_found_in_comma_separated_roles,
    |t: Ctx| async move {
        let users = SeaUserRepository::new(t.db.clone());
        for (id, role) in [
            ("plain", Some("user")),
            ("both", Some("user,admin")),
            ("spaced", Some("user, admin")),
            ("near", Some("administrator")),
            ("root", Some("admin")),
            ("none", None),
        ] {
            users.create_if_absent(&user(id, role, 1)).await.unwrap();
        }
        let mut admins: Vec<String> = users
            .admins(&AdminRoles::default())
            .await
            .unwrap()
            .into_iter()
            .map(|id| id.as_str().to_owned())
            .collect();
        admins.sort();
        assert_eq!(admins, ["both", "root", "spaced"], "{}", t.backend);

        // Configured names are matched literally, LIKE's wildcards included.
        for (id, role) in [
            ("sup", "user,super_admin"),
            ("supx", "superXadmin"),
            ("pct", "100%"),
            ("pctx", "100x"),
        ] {
            users
                .create_if_absent(&user(id, Some(role), 1))
                .await
                .unwrap();
        }
        let custom = AdminRoles::new(["super_admin".to_owned(), "100%".to_owned()]);
        let mut admins: Vec<String> = users
            .admins(&custom)
            .await
            .unwrap()
            .into_iter()
            .map(|id| id.as_str().to_owned())
            .collect();
        admins.sort();
        assert_eq!(admins, ["pct", "sup"], "{}", t.backend);
    }
);

on_both!(roles_are_replaced, |t: Ctx| async move {
    let users = SeaUserRepository::new(t.db.clone());
    users
        .create_if_absent(&user("alice", None, 1))
        .await
        .unwrap();
    let roles = RoleList::parse("user,admin").unwrap();
    assert!(users.set_role(&uid("alice"), &roles).await.unwrap());
    assert_eq!(
        users.find(&uid("alice")).await.unwrap().unwrap().roles,
        roles
    );
    assert!(
        !users.set_role(&uid("ghost"), &roles).await.unwrap(),
        "{}",
        t.backend
    );
});

on_both!(
    deleting_a_user_takes_tasks_and_sessions,
    |t: Ctx| async move {
        let users = SeaUserRepository::new(t.db.clone());
        let tasks = SeaTaskRepository::new(t.db.clone());
        users
            .create_if_absent(&user("alice", None, 1))
            .await
            .unwrap();
        users.create_if_absent(&user("bob", None, 1)).await.unwrap();
        inbox_in(&t.db, "alice").await;
        tasks
            .insert(&task("alice", 1, "a", at(5)), None)
            .await
            .unwrap();
        inbox_in(&t.db, "bob").await;
        tasks
            .insert(&task("bob", 2, "b", at(5)), None)
            .await
            .unwrap();
        t.db.execute_unprepared(
        r#"INSERT INTO session (id, "expiresAt", token, "createdAt", "updatedAt", "userId")
           VALUES ('s1', '2099-01-01T00:00:00Z', 'tok', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'alice')"#,
    )
    .await
    .unwrap();
        assert!(
            users
                .delete(&uid("alice"), &uid("root"), at(90))
                .await
                .unwrap()
        );
        assert!(
            !users
                .delete(&uid("alice"), &uid("root"), at(90))
                .await
                .unwrap()
        );
        assert_eq!(users.find(&uid("alice")).await.unwrap(), None);
        assert_eq!(tasks.read(&uid("alice"), tid(1)).await, None);
        assert!(
            tasks.read(&uid("bob"), tid(2)).await.is_some(),
            "{}",
            t.backend
        );
        let sessions =
            t.db.query_all_raw(sea_orm::Statement::from_string(
                t.db.get_database_backend(),
                "SELECT id FROM session",
            ))
            .await
            .unwrap();
        assert!(sessions.is_empty(), "{}: the sessions went too", t.backend);
    }
);

/// The ids of the admins, sorted.
async fn admin_ids(users: &SeaUserRepository, admin_roles: &AdminRoles) -> Vec<String> {
    let mut ids: Vec<String> = users
        .admins(admin_roles)
        .await
        .unwrap()
        .into_iter()
        .map(|id| id.as_str().to_owned())
        .collect();
    ids.sort();
    ids
}

on_both!(
    guarded_writes_never_take_the_last_admin,
    |t: Ctx| async move {
        let users = SeaUserRepository::new(t.db.clone());
        let tasks = SeaTaskRepository::new(t.db.clone());
        let admins = AdminRoles::default();
        let user_role = RoleList::user();
        for (id, role) in [
            ("root", Some("admin")),
            ("bob", Some("user")),
            // LIKE finds it, but it is no admin: it must not count.
            ("near", Some("administrator")),
        ] {
            users.create_if_absent(&user(id, role, 1)).await.unwrap();
        }
        inbox_in(&t.db, "root").await;
        tasks
            .insert(&task("root", 1, "kept", at(5)), None)
            .await
            .unwrap();

        // The only admin can neither lose the role nor be deleted; nothing is written.
        assert_eq!(
            users
                .set_role_keeping_an_admin(&uid("root"), &user_role, &admins)
                .await
                .unwrap(),
            GuardedWrite::LastAdmin,
            "{}",
            t.backend
        );
        assert_eq!(
            users
                .delete_keeping_an_admin(&uid("root"), &admins, &uid("root"), at(90))
                .await
                .unwrap(),
            GuardedWrite::LastAdmin,
            "{}",
            t.backend
        );
        assert_eq!(admin_ids(&users, &admins).await, ["root"]);
        assert!(tasks.read(&uid("root"), tid(1)).await.is_some());
        // Keeping an admin role among others is no demotion.
        let more = RoleList::parse("admin,editor").unwrap();
        assert_eq!(
            users
                .set_role_keeping_an_admin(&uid("root"), &more, &admins)
                .await
                .unwrap(),
            GuardedWrite::Written
        );
        assert_eq!(users.find(&uid("root")).await.unwrap().unwrap().roles, more);
        // Plain users change and go freely.
        let editor = RoleList::parse("editor").unwrap();
        assert_eq!(
            users
                .set_role_keeping_an_admin(&uid("bob"), &editor, &admins)
                .await
                .unwrap(),
            GuardedWrite::Written
        );
        assert_eq!(
            users.find(&uid("bob")).await.unwrap().unwrap().roles,
            editor
        );
        assert_eq!(
            users
                .delete_keeping_an_admin(&uid("near"), &admins, &uid("root"), at(90))
                .await
                .unwrap(),
            GuardedWrite::Written
        );
        assert_eq!(users.find(&uid("near")).await.unwrap(), None);
        // No such user.
        assert_eq!(
            users
                .set_role_keeping_an_admin(&uid("ghost"), &user_role, &admins)
                .await
                .unwrap(),
            GuardedWrite::NotFound
        );
        assert_eq!(
            users
                .delete_keeping_an_admin(&uid("ghost"), &admins, &uid("root"), at(90))
                .await
                .unwrap(),
            GuardedWrite::NotFound
        );

        // With a second admin, either may go; then the other is the last.
        users
            .create_if_absent(&user("second", Some("user, admin"), 2))
            .await
            .unwrap();
        assert_eq!(
            users
                .set_role_keeping_an_admin(&uid("root"), &user_role, &admins)
                .await
                .unwrap(),
            GuardedWrite::Written,
            "{}",
            t.backend
        );
        assert_eq!(admin_ids(&users, &admins).await, ["second"]);
        assert_eq!(
            users
                .delete_keeping_an_admin(&uid("second"), &admins, &uid("root"), at(90))
                .await
                .unwrap(),
            GuardedWrite::LastAdmin
        );
        users
            .set_role(&uid("root"), &RoleList::parse("admin").unwrap())
            .await
            .unwrap();
        assert_eq!(
            users
                .delete_keeping_an_admin(&uid("root"), &admins, &uid("root"), at(90))
                .await
                .unwrap(),
            GuardedWrite::Written
        );
        // The user went with their tasks.
        assert_eq!(users.find(&uid("root")).await.unwrap(), None);
        assert_eq!(tasks.read(&uid("root"), tid(1)).await, None);

        // Admins are whoever holds a configured admin role: under "owner" there is none,
        // and plain users still change freely.
        let owners = AdminRoles::new(["owner".to_owned()]);
        assert_eq!(
            users
                .set_role_keeping_an_admin(&uid("second"), &user_role, &owners)
                .await
                .unwrap(),
            GuardedWrite::Written,
            "{}",
            t.backend
        );
    }
);

/// Two writes the last-admin rule guards, one for each of the only two admins.
#[derive(Debug, Clone, Copy)]
enum Race {
    BothDemoted,
    BothDeleted,
    OneDemotedOneDeleted,
}

async fn guarded(
    users: &SeaUserRepository,
    id: &str,
    delete: bool,
    admins: &AdminRoles,
) -> GuardedWrite {
    if delete {
        users
            .delete_keeping_an_admin(&uid(id), admins, &uid("root"), at(90))
            .await
    } else {
        users
            .set_role_keeping_an_admin(&uid(id), &RoleList::user(), admins)
            .await
    }
    .unwrap()
}

on_both!(
    racing_guarded_writes_leave_exactly_one_admin,
    sqlite_file,
    |t: Ctx| async move {
        const ROUNDS: usize = 30;
        let users = SeaUserRepository::new(t.db.clone());
        let admins = AdminRoles::default();
        let admin = RoleList::parse("admin").unwrap();
        for race in [
            Race::BothDemoted,
            Race::BothDeleted,
            Race::OneDemotedOneDeleted,
        ] {
            let (delete_x, delete_y) = match race {
                Race::BothDemoted => (false, false),
                Race::BothDeleted => (true, true),
                Race::OneDemotedOneDeleted => (false, true),
            };
            for round in 0..ROUNDS {
                for id in ["x", "y"] {
                    if !users
                        .create_if_absent(&user(id, Some("admin"), 1))
                        .await
                        .unwrap()
                    {
                        users.set_role(&uid(id), &admin).await.unwrap();
                    }
                }
                // Separate connections, both writes in flight at once.
                let (x, y) = tokio::join!(
                    guarded(&users, "x", delete_x, &admins),
                    guarded(&users, "y", delete_y, &admins),
                );
                let left = admin_ids(&users, &admins).await;
                let context = format!(
                    "{}, {race:?}, round {round}: x {x:?}, y {y:?}, admins left {left:?}",
                    t.backend
                );
                let mut outcomes = [x, y];
                outcomes.sort_by_key(|o| *o == GuardedWrite::Written);
                assert_eq!(
                    outcomes,
                    [GuardedWrite::LastAdmin, GuardedWrite::Written],
                    "exactly one write goes through: {context}"
                );
                let survivor = if x == GuardedWrite::Written { "y" } else { "x" };
                assert_eq!(left, [survivor], "the other stays the admin: {context}");
            }
        }
    }
);
