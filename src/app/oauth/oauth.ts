import { createHash } from "node:crypto";
import { encodeHeader, signRs256 } from "../../crypto/jwt.js";
import { keyedHash, keyedHashMatches } from "../../crypto/keys.js";
import { mintAccessToken, type AccessClaims } from "../../crypto/tokens.js";
import { OrgStateNum, type InstanceState, type OrgState } from "../../domain/orgs/org.js";
import { newUserTokenRemovedEvent } from "../../domain/users/events.js";
import { UserStateNum, UserType, type UserState } from "../../domain/users/user.js";
import type { Principal } from "../core/authn.js";
import type { Deps } from "../core/context.js";
import { runCommand } from "../core/command.js";
import { verifyKeyAssertion, type ReplayCache } from "./jwt-assertion.js";

/** An RFC 6749 §5.2 error. `status` 401 for client authentication failures. */
export class OAuthError extends Error {
  override readonly name = "OAuthError";
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
    /** With 429: seconds until a retry may succeed (sent as Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(description);
  }
}

export const API_AUDIENCE_SCOPE = "urn:zitadel:iam:org:project:id:zitadel:aud";
const PROJECT_AUD = /^urn:zitadel:iam:org:project:id:([^:]+):aud$/;
const KEPT_SCOPES = new Set(["openid", "profile", "email", "phone", "address", "offline_access", "urn:zitadel:iam:user:metadata", "urn:zitadel:iam:user:resourceowner", "urn:zitadel:iam:org:projects:roles"]);
const KEPT_PREFIXES = [
  "urn:zitadel:iam:org:project:id:",
  "urn:zitadel:iam:org:id:",
  "urn:zitadel:iam:org:domain:primary:",
  "urn:zitadel:iam:org:roles:id:",
  "urn:zitadel:iam:org:idp:id:",
  "urn:zitadel:iam:org:project:role:",
];

/**
 * ZITADEL keeps known scopes and prefixes for machine users and drops the rest silently (client.go).
 * Clients send the same scope string request after request: the answer is kept (frozen, shared) for
 * up to 1,024 distinct strings.
 */
export function filterScopes(scope: string): readonly string[] {
  let kept = scopeCache.get(scope);
  if (!kept) {
    if (scopeCache.size >= 1024) scopeCache.clear();
    scopeCache.set(scope, (kept = Object.freeze(computeScopes(scope))));
  }
  return kept;
}
const scopeCache = new Map<string, readonly string[]>();

function computeScopes(scope: string): string[] {
  const out: string[] = [];
  for (const s of scope.split(" ")) {
    if (!s || out.includes(s)) continue;
    if (KEPT_SCOPES.has(s) || KEPT_PREFIXES.some((p) => s.startsWith(p))) out.push(s);
  }
  return out;
}

/** An HMAC compared against when the client is unknown, so unknown and known clients take the same path. */
let dummyHash: string | undefined;

export interface AuthenticatedClient {
  user: UserState;
  org: OrgState;
  cred: string;
}

/**
 * client_secret_basic / client_secret_post: client_id is the machine's login name (case-insensitive),
 * the secret is compared as a keyed hash in constant time. Every failure is the same invalid_client.
 */
export async function authenticateClientSecret(deps: Deps, clientId: string, secret: string): Promise<AuthenticatedClient> {
  const userId = clientId ? await deps.cache.userIdByLoginName(deps.instanceId, clientId) : undefined;
  const user = verifySecret(deps, userId ? (await deps.cache.current(deps.instanceId, "user", userId)) : undefined, secret);
  return activeClient(deps, user, `secret:${user.secret!.sequence}`);
}

/** The user whose secret this is, or invalid_client; unknown clients are compared against a dummy hash. */
function verifySecret(deps: Deps, user: UserState | undefined, secret: string): UserState {
  dummyHash ??= keyedHash(deps.keys.hmac, "portcullis-no-such-client");
  const stored = user?.type === UserType.machine && user.secret ? user.secret.hash : dummyHash;
  const match = keyedHashMatches(deps.keys, secret, stored) && stored !== dummyHash;
  if (!user || !match) throw new OAuthError("invalid_client", "client authentication failed", 401);
  return user;
}

/**
 * The machine behind a verified credential may get a token only while it and its org are active.
 * ZITADEL checks this after the credential (command/oidc_session.go) and answers NotActive.
 */
async function activeClient(deps: Deps, user: UserState, cred: string): Promise<AuthenticatedClient> {
  return checkActive(user, await deps.cache.current(deps.instanceId, "org", user.orgId), cred);
}

function checkActive(user: UserState, org: OrgState, cred: string): AuthenticatedClient {
  if (user.state !== UserStateNum.active || org.state !== OrgStateNum.active) throw new OAuthError("invalid_request", "Errors.User.NotActive");
  return { user, org, cred };
}

/**
 * client_credentials with a secret for an opaque token, when everything it needs (the login name,
 * the user, its org, the instance) is in the aggregate cache: the same checks in the same order as
 * authenticateClientSecret + issueTokens, without a single await. Returns undefined when the cache
 * cannot decide or the answer is not a plain opaque token (JWT users, openid); the caller then takes
 * the general path. Throws the same OAuthErrors.
 */
export function issueOpaqueFromCache(deps: Deps, clientId: string, secret: string, scopes: readonly string[]): TokenResponse | undefined {
  const { cache, instanceId } = deps;
  if (!clientId) return undefined;
  const instance = cache.peek(instanceId, "instance", instanceId);
  const userId = cache.peekUserIdByLoginName(instanceId, clientId);
  if (!instance || userId === undefined) return undefined;
  let user: UserState | undefined;
  let org: OrgState | undefined;
  if (userId !== null) {
    user = cache.peek(instanceId, "user", userId);
    org = user && cache.peek(instanceId, "org", user.orgId);
    if (!user || !org || user.accessTokenType === 1 || scopes.includes("openid")) return undefined;
  }
  const verified = verifySecret(deps, user, secret);
  const client = checkActive(verified, org!, `secret:${verified.secret!.sequence}`);
  const claims = accessClaims(deps, instance, client, scopes);
  return { access_token: mintAccessToken(deps.keys.tokenMac, claims), token_type: "Bearer", expires_in: claims.exp - claims.iat };
}

function accessClaims(deps: Deps, instance: InstanceState, client: AuthenticatedClient, scopes: readonly string[]): AccessClaims {
  const iat = Math.floor(deps.clock().getTime() / 1000);
  const aud: string[] = [];
  for (const s of scopes) {
    const m = PROJECT_AUD.exec(s);
    if (m) {
      const id = m[1] === "zitadel" ? instance.projectId : m[1]!;
      if (!aud.includes(id)) aud.push(id);
    }
  }
  const u = client.user;
  return { tid: deps.newId(), sub: u.id, org: u.orgId, iat, exp: iat + deps.config.accessTokenLifetime, aud, scope: scopes, cred: client.cred, clientId: u.userName };
}

/** ZITADEL requires a scope (oidc op.ValidateAuthReqScopes) and answers invalid_request without one. */
export function requireScope(scope: string | undefined): readonly string[] {
  if (!scope?.trim())
    throw new OAuthError(
      "invalid_request",
      "The scope of your request is missing. Please ensure some scopes are requested. If you have questions, please contact the administrator of the application.",
    );
  return filterScopes(scope);
}

export const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
export const JWT_CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/**
 * grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer (RFC 7523 §2.1) with a machine key. No
 * client authentication. Any bad assertion is 400 invalid_grant "invalid assertion" (ZITADEL main,
 * commit 5344a7f58); the scope is checked before the assertion's jti is spent, so a request that
 * only lacked a scope can be repeated with the same assertion. Tokens carry cred "key:<keyId>" and
 * end with the key; no amr (ZITADEL's auth method private_key has no amr value).
 */
export async function jwtBearerGrant(deps: Deps, replay: ReplayCache, assertion: string | undefined, scope: string | undefined): Promise<TokenResponse> {
  if (!assertion) throw new OAuthError("invalid_request", "assertion missing");
  const scopes = requireScope(scope);
  const v = await verifyKeyAssertion(deps, replay, assertion, "grant");
  if (!v.ok) {
    deps.log.debug({ reason: v.reason }, "jwt-bearer assertion rejected");
    throw new OAuthError("invalid_grant", "invalid assertion");
  }
  return issueTokens(deps, await activeClient(deps, v.user, `key:${v.keyId}`), scopes, undefined);
}

/**
 * private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9) with a machine key, verified
 * by the same function as the grant. A client_id sent alongside must name the same machine (its id
 * or its login name). Failures are the same invalid_client as a wrong secret.
 */
export async function authenticateClientAssertion(deps: Deps, replay: ReplayCache, assertion: string, clientId: string | undefined): Promise<AuthenticatedClient> {
  const v = await verifyKeyAssertion(deps, replay, assertion, "client");
  if (!v.ok) deps.log.debug({ reason: v.reason }, "client assertion rejected");
  if (!v.ok || (clientId !== undefined && clientId !== v.user.id && clientId.toLowerCase() !== v.user.userName.toLowerCase()))
    throw new OAuthError("invalid_client", "client authentication failed", 401);
  return activeClient(deps, v.user, `key:${v.keyId}`);
}

export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  id_token?: string;
}

