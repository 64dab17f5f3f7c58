/**
 * What a push is, and the SQL it runs. Both ways of running a push build their statements here:
 * the parameter path (event-store.ts, one statement at a time) and the one-round-trip script
 * (push-script.ts, the same statements with their values inlined).
 */
import type { AggregateType, NewEvent, StoredEvent, UniqueClaim } from "../domain/events.js";

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

export const aggregateKey = (type: AggregateType, id: string) => `${type}:${id}`;

/** What a commit announces on EVENTS_CHANNEL: instance, touched aggregates, last position, commit id. */
export interface CommitNotice {
  i: string;
  a: string[];
  p: number;
  c: string;
}

/** One SQL statement with its parameters ($1, $2, ...). */
export interface Statement {
  readonly text: string;
  readonly params: readonly unknown[];
}

/** The instance a unique claim belongs to ("" for claims across instances). */
export const claimScope = (instanceId: string, u: UniqueClaim) => (u.global ? "" : instanceId);

/**
 * Takes or releases a unique claim. A taken claim fails the statement (`onTaken: "fail"`, which
 * aborts the transaction) or returns no row (`"skip"`: ON CONFLICT DO NOTHING RETURNING, so the
 * caller can raise the claim's own error and the transaction stays usable).
 */
export function claimStatement(instanceId: string, u: UniqueClaim, onTaken: "fail" | "skip"): Statement {
  const params = [claimScope(instanceId, u), u.type, u.field];
  if (u.action === "remove") return { text: "DELETE FROM unique_constraints WHERE instance_id = $1 AND unique_type = $2 AND unique_field = $3", params };
  const insert = "INSERT INTO unique_constraints (instance_id, unique_type, unique_field) VALUES ($1, $2, $3)";
  return { text: onTaken === "skip" ? `${insert} ON CONFLICT DO NOTHING RETURNING unique_field` : insert, params };
}

/** Appends `e` as sequence `seq` of its aggregate; returns the position it took. */
export function insertEventStatement(req: PushRequest, e: NewEvent, seq: number): Statement {
  return {
    text: `INSERT INTO events (instance_id, aggregate_type, aggregate_id, sequence, event_type, payload, editor_user, resource_owner, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING position`,
    params: [req.instanceId, e.aggregateType, e.aggregateId, seq, e.type, JSON.stringify(e.payload ?? {}), req.editor, e.resourceOwner, req.now],
  };
}

/** The event as stored by insertEventStatement (with the position it took, or 0 while unknown). */
export function storedEvent(req: PushRequest, e: NewEvent, seq: number, position: number): StoredEvent {
  return {
    instanceId: req.instanceId,
    aggregateType: e.aggregateType,
    aggregateId: e.aggregateId,
    sequence: seq,
    position,
    type: e.type,
    payload: e.payload ?? {},
    editor: req.editor,
    resourceOwner: e.resourceOwner,
    createdAt: req.now,
  };
}

/**
 * The CommitNotice of a push, for the end of its transaction: delivered to the listening processes
 * at commit, in commit order. Its position is the last one this transaction took from the events'
 * position sequence, so the statement can be written before the inserts have run.
 */
export function notifyStatement(instanceId: string, aggregates: string[], commitId: string): Statement {
  let notice = JSON.stringify({ i: instanceId, a: aggregates, c: commitId } satisfies Omit<CommitNotice, "p">);
  let prefix = "";
  if (Buffer.byteLength(notice) > NOTICE_MAX_BYTES) {
    // Too many aggregates to name (a cascade: a user or project with hundreds of grants): PostgreSQL
    // would refuse the NOTIFY and so the whole write. The notice names none and says "drop every cache".
    notice = JSON.stringify({ i: instanceId, a: [], c: commitId } satisfies Omit<CommitNotice, "p">);
    prefix = OVERFLOW_NOTICE_PREFIX;
  }
  return {
    text: "SELECT pg_notify($1, $2 || currval('events_position_seq') || '}')",
    params: [EVENTS_CHANNEL, prefix + notice.slice(0, -1) + ',"p":'],
  };
}

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; this leaves room for the position. */
export const NOTICE_MAX_BYTES = 7900;

/**
 * Marks a commit notice that names no aggregates because they were too many: every process drops its
 * whole cache. A process of a version before it fails to parse the payload and does the same (a gap).
 */
export const OVERFLOW_NOTICE_PREFIX = "!";

/**
 * The advisory lock (two int4 keys, so pg_locks shows it with objsubid 2) every PostgreSQL push
 * transaction holds in shared mode from before it takes its first position until it ends. A
 * follower reads the position sequence, then waits until the transactions holding the lock at that
 * moment have ended: every position up to the value it read is then committed or never will be
 * (`EventStore.readAfter`).
 */
export const PUSH_LOCK = [0x706f7274, 0x70757368] as const;

/** SQLSTATE raised by portcullis_fence (migration 7) when the writer's node slot was registered again. */
export const FENCED_SQLSTATE = "PCF01";

/**
 * The first statement of every PostgreSQL push transaction: takes PUSH_LOCK (shared) and, for a
 * writer with a leased slot, checks the slot is still this registration's (fails with PCF01 if not).
 */
export function prologueStatement(writer: { node: number; lease?: number }): Statement {
  const lock = `pg_advisory_xact_lock_shared(${PUSH_LOCK[0]}, ${PUSH_LOCK[1]})`;
  if (writer.lease === undefined) return { text: `SELECT ${lock}`, params: [] };
  return { text: `SELECT ${lock}, portcullis_fence($1, $2)`, params: [writer.node, writer.lease] };
}
