// Better Auth as a frontend deploys it: email + password, bearer, jwt and admin plugins
// (or without jwt), on PostgreSQL (one schema), served on loopback.
import http from "node:http";
import pg from "pg";
import { betterAuth } from "better-auth";
import { admin, bearer, jwt } from "better-auth/plugins";
import { toNodeHandler } from "better-auth/node";
import { getMigrations } from "better-auth/db/migration";

/**
 * Creates Better Auth on `schema` of `databaseUrl`, runs its programmatic migration
 * (unless `migrate: false`), and serves it on 127.0.0.1:`port`. `jwt: false` leaves the
 * `jwt` plugin out (it needs its own `jwks` table).
 * Returns `{ url, close, migrate, plan, auth }`; POSTs need `Origin: url`.
 */
export async function startBetterAuth({
  databaseUrl,
  schema,
  secret,
  port,
  migrate = true,
  jwt: withJwt = true,
}) {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`unsafe schema name ${schema}`);
  const url = `http://127.0.0.1:${port}`;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    options: `-c search_path=${schema}`,
    max: 4,
    connectionTimeoutMillis: 5_000,
  });
  const auth = betterAuth({
    database: pool,
    secret,
    baseURL: url,
    trustedOrigins: [url],
    emailAndPassword: { enabled: true },
    plugins: withJwt ? [bearer(), jwt(), admin()] : [bearer(), admin()],
    logger: { disabled: true },
  });

  /** What Better Auth's migration would do here: `{ toBeCreated, toBeAdded, … }`. */
  const plan = () => getMigrations(auth.options);

  /** Better Auth's own programmatic migration (idempotent). */
  const runMigration = async () => {
    const { runMigrations } = await plan();
    await runMigrations();
  };

  const server = http.createServer(toNodeHandler(auth));
  try {
    if (migrate) await runMigration();
    await new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }

  let closed = false;
  return {
    url,
    auth,
    migrate: runMigration,
    plan,
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}
