import type { Config } from "../../config/schema.js";
import type { KeySource } from "../../crypto/external-jwt.js";
import type { ServerKeys } from "../../crypto/keys.js";
import type { EventStore } from "../../store/event-store.js";
import type { ReadModels } from "../../store/read-models/index.js";
import type { UsedAssertions } from "../../store/used-assertions.js";
import type { LastUsed } from "../../store/last-used.js";
import type { AggregateCache } from "./aggregate-cache.js";
import type { IdGenerator } from "./ids.js";
import type { Logger } from "pino";
import type { SigningKeyRing } from "../../crypto/signing-keys.js";
import type { RateLimits } from "./rate-limit.js";
import type { Metrics } from "../../telemetry/instruments.js";
import type { Tracing } from "../../telemetry/tracing.js";

/** Everything commands and queries need, passed as one object. Clock and ids are injected for tests. */
export interface Deps {
  config: Config;
  store: EventStore;
  /** The read models (projections and the event history), queried with typed functions. */
  reads: ReadModels;
  cache: AggregateCache;
  keys: ServerKeys;
  clock: () => Date;
  newId: IdGenerator;
  instanceId: string;
  /** The RS256 token signing keys: the one that signs now, the published ones (JWKS) by kid. */
  signingKeys: SigningKeyRing;
  log: Logger;
  limits: RateLimits;
  /** The single-use check of machine-key assertions, shared by every process on the database. */
  usedAssertions: UsedAssertions;
  /** What the process records for Prometheus (no-ops with metrics off). */
  metrics: Metrics;
  /** Spans (a no-op unless tracing is on). */
  tracing: Tracing;
  /** When each credential was last used, gathered in memory and written at most once a minute each. */
  lastUsed: LastUsed;
  /** The keys of external issuers (workload federation): their fetched JWKS, cached (server/jwks-fetcher.ts). */
  federationKeys: KeySource;
}

/** Who is asking, and for which org (§4 of the management API notes: x-zitadel-orgid or the caller's org). */
export interface Caller {
  userId: string;
  /** The caller's own org. */
  resourceOwner: string;
  /** The org the request acts on. */
  orgId: string;
  /**
   * The system's own call (operator tooling, test set-up), which no user's privileges bound: the
   * privilege ceiling (domain/orgs/ceiling.ts) is not applied. Never set for a request: authorize()
   * builds their Caller without it, so a caller is bound unless someone opts out on purpose.
   */
  system?: true;
}
