import type { AggregateType, StoredEvent } from "../domain/events.js";
import { reduceInstance, reduceOrg, type InstanceState, type OrgState } from "../domain/org.js";
import { reduceUser, type UserState } from "../domain/user.js";
import { aggregateKey, EVENTS_CHANNEL, type EventStore } from "../store/event-store.js";

export type StateOf<T extends AggregateType> = T extends "user" ? UserState : T extends "org" ? OrgState : InstanceState;

const reducers = {
  user: reduceUser,
  org: reduceOrg,
  instance: reduceInstance,
} as const;

/**
 * Reduced aggregates held in memory, so that authenticating a token or a secret needs no database
 * read in the common case. Invalidation is precise: every committed push evicts the aggregates it
 * touched — in this process synchronously before the write is acknowledged, in other processes
 * sharing the database through LISTEN/NOTIFY. A dropped LISTEN connection clears everything.
 *
 * Entries are loaded by replaying the aggregate's events, the same reducer the commands use.
 */
export interface AggregateCache {
  get<T extends AggregateType>(instanceId: string, type: T, id: string): Promise<StateOf<T>>;
  /** Drop everything (e.g. after a missed notification). */
  clear(): void;
  evict(instanceId: string, type: AggregateType, id: string): void;
  /** Username → user id lookups, cached with the same invalidation. */
  userIdByLoginName(instanceId: string, loginName: string): Promise<string | undefined>;
  readonly size: number;
  close(): Promise<void>;
}

export async function createAggregateCache(store: EventStore, opts: { maxEntries?: number } = {}): Promise<AggregateCache> {
  const maxEntries = opts.maxEntries ?? 200_000;
  const entries = new Map<string, unknown>();
  const loading = new Map<string, Promise<unknown>>();
  /** Bumped on every eviction of a key, so a load that raced an eviction is not kept. */
  let epoch = 0;
  const evictedAt = new Map<string, number>();
  const logins = new Map<string, string | null>();

  const evict = (key: string) => {
    entries.delete(key);
    loading.delete(key);
    evictedAt.set(key, ++epoch);
    if (evictedAt.size > 10_000) evictedAt.clear();
  };

  const onEvents = (keys: string[]) => {
    for (const k of keys) evict(k);
    // Usernames can appear, change or be released by any user event: forget the name index.
    if (keys.some((k) => k.startsWith("user:"))) logins.clear();
  };

  store.onCommitted((events: StoredEvent[]) => onEvents(events.map((e) => `${e.instanceId}/${aggregateKey(e.aggregateType, e.aggregateId)}`)));

  const clear = () => {
    entries.clear();
    loading.clear();
    logins.clear();
    epoch++;
    evictedAt.clear();
  };
  // Mark everything stale across the gap: a load that started before `clear` must not be kept.
  let clearedAtEpoch = 0;

  const unlisten = await store.sql.listen(
    EVENTS_CHANNEL,
    (payload) => {
      try {
        const msg = JSON.parse(payload) as { i: string; a: string[] };
        onEvents(msg.a.map((a) => `${msg.i}/${a}`));
      } catch {
        clear();
        clearedAtEpoch = epoch;
      }
    },
    () => {
      clear();
      clearedAtEpoch = epoch;
    },
  );

  async function load(instanceId: string, type: AggregateType, id: string, key: string) {
    const startEpoch = epoch;
    const events = await store.load(instanceId, type, id);
    const state = reducers[type](id, events);
    const ev = evictedAt.get(key);
    const stale = (ev !== undefined && ev > startEpoch) || clearedAtEpoch > startEpoch;
    if (!stale) {
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(key, state);
    }
    return state;
  }

  return {
    async get(instanceId, type, id) {
      const key = `${instanceId}/${type}:${id}`;
      const hit = entries.get(key);
      if (hit) return hit as never;
      let p = loading.get(key);
      if (!p) {
        p = load(instanceId, type, id, key).finally(() => loading.delete(key));
        loading.set(key, p);
      }
      return (await p) as never;
    },
    clear,
    evict: (instanceId, type, id) => evict(`${instanceId}/${type}:${id}`),
    async userIdByLoginName(instanceId, loginName) {
      const k = `${instanceId}/${loginName.toLowerCase()}`;
      const hit = logins.get(k);
      if (hit !== undefined) return hit ?? undefined;
      const startEpoch = epoch;
      const rows = await store.sql.query<{ id: string }>(
        "SELECT id FROM proj_users WHERE instance_id = $1 AND lower(username) = lower($2) LIMIT 2",
        [instanceId, loginName],
      );
      // A login name matching more than one user identifies no one (ZITADEL answers "client not found").
      const id = rows.length === 1 ? rows[0]!.id : null;
      if (epoch === startEpoch) {
        if (logins.size >= maxEntries) logins.clear();
        logins.set(k, id);
      }
      return id ?? undefined;
    },
    get size() {
      return entries.size;
    },
    close: unlisten,
  };
}
