import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { decodeJwt, verifyRs256 } from "../../crypto/jwt.js";
import { UserType, userExists, type UserState } from "../../domain/users/user.js";
import type { Deps } from "../core/context.js";
import { MISS, type Lookup, type Miss } from "../core/lookup.js";

/**
 * JWTs signed with a machine key (RFC 7523): the assertion of the jwt-bearer grant (§2.1) and the
 * client assertion of private_key_jwt client authentication (§2.2). One function verifies both, so
 * the two paths cannot drift apart (ZITADEL's CVE-2025-31123 accepted expired keys on one path only).
 */

/** Tolerated clock difference between the machine and this server, in seconds. */
export const CLOCK_SKEW_S = 60;
/** An assertion issued longer ago than this is refused, whatever its exp says (ZITADEL: 1 h). */
export const MAX_ASSERTION_AGE_S = 3600;

const MAX_ID_LENGTH = 200;
const MAX_JTI_LENGTH = 256;

export type AssertionResult = { ok: true; user: UserState; keyId: string } | { ok: false; reason: string };

/**
 * Remembers the ids of accepted assertions (see replayId) until they could no longer be accepted
 * anyway (min(exp, iat + max age) + skew), so that each assertion is used once (RFC 7523 §3 item 7).
 *
 * In memory and per process: the first, free check. The check that holds across processes (and
 * restarts) is deps.usedAssertions (store/used-assertions.ts), which claimSpentAssertion asks once
 * the decision is made. Bounded: when full, expired entries are pruned, and if every entry is still
 * live the oldest is dropped (logged) rather than refusing service; usedAssertions still refuses replays.
 */
export interface ReplayCache {
  /** Records the id; false if it was already recorded and has not expired. */
  use(id: string, untilMs: number, nowMs: number): boolean;
  /** Forgets an id recorded by `use` whose use did not happen after all (the shared check failed). */
  release(id: string): void;
  readonly size: number;
}

export function createReplayCache(opts: { maxEntries?: number; onOverflow?: () => void } = {}): ReplayCache {
  const max = opts.maxEntries ?? 200_000;
  const seen = new Map<string, number>();
  let lastPrune = 0;
  const prune = (nowMs: number) => {
    lastPrune = nowMs;
    for (const [id, until] of seen) if (until <= nowMs) seen.delete(id);
  };
  return {
    use(id, untilMs, nowMs) {
      const until = seen.get(id);
      if (until !== undefined) {
        if (until > nowMs) return false;
        seen.delete(id);
      }
      if (seen.size >= max) {
        // A full scan at most once a second; in between, make room by dropping the oldest entry.
        if (nowMs - lastPrune >= 1000) prune(nowMs);
        if (seen.size >= max) {
          seen.delete(seen.keys().next().value!);
          opts.onOverflow?.();
        }
      }
      seen.set(id, untilMs);
      return true;
    },
    release(id) {
      seen.delete(id);
    },
    get size() {
      return seen.size;
    },
  };
}

const isNumericDate = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isId = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= MAX_ID_LENGTH;

/** Parsed public keys by PEM; stored keys never change, so entries never go stale, only cold. */
const keyObjects = new Map<string, KeyObject>();
function publicKeyOf(pem: string): KeyObject | undefined {
  let k = keyObjects.get(pem);
  if (!k) {
    try {
      k = createPublicKey(pem);
    } catch {
      return undefined;
    }
    if (keyObjects.size >= 10_000) keyObjects.clear();
    keyObjects.set(pem, k);
  }
  return k;
}

/**
 * What one request has spent from the replay cache. A decision runs again after a load
 * (decideWithCache), and the assertion's jti, spent on the first run, must not count as a replay of
 * itself on the next one.
 */
export interface SpentJti {
  spentJti?: string;
  /** Until when the spent id must stay spent (for the shared claim after the decision). */
  spentUntilMs?: number;
}

