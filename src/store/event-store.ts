import { DomainError, alreadyExists } from "../domain/errors.js";
import type { AggregateType, NewEvent, StoredEvent, UniqueClaim } from "../domain/events.js";
import { NotInlinable, inline, quoteLiteral } from "./literal.js";
import { project } from "./projections.js";
import { isUniqueViolation, type Queryable, type Row, type SqlError, type SqlPort } from "./sql.js";

export const EVENTS_CHANNEL = "portcullis_events";

export interface PushRequest {
  instanceId: string;
  editor: string;
  events: NewEvent[];
  uniques?: UniqueClaim[];
  /**
   * The sequence each aggregate had when the command decided (aggregate key "type:id").
   * Aggregates not named here are appended after their current last sequence.
   */
  expected: Map<string, number>;
  /** Timestamp of all events of the push (one command, one instant). */
  now: Date;
}

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

export const aggregateKey = (type: AggregateType, id: string) => `${type}:${id}`;

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
}

const rowToEvent = (r: Row): StoredEvent => ({
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

/** What a commit announces on EVENTS_CHANNEL: instance, touched aggregates, last position, commit id. */
export interface CommitNotice {
  i: string;
  a: string[];
  p: number;
  c: string;
}

const INSERT_EVENT = `INSERT INTO events (instance_id, aggregate_type, aggregate_id, sequence, event_type, payload, editor_user, resource_owner, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING position`;

/** A push as one transaction script (PostgreSQL): claims, events, projections, the commit notice. */
interface PushScript {
  statements: string[];
  /** Index in `statements` of each event's INSERT … RETURNING position. */
  inserts: number[];
  /** The stored events, positions still 0. */
  events: StoredEvent[];
  /** Aggregates and unique claims it touches: pushes sharing one are never in one batch. */
  keys: string[];
}

/**
 * The push with every value inlined, or undefined when it cannot be (an aggregate without an
 * expected sequence needs a read first; a value that cannot be a literal): then push() takes the
 * transaction with parameters, one statement at a time.
 */
async function pushScript(req: PushRequest, commitId: string): Promise<PushScript | undefined> {
  const statements: string[] = [];
  const keys: string[] = [];
  try {
    for (const u of req.uniques ?? []) {
      const scope = u.global ? "" : req.instanceId;
      keys.push(`unique:${scope}/${u.type}/${u.field}`);
      // No ON CONFLICT: a taken claim aborts the script; push() then runs the parameter path, which
      // raises that claim's own error.
      statements.push(
        inline(
          u.action === "remove"
            ? "DELETE FROM unique_constraints WHERE instance_id = $1 AND unique_type = $2 AND unique_field = $3"
            : "INSERT INTO unique_constraints (instance_id, unique_type, unique_field) VALUES ($1, $2, $3)",
          [scope, u.type, u.field],
        ),
      );
    }
    const next = new Map<string, number>();
    const events: StoredEvent[] = [];
    const inserts: number[] = [];
    for (const e of req.events) {
      const key = aggregateKey(e.aggregateType, e.aggregateId);
      const seq = (next.get(key) ?? req.expected.get(key) ?? NaN) + 1;
      if (Number.isNaN(seq)) return undefined;
      if (!next.has(key)) keys.push(`${req.instanceId}/${key}`);
      next.set(key, seq);
      const payload = e.payload ?? {};
      inserts.push(statements.length);
      statements.push(
        inline(INSERT_EVENT, [req.instanceId, e.aggregateType, e.aggregateId, seq, e.type, JSON.stringify(payload), req.editor, e.resourceOwner, req.now]),
      );
      events.push({
        instanceId: req.instanceId,
        aggregateType: e.aggregateType,
        aggregateId: e.aggregateId,
        sequence: seq,
        position: 0,
        type: e.type,
        payload,
        editor: req.editor,
        resourceOwner: e.resourceOwner,
        createdAt: req.now,
      });
    }
    // The projections only write: record their statements instead of running them.
    const recorder: Queryable = {
      query: async (sqlText, params) => {
        statements.push(inline(sqlText, params));
        return [];
      },
    };
    for (const e of events) await project(recorder, e);
    // As in the parameter path: the notice is sent at commit, in commit order; its position is the
    // last one this transaction took.
    const notice = JSON.stringify({ i: req.instanceId, a: [...next.keys()], c: commitId });
    statements.push(
      `SELECT pg_notify(${quoteLiteral(EVENTS_CHANNEL)}, ${quoteLiteral(notice.slice(0, -1) + ',"p":')} || currval('events_position_seq') || '}')`,
    );
    return { statements, inserts, events, keys };
  } catch (e) {
    if (e instanceof NotInlinable) return undefined;
    throw e;
  }
}

/** Whether a failed script certainly did not commit: an SQL error (SQLSTATE) or a value PostgreSQL refused. */
const notCommitted = (e: unknown): boolean =>
  (e instanceof DomainError && e.id === "STORE-value") ||
  (!(e instanceof DomainError) && typeof (e as SqlError | undefined)?.code === "string" && /^[0-9A-Z]{5}$/.test((e as SqlError).code!));

/** Batches in flight at once; the pool (10 by default) keeps room for reads and the heartbeat. */
const MAX_BATCHES = 3;
const MAX_BATCH_PUSHES = 64;

/**
 * Group commit: every PostgreSQL commit that notifies holds a database-wide lock until its WAL is
 * flushed, so notifying transactions commit one at a time. Pushes that arrive while MAX_BATCHES
 * scripts are in flight wait and then go together, in one transaction (one lock, one flush). A
 * batch that failed before committing is run again in halves until the failing push is alone, so
 * one push's conflict never fails another; a batch whose outcome is unknown (the connection broke)
 * fails every push in it, as a single push would.
 */
function createCommitter(script: (statements: readonly string[]) => Promise<Row[][]>) {
  interface Job {
    s: PushScript;
    resolve: (rows: Row[][]) => void;
    reject: (e: unknown) => void;
  }
  const queue: Job[] = [];
  let inFlight = 0;

  const take = (): Job[] => {
    const batch: Job[] = [];
    const taken = new Set<string>();
    for (let i = 0; i < queue.length && batch.length < MAX_BATCH_PUSHES; ) {
      const j = queue[i]!;
      if (j.s.keys.some((k) => taken.has(k))) {
        i++; // touches what an earlier push of this batch touches: next batch
        continue;
      }
      for (const k of j.s.keys) taken.add(k);
      batch.push(j);
      queue.splice(i, 1);
    }
    return batch;
  };

  const runOne = (j: Job) => script(j.s.statements).then(j.resolve, j.reject);

  async function run(batch: Job[]) {
    if (batch.length === 1) return runOne(batch[0]!);
    let rows: Row[][];
    try {
      rows = await script(batch.flatMap((j) => j.s.statements));
    } catch (e) {
      if (!notCommitted(e)) {
        for (const j of batch) j.reject(e);
        return;
      }
      // Nothing was written. Halve until the failing push is alone (it then fails with its own error).
      const half = Math.ceil(batch.length / 2);
      await run(batch.slice(0, half));
      await run(batch.slice(half));
      return;
    }
    let at = 0;
    for (const j of batch) {
      j.resolve(rows.slice(at, at + j.s.statements.length));
      at += j.s.statements.length;
    }
  }

  const pump = () => {
    while (inFlight < MAX_BATCHES && queue.length > 0) {
      inFlight++;
      void run(take()).finally(() => {
        inFlight--;
        pump();
      });
    }
  };

  return (s: PushScript) =>
    new Promise<Row[][]>((resolve, reject) => {
      queue.push({ s, resolve, reject });
      pump();
    });
}

export function createEventStore(sql: SqlPort, node = 0): EventStore {
  const listeners: ((events: StoredEvent[]) => void)[] = [];
  let barrier: ((commitId: string) => Promise<void>) | undefined;
  let commits = 0;
  const commit = sql.dialect === "postgres" && sql.script ? createCommitter(sql.script.bind(sql)) : undefined;

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
      const payload = e.payload ?? {};
      const rows = await tx.query<{ position: string | number }>(
        `INSERT INTO events (instance_id, aggregate_type, aggregate_id, sequence, event_type, payload, editor_user, resource_owner, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING position`,
        [req.instanceId, e.aggregateType, e.aggregateId, seq, e.type, JSON.stringify(payload), req.editor, e.resourceOwner, req.now],
      );
      stored.push({
        instanceId: req.instanceId,
        aggregateType: e.aggregateType,
        aggregateId: e.aggregateId,
        sequence: seq,
        position: Number(rows[0]!.position),
        type: e.type,
        payload,
        editor: req.editor,
        resourceOwner: e.resourceOwner,
        createdAt: req.now,
      });
    }
    return stored;
  }

  async function claimUniques(tx: Queryable, instanceId: string, uniques: UniqueClaim[]) {
    for (const u of uniques) {
      const scope = u.global ? "" : instanceId;
      if (u.action === "remove") {
        await tx.query("DELETE FROM unique_constraints WHERE instance_id = $1 AND unique_type = $2 AND unique_field = $3", [scope, u.type, u.field]);
        continue;
      }
      // ON CONFLICT keeps the transaction usable and lets us raise the claim's own error.
      const rows = await tx.query(
        "INSERT INTO unique_constraints (instance_id, unique_type, unique_field) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING unique_field",
        [scope, u.type, u.field],
      );
      if (rows.length === 0) {
        const err = u.error ?? { kind: "AlreadyExists" as const, id: "EVENT-unique", message: "Errors.Unique.AlreadyExists" };
        throw alreadyExists(err.id, err.message);
      }
    }
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
      let stored: StoredEvent[] | undefined;
      const commitId = `${node}:${++commits}`;
      try {
        const s = commit && (await pushScript(req, commitId));
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
        stored ??= await sql.transaction(async (tx) => {
          await claimUniques(tx, req.instanceId, req.uniques ?? []);
          const events = await insertEvents(tx, req);
          for (const e of events) await project(tx, e);
          const touched = [...new Set(events.map((e) => aggregateKey(e.aggregateType, e.aggregateId)))];
          // Delivered to other processes at commit; they evict what they cached of these aggregates.
          // Embedded mode is one process: nobody to tell.
          if (sql.dialect === "postgres") {
            const notice: CommitNotice = { i: req.instanceId, a: touched, p: events.at(-1)!.position, c: commitId };
            await tx.query("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, JSON.stringify(notice)]);
          }
          return events;
        });
      } catch (e) {
        if (e instanceof DomainError) throw e;
        if (isUniqueViolation(e) && e.constraint === "events_aggregate_sequence") throw new ConcurrencyConflict("aggregate changed concurrently");
        // disk_full / ENOSPC / a read-only file system: the transaction rolled back, nothing was
        // written; reads go on working.
        const unwritable = storageUnwritable(e);
        if (unwritable === "full") throw new DomainError("Unavailable", "STORE-full", "storage is full; writes are refused until space is freed");
        if (unwritable === "readonly") throw new DomainError("Unavailable", "STORE-readonly", "storage is read-only; writes are refused");
        throw e;
      }
      for (const l of listeners) l(stored);
      if (barrier) await barrier(commitId);
      return stored;
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
  };
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
