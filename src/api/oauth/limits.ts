import type { Deps } from "../../app/core/context.js";
import { OAuthError, tooManyRequests } from "../../app/oauth/errors.js";
import type { Req } from "../http-util.js";

export type Limited = <T>(req: Req, clientId: string | undefined, countRequest: boolean, fn: () => T | Promise<T>) => T | Promise<T>;

/**
 * Brute-force protection: failed client authentications are counted per client id and per source
 * address; past the limit (and past the token-request limits) the answer is 429 with Retry-After
 * before any credential is checked.
 */
export function createLimited(deps: Deps): Limited {
  const limited: Limited = (req, clientId, countRequest, fn) => {
    const { limits } = deps;
    const addr = req.socket?.remoteAddress ?? "";
    const client = clientId?.toLowerCase();
    const blocked = Math.max(limits.failAddress.wait(addr), client ? limits.failClient.wait(client) : 0);
    if (blocked > 0) throw tooManyRequests(blocked);
    if (countRequest) {
      const wait = limits.tokenAddress.take(addr) || (client ? limits.tokenClient.take(client) : 0);
      if (wait > 0) throw tooManyRequests(wait);
    }
    let r: ReturnType<typeof fn>;
    try {
      r = fn();
    } catch (e) {
      countFailure(addr, client, e);
      throw e;
    }
    if (!(r instanceof Promise)) return r;
    return r.catch((e: unknown) => {
      countFailure(addr, client, e);
      throw e;
    });
  };
  const countFailure = (addr: string, client: string | undefined, e: unknown) => {
    if (e instanceof OAuthError && (e.error === "invalid_client" || e.error === "invalid_grant")) {
      deps.limits.failAddress.take(addr);
      if (client) deps.limits.failClient.take(client);
    }
  };
  return limited;
}
