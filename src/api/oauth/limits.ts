import { setTimeout as sleep } from "node:timers/promises";
import type { Deps } from "../../app/core/context.js";
import { OAuthError, tooManyRequests } from "../../app/oauth/errors.js";
import { createClientAddress } from "../client-address.js";
import type { Req } from "../http-util.js";

export type Limited = <T>(req: Req, clientId: string | undefined, countRequest: boolean, fn: () => T | Promise<T>) => T | Promise<T>;

/** The longest a failed attempt on a client id under a distributed guess is held before its 429. */
const MAX_FAILURE_DELAY_MS = 1000;

const isAuthFailure = (e: unknown) => e instanceof OAuthError && (e.error === "invalid_client" || e.error === "invalid_grant");

/**
 * Brute-force protection without a kill switch. A wrong secret and a right one look alike until
 * verified, and verifying is cheap, so the credential is checked first and the limits decide after:
 * - before: the source address's failure budget (past it, 429 without checking anything: the
 *   attacker's own address pays) and, for token requests, the request-rate limits — per address
 *   (spent), per client id (only looked at: it is spent by successes alone, so failures cannot use
 *   up a real client's token budget);
 * - success: the answer (spending the client's token-rate budget);
 * - failure: counted against (client id + address), (address) and (client id); past the
 *   (client id + address) budget the failure is answered 429 with Retry-After, past the client id's
 *   (many addresses guessing) after a bounded delay. A correct credential is never refused for
 *   someone else's failures, except when they come from its own address past that address's budget.
 */
export function createLimited(deps: Deps): Limited {
  const clientAddress = createClientAddress(deps.config.trustedProxies);
  const { authFailures, rateLimitRefusals } = deps.metrics;
  const oauthFailures = authFailures.labels("oauth");
  const refused = (limit: string, wait: number) => {
    rateLimitRefusals.labels(limit).inc();
    return tooManyRequests(wait);
  };
  const limited: Limited = (req, clientId, countRequest, fn) => {
    const { limits } = deps;
    const addr = clientAddress(req);
    const client = clientId?.toLowerCase();
    const blocked = limits.failAddress.wait(addr);
    if (blocked > 0) throw refused("failures_per_address", blocked);
    if (countRequest) {
      const perAddress = limits.tokenAddress.take(addr);
      if (perAddress > 0) throw refused("tokens_per_address", perAddress);
      const perClient = client ? limits.tokenClient.wait(client) : 0;
      if (perClient > 0) throw refused("tokens_per_client", perClient);
    }
    const succeeded = <R>(r: R): R => {
      if (countRequest && client) limits.tokenClient.take(client);
      return r;
    };
    let r: ReturnType<typeof fn>;
    try {
      r = fn();
    } catch (e) {
      const answer = failure(addr, client, e);
      if (answer instanceof Promise)
        return answer.then((err: unknown) => {
          throw err;
        });
      throw answer;
    }
    if (!(r instanceof Promise)) return succeeded(r);
    return r.then(succeeded, async (e: unknown) => {
      throw await failure(addr, client, e);
    });
  };

  /** Counts a failed authentication; the error to answer (the original one or a 429), maybe after a delay. */
  const failure = (addr: string, client: string | undefined, e: unknown): unknown => {
    if (!isAuthFailure(e)) return e;
    oauthFailures.inc();
    const { limits } = deps;
    limits.failAddress.take(addr);
    if (!client) return e;
    const pair = limits.failClientAddress.take(`${client} ${addr}`);
    const all = limits.failClient.take(client);
    if (all > 0) return sleep(Math.min(all * 1000, MAX_FAILURE_DELAY_MS)).then(() => refused("failures_per_client", Math.max(all, pair)));
    return pair > 0 ? refused("failures_per_client_address", pair) : e;
  };
  return limited;
}
