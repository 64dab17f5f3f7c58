import { createHash } from "node:crypto";
import { encodeHeader, signRs256 } from "../../crypto/jwt.js";
import { ID_TOKEN_LIFETIME_SECONDS } from "../../crypto/signing-keys.js";
import { mintAccessToken, type AccessClaims } from "../../crypto/tokens.js";
import type { Deps } from "../core/context.js";
import { decideWithCache } from "../core/lookup.js";
import type { ClientSecret } from "./clients.js";
import { OAuthError, clientAuthFailed } from "./errors.js";
import { GRANTS, type Grant, type GrantHandler, type TokenRequest } from "./grants.js";
import { claimSpentAssertion, type ReplayCache } from "./jwt-assertion.js";
import { decideRoleClaims, roleRequest, type RoleRequest } from "./role-claims.js";
import { userClaims } from "./token-info.js";

const byGrantType = new Map<string, GrantHandler>(GRANTS.map((g) => [g.grantType, g]));

/**
 * The token endpoint (RFC 6749 §3.2): the grant named by grant_type decides (grants.ts), then the
 * tokens are issued. Without a promise when the grant's states are cached and the answer is an
 * opaque access token alone (client_credentials for a BEARER machine without openid: the hot path).
 */
export function exchangeToken(deps: Deps, replay: ReplayCache, params: ReadonlyMap<string, string>, client: ClientSecret | undefined): TokenResponse | Promise<TokenResponse> {
  const grantType = params.get("grant_type");
  if (!grantType) throw new OAuthError("invalid_request", "grant_type missing");
  const grant = byGrantType.get(grantType);
  if (!grant) throw new OAuthError("unsupported_grant_type", `${grantType} is not supported`);
  const request: TokenRequest = { params, client, replay, spentJti: undefined };
  const prepared = grant.prepare?.(deps, request);
  return prepared === undefined ? decideAndIssue(deps, grant, request) : prepared.then(() => decideAndIssue(deps, grant, request));
}

function decideAndIssue(deps: Deps, grant: GrantHandler, request: TokenRequest): TokenResponse | Promise<TokenResponse> {
  const decided = decideWithCache(deps, grant.handler, request);
  // A grant that spent an assertion claims it across processes before any token is issued.
  if (!(decided instanceof Promise)) return request.spentJti === undefined ? issueTokens(deps, decided) : spendShared(deps, request, decided);
  return decided.then((g) => (request.spentJti === undefined ? issueTokens(deps, g) : spendShared(deps, request, g)));
}

/**
 * The shared claim (a durable mark: a batched write and sync) and the tokens' signing (libuv's pool)
 * run at the same time, and the tokens are handed out only once the claim holds: a token exchange
 * waits for the longer of the two instead of both. The local replay cache has refused replays
 * within this process already, so a signature is thrown away only for an assertion spent through
 * another process (or before a restart).
 */
async function spendShared(deps: Deps, request: TokenRequest, g: Grant): Promise<TokenResponse> {
  const issued = new Promise<TokenResponse>((resolve) => resolve(issueTokens(deps, g)));
  issued.catch(() => undefined); // observed below, or thrown away with the claim's refusal
  if (!(await claimSpentAssertion(deps, request.replay, request))) {
    deps.log.debug({ reason: "replayed (used through another process, or before a restart)" }, "jwt-bearer assertion rejected");
    if (request.federated) throw request.federated.fail("replayed");
    if (request.params.get("client_assertion") !== undefined) throw clientAuthFailed();
    throw new OAuthError("invalid_grant", "invalid assertion");
  }
  return issued;
}

export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  id_token?: string;
  /** RFC 8693 token exchange. */
  issued_token_type?: string;
}

/**
 * Issues an access token (opaque or JWT per the user's accessTokenType) without writing anything;
 * an id_token too with openid. Only signing needs a promise.
 */
export function issueTokens(deps: Deps, grant: Grant): TokenResponse | Promise<TokenResponse> {
  const claims = accessClaims(deps, grant);
  if (grant.client.user.accessTokenType !== 1 && !grant.scopes.includes("openid")) {
    const res: TokenResponse = { access_token: mintAccessToken(deps.keys.tokenMac, claims), token_type: "Bearer", expires_in: claims.exp - claims.iat };
    if (grant.issuedTokenType) res.issued_token_type = grant.issuedTokenType;
    return res;
  }
  const signed = signTokens(deps, grant, claims);
  return grant.issuedTokenType ? signed.then((res) => ({ ...res, issued_token_type: grant.issuedTokenType })) : signed;
}

function accessClaims(deps: Deps, grant: Grant): AccessClaims {
  const iat = Math.floor(deps.clock().getTime() / 1000);
  const aud = grant.aud;
  const u = grant.client.user;
  const exp = Math.min(iat + deps.config.accessTokenLifetime, credentialCap(grant, iat));
  return { tid: deps.newId(), sub: u.id, org: u.orgId, iat, exp, aud, scope: grant.scopes, cred: grant.client.cred, clientId: u.userName };
}

/** No token outlives the credential that obtained it: its expiry in seconds (the credential is live, so after iat). */
function credentialCap(grant: Grant, iat: number): number {
  const at = grant.client.credExpiresAt;
  return at === undefined ? Infinity : Math.max(iat + 1, Math.floor(at / 1000));
}

/** The role claims a signed token carries, as the grants are at its issuing. */
const roleClaimsFor = (deps: Deps, userId: string, req: RoleRequest | undefined) =>
  req ? decideWithCache(deps, (_d, a: { userId: string; req: RoleRequest }, lookup) => decideRoleClaims(lookup, a.userId, a.req), { userId, req }) : {};

async function signTokens(deps: Deps, grant: Grant, claims: AccessClaims): Promise<TokenResponse> {
  const { client, scopes, amr } = grant;
  const { iat, exp, aud } = claims;
  const u = client.user;
  const roles = await roleClaimsFor(deps, u.id, roleRequest(scopes, aud));
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
          ...roles,
        })
      : mintAccessToken(deps.keys.tokenMac, claims);
  const res: TokenResponse = { access_token: accessToken, token_type: "Bearer", expires_in: exp - iat };
  if (scopes.includes("openid")) {
    const idClaims: Record<string, unknown> = {
      iss: deps.config.externalUrl,
      sub: u.id,
      aud: [...aud, u.userName],
      exp: Math.min(iat + ID_TOKEN_LIFETIME_SECONDS, credentialCap(grant, iat)),
      iat,
      auth_time: iat,
      azp: u.userName,
      client_id: u.userName,
      at_hash: atHash(accessToken),
      ...(amr ? { amr } : {}),
      ...userClaims(u, client.org, scopes),
      ...roles,
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

