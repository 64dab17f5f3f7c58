/**
 * `portcullis start --workers N|auto` on PostgreSQL: N worker processes (node:cluster) share the one
 * port, each a full Portcullis instance in the database's cluster (cluster.ts: heartbeat, commit
 * notices, the writer's barrier), so "once a removal has answered, no process accepts the
 * credential" holds between workers as between machines. The primary only supervises: it opens no
 * database and serves nothing itself.
 *
 * - A worker that dies is replaced (after a backoff when replacements keep dying before they are ready).
 * - SIGTERM / SIGINT: every worker drains (its own graceful shutdown), then the primary exits.
 * - A worker that fails before any worker was ready (database unreachable, port in use) ends the
 *   start: the primary exits 1 and the worker's one-line error is on stderr.
 * - /debug/metrics on any worker answers for all of them: the worker asks the primary, which
 *   collects every worker's families over IPC; each sample carries a `worker` label (its slot, 1..N).
 */
import cluster, { type Worker } from "node:cluster";
import os from "node:os";
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { formatText, withLabel, type Family, type Registry } from "../telemetry/metrics.js";

export const WORKER_SLOT_ENV = "PORTCULLIS_WORKER_SLOT";

/** How many worker processes `workers` asks for: auto = the cores Node may use. */
export const workerCount = (setting: Config["workers"]): number => (setting === "auto" ? os.availableParallelism() : setting);

/** This process's slot when it is a worker of a supervisor, else undefined. */
export const workerSlot = (): number | undefined => (cluster.isWorker ? Number(process.env[WORKER_SLOT_ENV]) || undefined : undefined);

type Message =
  | { t: "ready"; port: number; issuer: string; instanceId: string }
  | { t: "metrics?"; id: number }
  | { t: "metrics"; id: number; parts: { slot: number; families: Family[] }[] }
  | { t: "collect"; id: number }
  | { t: "collected"; id: number; families: Family[] };

const COLLECT_TIMEOUT_MS = 2_000;
const MAX_BACKOFF_MS = 10_000;
/** Replacements that die before they are ready this many times in a row: the primary gives up. */
const MAX_FAILED_STARTS = 5;

