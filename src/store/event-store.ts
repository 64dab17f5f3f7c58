import { DomainError, alreadyExists } from "../domain/errors.js";
import type { AggregateType, StoredEvent, UniqueClaim } from "../domain/events.js";
import { createCommitter } from "./group-commit.js";
import { project } from "./projections.js";
import { inline } from "./literal.js";
import { FENCED_SQLSTATE, PUSH_LOCK, aggregateKey, claimStatement, insertEventStatement, notifyStatement, prologueStatement, storedEvent, type PushRequest } from "./push.js";
import { pushScript } from "./push-script.js";
import { performance } from "node:perf_hooks";
import { isUniqueViolation, type Queryable, type Row, type SqlError, type SqlPort } from "./sql.js";
import { noMetrics, type Metrics } from "../telemetry/instruments.js";
import { noTracing, type Tracing } from "../telemetry/tracing.js";

export { EVENTS_CHANNEL, OVERFLOW_NOTICE_PREFIX, aggregateKey, type CommitNotice, type PushRequest } from "./push.js";

/** Thrown when another writer appended to an aggregate first; the command reloads and decides again. */
export class ConcurrencyConflict extends Error {
  override readonly name = "ConcurrencyConflict";
}

function storageUnwritable(e: unknown): "full" | "readonly" | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const message = String((e as Error).message);
  if ((e as SqlError).code === "53100" || /No space left on device/.test(message)) return "full";
  if (/Read-only file system/.test(message)) return "readonly";
  return undefined;
}

/**
 * Who writes: the node slot, and on PostgreSQL the registration (`lease`) each write transaction
 * checks is still the slot's (server/node-slot.ts). Without a lease nothing is checked (tests,
 * operator commands).
 */
export interface Writer {
  readonly node: number;
  readonly lease?: number;
}

/** The prefix of a writer's commit ids (`<prefix>:<n>`), unique per registration of a slot. */
export const commitPrefix = (w: Writer) => (w.lease === undefined ? `${w.node}` : `${w.node}.${w.lease}`);

const fencedError = () =>
  new DomainError("Unavailable", "STORE-fenced", "this process's node slot was handed to another process while it stalled; it registers again before writing");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long readAfter waits for the pushes in flight when it read the position sequence. */
const FOLLOW_WAIT_MS = 10_000;

export interface EventStore {
  readonly sql: SqlPort;
  load(instanceId: string, aggregateType: AggregateType, aggregateId: string): Promise<StoredEvent[]>;
  push(req: PushRequest): Promise<StoredEvent[]>;
  /** Called in-process after every committed push, before push() resolves. */
  onCommitted(listener: (events: StoredEvent[]) => void): void;
  /**
   * Awaited after every committed push, before push() resolves: the cluster barrier that waits until
   * the other processes sharing the database have evicted what the push changed.
   */
  setBarrier(barrier: (commitId: string) => Promise<void>): void;
  lastPosition(): Promise<number>;
  /**
   * Events after `position`, in position order, at most `limit`: safe to follow. An event that is
   * not returned because it was not committed yet always gets a position above the last one
   * returned, so a reader that asks again from there never skips one. On PostgreSQL, where
   * transactions take positions in one order and commit in another, the read waits (briefly) for
   * the pushes in flight when it started (PUSH_LOCK); PGlite runs one transaction at a time.
   */
  readAfter(position: number, limit: number): Promise<StoredEvent[]>;
  /**
   * A position up to which every event is committed and visible, and none can still appear: the
   * bound readAfter reads up to (waiting, on PostgreSQL, for the pushes in flight once it is above
   * `after`). For followers that filter in SQL (read-models/events.ts).
   */
  safePosition(after: number): Promise<number>;
}

export const rowToEvent = (r: Row): StoredEvent => ({
  instanceId: r.instance_id as string,
  aggregateType: r.aggregate_type as AggregateType,
  aggregateId: r.aggregate_id as string,
  sequence: Number(r.sequence),
  position: Number(r.position),
  type: r.event_type as string,
  payload: (typeof r.payload === "string" ? JSON.parse(r.payload) : r.payload) as Record<string, unknown>,
  editor: r.editor_user as string,
  resourceOwner: r.resource_owner as string,
  createdAt: r.created_at instanceof Date ? r.created_at : new Date(r.created_at as string),
});

export const EVENT_COLUMNS =
  "instance_id, aggregate_type, aggregate_id, sequence, position, event_type, payload, editor_user, resource_owner, created_at";