/** Issues an access token (opaque or JWT per the user's accessTokenType) without writing anything. */
export async function issueTokens(deps: Deps, client: AuthenticatedClient, scopes: readonly string[], amr: string[] | undefined): Promise<TokenResponse> {
  const instance = await deps.cache.current(deps.instanceId, "instance", deps.instanceId);
  const claims = accessClaims(deps, instance, client, scopes);
  const { iat, exp, aud } = claims;
  const u = client.user;
  const key = deps.signingKeys.signer();
  const accessToken =
    u.accessTokenType === 1
      ? await signRs256(key.privateKey, jwtHeader(key.id, "at+jwt"), {
          iss: deps.config.externalUrl,
          sub: u.id,
          aud: aud.length > 0 ? aud : [u.userName],
          exp,
          iat,
          nbf: iat,
          jti: claims.tid,
          client_id: u.userName,
          scope: scopes.join(" "),
          cred: claims.cred,
        })
      : mintAccessToken(deps.keys.tokenMac, claims);
  const res: TokenResponse = { access_token: accessToken, token_type: "Bearer", expires_in: exp - iat };
  if (scopes.includes("openid")) {
    const idClaims: Record<string, unknown> = {
      iss: deps.config.externalUrl,
      sub: u.id,
      aud: [...aud, u.userName],
      exp: iat + 43200,
      iat,
      auth_time: iat,
      azp: u.userName,
      client_id: u.userName,
      at_hash: atHash(accessToken),
      ...(amr ? { amr } : {}),
      ...userClaims(u, client.org, scopes),
    };
    res.id_token = await signRs256(key.privateKey, jwtHeader(key.id, "JWT"), idClaims);
  }
  return res;
}

