// The store a browser test runs on, and the two things the error scenarios do to it behind
// costsd's back: age a user's sessions (the `sessions` table of the contract) and fail it.
//   sqlite:   a file in the test's dir; failure = another process holds the database locked.
//   postgres: a throwaway cluster (lib/pg.mjs); failure = PostgreSQL stopped.
import path from 'node:path';
import { lockDatabase, sqlite } from './procs.mjs';
import { PgCluster } from './pg.mjs';

export async function openStore(kind, dir) {
  if (kind === 'sqlite') {
    const dbPath = path.join(dir, 'costs.db');
    return {
      kind,
      url: `sqlite:${dbPath}`,
      close: async () => {},
      ageSessions: (user, ns) => sqlite(dbPath, 'UPDATE sessions SET last_used_ns = last_used_ns - ? WHERE user_name = ?',
                                        [Number(ns), user]),
      async fail() {
        const lock = await lockDatabase(dbPath);
        return { how: `database locked by another process (${lock.how.split(' ')[1]})`, restore: lock.release };
      },
    };
  }
  if (kind === 'postgres') {
    const pg = new PgCluster();
    try {
      await pg.start();
    } catch (e) {
      await pg.remove();
      throw e;
    }
    return {
      kind,
      url: pg.url,
      close: () => pg.remove(),
      ageSessions(user, ns) {
        if (!/^[a-z]+$/.test(user)) throw new Error(`user name ${user}`);
        const rows = pg.psql(`UPDATE sessions SET last_used_ns = last_used_ns - ${BigInt(ns)} ` +
                             `WHERE user_name = '${user}' RETURNING 1`);
        return rows.split('\n').filter(Boolean).length;
      },
      async fail() {
        await pg.stopServer();
        return { how: 'PostgreSQL stopped', restore: () => pg.startServer() };
      },
    };
  }
  throw new Error(`--db ${kind}: sqlite or postgres`);
}
