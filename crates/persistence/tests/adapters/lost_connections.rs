//! PostgreSQL ending our connections, as a restart or failover does (57P01 admin_shutdown
//! from `pg_terminate_backend`): the operation that meets it is `Unavailable`, and no
//! connection that sat idle through it is handed out again.

use sea_orm::ConnectionTrait;
use sea_orm::sqlx::Row;
use todo_application::ports::{PortError, UserRepository};
use todo_persistence::{PoolSettings, SeaUserRepository};

use crate::harness::*;

#[test]
fn connections_the_server_ended_are_unavailable_once_then_replaced() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if pooler_url().is_some() {
            // Through a pooler our connections end at the pooler, which absorbs the loss of
            // its server connections: nothing of ours is ended, so nothing to observe.
            eprintln!("skipped through a pooler: the server ends the pooler's connections");
            return;
        }
        let Some(pg) = postgres().await else { return };
        todo_persistence::migrate(&pg.db).await.unwrap();
        let settings = PoolSettings {
            max_connections: 2,
            ..PoolSettings::default()
        };
        let db = todo_persistence::connect(&pg.url, &settings).await.unwrap();
        let users = SeaUserRepository::new(db.clone());
        users
            .create_if_absent(&user("alice", None, 5))
            .await
            .unwrap();

        // Two connections, both idle in the pool, whose server processes we know.
        let pool = db.get_postgres_connection_pool();
        let mut first = pool.acquire().await.unwrap();
        let mut second = pool.acquire().await.unwrap();
        let mut pids = Vec::new();
        for conn in [&mut first, &mut second] {
            let row = sea_orm::sqlx::query("SELECT pg_backend_pid()")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            pids.push(row.get::<i32, _>(0));
        }
        drop((first, second));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while pool.num_idle() < 2 {
            assert!(std::time::Instant::now() < deadline, "connections not back");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }

        // The server ends both, as `pg_ctl stop -m fast` or a failover would.
        let admin = todo_persistence::connect(&base_url(), &PoolSettings::default())
            .await
            .unwrap();
        for pid in &pids {
            admin
                .execute_unprepared(&format!("SELECT pg_terminate_backend({pid})"))
                .await
                .unwrap();
        }
        admin.close().await.ok();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;

        // The next operation meets a dead connection: unavailable (a 503), not a failure.
        let err = users.find(&uid("alice")).await.unwrap_err();
        assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
        // The other dead connection is tested and discarded: the next one works.
        let alice = users.find(&uid("alice")).await.unwrap();
        assert!(alice.is_some());
        let again = users.find(&uid("alice")).await.unwrap();
        assert!(again.is_some());
    });
}
