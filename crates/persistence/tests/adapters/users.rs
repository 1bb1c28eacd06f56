use sea_orm::ConnectionTrait;
use todo_application::ports::{TaskRepository, UserRepository};
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
        tasks.insert(&task("alice", 1, "a", at(5))).await.unwrap();
        tasks.insert(&task("bob", 2, "b", at(5))).await.unwrap();
        t.db.execute_unprepared(
        r#"INSERT INTO session (id, "expiresAt", token, "createdAt", "updatedAt", "userId")
           VALUES ('s1', '2099-01-01T00:00:00Z', 'tok', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'alice')"#,
    )
    .await
    .unwrap();
        assert!(users.delete(&uid("alice")).await.unwrap());
        assert!(!users.delete(&uid("alice")).await.unwrap());
        assert_eq!(users.find(&uid("alice")).await.unwrap(), None);
        assert_eq!(tasks.get(&uid("alice"), tid(1)).await.unwrap(), None);
        assert!(
            tasks.get(&uid("bob"), tid(2)).await.unwrap().is_some(),
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
