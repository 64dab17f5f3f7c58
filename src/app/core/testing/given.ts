/**
 * Given/when/then for commands (ZITADEL's internal/command/*_test.go with expectFilter/expectPush):
 * given these stored events (and unique claims), when this command runs, then these events and
 * claims were pushed — or this error, and nothing was written.
 *
 * Used by the `*.test.ts` files beside the commands only; nothing in the server imports it (and the
 * build leaves `testing/` folders out). It keeps the real command path: `runCommand`, the real
 * aggregate cache and reducers, over an in-memory event store with the semantics of
 * `createEventStore` (src/store/event-store.ts):
 *  - sequences per aggregate, starting at 1; a push expecting a sequence that is no longer the
 *    aggregate's last fails with ConcurrencyConflict (the command then reloads and decides again);
 *  - unique claims in the push's scope (instance, or "" when global): an "add" that is taken fails
 *    with the claim's own error (AlreadyExists), a "remove" frees it; a failed push writes nothing;
 *  - a push without events writes nothing and returns [];
 *  - every event of a push has the clock's instant; payloads are kept as JSON would store them.
 *
 * Commands that still read projections through `deps.store.sql` need the `sql` option (a stub
 * answering those reads); without it such a read fails the test, naming the query — except the
 * memberships of a user (`deps.reads.members.scopesOfUser`), which the harness then answers from
 * the stored events. The user-grant read model (`deps.reads.userGrants.find` / `activeFor`, read by
 * cascades and token claims) is always answered from the stored events.
 */
import type { Logger } from "pino";
import type { Config } from "../../../config/schema.js";
import { deriveKeys } from "../../../crypto/keys.js";
import { alreadyExists } from "../../../domain/errors.js";
import type { AggregateType, NewEvent, StoredEvent, UniqueClaim } from "../../../domain/events.js";
import { ConcurrencyConflict, aggregateKey, type EventStore, type PushRequest } from "../../../store/event-store.js";
import type { Row, SqlPort } from "../../../store/sql.js";
import { createReadModels, type MemberScopeType, type ReadModels } from "../../../store/read-models/index.js";
import { reduceInstance, reduceOrg } from "../../../domain/orgs/org.js";
import { reduceProject } from "../../../domain/projects/project.js";
import { reduceUserGrant } from "../../../domain/usergrants/user-grant.js";
import { createAggregateCache } from "../aggregate-cache.js";
import type { Caller, Deps } from "../context.js";
import { createRateLimits } from "../rate-limit.js";
import { noMetrics } from "../../../telemetry/instruments.js";
import { noTracing } from "../../../telemetry/tracing.js";

/** The instant every command of a harness runs at (the fixed clock). */
export const NOW = new Date("2025-06-01T12:00:00.000Z");
/** Given events are stored at GIVEN_AT plus one second per event already in the store. */
export const GIVEN_AT = new Date("2025-01-01T00:00:00.000Z");
export const INSTANCE_ID = "instance1";
export const EXTERNAL_URL = "https://auth.example.com";

/**
 * A stored event as a test states it (its type string and payload object as stored), and optionally
 * who wrote it and when. Deliberately plain, not the commands' event constructors.
 */
export interface GivenEvent {
  aggregateType: AggregateType;
  aggregateId: string;
  resourceOwner: string;
  type: string;
  payload?: Record<string, unknown>;
  createdAt?: Date;
  editor?: string;
}

export interface GivenClaim {
  type: string;
  field: string;
  global?: boolean;
}

/** One push a command made (successful or not). */
export interface PushRecord {
  editor: string;
  events: NewEvent[];
  uniques: UniqueClaim[];
  /** Expected sequence per aggregate key ("user:u1"), as the command loaded it. */
  expected: Record<string, number>;
  now: Date;
  /** Whether it was committed. */
  committed: boolean;
}

/** An event as the command wrote it, in the terms the tests compare (`toEqual`). */
export interface WrittenEvent {
  aggregateType: AggregateType;
  aggregateId: string;
  resourceOwner: string;
  sequence: number;
  type: string;
  payload: Record<string, unknown>;
}

/** A claim as pushed, without the error it carries (claimed() shows what a collision raises). */
export interface WrittenClaim {
  action: "add" | "remove";
  type: string;
  field: string;
  global?: boolean;
}