/** Runs the supervisor in the primary; resolves never (it exits the process when done). */
export function superviseWorkers(config: Config, log: Logger, count: number): Promise<never> {
  const slots = new Map<number, Worker>();
  const ready = new Set<number>();
  let everReady = false;
  let stopping = false;
  let failedStarts = 0;
  let collectIds = 0;
  const collecting = new Map<number, { want: Set<number>; parts: { slot: number; families: Family[] }[]; done: () => void }>();

  const fork = (slot: number) => {
    const w = cluster.fork({ [WORKER_SLOT_ENV]: String(slot) });
    slots.set(slot, w);
    w.on("message", (m: Message) => onMessage(slot, w, m));
    w.once("exit", (code, signal) => onExit(slot, w, code, signal));
  };

  const onMessage = (slot: number, w: Worker, m: Message) => {
    if (m.t === "ready") {
      ready.add(slot);
      failedStarts = 0;
      log.info({ worker: slot, pid: w.process.pid }, "worker ready");
      if (!everReady && ready.size === count) {
        everReady = true;
        log.info({ port: m.port, issuer: m.issuer, storage: "postgres", instanceId: m.instanceId, workers: count, pid: process.pid }, "portcullis ready");
      }
    } else if (m.t === "metrics?") {
      void collectAll().then((parts) => w.isConnected() && w.send({ t: "metrics", id: m.id, parts } satisfies Message));
    } else if (m.t === "collected") {
      const c = collecting.get(m.id);
      if (!c) return;
      c.parts.push({ slot, families: m.families });
      c.want.delete(slot);
      if (c.want.size === 0) c.done();
    }
  };

  /** Every ready worker's families (those that do not answer within COLLECT_TIMEOUT_MS are left out). */
  const collectAll = () =>
    new Promise<{ slot: number; families: Family[] }[]>((resolve) => {
      const id = ++collectIds;
      const want = new Set([...ready].filter((s) => slots.get(s)?.isConnected()));
      const parts: { slot: number; families: Family[] }[] = [];
      const done = () => {
        clearTimeout(timer);
        collecting.delete(id);
        resolve(parts.sort((a, b) => a.slot - b.slot));
      };
      const timer = setTimeout(done, COLLECT_TIMEOUT_MS);
      collecting.set(id, { want, parts, done });
      if (want.size === 0) return done();
      for (const s of want) slots.get(s)!.send({ t: "collect", id } satisfies Message);
    });

  const onExit = (slot: number, w: Worker, code: number | null, signal: string | null) => {
    if (slots.get(slot) === w) slots.delete(slot);
    const wasReady = ready.delete(slot);
    if (stopping) {
      if (slots.size === 0) finish(0);
      return;
    }
    if (!everReady) {
      // The start failed (its worker wrote why on stderr): replacing it would fail the same way.
      log.error({ worker: slot, code, signal }, "a worker could not start; stopping");
      void stop(1);
      return;
    }
    if (!wasReady) failedStarts++;
    if (failedStarts >= MAX_FAILED_STARTS) {
      log.error({ worker: slot, failedStarts }, "replacement workers keep failing before they are ready; stopping");
      void stop(1);
      return;
    }
    const delay = failedStarts === 0 ? 0 : Math.min(MAX_BACKOFF_MS, 250 * 2 ** failedStarts);
    log.error({ worker: slot, pid: w.process.pid, code, signal, restartInMs: delay }, "worker exited; starting a replacement");
    setTimeout(() => !stopping && fork(slot), delay).unref();
  };

  let exitCode = 0;
  const finish = (code: number) => {
    log.info({ workers: count }, "stopped");
    process.exit(exitCode || code);
  };

  const stop = async (code: number, signal?: string) => {
    exitCode ||= code;
    if (stopping) return;
    stopping = true;
    if (signal) log.info({ signal, workers: slots.size }, "shutting down: draining every worker");
    if (slots.size === 0) return finish(code);
    for (const w of slots.values()) w.process.kill("SIGTERM");
    // Each worker bounds its own drain by shutdownTimeoutMs; past that (and a margin), kill.
    setTimeout(() => {
      for (const w of slots.values()) w.process.kill("SIGKILL");
    }, config.shutdownTimeoutMs + 5_000).unref();
  };

  process.on("SIGTERM", () => void stop(0, "SIGTERM"));
  process.on("SIGINT", () => void stop(0, "SIGINT"));
  log.info({ workers: count, pid: process.pid }, `starting ${count} worker processes`);
  for (let slot = 1; slot <= count; slot++) fork(slot);
  return new Promise<never>(() => undefined);
}

/** In a worker: tells the primary it serves. */
export function reportReady(port: number, issuer: string, instanceId: string): void {
  process.send?.({ t: "ready", port, issuer, instanceId } satisfies Message);
}

/**
 * In a worker: answers the primary's collection requests with this worker's registry and returns the
 * source /debug/metrics uses (every worker's samples, asked for through the primary).
 */
export function workerMetrics(registry: Registry): () => Promise<string> {
  const waiting = new Map<number, (text: string) => void>();
  let ids = 0;
  process.on("message", (m: Message) => {
    if (m.t === "collect") process.send?.({ t: "collected", id: m.id, families: registry.collect() } satisfies Message);
    else if (m.t === "metrics") {
      const text = formatText(m.parts.flatMap((p) => withLabel(p.families, "worker", String(p.slot))));
      waiting.get(m.id)?.(text);
      waiting.delete(m.id);
    }
  });
  return () =>
    new Promise<string>((resolve) => {
      const id = ++ids;
      // Without an answer from the primary, this worker's own samples.
      const timer = setTimeout(() => {
        waiting.delete(id);
        resolve(formatText(withLabel(registry.collect(), "worker", String(workerSlot() ?? 0))));
      }, COLLECT_TIMEOUT_MS + 500);
      waiting.set(id, (text) => {
        clearTimeout(timer);
        resolve(text);
      });
      process.send?.({ t: "metrics?", id } satisfies Message);
    });
}
