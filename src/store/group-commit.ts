/** Group commit of push scripts on PostgreSQL and PGlite (see createCommitter). */
import { DomainError } from "../domain/errors.js";
import type { PushScript } from "./push-script.js";
import { FENCED_SQLSTATE } from "./push.js";
import type { Row, SqlError } from "./sql.js";

const fenced = (e: unknown) => (e as SqlError | undefined)?.code === FENCED_SQLSTATE;

/** Whether a failed script certainly did not commit: an SQL error (SQLSTATE) or a value PostgreSQL refused. */
const notCommitted = (e: unknown): boolean =>
  (e instanceof DomainError && e.id === "STORE-value") ||
  (!(e instanceof DomainError) && typeof (e as SqlError | undefined)?.code === "string" && /^[0-9A-Z]{5}$/.test((e as SqlError).code!));

/** Batches in flight at once on PostgreSQL; the pool (10 by default) keeps room for reads and the heartbeat. */
const MAX_BATCHES = 3;
const MAX_BATCH_PUSHES = 64;

/**
 * Group commit: every PostgreSQL commit that notifies holds a database-wide lock until its WAL is
 * flushed, so notifying transactions commit one at a time. Pushes that arrive while MAX_BATCHES
 * scripts are in flight wait and then go together, in one transaction (one lock, one flush). A
 * batch that failed before committing is run again in halves until the failing push is alone, so
 * one push's conflict never fails another; a batch whose outcome is unknown (the connection broke)
 * fails every push in it, as a single push would.
 *
 * On PostgreSQL every script starts with `prologue()` (push.ts prologueStatement: the push lock and
 * the writer's slot fence); a fenced writer's batch fails as a whole (every push in it is this
 * process's). On PGlite (no prologue, one batch at a time: one connection) what is grouped is the
 * commit's `fdatasync`, which runs on the event loop: nothing arrives while a batch commits, so
 * `gather` starts a batch only once the event loop has taken in what is ready (setImmediate, after
 * the poll phase): the pushes of every request read meanwhile go together. Each push is still
 * acknowledged only once its batch is on disk.
 */
export interface CommitterOptions {
  prologue?: () => string;
  onCommitted?: (pushes: number) => void;
  maxBatches?: number;
  gather?: boolean;
}

export function createCommitter(script: (statements: readonly string[]) => Promise<Row[][]>, opts: CommitterOptions = {}) {
  const { prologue, onCommitted, maxBatches = MAX_BATCHES, gather = false } = opts;
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

  const withPrologue = async (statements: string[]) => (prologue ? (await script([prologue(), ...statements])).slice(1) : script(statements));
  const runOne = (j: Job) =>
    withPrologue(j.s.statements).then((rows) => {
      onCommitted?.(1);
      j.resolve(rows);
    }, j.reject);

  async function run(batch: Job[]) {
    if (batch.length === 1) return runOne(batch[0]!);
    let rows: Row[][];
    try {
      rows = await withPrologue(batch.flatMap((j) => j.s.statements));
    } catch (e) {
      if (!notCommitted(e) || fenced(e)) {
        for (const j of batch) j.reject(e);
        return;
      }
      // Nothing was written. Halve until the failing push is alone (it then fails with its own error).
      const half = Math.ceil(batch.length / 2);
      await run(batch.slice(0, half));
      await run(batch.slice(half));
      return;
    }
    onCommitted?.(batch.length);
    let at = 0;
    for (const j of batch) {
      j.resolve(rows.slice(at, at + j.s.statements.length));
      at += j.s.statements.length;
    }
  }

  let scheduled = false;
  const pump = () => {
    while (inFlight < maxBatches && queue.length > 0) {
      inFlight++;
      void run(take()).finally(() => {
        inFlight--;
        next();
      });
    }
  };
  const gathered = () => {
    scheduled = false;
    pump();
  };
  const next = () => {
    if (!gather) return pump();
    if (scheduled || inFlight >= maxBatches || queue.length === 0) return;
    scheduled = true;
    setImmediate(gathered);
  };

  return (s: PushScript) =>
    new Promise<Row[][]>((resolve, reject) => {
      queue.push({ s, resolve, reject });
      next();
    });
}
