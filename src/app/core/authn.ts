import { keyedHashMatches } from "../../crypto/keys.js";
import { decodeJwt, verifyRs256 } from "../../crypto/jwt.js";
import { PAT_PREFIX } from "../../crypto/credential-formats.js";
import { decodeOpaque, openAccessToken, parsePersonalAccessToken, readPersonalAccessToken } from "../../crypto/tokens.js";
import { unauthenticated } from "../../domain/errors.js";
import { OrgStateNum, type OrgState } from "../../domain/orgs/org.js";
import { UserStateNum, UserType, secretLive, type UserState } from "../../domain/users/user.js";
import type { Deps } from "./context.js";
import { MISS, decideWithCache, type Lookup, type Miss } from "./lookup.js";

/** Who a valid bearer token speaks for. */
export interface Principal {
  userId: string;
  /** The user's own org. */
  orgId: string;
  kind: "pat" | "access_token";
  tokenId: string;
  /** Audience of an access token; a PAT has none and skips the audience check (as ZITADEL). */
  aud: string[];
  scopes: readonly string[];
  clientId: string;
  /** Seconds since the epoch. */
  exp: number;
  iat: number;
  user: UserState;
}

/**
 * A machine user that may authenticate now: exists, is a machine, is active (ZITADEL also accepts
 * INITIAL, which machines never are), and its org is active.
 */
function activeMachineFrom(lookup: Lookup, userId: string): { user: UserState; org: OrgState } | undefined | Miss {
  const user = lookup("user", userId);
  if (user === MISS) return MISS;
  if (user.type !== UserType.machine || user.state !== UserStateNum.active) return undefined;
  const org = lookup("org", user.orgId);
  if (org === MISS) return MISS;
  if (org.state !== OrgStateNum.active) return undefined;
  return { user, org };
}

/** Whether the credential that obtained a token still exists (removing a secret or key ends its tokens). */
function credentialAlive(user: UserState, cred: string, nowMs: number): boolean {
  const i = cred.indexOf(":");
  const kind = cred.slice(0, i);
  const ref = cred.slice(i + 1);
  if (kind === "secret") {
    // A token obtained before secret ids existed names the secret by its event's sequence, which is its id.
    const s = user.secrets.get(ref);
    return s !== undefined && secretLive(s, nowMs);
  }
  if (kind === "key") {
    const k = user.keys.get(ref);
    return k !== undefined && k.expiration.getTime() > nowMs;
  }
  if (kind === "pat") return user.pats.has(ref);
  // A token obtained through workload federation lives while its binding does (removing the binding or its policy ends it).
  if (kind === "fed") return user.bindings.has(ref);
  return false;
}

/**
 * Resolves a bearer token (PAT, opaque access token or JWT access token issued here) to its principal,
 * or undefined for anything that is not valid right now. Callers collapse undefined into one error.
 * Answers without a promise when the user and org are in the aggregate cache (the common case);
 * otherwise loads what is missing and decides again on the loaded states.
 */
export function authenticateBearer(deps: Deps, token: string): Principal | undefined | Promise<Principal | undefined> {
  return decideWithCache(deps, decideBearer, token);
}

/**
 * A bearer token presented to the API: valid now, and meant for this API (checkAudience). Throws
 * Unauthenticated otherwise. Without a promise when everything it needs is cached.
 */
export function authenticateApiCaller(deps: Deps, token: string): Principal | Promise<Principal> {
  return decideWithCache(deps, decideApiCaller, token);
}

function decideApiCaller(deps: Deps, token: string, lookup: Lookup): Principal | Miss {
  const p = decideBearer(deps, token, lookup);
  return p === MISS ? MISS : checkAudience(deps, p, lookup);
}

/** Access tokens must be meant for this API (the instance's project); PATs have no audience (as ZITADEL). */
export function checkAudience(deps: Deps, principal: Principal | undefined, lookup: Lookup): Principal | Miss {
  if (!principal) throw unauthenticated("AUTH-7fs1e", "Errors.Token.Invalid");
  if (principal.kind === "pat") return principal;
  const instance = lookup("instance", deps.instanceId);
  if (instance === MISS) return MISS;
  if (!principal.aud.includes(instance.projectId)) throw unauthenticated("AUTH-7fs1e", "Errors.Token.Invalid");
  return principal;
}

