/**
 * A push as one transaction script: claims, events, projections and (PostgreSQL) the commit notice,
 * the statements of push.ts with every value inlined as a literal, sent in one round trip (PGlite:
 * one call into the embedded database).
 */
import type { StoredEvent } from "../domain/events.js";
import { NotInlinable, inline } from "./literal.js";
import { project } from "./projections.js";
import { aggregateKey, claimScope, claimStatement, insertEventStatement, notifyStatement, storedEvent, type PushRequest, type Statement } from "./push.js";
import type { Queryable } from "./sql.js";

export interface PushScript {
  statements: string[];
  /** Index in `statements` of each event's INSERT … RETURNING position. */
  inserts: number[];
  /** The stored events, positions still 0. */
  events: StoredEvent[];
  /** Aggregates and unique claims it touches: pushes sharing one are never in one batch. */
  keys: string[];
}

const inlined = (s: Statement) => inline(s.text, s.params);

/**
 * The push with every value inlined, or undefined when it cannot be (an aggregate without an
 * expected sequence needs a read first; a value that cannot be a literal): then push() takes the
 * transaction with parameters, one statement at a time.
 */
export async function pushScript(req: PushRequest, commitId: string, notify = true): Promise<PushScript | undefined> {
  const statements: string[] = [];
  const keys: string[] = [];
  try {
    for (const u of req.uniques ?? []) {
      keys.push(`unique:${claimScope(req.instanceId, u)}/${u.type}/${u.field}`);
      // No ON CONFLICT: a taken claim aborts the script; push() then runs the parameter path, which
      // raises that claim's own error.
      statements.push(inlined(claimStatement(req.instanceId, u, "fail")));
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
      inserts.push(statements.length);
      statements.push(inlined(insertEventStatement(req, e, seq)));
      events.push(storedEvent(req, e, seq, 0));
    }
    // The projections only write: record their statements instead of running them.
    const recorder: Queryable = {
      query: async (sqlText, params) => {
        statements.push(inline(sqlText, params));
        return [];
      },
    };
    for (const e of events) await project(recorder, e);
    // Embedded mode is one process: nobody to tell.
    if (notify) statements.push(inlined(notifyStatement(req.instanceId, [...next.keys()], commitId)));
    return { statements, inserts, events, keys };
  } catch (e) {
    if (e instanceof NotInlinable) return undefined;
    throw e;
  }
}
