import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { createEventStore, type EventStore } from "../store/event-store.js";
import { migrate } from "../store/migrations.js";
import { openPglite } from "../store/pglite-adapter.js";
import { createReadModels } from "../store/read-models/index.js";
import type { SqlPort } from "../store/sql.js";
import { createLastUsed } from "../store/last-used.js";
import { createUsedAssertions, type UsedAssertions } from "../store/used-assertions.js";
import { createUsedAssertionLog, type UsedAssertionLog } from "../store/used-assertion-log.js";
import { createAggregateCache } from "../app/core/aggregate-cache.js";
import { bootstrap, type BootstrapResult } from "../app/instance/bootstrap.js";
import type { Deps } from "../app/core/context.js";
import { createIdGenerator } from "../app/core/ids.js";
import { joinCluster, type Cluster } from "./cluster.js";
import { eventSignal } from "../app/events/signal.js";
import { createJwksFetcher } from "./jwks-fetcher.js";
import { startWebhookDelivery } from "./webhooks.js";
import { createRateLimits } from "../app/core/rate-limit.js";
import { loadServerKeys } from "./system.js";
import { registerNode } from "./node-slot.js";
import { openSigningKeys, type LiveSigningKeys } from "./signing-keys.js";
import { createMetrics, noMetrics } from "../telemetry/instruments.js";
import { tracingFromEnv } from "../telemetry/otlp-exporter.js";
import type { Tracing } from "../telemetry/tracing.js";
import { PORTCULLIS_VERSION } from "./version.js";

export { createLogger } from "./logger.js";

/**
 * The embedded store, or PostgreSQL once it answers: start-up waits for an unreachable database up
 * to db.startupTimeoutMs, logging each failed attempt (host, port, error; never the password).
 */
export async function openStorage(config: Config, log?: Logger): Promise<SqlPort> {
  if (!config.databaseUrl) return openPglite(config.dataDir, { fsync: config.db.embeddedFsync });
  // Loaded only for PostgreSQL: the driver and the Node modules it needs cost the embedded store's start ~0.1 s of CPU.
  const [{ waitForPostgres }, { openPostgres }] = await Promise.all([import("../store/pg-startup.js"), import("../store/postgres-adapter.js")]);
  await waitForPostgres(config.databaseUrl, {
    timeoutMs: config.db.startupTimeoutMs,
    connectTimeoutMs: config.db.connectTimeoutMs,
    onRetry: (a) =>
      log?.warn(
        { host: a.host, port: a.port, attempt: a.attempt, error: a.error, retryInMs: a.retryInMs },
        `waiting for PostgreSQL at ${a.host}:${a.port}: ${a.error} (attempt ${a.attempt}, next in ${a.retryInMs < 1000 ? `${a.retryInMs} ms` : `${Math.round(a.retryInMs / 100) / 10} s`})`,
      ),
  });
  return openPostgres(config.databaseUrl, { max: config.db.poolSize, connectTimeoutMs: config.db.connectTimeoutMs });
}

export interface Runtime {
  deps: Deps;
  sql: SqlPort;
  store: EventStore;
  boot: BootstrapResult;
  /** The token signing keys (deps.signingKeys), with the schedule's upkeep. */
  signingKeys: LiveSigningKeys;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Tracing to use instead of the one the OTEL_* variables ask for (tests: an in-memory exporter). */
  tracing?: Tracing;
}

