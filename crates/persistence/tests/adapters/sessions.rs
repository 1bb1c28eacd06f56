use sea_orm::ConnectionTrait;
use todo_application::ports::{JwksSource, SessionRepository, UserRepository};
use todo_persistence::{SeaJwksSource, SeaSessionRepository, SeaUserRepository};

use crate::harness::*;

on_both!(
    a_session_is_found_with_its_user_in_one_query,
    |t: Ctx| async move {
        let users = SeaUserRepository::new(t.db.clone());
        users
            .create_if_absent(&user("alice", Some("user,admin"), 1))
            .await
            .unwrap();
        t.db.execute_unprepared(
        r#"INSERT INTO session (id, "expiresAt", token, "createdAt", "updatedAt", "userId")
           VALUES ('s1', '2099-01-01T00:00:00Z', 'bvniPtqc6nEkDHoOovvuhuGN0t0vomv8', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'alice')"#,
    )
    .await
    .unwrap();
        let sessions = SeaSessionRepository::new(t.db.clone());
        let found = sessions
            .find_by_token("bvniPtqc6nEkDHoOovvuhuGN0t0vomv8")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            found.user,
            user("alice", Some("user,admin"), 1),
            "{}",
            t.backend
        );
        assert_eq!(
            found.expires_at,
            chrono::DateTime::parse_from_rfc3339("2099-01-01T00:00:00Z").unwrap()
        );
        assert_eq!(sessions.find_by_token("unknown").await.unwrap(), None);
        // A token is matched exactly, never as a pattern.
        assert_eq!(
            sessions
                .find_by_token("bvniPtqc6nEkDHoOovvuhuGN0t0vomv%")
                .await
                .unwrap(),
            None
        );
        users
            .delete(&uid("alice"), &uid("root"), at(90))
            .await
            .unwrap();
        assert_eq!(
            sessions
                .find_by_token("bvniPtqc6nEkDHoOovvuhuGN0t0vomv8")
                .await
                .unwrap(),
            None,
            "{}: deleting the user ends the session",
            t.backend
        );
    }
);

on_both!(public_keys_come_from_the_jwks_table, |t: Ctx| async move {
    let source = SeaJwksSource::new(t.db.clone());
    assert!(
        source.fetch().await.unwrap().is_empty(),
        "{}: no jwt plugin, no keys",
        t.backend
    );
    t.db.execute_unprepared(
        r#"CREATE TABLE jwks (id text NOT NULL PRIMARY KEY, "publicKey" text NOT NULL, "privateKey" text NOT NULL, "createdAt" timestamp NOT NULL, "expiresAt" timestamp, alg text, crv text)"#,
    )
    .await
    .unwrap();
    t.db.execute_unprepared(
        r#"INSERT INTO jwks (id, "publicKey", "privateKey", "createdAt", alg, crv)
           VALUES ('k1', '{"crv":"Ed25519","x":"33XuqKkfL7UJeKL04u1dV6k-IGkYQQ-GibYrwEvizvg","kty":"OKP"}', 'encrypted-private-key', '2026-01-01T00:00:00', 'EdDSA', 'Ed25519')"#,
    )
    .await
    .unwrap();
    let keys = source.fetch().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].kid, "k1");
    assert_eq!(keys[0].alg.as_deref(), Some("EdDSA"));
    assert!(keys[0].jwk.contains("Ed25519"));
    assert!(
        !keys[0].jwk.contains("encrypted"),
        "the private key is never read"
    );
});
