import { performance } from "node:perf_hooks";

/**
 * A per-key rate limiter (GCRA, the token bucket without a timer): `perSecond` sustained with
 * bursts of `burst`. Memory is bounded: past `maxKeys`, the oldest keys are forgotten, which only
 * ever errs on the side of letting a request through. Per process; with `share`, the process
 * enforces that fraction of the limit (rate and burst), read on every call, so that several
 * processes on one database together hold the configured limit (see createRateLimits).
 */
export interface Limiter {
  /** Spends one unit: 0 when allowed, otherwise the seconds to wait (nothing spent). */
  take(key: string): number;
  /** Seconds until one unit is available (0: now), without spending. */
  wait(key: string): number;
}

export function createLimiter(opts: { perSecond: number; burst: number; maxKeys?: number; now?: () => number; share?: () => number }): Limiter {
  let share = 1;
  let interval = 1000 / opts.perSecond;
  let tolerance = (Math.max(1, opts.burst) - 1) * interval;
  /** Recomputes interval and tolerance when the share changed (several processes: each its part). */
  const rescale = () => {
    const s = opts.share ? Math.min(1, Math.max(Number.MIN_VALUE, opts.share())) : 1;
    if (s === share) return;
    share = s;
    interval = 1000 / (opts.perSecond * s);
    tolerance = (Math.max(1, Math.floor(opts.burst * s)) - 1) * interval;
  };
  const maxKeys = opts.maxKeys ?? 100_000;
  const now = opts.now ?? (() => performance.now());
  const tat = new Map<string, number>();
  const waitMs = (key: string, t: number) => {
    rescale();
    return Math.max(0, (tat.get(key) ?? t) - t - tolerance);
  };
  return {
    take(key) {
      const t = now();
      const w = waitMs(key, t);
      if (w > 0) return Math.ceil(w / 1000);
      if (!tat.has(key) && tat.size >= maxKeys) tat.delete(tat.keys().next().value!);
      tat.set(key, Math.max(tat.get(key) ?? t, t) + interval);
      return 0;
    },
    wait(key) {
      const w = waitMs(key, now());
      return w > 0 ? Math.ceil(w / 1000) : 0;
    },
  };
}

export interface RateLimits {
  /** Token requests per client id. */
  tokenClient: Limiter;
  /** Token requests per source address. */
  tokenAddress: Limiter;
  /**
   * Failed client authentications per client id and source address (key `clientId address`):
   * past it, failures are answered 429 (a correct credential still passes).
   */
  failClientAddress: Limiter;
  /**
   * Failed client authentications per client id over all addresses (a distributed guess): past
   * it, failures are answered 429 after a bounded delay; a correct credential still passes.
   */
  failClient: Limiter;
  /** Failed authentications per source address (token endpoint and APIs). */
  failAddress: Limiter;
}

export interface RateLimitConfig {
  enabled: boolean;
  tokenPerSecond: number;
  tokenPerSecondPerAddress: number;
  failuresPerMinute: number;
  failuresPerMinutePerClient: number;
  failuresPerMinutePerAddress: number;
}

const unlimited: Limiter = { take: () => 0, wait: () => 0 };

/**
 * The limits of this process. `processes`: how many processes share the database (this one
 * included; src/server/cluster.ts's live peer count); each enforces 1/processes of every limit, so
 * together they hold the configured one (exactly when traffic spreads evenly over them, and never
 * more than the configured limit in total; a caller pinned to one process gets its share).
 */
export function createRateLimits(c: RateLimitConfig, opts: { processes?: () => number } = {}): RateLimits {
  const processes = opts.processes;
  const share = processes ? () => 1 / Math.max(1, processes()) : undefined;
  const limiter = (o: { perSecond: number; burst: number }) => createLimiter({ ...o, share });
  if (!c.enabled) return { tokenClient: unlimited, tokenAddress: unlimited, failClientAddress: unlimited, failClient: unlimited, failAddress: unlimited };
  return {
    failClientAddress: limiter({ perSecond: c.failuresPerMinute / 60, burst: c.failuresPerMinute }),
    tokenClient: limiter({ perSecond: c.tokenPerSecond, burst: c.tokenPerSecond * 2 }),
    tokenAddress: limiter({ perSecond: c.tokenPerSecondPerAddress, burst: c.tokenPerSecondPerAddress * 2 }),
    failClient: limiter({ perSecond: c.failuresPerMinutePerClient / 60, burst: c.failuresPerMinutePerClient }),
    failAddress: limiter({ perSecond: c.failuresPerMinutePerAddress / 60, burst: c.failuresPerMinutePerAddress }),
  };
}