/** Opens storage, migrates, loads keys, bootstraps the first instance and builds the shared deps. */
export async function startRuntime(config: Config, log: Logger, clock: () => Date = () => new Date(), opts: RuntimeOptions = {}): Promise<Runtime> {
  const sql = await openStorage(config, log);
  const metrics = config.metrics.enabled ? createMetrics() : noMetrics;
  const tracing = opts.tracing ?? tracingFromEnv(process.env, PORTCULLIS_VERSION, (m) => log.warn(m));
  if (tracing.enabled && !opts.tracing) log.info("tracing on (OpenTelemetry, OTLP/HTTP JSON)");
  metrics.watch({ pool: sql.poolStats && (() => sql.poolStats!()) });
  let usedLog: UsedAssertionLog | undefined;
  try {
    await migrate(sql);
    const keys = await loadServerKeys(sql, config, clock());
    const slot = await registerNode(sql, config.db.nodeLeaseMs);
    const newId = createIdGenerator(() => slot.idNode());
    const store = createEventStore(sql, slot, { metrics, tracing });
    const reads = createReadModels(sql);
    if (keys.previous.length > 0)
      log.info({ previous: keys.previous.length }, "previous master keys configured: run `portcullis masterkey rotate` to re-wrap under the current key and see what still depends on them");
    const signingKeys = await openSigningKeys({ sql, keys, config, clock, newId, log });
    const boot = await bootstrap(store, reads.instance, config, keys, newId, clock());
    let cluster: Cluster | undefined;
    const cache = createAggregateCache(store, { trusted: () => cluster?.trusted() ?? false, users: reads.users, userGrants: reads.userGrants, apps: reads.apps, metrics });
    cluster = await joinCluster(
      sql,
      store,
      slot,
      {
        onNotice: (n) => {
          cache.applyNotice(n);
          // Followers of the event feed (long polls, webhook delivery) read again.
          eventSignal(store).wake();
        },
        onGap: () => cache.clear(),
      },
      log,
      { metrics, tracing },
    );
    metrics.watch({ clusterPeers: () => cluster?.peerCount() ?? 1, clusterTrusted: () => cluster?.trusted() ?? false });
    const limits = createRateLimits(config.rateLimit, { processes: () => cluster?.peerCount() ?? 1 });
    // PostgreSQL: the shared table (every process sees every mark). Embedded store: one process holds
    // the data directory, so the marks live in its memory with an append-only file behind them — no
    // insert in PGlite and no fsync on the main thread per token (store/used-assertion-log.ts).
    let usedAssertions: UsedAssertions;
    if (config.databaseUrl) usedAssertions = createUsedAssertions(sql, { onPruneError: (err) => log.warn({ err }, "pruning used assertions failed") });
    else
      usedAssertions = usedLog = await createUsedAssertionLog(config.dataDir, {
        fsync: config.db.embeddedFsync,
        sql,
        onError: (err) => log.warn({ err }, "pruning or compacting the used-assertion log failed"),
      });
    const lastUsed = createLastUsed(sql, {
      intervalMs: config.credentials.lastUsedWriteInterval,
      enabled: config.credentials.trackLastUsed,
      onError: (err) => log.warn({ err }, "writing credentials' last use failed (kept for the next round)"),
    });
    const federationKeys = createJwksFetcher({
      allowHttpLoopback: config.federation.allowHttpLoopback,
      timeoutMs: config.federation.jwksTimeoutMs,
      refreshIntervalMs: config.federation.jwksRefreshIntervalMs,
      clock: () => clock().getTime(),
      log,
    });
    const deps: Deps = { config, store, reads, cache, keys, clock, newId, instanceId: boot.instanceId, signingKeys, log, limits, usedAssertions, lastUsed, metrics, tracing, federationKeys };
    const webhooks = config.webhooks.enabled ? startWebhookDelivery(deps, log) : undefined;
    if (metrics.registry) countExpiringCredentials(deps);
    return {
      deps,
      sql,
      store,
      boot,
      signingKeys,
      async close() {
        await webhooks?.close();
        signingKeys.close();
        // The uses gathered since the last write, before the pool goes (graceful shutdown).
        await lastUsed.close().catch((err: unknown) => log.warn({ err }, "writing credentials' last use at shutdown failed"));
        await cluster?.close();
        // The claims still being written are answered before the store (and its lock) goes.
        await usedLog?.close().catch((err: unknown) => log.warn({ err }, "closing the used-assertion log failed"));
        await sql.close();
        await tracing.shutdown();
      },
    };
  } catch (e) {
    await usedLog?.close().catch(() => undefined);
    await sql.close().catch(() => undefined);
    await tracing.shutdown().catch(() => undefined);
    throw e;
  }
}

const WEEK_MS = 7 * 86_400_000;
const EXPIRING_REFRESH_MS = 60_000;

/**
 * The portcullis_credentials_expiring_7d gauge: counted at start, then again in the background when a
 * scrape finds the count a minute old (by the deps' clock), so a scrape never waits for the database
 * and an unscraped server never counts. A failed count keeps the previous one (logged at debug).
 */
function countExpiringCredentials(deps: Deps): void {
  let counts: Record<string, number> | undefined;
  let countedAt = -Infinity;
  let counting = false;
  const count = () => {
    const now = deps.clock();
    countedAt = now.getTime();
    counting = true;
    deps.reads.credentials
      .expiringCounts(deps.instanceId, now, new Date(now.getTime() + WEEK_MS))
      .then((c) => (counts = c))
      .catch((err: unknown) => deps.log.debug({ err }, "counting expiring credentials failed"))
      .finally(() => (counting = false));
  };
  count();
  deps.metrics.watch({
    expiringCredentials: () => {
      if (!counting && deps.clock().getTime() - countedAt >= EXPIRING_REFRESH_MS) count();
      return counts;
    },
  });
}
