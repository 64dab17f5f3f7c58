import type { AggregateType, StoredEvent } from "../../domain/events.js";
import { evolveInstance, evolveOrg, reduceInstance, reduceOrg, type InstanceState, type OrgState } from "../../domain/orgs/org.js";
import { evolvePolicy, reducePolicy, type PolicyState } from "../../domain/federation/policy.js";
import { evolveProject, reduceProject, type ProjectState } from "../../domain/projects/project.js";
import { evolveUserGrant, reduceUserGrant, type UserGrantState } from "../../domain/usergrants/user-grant.js";
import { UserEvents, evolveUser, reduceUser, type UserState } from "../../domain/users/user.js";
import { aggregateKey, type CommitNotice, type EventStore } from "../../store/event-store.js";
import { userGrantReads, type ActiveUserGrant, type UserGrantReads } from "../../store/read-models/user-grants.js";
import { userReads, type UserReads } from "../../store/read-models/users.js";
import { noMetrics, type Metrics } from "../../telemetry/instruments.js";
import { appReads, type AppReads } from "../../store/read-models/apps.js";

export type StateOf<T extends AggregateType> = T extends "user"
  ? UserState
  : T extends "org"
    ? OrgState
    : T extends "project"
      ? ProjectState
      : T extends "usergrant"
        ? UserGrantState
        : T extends "federation_policy"
          ? PolicyState
          : InstanceState;

const reducers = {
  user: reduceUser,
  org: reduceOrg,
  instance: reduceInstance,
  project: reduceProject,
  usergrant: reduceUserGrant,
  federation_policy: reducePolicy,
} as const;

const evolvers = {
  user: evolveUser,
  org: evolveOrg,
  instance: evolveInstance,
  project: evolveProject,
  usergrant: evolveUserGrant,
  federation_policy: evolvePolicy,
} as const;

/** User events that can add, rename or release a login name. */
const LOGIN_EVENTS = new Set<string>([UserEvents.machineAdded, UserEvents.humanAdded, UserEvents.usernameChanged, UserEvents.removed]);

/**
 * Reduced aggregates held in memory, so that authenticating a token or a secret needs no database
 * read in the common case. Invalidation is precise: every committed push evicts the aggregates it
 * touched — in this process synchronously before the write is acknowledged, in other processes
 * through the cluster's notifications (src/app/cluster.ts), which also decides whether the cache
 * may be trusted at all (`trusted`); an untrusted cache reads through to the database.
 *
 * Entries are loaded by replaying the aggregate's events: the same reducer the commands use.
 */
export interface AggregateCache {
  get<T extends AggregateType>(instanceId: string, type: T, id: string): Promise<StateOf<T>>;
  /** The cached state if there is one and the cache may be trusted now; never reads the database. */
  peek<T extends AggregateType>(instanceId: string, type: T, id: string): StateOf<T> | undefined;
  /** The cached state without a promise when there is one (peek), otherwise a promise of the loaded state (get). */
  current<T extends AggregateType>(instanceId: string, type: T, id: string): StateOf<T> | Promise<StateOf<T>>;
  /** Username → user id (case-insensitive), cached with the same invalidation. */
  userIdByLoginName(instanceId: string, loginName: string): Promise<string | undefined>;
  /** As userIdByLoginName from the cache only: null = known to be nobody, undefined = not cached. */
  peekUserIdByLoginName(instanceId: string, loginName: string): string | null | undefined;
  /**
   * The user's active user grants (the token claims' source), from the user-grant read model, kept
   * until any commit touches a user grant or an org (grant changes are rare; tokens are not).
   */
  activeGrantsOf(instanceId: string, userId: string): Promise<readonly ActiveUserGrant[]>;
  /** As activeGrantsOf from the cache only; undefined = not cached. */
  peekActiveGrantsOf(instanceId: string, userId: string): readonly ActiveUserGrant[] | undefined;
  /** An API app's client id → the id of its project (apps branch), cached: a client id never moves to another project. */
  projectIdByClientId(instanceId: string, clientId: string): Promise<string | undefined>;
  /** As projectIdByClientId from the cache only: null = no app has it, undefined = not cached. */
  peekProjectIdByClientId(instanceId: string, clientId: string): string | null | undefined;
  /**
   * A value derived from trust policies and bindings (federation read models) for an issuer,
   * computed by `load` and kept until any commit touches a trust policy or a user (bindings are user
   * events), here or in another process. `undefined` (no policy names the issuer) is never kept, so
   * unauthenticated tokens naming made-up issuers cannot fill the cache.
   */
  federation<T>(instanceId: string, issuer: string, load: () => Promise<T | undefined>): Promise<T | undefined>;
  evict(instanceId: string, type: AggregateType, id: string): void;
  /** Another process committed. */
  applyNotice(notice: CommitNotice): void;
  /** Drop everything (notifications may have been missed). */
  clear(): void;
  readonly size: number;
}