export interface HarnessOptions {
  /** Ids handed out by deps.newId, in order; after them "id1", "id2", … */
  ids?: string[];
  /** Answers the read-model queries some commands still run through deps.store.sql. */
  sql?: (text: string, params: readonly unknown[]) => Row[];
  config?: Partial<Config>;
}

export interface Harness {
  deps: Deps;
  instanceId: string;
  /** Appends events as already stored (the cache follows, as after this process's own commit). */
  given(...events: GivenEvent[]): StoredEvent[];
  /** Unique claims already taken (in this instance unless global). */
  givenClaims(...claims: GivenClaim[]): void;
  /**
   * Events another process appends right before the next push is applied: that push then fails
   * with ConcurrencyConflict if it expected an older sequence of their aggregate. This process's
   * cache is not told (as if the notification had not arrived yet).
   */
  concurrently(...events: GivenEvent[]): void;
  /** Every push the commands made, in order, with what it carried. */
  readonly pushes: PushRecord[];
  /** The events committed by commands (not the given ones), in order. */
  written(): WrittenEvent[];
  /** The claims of the committed pushes, in order. */
  writtenClaims(): WrittenClaim[];
  /** Whether a claim is taken now. */
  claimed(type: string, field: string, global?: boolean): boolean;
  /** All stored events of one aggregate (given and written). */
  stream(type: AggregateType, id: string): StoredEvent[];
}

const json = (payload: Record<string, unknown> | undefined): Record<string, unknown> => JSON.parse(JSON.stringify(payload ?? {})) as Record<string, unknown>;

/** The configuration's defaults (src/config/schema.ts), spelled out: no config loader, no zod, no YAML to import. */
function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    port: 8080,
    host: "0.0.0.0",
    externalUrl: EXTERNAL_URL,
    dataDir: "/nonexistent/given-when-then",
    logLevel: "silent",
    logFormat: "json",
    accessTokenLifetime: 43200,
    maxBodyBytes: 1048576,
    requestTimeoutMs: 60000,
    http2: { maxConcurrentStreams: 100, idleTimeoutMs: 300000, maxSessionMemoryMb: 10 },
    db: { poolSize: 10, connectTimeoutMs: 2000, startupTimeoutMs: 60000, nodeLeaseMs: 10000, embeddedFsync: true },
    shutdownTimeoutMs: 10000,
    workers: 1,
    webhooks: { enabled: false, allowLoopback: false, timeoutMs: 10000, retryBaseMs: 1000, retryMaxMs: 300000, maxAttempts: 8, deadLetterAfterMs: 86400000, leaseMs: 30000 },
    signingKeys: { rotationInterval: 30 * 86400, publishAhead: 86400, retireMargin: 3600, reloadInterval: 60 },
    trustedProxies: [],
    rateLimit: { enabled: false, tokenPerSecond: 100, tokenPerSecondPerAddress: 1000, failuresPerMinute: 30, failuresPerMinutePerClient: 300, failuresPerMinutePerAddress: 300 },
    oauth: { maxAssertionLifetime: 3600, requireAssertionJti: false },
    federation: { allowHttpLoopback: true, jwksTimeoutMs: 5000, jwksRefreshIntervalMs: 5000 },
    metrics: { enabled: true },
    credentials: { secretFormat: "portcullis", trackLastUsed: true, lastUsedWriteInterval: 60000 },
    firstInstance: { orgName: "Portcullis", machineUsername: "admin", machineName: "admin", patPath: "/nonexistent/given-when-then/admin.pat" },
    ...overrides,
  };
}

/** Commands sign nothing; a token-issuing test would need a real ring. */
const noSigningKeys: Deps["signingKeys"] = {
  signer: () => {
    throw new Error("given/when/then: no signing keys");
  },
  find: () => undefined,
  jwks: () => '{"keys":[]}',
  reloadForUnknownKid: () => undefined,
};

/** The used_assertions table in memory (store/used-assertions.ts): one process, the same answers. */
function memoryUsedAssertions(): Deps["usedAssertions"] {
  const marks = new Map<string, number>();
  return {
    async claim(instanceId, id, untilMs, nowMs) {
      const key = `${instanceId}/${id}`;
      const until = marks.get(key);
      if (until !== undefined && until > nowMs) return false;
      marks.set(key, untilMs);
      return true;
    },
    async prune(nowMs) {
      let n = 0;
      for (const [k, until] of marks) if (until <= nowMs && marks.delete(k)) n++;
      return n;
    },
  };
}