export function spendOnce(replay: ReplayCache, request: SpentJti, id: string, untilMs: number, nowMs: number): boolean {
  if (request.spentJti === id) return true;
  if (!replay.use(id, untilMs, nowMs)) return false;
  request.spentJti = id;
  request.spentUntilMs = untilMs;
  return true;
}

/**
 * After a decision that spent an assertion in this process's cache: claims it in the durable
 * used-assertion marks too (shared by every process on PostgreSQL), so that no other process (nor this one after a restart) accepts it
 * again. False when it was used there already. A database error un-spends it locally, so the same
 * assertion may be tried again once the database answers.
 */
export async function claimSpentAssertion(deps: Deps, replay: ReplayCache, request: SpentJti): Promise<boolean> {
  const id = request.spentJti;
  if (id === undefined) return true;
  try {
    return await deps.usedAssertions.claim(deps.instanceId, id, request.spentUntilMs ?? 0, deps.clock().getTime());
  } catch (e) {
    replay.release(id);
    throw e;
  }
}

/**
 * What an assertion is used for: the jwt-bearer grant (RFC 7523 §2.1) or client authentication
 * (private_key_jwt, §2.2, at introspection and revocation).
 */
export type AssertionUse = "grant" | "client";

/**
 * The id an assertion is spent under, or undefined when it is not single-use:
 * - with a `jti`, the issuer and the jti (RFC 7523 §3 item 7): another assertion with the same jti
 *   is a replay too;
 * - without one, for the grant, the signed part (header and payload as sent): RS256 signatures are
 *   deterministic and the signature segment's base64url has more than one spelling, so the
 *   signature is left out. ZITADEL's SDKs send no jti and mint a fresh assertion (a new iat) per
 *   token, which they keep until it expires; only a byte-identical assertion is refused.
 * - without one, for client authentication: none. zitadel/oidc's resource server (what zitadel-go
 *   protects APIs with) mints a jti-less client assertion per introspection call, so two calls in
 *   the same second carry the same bytes; refusing the second would break those APIs. Such client
 *   assertions can be replayed within their lifetime (design.md, Known limits), to introspect or
 *   revoke that machine's tokens; `oauth.requireAssertionJti` closes it for clients that send a jti.
 * A digest, so that the stored id has a fixed size and no character PostgreSQL's text refuses.
 */
function replayId(iss: string, jti: string | undefined, signingInput: string, use: AssertionUse): string | undefined {
  if (jti !== undefined) return createHash("sha256").update(JSON.stringify(["jti", iss, jti])).digest("base64url");
  if (use === "grant") return createHash("sha256").update(JSON.stringify(["jws", signingInput])).digest("base64url");
  return undefined;
}

/**
 * Verifies a machine-key assertion. The rules, cheapest first:
 * - a compact JWS whose header says RS256 (the only algorithm machine keys have; `none`, HS256 and
 *   others are refused before any key is looked at) and names the key in `kid`;
 * - `iss` = `sub` = the machine user's id (no delegation), `aud` containing this issuer exactly;
 * - `exp` not passed, `iat` present, not in the future and at most MAX_ASSERTION_AGE_S old, `nbf`
 *   (if present) reached — each with CLOCK_SKEW_S of tolerance; `exp - iat` at most
 *   `oauth.maxAssertionLifetime` (ZITADEL's SDKs mint 1 h);
 * - a `jti` well-formed when present, and present when `oauth.requireAssertionJti` is set;
 * - the key exists on that machine user and has not expired; the signature verifies with it;
 * - the assertion was not used before in this process (see replayId); claimSpentAssertion then
 *   checks every other process on the database.
 * Every failure is reported the same way to the caller; `reason` is for the debug log only.
 */