export interface CacheOptions {
  maxEntries?: number;
  /** While false, every lookup reads the database and nothing is kept. */
  trusted?: () => boolean;
  /** Where login names are looked up (deps.reads.users); by default the user read model over the store's database. */
  users?: Pick<UserReads, "idsByLoginName">;
  /** Where a user's active grants are read (deps.reads.userGrants); by default the read model over the store's database. */
  userGrants?: Pick<UserGrantReads, "activeFor">;
  /** Counts hits, misses (loads) and untrusted reads of get(). */
  metrics?: Metrics;
  /** Where app client ids are looked up (deps.reads.apps). */
  apps?: Pick<AppReads, "projectIdByClientId">;
}

/** Commits of these aggregate types may change whose grants are active: they drop every cached grant list. */
const GRANT_KEYS = /(^|\/)(usergrant|org):/;
/** Commits of these aggregate types may change trust policies or bindings: they drop every federation entry. */
const FEDERATION_KEYS = /(^|\/)(user|federation_policy):/;

export function createAggregateCache(store: EventStore, opts: CacheOptions = {}): AggregateCache {
  const maxEntries = opts.maxEntries ?? 200_000;
  const trusted = opts.trusted ?? (() => true);
  const users = opts.users ?? userReads(store.sql);
  const grantReads = opts.userGrants ?? userGrantReads(store.sql);
  const grants = new Map<string, readonly ActiveUserGrant[]>();
  const federation = new Map<string, unknown>();
  const lookups = (opts.metrics ?? noMetrics).cacheLookups;
  const [hits, misses, untrusted] = [lookups.labels("aggregate", "hit"), lookups.labels("aggregate", "miss"), lookups.labels("aggregate", "untrusted")];
  const entries = createEntries();
  const loading = new Map<string, Promise<unknown>>();
  const logins = new Map<string, string | null>();
  const apps = opts.apps ?? appReads(store.sql);
  /**
   * Client id → project id. A client id is minted once and never moves, so a found entry stays
   * true (whether the app still authenticates is the project state's answer); "no such app" is
   * forgotten on every project commit, here or in another process (`noAppSince` guards loads in flight).
   */
  const appClients = new Map<string, string>();
  const noAppClients = new Set<string>();
  let noAppSince = 0;
  const forgetNoApps = () => {
    noAppClients.clear();
    noAppSince++;
  };
  /**
   * Bumped on every eviction. A load that started before an eviction of its key (or a clear) must
   * not be kept: it may hold the state from before the write.
   */
  let epoch = 0;
  let clearedAt = 0;
  const evictedAt = new Map<string, number>();

  const evictKey = (key: string) => {
    entries.delete(key);
    loading.delete(key);
    evictedAt.set(key, ++epoch);
    if (evictedAt.size > 10_000) {
      evictedAt.clear();
      clearedAt = epoch;
    }
  };

  const evictAll = (keys: string[]) => {
    for (const k of keys) evictKey(k);
    // Usernames can appear, change or be released by any user event: forget the name index.
    if (keys.some((k) => k.includes("/user:"))) logins.clear();
    if (keys.some((k) => GRANT_KEYS.test(k))) grants.clear();
    if (keys.some((k) => FEDERATION_KEYS.test(k))) federation.clear();
    if (keys.some((k) => k.includes("/project:"))) forgetNoApps();
  };

  const clear = () => {
    entries.clear();
    loading.clear();
    logins.clear();
    grants.clear();
    federation.clear();
    appClients.clear();
    forgetNoApps();
    evictedAt.clear();
    clearedAt = ++epoch;
  };

  /**
   * This process's own commits: the cached state is brought forward with the same reducer instead
   * of being dropped, so the next command on a busy aggregate does not replay its whole history.
   * Anything not exactly one step behind is evicted. The epoch still moves, so a load that started
   * before the commit cannot put older state back.
   */
  store.onCommitted((events: StoredEvent[]) => {
    let loginsChanged = false;
    let grantsChanged = false;
    let projectsChanged = false;
    let federationChanged = false;
    for (const e of events) {
      const key = `${e.instanceId}/${aggregateKey(e.aggregateType, e.aggregateId)}`;
      const cached = entries.get(key) as { sequence: number } | undefined;
      loading.delete(key);
      evictedAt.set(key, ++epoch);
      if (cached && cached.sequence === e.sequence - 1) evolvers[e.aggregateType](cached as never, e);
      else entries.delete(key);
      if (e.aggregateType === "user" && LOGIN_EVENTS.has(e.type)) loginsChanged = true;
      if (e.aggregateType === "usergrant" || e.aggregateType === "org") grantsChanged = true;
      if (e.aggregateType === "project") projectsChanged = true;
      if (e.aggregateType === "user" || e.aggregateType === "federation_policy") federationChanged = true;
    }
    if (grantsChanged) grants.clear();
    if (federationChanged) federation.clear();
    if (projectsChanged) forgetNoApps();
    if (evictedAt.size > 10_000) {
      evictedAt.clear();
      clearedAt = epoch;
    }
    if (loginsChanged) logins.clear();
  });

  async function load(instanceId: string, type: AggregateType, id: string, key: string, keep: boolean) {
    const startEpoch = epoch;
    const state = reducers[type](id, await store.load(instanceId, type, id));
    const ev = evictedAt.get(key);
    const stale = (ev !== undefined && ev > startEpoch) || clearedAt > startEpoch;
    // An aggregate without events (an id from a forged or stale token) is not kept: a flood of
    // made-up ids must not push real entries out. Such lookups are rare and rate-limited.
    if (keep && !stale && state.sequence > 0 && trusted()) {
      if (entries.size >= maxEntries) entries.deleteOldest();
      entries.set(key, state);
    }
    return state;
  }

  const cache: AggregateCache = {
    async get(instanceId, type, id) {
      // No stored id holds a NUL (PostgreSQL text cannot): an id from a forged token is nobody, without a query.
      if (id.includes("\0")) return reducers[type](id, []) as never;
      const key = `${instanceId}/${type}:${id}`;
      if (!trusted()) {
        untrusted.inc();
        return (await load(instanceId, type, id, key, false)) as never;
      }
      const hit = entries.get(key);
      if (hit) {
        hits.inc();
        return hit as never;
      }
      misses.inc();
      let p = loading.get(key);
      if (!p) {
        p = load(instanceId, type, id, key, true).finally(() => {
          if (loading.get(key) === p) loading.delete(key);
        });
        loading.set(key, p);
      }
      return (await p) as never;
    },
    peek(instanceId, type, id) {
      return trusted() ? (entries.peek(instanceId, type, id) as never) : undefined;
    },
    current(instanceId, type, id) {
      return cache.peek(instanceId, type, id) ?? cache.get(instanceId, type, id);
    },
    peekUserIdByLoginName(instanceId, loginName) {
      return trusted() ? logins.get(`${instanceId}/${loginName.toLowerCase()}`) : undefined;
    },
    async userIdByLoginName(instanceId, loginName) {
      if (loginName.includes("\0")) return undefined;
      const k = `${instanceId}/${loginName.toLowerCase()}`;
      const ok = trusted();
      const hit = ok ? logins.get(k) : undefined;
      if (hit !== undefined) return hit ?? undefined;
      const startEpoch = epoch;
      const ids = await users.idsByLoginName(instanceId, loginName);
      // A login name matching more than one user identifies no one (ZITADEL: "client not found").
      const id = ids.length === 1 ? ids[0]! : null;
      if (ok && epoch === startEpoch && trusted()) {
        if (logins.size >= maxEntries) logins.clear();
        logins.set(k, id);
      }
      return id ?? undefined;
    },
    peekActiveGrantsOf(instanceId, userId) {
      return trusted() ? grants.get(`${instanceId}/${userId}`) : undefined;
    },
    async activeGrantsOf(instanceId, userId) {
      const k = `${instanceId}/${userId}`;
      const ok = trusted();
      const hit = ok ? grants.get(k) : undefined;
      if (hit) return hit;
      const startEpoch = epoch;
      const rows = Object.freeze(await grantReads.activeFor(instanceId, userId));
      // Kept only when no commit came in between (it may have changed what the rows say).
      if (ok && epoch === startEpoch && trusted()) {
        if (grants.size >= maxEntries) grants.clear();
        grants.set(k, rows);
      }
      return rows;
    },
    async federation<T>(instanceId: string, issuer: string, load: () => Promise<T | undefined>) {
      const k = `${instanceId}/${issuer}`;
      const ok = trusted();
      if (ok && federation.has(k)) return federation.get(k) as T;
      const startEpoch = epoch;
      const value = await load();
      // Kept only when no commit came in between (it may have changed what the rows say).
      if (value !== undefined && ok && epoch === startEpoch && trusted()) {
        if (federation.size >= maxEntries) federation.clear();
        federation.set(k, value);
      }
      return value;
    },
    peekProjectIdByClientId(instanceId, clientId) {
      if (!trusted()) return undefined;
      const k = `${instanceId}/${clientId}`;
      return appClients.get(k) ?? (noAppClients.has(k) ? null : undefined);
    },
    async projectIdByClientId(instanceId, clientId) {
      if (clientId.includes("\0")) return undefined;
      const k = `${instanceId}/${clientId}`;
      const ok = trusted();
      const hit = ok ? appClients.get(k) : undefined;
      if (hit !== undefined) return hit;
      const since = noAppSince;
      const id = await apps.projectIdByClientId(instanceId, clientId);
      if (ok && trusted()) {
        if (appClients.size + noAppClients.size >= maxEntries) {
          appClients.clear();
          noAppClients.clear();
        }
        if (id !== undefined) appClients.set(k, id);
        else if (since === noAppSince) noAppClients.add(k);
      }
      return id;
    },
    evict: (instanceId, type, id) => evictKey(`${instanceId}/${type}:${id}`),
    applyNotice: (n) => evictAll(n.a.map((a) => `${n.i}/${a}`)),
    clear,
    get size() {
      return entries.size;
    },
  };
  return cache;
}