const headers = new Map<string, string>();
const jwtHeader = (kid: string, typ: string) => {
  const k = `${kid}/${typ}`;
  let h = headers.get(k);
  if (!h) headers.set(k, (h = encodeHeader(kid, typ)));
  return h;
};

/** OIDC at_hash: left half of SHA-256 of the token, base64url. */
const atHash = (token: string) => createHash("sha256").update(token).digest().subarray(0, 16).toString("base64url");

/** Claims the scopes allow for a machine user (userinfo.go): profile gives name, preferred_username, updated_at. */
export function userClaims(u: UserState, org: OrgState, scopes: readonly string[]): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (scopes.includes("profile")) {
    c.name = u.name;
    c.preferred_username = u.userName;
    if (u.changedAt) c.updated_at = Math.floor(u.changedAt.getTime() / 1000);
  }
  if (scopes.includes("urn:zitadel:iam:user:resourceowner")) {
    c["urn:zitadel:iam:user:resourceowner:id"] = org.id;
    c["urn:zitadel:iam:user:resourceowner:name"] = org.name;
    c["urn:zitadel:iam:user:resourceowner:primary_domain"] = org.primaryDomain;
  }
  if (scopes.includes("urn:zitadel:iam:user:metadata") && u.metadata.size > 0) {
    const md: Record<string, string> = {};
    for (const [k, v] of u.metadata) md[k] = Buffer.from(v.value, "base64").toString("base64url");
    c["urn:zitadel:iam:user:metadata"] = md;
  }
  return c;
}

/** RFC 7662 active response for a valid token. */
export async function introspectionResponse(deps: Deps, p: Principal): Promise<Record<string, unknown>> {
  const org = await deps.cache.current(deps.instanceId, "org", p.orgId);
  return {
    active: true,
    scope: p.scopes.join(" "),
    client_id: p.clientId,
    token_type: "Bearer",
    exp: p.exp,
    iat: p.iat,
    nbf: p.iat,
    sub: p.userId,
    aud: p.aud,
    iss: deps.config.externalUrl,
    jti: p.tokenId,
    username: p.user.userName,
    ...userClaims(p.user, org, p.scopes),
  };
}


/** RFC 7009: the token stops working everywhere; the one write on the token path. */
export async function revokeAccessToken(deps: Deps, p: Principal): Promise<void> {
  await runCommand(deps, p.userId, async (load) => {
    const u = await load("user", p.userId);
    if (u.revokedTokens.has(p.tokenId)) return { events: [], result: () => undefined };
    return {
      events: [newUserTokenRemovedEvent(u, { tokenId: p.tokenId, expiration: p.exp })],
      result: () => undefined,
    };
  });
}
