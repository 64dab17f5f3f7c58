import { performance } from "node:perf_hooks";

/**
 * A per-key rate limiter (GCRA, the token bucket without a timer): `perSecond` sustained with
 * bursts of `burst`. Memory is bounded: past `maxKeys`, the oldest keys are forgotten, which only
 * ever errs on the side of letting a request through. Per process.
 */
export interface Limiter {
  /** Spends one unit: 0 when allowed, otherwise the seconds to wait (nothing spent). */
  take(key: string): number;
  /** Seconds until one unit is available (0: now), without spending. */
  wait(key: string): number;
}

export function createLimiter(opts: { perSecond: number; burst: number; maxKeys?: number; now?: () => number }): Limiter {
  const interval = 1000 / opts.perSecond;
  const tolerance = (Math.max(1, opts.burst) - 1) * interval;
  const maxKeys = opts.maxKeys ?? 100_000;
  const now = opts.now ?? (() => performance.now());
  const tat = new Map<string, number>();
  const waitMs = (key: string, t: number) => Math.max(0, (tat.get(key) ?? t) - t - tolerance);
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

export function createRateLimits(c: RateLimitConfig): RateLimits {
  if (!c.enabled) return { tokenClient: unlimited, tokenAddress: unlimited, failClientAddress: unlimited, failClient: unlimited, failAddress: unlimited };
  return {
    failClientAddress: createLimiter({ perSecond: c.failuresPerMinute / 60, burst: c.failuresPerMinute }),
    tokenClient: createLimiter({ perSecond: c.tokenPerSecond, burst: c.tokenPerSecond * 2 }),
    tokenAddress: createLimiter({ perSecond: c.tokenPerSecondPerAddress, burst: c.tokenPerSecondPerAddress * 2 }),
    failClient: createLimiter({ perSecond: c.failuresPerMinutePerClient / 60, burst: c.failuresPerMinutePerClient }),
    failAddress: createLimiter({ perSecond: c.failuresPerMinutePerAddress / 60, burst: c.failuresPerMinutePerAddress }),
  };
}
