import pg from "pg";
import { randomBytes } from "node:crypto";

export const PG_ADMIN_URL = process.env.PORTCULLIS_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A fresh PostgreSQL database for one test file; drop() removes it (terminating leftover connections). */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `portcullis_t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