export interface EventStoreTelemetry {
  metrics?: Metrics;
  tracing?: Tracing;
}

export function createEventStore(sql: SqlPort, writer: Writer | number = 0, telemetry: EventStoreTelemetry = {}): EventStore {
  const w: Writer = typeof writer === "number" ? { node: writer } : writer;
  const listeners: ((events: StoredEvent[]) => void)[] = [];
  let barrier: ((commitId: string) => Promise<void>) | undefined;
  let commits = 0;
  const metrics = telemetry.metrics ?? noMetrics;
  const tracing = telemetry.tracing ?? noTracing;
  const viaScript = metrics.pushDuration.labels("script");
  const viaTransaction = metrics.pushDuration.labels("transaction");
  const prologue = () => prologueStatement({ node: w.node, lease: w.lease });
  const onPostgres = sql.dialect === "postgres";
  // Group commit (group-commit.ts): on PostgreSQL behind the push lock and fence, on PGlite one batch at a time.
  const onCommitted = (pushes: number) => metrics.commitBatchPushes.observe(pushes);
  const commit = !sql.script
    ? undefined
    : onPostgres
      ? createCommitter(sql.script.bind(sql), {
          prologue: () => {
            const p = prologue();
            return inline(p.text, p.params);
          },
          onCommitted,
        })
      : createCommitter(sql.script.bind(sql), { onCommitted, maxBatches: 1, gather: true });

  async function insertEvents(tx: Queryable, req: PushRequest): Promise<StoredEvent[]> {
    const next = new Map<string, number>();
    const stored: StoredEvent[] = [];
    for (const e of req.events) {
      const key = aggregateKey(e.aggregateType, e.aggregateId);
      let seq = next.get(key);
      if (seq === undefined) {
        const expected = req.expected.get(key);
        if (expected !== undefined) seq = expected;
        else {
          const rows = await tx.query<{ s: string | number | null }>(
            "SELECT max(sequence) AS s FROM events WHERE instance_id = $1 AND aggregate_type = $2 AND aggregate_id = $3",
            [req.instanceId, e.aggregateType, e.aggregateId],
          );
          seq = Number(rows[0]?.s ?? 0);
        }
      }
      seq++;
      next.set(key, seq);
      const insert = insertEventStatement(req, e, seq);
      const rows = await tx.query<{ position: string | number }>(insert.text, insert.params);
      stored.push(storedEvent(req, e, seq, Number(rows[0]!.position)));
    }
    return stored;
  }

  async function claimUniques(tx: Queryable, instanceId: string, uniques: UniqueClaim[]) {
    for (const u of uniques) {
      // ON CONFLICT keeps the transaction usable and lets us raise the claim's own error.
      const claim = claimStatement(instanceId, u, "skip");
      const rows = await tx.query(claim.text, claim.params);
      if (u.action !== "remove" && rows.length === 0) {
        const err = u.error ?? { kind: "AlreadyExists" as const, id: "EVENT-unique", message: "Errors.Unique.AlreadyExists" };
        throw alreadyExists(err.id, err.message);
      }
    }
  }

async function safePosition(after: number): Promise<number> {
    if (sql.dialect !== "postgres") {
      // PGlite runs one transaction at a time: what a query sees is committed, in position order.
      const rows = await sql.query<{ p: string | number | null }>("SELECT max(position) AS p FROM events");
      return Number(rows[0]?.p ?? 0);
    }
    // 1. The last position taken so far; 2. the pushes in flight now (every push that took a
    // position up to it has ended or is among them: it holds the lock from before its first);
    // 3. once they have ended, nothing at or below it can still appear.
    const seq = await sql.query<{ v: string | number }>("SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS v FROM events_position_seq");
    const upTo = Number(seq[0]!.v);
    if (upTo <= after) return upTo;
    const holders = `SELECT virtualtransaction AS v FROM pg_locks WHERE locktype = 'advisory' AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND classid = ${PUSH_LOCK[0]} AND objid = ${PUSH_LOCK[1]} AND objsubid = 2`;
    let inFlight = (await sql.query<{ v: string }>(holders)).map((r) => r.v);
    const deadline = performance.now() + FOLLOW_WAIT_MS;
    while (inFlight.length > 0) {
      if (performance.now() > deadline) throw new DomainError("Unavailable", "STORE-follow", "writes in flight did not finish in time; read again");
      await sleep(2);
      inFlight = (await sql.query<{ v: string }>(`${holders} AND virtualtransaction = ANY($1)`, [inFlight])).map((r) => r.v);
    }
    return upTo;
  }

  return {
    sql,
    async load(instanceId, aggregateType, aggregateId) {
      const rows = await sql.query(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE instance_id = $1 AND aggregate_type = $2 AND aggregate_id = $3 ORDER BY sequence`,
        [instanceId, aggregateType, aggregateId],
      );
      return rows.map(rowToEvent);
    },
    async push(req) {
      if (req.events.length === 0) return [];
      // The barrier is part of the push (its span a child of this one): push() resolves after it.
      return tracing.inSpan("event_store.push", { "portcullis.events": req.events.length }, async (span) => {
        const { stored, commitId, path } = await commitPush(req);
        span.setAttribute("portcullis.push_path", path);
        for (const l of listeners) l(stored);
        if (barrier) await barrier(commitId);
        return stored;
      });
    },
    onCommitted(listener) {
      listeners.push(listener);
    },
    setBarrier(b) {
      barrier = b;
    },
    async lastPosition() {
      const rows = await sql.query<{ p: string | number | null }>("SELECT max(position) AS p FROM events");
      return Number(rows[0]?.p ?? 0);
    },
    safePosition,
    async readAfter(position, limit) {
      const upTo = await safePosition(position);
      if (upTo <= position) return [];
      const rows = await sql.query(`SELECT ${EVENT_COLUMNS} FROM events WHERE position > $1 AND position <= $3 ORDER BY position LIMIT $2`, [position, limit, upTo]);
      return rows.map(rowToEvent);
    },
  };

  /** Commits one push (one round-trip script, group-committed, or a transaction); the barrier is the caller's. */
  async function commitPush(req: PushRequest): Promise<{ stored: StoredEvent[]; commitId: string; path: "script" | "transaction" }> {
    let stored: StoredEvent[] | undefined;
    const commitId = `${commitPrefix(w)}:${++commits}`;
    const started = performance.now();
    let path = viaScript;
    try {
      const s = commit && (await pushScript(req, commitId, onPostgres));
      if (s) {
        try {
          const rows = await commit!(s);
          s.inserts.forEach((at, i) => (s.events[i]!.position = Number(rows[at]![0]!.position)));
          stored = s.events;
        } catch (e) {
          // A taken claim: nothing was written; the parameter path raises the claim's own error.
          if (!(isUniqueViolation(e) && e.constraint === "unique_constraints_claim")) throw e;
        }
      }
      if (!stored) path = viaTransaction;
      stored ??= await sql.transaction(async (tx) => {
        if (sql.dialect === "postgres") {
          const p = prologue();
          await tx.query(p.text, p.params);
        }
        await claimUniques(tx, req.instanceId, req.uniques ?? []);
        const events = await insertEvents(tx, req);
        for (const e of events) await project(tx, e);
        const touched = [...new Set(events.map((e) => aggregateKey(e.aggregateType, e.aggregateId)))];
        // Delivered to other processes at commit; they evict what they cached of these aggregates.
        // Embedded mode is one process: nobody to tell.
        if (sql.dialect === "postgres") {
          const notify = notifyStatement(req.instanceId, touched, commitId);
          await tx.query(notify.text, notify.params);
        }
        return events;
      });
    } catch (e) {
      if (e instanceof DomainError) throw e;
      if ((e as SqlError | undefined)?.code === FENCED_SQLSTATE) throw fencedError();
      if (isUniqueViolation(e) && e.constraint === "events_aggregate_sequence") throw new ConcurrencyConflict("aggregate changed concurrently");
      // disk_full / ENOSPC / a read-only file system: the transaction rolled back, nothing was
      // written; reads go on working.
      const unwritable = storageUnwritable(e);
      if (unwritable === "full") throw new DomainError("Unavailable", "STORE-full", "storage is full; writes are refused until space is freed");
      if (unwritable === "readonly") throw new DomainError("Unavailable", "STORE-readonly", "storage is read-only; writes are refused");
      throw e;
    }
    path.observe((performance.now() - started) / 1000);
    metrics.pushEvents.observe(stored.length);
    return { stored, commitId, path: path === viaScript ? "script" : "transaction" };
  }
}

export async function* readAllEvents(sql: Queryable, batch = 5000): AsyncGenerator<StoredEvent> {
  let after = 0;
  for (;;) {
    const rows = await sql.query(`SELECT ${EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2`, [after, batch]);
    for (const r of rows) yield rowToEvent(r);
    if (rows.length < batch) return;
    after = Number(rows[rows.length - 1]!.position);
  }
}
