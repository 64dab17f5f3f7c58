/**
 * Portcullis's metrics: every instrument the code records into, made once per process. With
 * metrics off (`metrics.enabled: false`) the same object is made of no-ops, so the recording call
 * sites need no checks of their own.
 */
import { createRegistry, type Counter, type Gauge, type Histogram, type Registry } from "./metrics.js";

/** Seconds; from 0.5 ms (a cached token request) to 10 s. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

export interface PoolStats {
  /** Open connections. */
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
  max: number;
}

/** Values read at scrape time from components made after the metrics. */
export interface MetricSources {
  clusterPeers?: () => number;
  clusterTrusted?: () => boolean;
  pool?: () => PoolStats | undefined;
  /** Live credentials expiring within 7 days, by kind, as last counted (counted in the background). */
  expiringCredentials?: () => Readonly<Record<string, number>> | undefined;
}

export interface Metrics {
  /** undefined when metrics are off. */
  readonly registry: Registry | undefined;
  /** protocol, service, method, code */
  readonly requests: Counter;
  /** protocol, service, method */
  readonly requestDuration: Histogram;
  /** grant_type, result */
  readonly tokenRequests: Counter;
  /** endpoint: api (bearer tokens) | oauth (client authentication) */
  readonly authFailures: Counter;
  /** limit */
  readonly rateLimitRefusals: Counter;
  /** cache, result */
  readonly cacheLookups: Counter;
  /** path: script | transaction */
  readonly pushDuration: Histogram;
  readonly pushEvents: Histogram;
  readonly commitBatchPushes: Histogram;
  readonly barrierWait: Histogram;
  readonly barrierTimeouts: Counter;
  /** Sets where scrape-time values come from (later calls add to earlier ones). */
  watch(sources: MetricSources): void;
}

export function createMetrics(): Metrics {
  const r = createRegistry();
  const sources: MetricSources = {};
  const started = Date.now() / 1000;
  r.gauge({ name: "process_start_time_seconds", help: "Start time of the process since the Unix epoch, in seconds.", collect() { this.set(started); } });
  r.gauge({ name: "process_resident_memory_bytes", help: "Resident memory size in bytes.", collect() { this.set(process.memoryUsage.rss()); } });
  r.gauge({ name: "nodejs_heap_used_bytes", help: "V8 heap in use, in bytes.", collect() { this.set(process.memoryUsage().heapUsed); } });
  r.gauge({
    name: "portcullis_cluster_peers",
    help: "Live Portcullis processes on this database, this one included, as the latest heartbeat read them (1 on the embedded store).",
    collect() { this.set(sources.clusterPeers?.() ?? 1); },
  });
  r.gauge({
    name: "portcullis_cluster_trusted",
    help: "1 while this process trusts its caches (it hears its own heartbeat), else 0 (reads go to the database).",
    collect() { this.set(sources.clusterTrusted?.() === false ? 0 : 1); },
  });
  r.gauge({
    name: "portcullis_db_pool_connections",
    help: "PostgreSQL pool connections by state (open, idle, max); absent on the embedded store.",
    labelNames: ["state"],
    collect() {
      const s = sources.pool?.();
      if (!s) return;
      this.labels("open").set(s.total);
      this.labels("idle").set(s.idle);
      this.labels("max").set(s.max);
    },
  });
  r.gauge({
    name: "portcullis_credentials_expiring_7d",
    help: "Live machine secrets, machine keys, PATs and API-app keys of the instance that expire within 7 days, by kind (as counted at most a minute before the scrape).",
    labelNames: ["kind"],
    collect() {
      const counts = sources.expiringCredentials?.();
      if (counts) for (const [kind, n] of Object.entries(counts)) this.labels(kind).set(n);
    },
  });
  r.gauge({
    name: "portcullis_db_pool_waiting",
    help: "Queries waiting for a free PostgreSQL pool connection.",
    collect() { this.set(sources.pool?.()?.waiting ?? 0); },
  });
  return {
    registry: r,
    requests: r.counter({
      name: "portcullis_requests_total",
      help: "Requests answered, by protocol (grpc, grpc-web, connect, rest, oauth, http), service, method and code (the gRPC code name for API calls, the HTTP status otherwise).",
      labelNames: ["protocol", "service", "method", "code"],
    }),
    requestDuration: r.histogram({
      name: "portcullis_request_duration_seconds",
      help: "Time from a request's arrival to the end of its answer, in seconds.",
      labelNames: ["protocol", "service", "method"],
      buckets: LATENCY_BUCKETS,
    }),
    tokenRequests: r.counter({
      name: "portcullis_token_requests_total",
      help: "Token endpoint requests by grant type and result (issued, or the OAuth error code).",
      labelNames: ["grant_type", "result"],
    }),
    authFailures: r.counter({
      name: "portcullis_authentication_failures_total",
      help: "Failed authentications: api (a bearer token on an API call) or oauth (a client at the token, introspection or revocation endpoint).",
      labelNames: ["endpoint"],
    }),
    rateLimitRefusals: r.counter({
      name: "portcullis_rate_limit_refusals_total",
      help: "Requests refused by a rate limit (429 / ResourceExhausted), by limit.",
      labelNames: ["limit"],
    }),
    cacheLookups: r.counter({
      name: "portcullis_cache_lookups_total",
      help: "Cache lookups: aggregate (the aggregate cache) and decision (a token or request decision answered from memory or needing a load), by result (hit, miss, untrusted).",
      labelNames: ["cache", "result"],
    }),
    pushDuration: r.histogram({
      name: "portcullis_event_store_push_duration_seconds",
      help: "Time to commit a push (a command's events), cluster barrier excluded, by path (script: one round trip, group-committed; transaction).",
      labelNames: ["path"],
      buckets: LATENCY_BUCKETS,
    }),
    pushEvents: r.histogram({ name: "portcullis_event_store_push_events", help: "Events per committed push.", buckets: SIZE_BUCKETS }),
    commitBatchPushes: r.histogram({
      name: "portcullis_event_store_commit_batch_pushes",
      help: "Pushes committed together in one PostgreSQL transaction (group commit).",
      buckets: [1, 2, 4, 8, 16, 32, 64],
    }),
    barrierWait: r.histogram({
      name: "portcullis_cluster_barrier_wait_seconds",
      help: "Time a writer waited for the other processes to acknowledge its commit.",
      buckets: LATENCY_BUCKETS,
    }),
    barrierTimeouts: r.counter({
      name: "portcullis_cluster_barrier_timeouts_total",
      help: "Commits whose acknowledgement wait ended by timeout (a peer did not answer within 2 s).",
    }),
    watch: (s) => void Object.assign(sources, s),
  };
}

const noopChild = { inc() {}, set() {}, observe() {} };
const noop = { ...noopChild, labels: () => noopChild } as Counter & Gauge & Histogram;

/** Metrics off: every instrument records nothing. */
export const noMetrics: Metrics = {
  registry: undefined,
  requests: noop,
  requestDuration: noop,
  tokenRequests: noop,
  authFailures: noop,
  rateLimitRefusals: noop,
  cacheLookups: noop,
  pushDuration: noop,
  pushEvents: noop,
  commitBatchPushes: noop,
  barrierWait: noop,
  barrierTimeouts: noop,
  watch: () => undefined,
};