/** Commands do not log; a logger that drops everything, without loading pino. */
function silentLogger(): Logger {
  const noop = () => {};
  const log = { level: "silent", fatal: noop, error: noop, warn: noop, info: noop, debug: noop, trace: noop, silent: noop, isLevelEnabled: () => false, child: () => log };
  return log as unknown as Logger;
}

/**
 * The one read model commands consult while deciding — the scopes a user is a member of
 * (proj_members) — answered from the stored events as the projection would: memberships in orgs and
 * projects that exist and on the instance, by the reducers' member maps.
 */
function withMembershipsFromEvents(reads: ReadModels, events: () => readonly StoredEvent[]): ReadModels {
  const scopesOfUser: ReadModels["members"]["scopesOfUser"] = async (instanceId, userId) => {
    const streams = new Map<string, StoredEvent[]>();
    for (const e of events()) {
      if (e.instanceId !== instanceId || e.aggregateType === "user") continue;
      const key = aggregateKey(e.aggregateType, e.aggregateId);
      streams.set(key, [...(streams.get(key) ?? []), e]);
    }
    const scopes: { type: MemberScopeType; id: string }[] = [];
    for (const stream of streams.values()) {
      const { aggregateType, aggregateId } = stream[0]!;
      const sorted = [...stream].sort((a, b) => a.sequence - b.sequence);
      if (aggregateType === "org") {
        const org = reduceOrg(aggregateId, sorted);
        if (org.exists && org.members.has(userId)) scopes.push({ type: "org", id: aggregateId });
      } else if (aggregateType === "project") {
        const project = reduceProject(aggregateId, sorted);
        if (project.exists && project.members.has(userId)) scopes.push({ type: "project", id: aggregateId });
      } else if (reduceInstance(aggregateId, sorted).members.has(userId)) scopes.push({ type: "instance", id: aggregateId });
    }
    return scopes;
  };
  return { ...reads, members: { ...reads.members, scopesOfUser } };
}

/**
 * The user-grant read model as the projection would answer it, from the stored events: the grants
 * not removed (find, for cascades) and the active ones of a user (activeFor, for token claims).
 */
function withUserGrantsFromEvents(reads: ReadModels, events: () => readonly StoredEvent[]): ReadModels {
  const grants = (instanceId: string) => {
    const streams = new Map<string, StoredEvent[]>();
    for (const e of events()) {
      if (e.instanceId !== instanceId || e.aggregateType !== "usergrant") continue;
      streams.set(e.aggregateId, [...(streams.get(e.aggregateId) ?? []), e]);
    }
    return [...streams.entries()].map(([id, stream]) => reduceUserGrant(id, [...stream].sort((a, b) => a.sequence - b.sequence))).filter((g) => g.exists);
  };
  const find: ReadModels["userGrants"]["find"] = async (instanceId, f) =>
    grants(instanceId)
      .filter(
        (g) =>
          (f.userId === undefined || g.userId === f.userId) &&
          (f.projectId === undefined || g.projectId === f.projectId) &&
          (f.projectGrantId === undefined || g.projectGrantId === f.projectGrantId) &&
          (f.roleKey === undefined || g.roleKeys.includes(f.roleKey)),
      )
      .map((g) => g.id);
  const activeFor: ReadModels["userGrants"]["activeFor"] = async (instanceId, userId) =>
    grants(instanceId)
      .filter((g) => g.userId === userId && g.state === 1)
      .map((g) => ({ id: g.id, orgId: g.orgId, projectId: g.projectId, projectGrantId: g.projectGrantId, roleKeys: g.roleKeys }));
  return { ...reads, userGrants: { ...reads.userGrants, find, activeFor } };
}