/**
 * The cached states, by "instance/type:id" key (the form notices and evictions use), with an index
 * by instance, type and id for peek(): the hot paths look a state up several times per request, and
 * building and hashing the joined key each time showed in their profiles.
 */
function createEntries() {
  const byKey = new Map<string, unknown>();
  const index = new Map<string, Map<string, Map<string, unknown>>>();
  const split = (key: string) => {
    const slash = key.indexOf("/");
    const colon = key.indexOf(":", slash + 1);
    return { instanceId: key.slice(0, slash), type: key.slice(slash + 1, colon), id: key.slice(colon + 1) };
  };
  const unindex = (key: string) => {
    const k = split(key);
    const byId = index.get(k.instanceId)?.get(k.type);
    byId?.delete(k.id);
  };
  return {
    get: (key: string) => byKey.get(key),
    peek: (instanceId: string, type: string, id: string) => index.get(instanceId)?.get(type)?.get(id),
    set(key: string, value: unknown) {
      byKey.set(key, value);
      const k = split(key);
      let byType = index.get(k.instanceId);
      if (!byType) index.set(k.instanceId, (byType = new Map()));
      let byId = byType.get(k.type);
      if (!byId) byType.set(k.type, (byId = new Map()));
      byId.set(k.id, value);
    },
    delete(key: string) {
      if (byKey.delete(key)) unindex(key);
    },
    /** Drops the entry cached longest ago (insertion order). */
    deleteOldest() {
      const oldest = byKey.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    },
    clear() {
      byKey.clear();
      index.clear();
    },
    get size() {
      return byKey.size;
    },
  };
}