export function verifyKeyAssertion(deps: Deps, replay: ReplayCache, request: SpentJti, assertion: string, use: AssertionUse, lookup: Lookup): AssertionResult | Miss {
  const c = checkAssertionClaims(deps, assertion);
  if (!c.ok) return c;
  const user = lookup("user", c.iss);
  if (user === MISS) return MISS;
  const key = userExists(user) && user.type === UserType.machine ? user.keys.get(c.kid) : undefined;
  const v = checkAssertionKey(deps, replay, request, c, key, use);
  return v.ok ? { ok: true, user, keyId: c.kid } : v;
}

/** An assertion whose form, times and audience are right; the key is not checked yet. */
export type CheckedAssertion = { ok: true; iss: string; kid: string; jwt: NonNullable<ReturnType<typeof decodeJwt>> };

/** The key-independent rules of verifyKeyAssertion (everything before the key is looked up). */
export function checkAssertionClaims(deps: Deps, assertion: string): CheckedAssertion | { ok: false; reason: string } {
  const fail = (reason: string) => ({ ok: false as const, reason });
  const jwt = decodeJwt(assertion);
  if (!jwt) return fail("not a compact JWS");
  if (jwt.header.alg !== "RS256") return fail("algorithm not allowed");
  const kid = jwt.header.kid;
  if (!isId(kid)) return fail("kid missing");
  const p = jwt.payload;
  if (!isId(p.iss) || !isId(p.sub)) return fail("iss or sub missing");
  if (p.iss !== p.sub) return fail("delegation not allowed (iss != sub)");
  const aud = typeof p.aud === "string" ? [p.aud] : Array.isArray(p.aud) ? p.aud : [];
  if (!aud.includes(deps.config.externalUrl)) return fail("audience does not contain the issuer");

  const now = deps.clock().getTime() / 1000;
  if (!isNumericDate(p.exp) || p.exp + CLOCK_SKEW_S <= now) return fail("expired");
  if (!isNumericDate(p.iat) || p.iat - CLOCK_SKEW_S > now) return fail("iat missing or in the future");
  if (p.iat + MAX_ASSERTION_AGE_S + CLOCK_SKEW_S < now) return fail("issued too long ago");
  if (p.exp - p.iat > deps.config.oauth.maxAssertionLifetime) return fail("lives longer than oauth.maxAssertionLifetime");
  if (p.nbf !== undefined && (!isNumericDate(p.nbf) || p.nbf - CLOCK_SKEW_S > now)) return fail("not yet valid");
  if (p.jti !== undefined && (typeof p.jti !== "string" || !p.jti || p.jti.length > MAX_JTI_LENGTH)) return fail("malformed jti");
  if (p.jti === undefined && deps.config.oauth.requireAssertionJti) return fail("jti missing (oauth.requireAssertionJti)");
  return { ok: true, iss: p.iss, kid, jwt };
}

/** The key rules of verifyKeyAssertion: the key named by kid exists, has not expired, verifies the signature; then single use. */
export function checkAssertionKey(
  deps: Deps,
  replay: ReplayCache,
  request: SpentJti,
  c: CheckedAssertion,
  key: { expiration: Date; publicKey: string } | undefined,
  use: AssertionUse,
): { ok: true } | { ok: false; reason: string } {
  const fail = (reason: string) => ({ ok: false as const, reason });
  const nowMs = deps.clock().getTime();
  if (!key) return fail("unknown key");
  if (key.expiration.getTime() <= nowMs) return fail("key expired");
  const publicKey = publicKeyOf(key.publicKey);
  if (!publicKey || !verifyRs256(c.jwt, publicKey)) return fail("bad signature");
  const p = c.jwt.payload as { exp: number; iat: number; jti?: string };
  const id = replayId(c.iss, p.jti, c.jwt.signingInput, use);
  if (id !== undefined) {
    const untilMs = (Math.min(p.exp, p.iat + MAX_ASSERTION_AGE_S) + CLOCK_SKEW_S) * 1000;
    if (!spendOnce(replay, request, id, untilMs, nowMs)) return fail("replayed");
  }
  return { ok: true };
}