export function createHarness(opts: HarnessOptions = {}): Harness {
  const instanceId = INSTANCE_ID;
  const log: StoredEvent[] = [];
  const claims = new Set<string>();
  const pushes: PushRecord[] = [];
  const committed: StoredEvent[][] = [];
  const committedClaims: UniqueClaim[][] = [];
  const listeners: ((events: StoredEvent[]) => void)[] = [];
  let barrier: ((commitId: string) => Promise<void>) | undefined;
  let pendingConcurrent: GivenEvent[] = [];
  let commits = 0;

  const claimKey = (instance: string, c: { type: string; field: string; global?: boolean }) => `${c.global ? "" : instance}/${c.type}/${c.field}`;
  const lastSequence = (instance: string, type: AggregateType, id: string) =>
    log.reduce((max, e) => (e.instanceId === instance && e.aggregateType === type && e.aggregateId === id ? Math.max(max, e.sequence) : max), 0);

  /** Appends unconditionally (given and concurrent events): sequences continue each aggregate's. */
  const append = (events: GivenEvent[]): StoredEvent[] =>
    events.map((e) => {
      const stored: StoredEvent = {
        instanceId,
        aggregateType: e.aggregateType,
        aggregateId: e.aggregateId,
        sequence: lastSequence(instanceId, e.aggregateType, e.aggregateId) + 1,
        position: log.length + 1,
        type: e.type,
        payload: json(e.payload),
        editor: e.editor ?? "given",
        resourceOwner: e.resourceOwner,
        createdAt: e.createdAt ?? new Date(GIVEN_AT.getTime() + log.length * 1000),
      };
      log.push(stored);
      return stored;
    });

  const sql = {
    dialect: "pglite",
    async query(text: string, params: readonly unknown[] = []) {
      if (!opts.sql) throw new Error(`given/when/then: no read model for this query (pass the sql option): ${text}`);
      return opts.sql(text, params);
    },
    transaction: () => Promise.reject(new Error("given/when/then: no SQL transactions")),
    listen: async () => async () => {},
    ping: async () => true,
    close: async () => {},
  } as unknown as SqlPort;

  const store: EventStore = {
    sql,
    async load(instance, type, id) {
      return log.filter((e) => e.instanceId === instance && e.aggregateType === type && e.aggregateId === id).sort((a, b) => a.sequence - b.sequence);
    },
    async push(req: PushRequest) {
      const record: PushRecord = {
        editor: req.editor,
        events: req.events,
        uniques: req.uniques ?? [],
        expected: Object.fromEntries(req.expected),
        now: req.now,
        committed: false,
      };
      pushes.push(record);
      if (pendingConcurrent.length > 0) {
        append(pendingConcurrent);
        pendingConcurrent = [];
      }
      if (req.events.length === 0) return [];
      // Claims first, as the transaction makes them; undone when anything fails.
      const added: string[] = [];
      const removed: string[] = [];
      const rollback = () => {
        for (const k of added) claims.delete(k);
        for (const k of removed) claims.add(k);
      };
      for (const u of req.uniques ?? []) {
        const k = claimKey(req.instanceId, u);
        if (u.action === "remove") {
          if (claims.delete(k)) removed.push(k);
          continue;
        }
        if (claims.has(k)) {
          rollback();
          const err = u.error ?? { kind: "AlreadyExists" as const, id: "EVENT-unique", message: "Errors.Unique.AlreadyExists" };
          throw alreadyExists(err.id, err.message);
        }
        claims.add(k);
        added.push(k);
      }
      const next = new Map<string, number>();
      const stored: StoredEvent[] = [];
      for (const e of req.events) {
        const key = aggregateKey(e.aggregateType, e.aggregateId);
        const last = lastSequence(req.instanceId, e.aggregateType, e.aggregateId);
        const seq = (next.get(key) ?? req.expected.get(key) ?? last) + 1;
        // The unique key (instance, aggregate, sequence) of the events table.
        if (seq <= last) {
          rollback();
          throw new ConcurrencyConflict("aggregate changed concurrently");
        }
        next.set(key, seq);
        stored.push({
          instanceId: req.instanceId,
          aggregateType: e.aggregateType,
          aggregateId: e.aggregateId,
          sequence: seq,
          position: log.length + stored.length + 1,
          type: e.type,
          payload: json(e.payload),
          editor: req.editor,
          resourceOwner: e.resourceOwner,
          createdAt: req.now,
        });
      }
      log.push(...stored);
      record.committed = true;
      committed.push(stored);
      committedClaims.push(req.uniques ?? []);
      for (const l of listeners) l(stored);
      if (barrier) await barrier(`0:${++commits}`);
      return stored;
    },
    onCommitted(listener) {
      listeners.push(listener);
    },
    setBarrier(b) {
      barrier = b;
    },
    async lastPosition() {
      return log.length;
    },
    async readAfter(position, limit) {
      return log.filter((e) => e.position > position).slice(0, limit);
    },
    async safePosition() {
      return log.length;
    },
  };

  const ids = [...(opts.ids ?? [])];
  let generated = 0;
  const config = testConfig(opts.config);
  // User grants are always answered from the events (the cascades of removals read them).
  const reads = withUserGrantsFromEvents(opts.sql ? createReadModels(sql) : withMembershipsFromEvents(createReadModels(sql), () => log), () => log);
  const deps: Deps = {
    config,
    store,
    cache: createAggregateCache(store, { userGrants: reads.userGrants }),
    keys: deriveKeys("given-when-then master key"),
    clock: () => new Date(NOW),
    newId: () => ids.shift() ?? `id${++generated}`,
    instanceId,
    signingKeys: noSigningKeys,
    log: silentLogger(),
    limits: createRateLimits(config.rateLimit),
    reads,
    usedAssertions: memoryUsedAssertions(),
    metrics: noMetrics,
    tracing: noTracing,
    lastUsed: { touch: () => undefined, flush: async () => 0, close: async () => undefined, writes: 0 },
    federationKeys: { getKey: async () => undefined },
  };
  return {
    deps,
    instanceId,
    given(...events) {
      const stored = append(events);
      for (const l of listeners) l(stored);
      return stored;
    },
    givenClaims(...cs) {
      for (const c of cs) claims.add(claimKey(instanceId, c));
    },
    concurrently(...events) {
      pendingConcurrent.push(...events);
    },
    pushes,
    written: () =>
      committed.flat().map((e) => ({
        aggregateType: e.aggregateType,
        aggregateId: e.aggregateId,
        resourceOwner: e.resourceOwner,
        sequence: e.sequence,
        type: e.type,
        payload: e.payload,
      })),
    writtenClaims: () => committedClaims.flat().map((u) => ({ action: u.action, type: u.type, field: u.field, ...(u.global ? { global: true } : {}) })),
    claimed: (type, field, global) => claims.has(claimKey(instanceId, { type, field, global })),
    stream: (type, id) => log.filter((e) => e.aggregateType === type && e.aggregateId === id),
  };
}