/** The decision behind authenticateBearer, for decisions that build on it. */
export function decideBearer(deps: Deps, token: string, lookup: Lookup): Principal | undefined | Miss {
  const nowMs = deps.clock().getTime();
  const nowSec = Math.floor(nowMs / 1000);
  if (token.startsWith("eyJ")) return verifyJwtAccessToken(deps, token, nowMs, lookup);
  // A PAT in the current format: its checksum is checked before anything is looked up.
  if (token.startsWith(PAT_PREFIX)) {
    const pat = readPersonalAccessToken(token);
    return pat && decidePat(deps, token, pat, nowMs, lookup);
  }
  const raw = decodeOpaque(token);
  if (!raw) return undefined;
  const pat = parsePersonalAccessToken(raw);
  if (pat) return decidePat(deps, token, pat, nowMs, lookup);
  return decideAccessToken(deps, raw, nowMs, nowSec, lookup);
}

function decidePat(deps: Deps, token: string, pat: { tokenId: string; userId: string }, nowMs: number, lookup: Lookup): Principal | undefined | Miss {
  const live = activeMachineFrom(lookup, pat.userId);
  if (live === MISS) return MISS;
  const record = live?.user.pats.get(pat.tokenId);
  if (!live || !record || record.expiration.getTime() <= nowMs) return undefined;
  if (!keyedHashMatches(deps.keys, token, record.tokenHash)) return undefined;
  deps.lastUsed.touch(deps.instanceId, "pat", pat.userId, pat.tokenId, nowMs);
  return {
    userId: pat.userId,
    orgId: live.user.orgId,
    kind: "pat",
    tokenId: pat.tokenId,
    aud: [],
    scopes: record.scopes,
    clientId: live.user.userName,
    exp: Math.floor(record.expiration.getTime() / 1000),
    iat: Math.floor(record.createdAt.getTime() / 1000),
    user: live.user,
  };
}

function decideAccessToken(deps: Deps, raw: Buffer, nowMs: number, nowSec: number, lookup: Lookup): Principal | undefined | Miss {
  const claims = openAccessToken(deps.keys, raw);
  if (!claims || claims.exp <= nowSec) return undefined;
  const live = activeMachineFrom(lookup, claims.sub);
  if (live === MISS) return MISS;
  if (!live || live.user.revokedTokens.has(claims.tid) || !credentialAlive(live.user, claims.cred, nowMs)) return undefined;
  return {
    userId: claims.sub,
    orgId: live.user.orgId,
    kind: "access_token",
    tokenId: claims.tid,
    aud: claims.aud,
    scopes: claims.scope,
    clientId: claims.clientId,
    exp: claims.exp,
    iat: claims.iat,
    user: live.user,
  };
}

function verifyJwtAccessToken(deps: Deps, token: string, nowMs: number, lookup: Lookup): Principal | undefined | Miss {
  const jwt = decodeJwt(token);
  if (!jwt) return undefined;
  const p = jwt.payload;
  // A kid this process has not loaded may be another process's new key: for what could be a live
  // token of this issuer, the lookup reloads the key set (the ring bounds how often) and decides again.
  let key = deps.signingKeys.find(jwt.header.kid);
  if (!key && typeof jwt.header.kid === "string" && p.iss === deps.config.externalUrl && typeof p.exp === "number" && p.exp * 1000 > nowMs) {
    const reloaded = lookup("signingKey", jwt.header.kid);
    if (reloaded === MISS) return MISS;
    key = reloaded ?? undefined;
  }
  if (!key || !verifyRs256(jwt, key.publicKey)) return undefined;
  if (p.iss !== deps.config.externalUrl || typeof p.exp !== "number" || p.exp * 1000 <= nowMs) return undefined;
  if (typeof p.sub !== "string" || typeof p.jti !== "string" || typeof p.cred !== "string") return undefined;
  const live = activeMachineFrom(lookup, p.sub);
  if (live === MISS) return MISS;
  if (!live || live.user.revokedTokens.has(p.jti) || !credentialAlive(live.user, p.cred, nowMs)) return undefined;
  const aud = Array.isArray(p.aud) ? p.aud.map(String) : typeof p.aud === "string" ? [p.aud] : [];
  return {
    userId: p.sub,
    orgId: live.user.orgId,
    kind: "access_token",
    tokenId: p.jti,
    aud,
    scopes: typeof p.scope === "string" ? p.scope.split(" ") : [],
    clientId: String(p.client_id ?? ""),
    exp: p.exp,
    iat: Number(p.iat ?? 0),
    user: live.user,
  };
}
