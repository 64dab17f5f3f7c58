import type { Queryable } from "./sql.js";

/**
 * What a credential is: a machine's client secret, machine key, or personal access token (owner: the
 * user), or an API application's client secret or key (owner: the app's project).
 */
export type CredentialKindName = "secret" | "key" | "pat" | "app_secret" | "app_key";

/**
 * The credential id under which an app secret's use is kept: the app and the secret (the sequence of
 * the event that set it), so a regenerated secret starts unused. App keys are kept by their key id.
 */
export const appSecretCredId = (appId: string, secretId: string) => `${appId}:${secretId}`;

/**
 * When each credential was last used, to the minute, without a database write per use: uses are
 * gathered in memory (`touch`, a Map lookup on the token path) and written at most once per
 * interval per credential, one statement for all of them, keeping the latest minute on conflict
 * (GREATEST), so several processes on one database end with the latest use any of them saw. The
 * last uses are flushed on graceful shutdown (close). Not a projection: no event records a use, and
 * `projections rebuild` leaves the table alone.
 */
export interface LastUsed {
  touch(instanceId: string, kind: CredentialKindName, userId: string, credId: string, nowMs: number): void;
  /** Writes the pending uses; resolves to how many rows it wrote. */
  flush(): Promise<number>;
  /** Stops the timer and writes what is pending. */
  close(): Promise<void>;
  /** Rows written since start (for tests and the benchmark). */
  readonly writes: number;
}

const MINUTE = 60_000;
const BATCH = 500;

interface Pending {
  instanceId: string;
  kind: CredentialKindName;
  userId: string;
  credId: string;
  minute: number;
}

export function createLastUsed(
  db: Queryable,
  opts: { intervalMs: number; enabled: boolean; onError?: (e: unknown) => void },
): LastUsed & { /** Credentials remembered as written in the current minute (bounded by the credentials used in it; for tests). */ readonly tracked: number } {
  const pending = new Map<string, Pending>();
  /**
   * The minute last written (or being written) per credential: a use within it needs no write. An
   * entry for an earlier minute saves nothing (the next use writes anyway), so entries are dropped
   * when the minute turns: without that, every credential ever used (a rotated secret, a removed
   * PAT) stayed here for the life of the process.
   */
  const written = new Map<string, number>();
  let currentMinute = -Infinity;
  const forgetEarlierMinutes = (minute: number) => {
    currentMinute = minute;
    for (const [key, m] of written) if (m < minute) written.delete(key);
  };
  let writes = 0;
  let flushing: Promise<number> | undefined;

  async function write(batch: Pending[]): Promise<number> {
    const values: string[] = [];
    const params: unknown[] = [];
    for (const p of batch) {
      const i = params.length;
      values.push(`($${i + 1}, $${i + 2}, $${i + 3}, $${i + 4}, $${i + 5})`);
      params.push(p.instanceId, p.kind, p.userId, p.credId, new Date(p.minute));
    }
    await db.query(
      `INSERT INTO credential_last_used AS l (instance_id, kind, user_id, cred_id, last_used) VALUES ${values.join(", ")}
       ON CONFLICT (instance_id, kind, user_id, cred_id) DO UPDATE SET last_used = GREATEST(l.last_used, EXCLUDED.last_used)`,
      params,
    );
    return batch.length;
  }

  async function flushNow(): Promise<number> {
    if (pending.size === 0) return 0;
    const all = [...pending.values()];
    pending.clear();
    let n = 0;
    try {
      for (let i = 0; i < all.length; i += BATCH) n += await write(all.slice(i, i + BATCH));
    } catch (e) {
      // Kept for the next round (a newer use of the same credential wins).
      for (const p of all) {
        const key = keyOf(p.instanceId, p.kind, p.userId, p.credId);
        const newer = pending.get(key);
        if (!newer || newer.minute < p.minute) pending.set(key, p);
        written.delete(key);
      }
      throw e;
    }
    writes += n;
    return n;
  }

  const flush = (): Promise<number> => {
    flushing ??= flushNow().finally(() => (flushing = undefined));
    return flushing;
  };

  const timer = opts.enabled ? setInterval(() => void flush().catch((e: unknown) => opts.onError?.(e)), opts.intervalMs) : undefined;
  timer?.unref();

  return {
    touch(instanceId, kind, userId, credId, nowMs) {
      if (!opts.enabled) return;
      const minute = nowMs - (nowMs % MINUTE);
      if (minute > currentMinute) forgetEarlierMinutes(minute);
      const key = keyOf(instanceId, kind, userId, credId);
      const w = written.get(key);
      if (w !== undefined && w >= minute) return;
      written.set(key, minute);
      pending.set(key, { instanceId, kind, userId, credId, minute });
    },
    flush,
    async close() {
      if (timer) clearInterval(timer);
      await flush();
    },
    get writes() {
      return writes;
    },
    get tracked() {
      return written.size;
    },
  };
}

const keyOf = (instanceId: string, kind: string, userId: string, credId: string) => `${instanceId}\u0000${kind}\u0000${userId}\u0000${credId}`;