/**
 * The caller of a management request: `userId` acting on `orgId` (its own org unless given), as the
 * system's own call — the given events need not make it a member, and the privilege ceiling does not
 * bound it. For a caller whose memberships count, use memberCaller.
 */
export const callerIn = (orgId: string, userId = "admin1", ownOrg = orgId): Caller => ({ userId, orgId, resourceOwner: ownOrg, system: true });

/** An authenticated user as authorize() hands it to a command: bound by its memberships in the given events (the privilege ceiling). */
export const memberCaller = (orgId: string, userId: string, ownOrg = orgId): Caller => ({ userId, orgId, resourceOwner: ownOrg });

/** Event builders for the given events, with ZITADEL's aggregate conventions (resource owner = org). */
export const userEvent = (id: string, orgId: string, type: string, payload?: Record<string, unknown>): GivenEvent => ({
  aggregateType: "user",
  aggregateId: id,
  resourceOwner: orgId,
  type,
  payload,
});
export const orgEvent = (id: string, type: string, payload?: Record<string, unknown>): GivenEvent => ({
  aggregateType: "org",
  aggregateId: id,
  resourceOwner: id,
  type,
  payload,
});
export const projectEvent = (id: string, orgId: string, type: string, payload?: Record<string, unknown>): GivenEvent => ({
  aggregateType: "project",
  aggregateId: id,
  resourceOwner: orgId,
  type,
  payload,
});
export const userGrantEvent = (id: string, orgId: string, type: string, payload?: Record<string, unknown>): GivenEvent => ({
  aggregateType: "usergrant",
  aggregateId: id,
  resourceOwner: orgId,
  type,
  payload,
});
export const instanceEvent = (type: string, payload?: Record<string, unknown>, id = INSTANCE_ID): GivenEvent => ({
  aggregateType: "instance",
  aggregateId: id,
  resourceOwner: id,
  type,
  payload,
});

/**
 * When: runs a command and returns its outcome as a promise, so that a validation that throws
 * before the command's first await (addOrg, addPersonalAccessToken) is a rejection like any other.
 */
export const when = <R>(command: () => Promise<R> | R): Promise<R> => Promise.resolve().then(command);
