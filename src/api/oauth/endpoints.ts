import type { Logger } from "pino";
import { authenticateBearer } from "../../app/core/authn.js";
import type { Deps } from "../../app/core/context.js";
import { createReplayCache, type ReplayCache } from "../../app/oauth/jwt-assertion.js";
import {
  JWT_BEARER_GRANT,
  JWT_CLIENT_ASSERTION_TYPE,
  OAuthError,
  authenticateClientAssertion,
  authenticateClientSecret,
  introspectionResponse,
  filterScopes,
  issueOpaqueFromCache,
  issueTokens,
  jwtBearerGrant,
  requireScope,
  revokeAccessToken,
  userClaims,
  type AuthenticatedClient,
  type TokenResponse,
} from "../../app/oauth/oauth.js";
import { DomainError } from "../../domain/errors.js";
import { BodyTooLarge, collectBody, header, jsonHeaders, readBody, sendJson, sendJsonWith, type Req, type Res } from "../http-util.js";
import { authorizationServerMetadata } from "./metadata-8414.js";

const FORM_LIMIT = 64 * 1024;
/** RFC 6749 §5.1: token responses are not cached. */
const TOKEN_HEADERS = jsonHeaders({ pragma: "no-cache" });

/**
 * The token response; the common shape without JSON.stringify. Access tokens are base64url (opaque)
 * or JWS compact serialization (base64url and dots) by construction: nothing to escape.
 */
const tokenJson = (t: TokenResponse) =>
  t.id_token === undefined ? `{"access_token":"${t.access_token}","token_type":"Bearer","expires_in":${t.expires_in}}` : JSON.stringify(t);

const tooManyRequests = (wait: number) => new OAuthError("too_many_requests", `too many requests; retry after ${wait} s`, 429, wait);

/**
 * Parses an application/x-www-form-urlencoded body as URLSearchParams does (WHATWG URL §5.1: "+" is
 * a space, invalid percent escapes stay as they are, bytes are UTF-8 with replacement), without its
 * per-call cost. RFC 6749 §3.2: parameters must not be included more than once.
 */
export function parseForm(body: Buffer): Map<string, string> {
  const form = new Map<string, string>();
  const text = body.toString("utf8");
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("&", start);
    if (end < 0) end = text.length;
    if (end > start) {
      const eq = text.indexOf("=", start);
      const hasValue = eq >= 0 && eq < end;
      const k = decodeFormComponent(text.slice(start, hasValue ? eq : end));
      const v = hasValue ? decodeFormComponent(text.slice(eq + 1, end)) : "";
      if (form.has(k)) throw new OAuthError("invalid_request", `parameter ${k} must not be included more than once`);
      form.set(k, v);
    }
    start = end + 1;
  }
  return form;
}

function decodeFormComponent(s: string): string {
  const plus = s.indexOf("+") >= 0 ? s.replace(/\+/g, " ") : s;
  if (plus.indexOf("%") < 0) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    return percentDecodeLenient(plus);
  }
}

const hexValue = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1);

/** Percent-decodes the UTF-8 bytes of `s`, keeping invalid escapes as they are; then UTF-8 with replacement. */
function percentDecodeLenient(s: string): string {
  const src = Buffer.from(s, "utf8");
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    const hi = c === 37 && i + 2 < src.length ? hexValue(src[i + 1]!) : -1;
    const lo = hi >= 0 ? hexValue(src[i + 2]!) : -1;
    if (lo >= 0) {
      out[n++] = hi * 16 + lo;
      i += 2;
    } else out[n++] = c;
  }
  return out.toString("utf8", 0, n);
}

interface ClientCredentials {
  clientId: string;
  secret: string;
}

/** Basic credentials are form-url-encoded; strict: a bad escape is a malformed header (throws). */
const formUnescape = (s: string) => (s.indexOf("%") < 0 && s.indexOf("+") < 0 ? s : decodeURIComponent(s.replace(/\+/g, " ")));

/** client_secret_basic wins over client_secret_post (as ZITADEL's library). Basic values are form-url-decoded (RFC 6749 §2.3.1). */
function clientCredentials(req: Req, form: Map<string, string>): ClientCredentials | undefined {
  const auth = header(req, "authorization");
  if (auth && /^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i < 0) throw new OAuthError("invalid_client", "malformed basic authorization", 401);
    try {
      return { clientId: formUnescape(decoded.slice(0, i)), secret: formUnescape(decoded.slice(i + 1)) };
    } catch {
      throw new OAuthError("invalid_client", "malformed basic authorization", 401);
    }
  }
  const clientId = form.get("client_id");
  const secret = form.get("client_secret");
  if (clientId !== undefined && secret !== undefined) return { clientId, secret };
  return undefined;
}

/**
 * Client authentication at introspection and revocation: client_secret_basic / client_secret_post,
 * or private_key_jwt with a machine key. RFC 6749 §2.3: one method per request.
 */
async function requireClient(deps: Deps, replay: ReplayCache, req: Req, form: Map<string, string>): Promise<AuthenticatedClient> {
  const assertionType = form.get("client_assertion_type");
  if (assertionType !== undefined || form.has("client_assertion")) {
    if (header(req, "authorization") || form.has("client_secret")) throw new OAuthError("invalid_request", "only one client authentication method may be used");
    const assertion = form.get("client_assertion");
    if (assertionType !== JWT_CLIENT_ASSERTION_TYPE || !assertion) throw new OAuthError("invalid_client", "client authentication failed", 401);
    return authenticateClientAssertion(deps, replay, assertion, form.get("client_id"));
  }
  const creds = clientCredentials(req, form);
  if (!creds) throw new OAuthError("invalid_client", "client must be authenticated", 401);
  return authenticateClientSecret(deps, creds.clientId, creds.secret);
}

function token(deps: Deps, replay: ReplayCache, form: Map<string, string>, creds: ClientCredentials | undefined): TokenResponse | Promise<TokenResponse> {
  const grantType = form.get("grant_type");
  if (!grantType) throw new OAuthError("invalid_request", "grant_type missing");
  if (grantType === "client_credentials") {
    if (!creds || !creds.clientId) throw new OAuthError("invalid_request", "client_id or client_assertion must be provided");
    // The common case answers from the cache without an await; a missing scope keeps the general
    // path, which checks the client before the scope (so a bad secret stays invalid_client).
    const scope = form.get("scope");
    const cached = scope?.trim() ? issueOpaqueFromCache(deps, creds.clientId, creds.secret, filterScopes(scope)) : undefined;
    return cached ?? clientCredentialsGrant(deps, creds, form.get("scope"));
  }
  if (grantType === JWT_BEARER_GRANT) return jwtBearerGrant(deps, replay, form.get("assertion"), form.get("scope"));
  throw new OAuthError("unsupported_grant_type", `${grantType} is not supported`);
}

async function clientCredentialsGrant(deps: Deps, creds: ClientCredentials, scope: string | undefined): Promise<TokenResponse> {
  const client = await authenticateClientSecret(deps, creds.clientId, creds.secret);
  return issueTokens(deps, client, requireScope(scope), ["pwd"]);
}

function bearerFrom(req: Req, form?: Map<string, string>): string | undefined {
  const auth = header(req, "authorization");
  if (auth?.startsWith("Bearer ")) return auth.slice(7).trim() || undefined;
  return form?.get("access_token");
}

export interface OAuthRoutes {
  /** true: the path is an OAuth endpoint and is answered (now or later); false: not an OAuth path. */
  handle(req: Req, res: Res, path: string): boolean | Promise<boolean>;
}

export function createOAuthRoutes(deps: Deps, log: Logger): OAuthRoutes {
  const issuer = deps.config.externalUrl;
  // jti replay detection for machine-key assertions (per process; see createReplayCache).
  const replay = createReplayCache({ onOverflow: () => log.warn("assertion replay cache full: dropped the oldest live entry") });
  const discovery = JSON.stringify({
    issuer,
    authorization_endpoint: `${issuer}/oauth/v2/authorize`,
    token_endpoint: `${issuer}/oauth/v2/token`,
    introspection_endpoint: `${issuer}/oauth/v2/introspect`,
    userinfo_endpoint: `${issuer}/oidc/v1/userinfo`,
    revocation_endpoint: `${issuer}/oauth/v2/revoke`,
    jwks_uri: `${issuer}/oauth/v2/keys`,
    scopes_supported: ["openid", "profile", "email", "phone", "address", "offline_access"],
    response_types_supported: ["code", "id_token", "id_token token"],
    grant_types_supported: ["client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    token_endpoint_auth_signing_alg_values_supported: ["RS256"],
    introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    introspection_endpoint_auth_signing_alg_values_supported: ["RS256"],
    revocation_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    revocation_endpoint_auth_signing_alg_values_supported: ["RS256"],
    claims_supported: ["sub", "aud", "exp", "iat", "iss", "auth_time", "amr", "at_hash", "client_id", "azp", "name", "preferred_username", "updated_at"],
    code_challenge_methods_supported: ["S256"],
  });
  const metadata = authorizationServerMetadata(discovery);

  /**
   * Brute-force protection: failed client authentications are counted per client id and per source
   * address; past the limit (and past the token-request limits) the answer is 429 with Retry-After
   * before any credential is checked.
   */
  const limited = <T>(req: Req, clientId: string | undefined, countRequest: boolean, fn: () => T | Promise<T>): T | Promise<T> => {
    const { limits } = deps;
    const addr = req.socket?.remoteAddress ?? "";
    const client = clientId?.toLowerCase();
    const blocked = Math.max(limits.failAddress.wait(addr), client ? limits.failClient.wait(client) : 0);
    if (blocked > 0) throw tooManyRequests(blocked);
    if (countRequest) {
      const wait = limits.tokenAddress.take(addr) || (client ? limits.tokenClient.take(client) : 0);
      if (wait > 0) throw tooManyRequests(wait);
    }
    let r: T | Promise<T>;
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
  const clientIdOf = (req: Req, form: Map<string, string>) => {
    try {
      return clientCredentials(req, form)?.clientId ?? form.get("client_id");
    } catch {
      return undefined;
    }
  };

  const oauthError = (res: Res, e: OAuthError, basic: boolean) => {
    const headers: Record<string, string> = {};
    if (basic && e.status === 401) headers["www-authenticate"] = 'Basic realm="portcullis"';
    if (e.retryAfterSeconds) headers["retry-after"] = String(e.retryAfterSeconds);
    sendJson(res, e.status, JSON.stringify({ error: e.error, error_description: e.description }), headers);
  };

  const formError = (req: Req, res: Res, e: unknown) => {
    const basic = /^basic /i.test(header(req, "authorization") ?? "");
    if (e instanceof OAuthError) return oauthError(res, e, basic);
    if (e instanceof BodyTooLarge) return sendJson(res, 413, JSON.stringify({ error: "invalid_request", error_description: "request body too large" }));
    if (e instanceof DomainError && e.kind === "Unavailable")
      return sendJson(res, 503, JSON.stringify({ error: "temporarily_unavailable", error_description: "the server cannot serve this request now" }), { "retry-after": "1" });
    if (e instanceof DomainError && e.kind === "InvalidArgument") return sendJson(res, 400, JSON.stringify({ error: "invalid_request", error_description: e.message }));
    if (e instanceof Error && e.message === "request aborted") return;
    log.error({ err: e, reqId: header(req, "x-request-id") }, "oauth endpoint failed");
    sendJson(res, 500, JSON.stringify({ error: "server_error", error_description: "Errors.Internal" }));
  };

  const answerError = (req: Req, res: Res, e: unknown) => {
    try {
      formError(req, res, e);
    } catch (e2) {
      log.error({ err: e2, reqId: header(req, "x-request-id") }, "oauth endpoint failed to answer");
      res.destroy();
    }
  };

  /**
   * Reads the form and runs `fn`, answering any error (thrown, or from a returned promise) in the
   * OAuth format. Nothing to await: the token endpoint's common case answers from inside the body
   * callback, without a promise in between.
   */
  function withForm(req: Req, res: Res, fn: (form: Map<string, string>) => void | Promise<void>): void {
    if (req.method !== "POST") return answerError(req, res, new OAuthError("invalid_request", "method must be POST"));
    collectBody(req, FORM_LIMIT, (err, body) => {
      try {
        if (err) throw err;
        const r = fn(parseForm(body));
        if (r instanceof Promise) r.catch((e: unknown) => answerError(req, res, e));
      } catch (e) {
        answerError(req, res, e);
      }
    });
  }

  return {
    handle(req, res, path) {
      switch (path) {
        case "/.well-known/openid-configuration":
          sendJson(res, 200, discovery, { "cache-control": "public, max-age=300" });
          return true;
        case "/.well-known/oauth-authorization-server":
          sendJson(res, 200, metadata, { "cache-control": "public, max-age=300" });
          return true;
        case "/oauth/v2/keys":
          sendJson(res, 200, deps.signingKeys.jwks(), { "cache-control": "max-age=300, must-revalidate" });
          return true;
        case "/oauth/v2/token":
          withForm(req, res, (form) => {
            const creds = clientCredentials(req, form);
            const tokens = limited(req, creds?.clientId ?? form.get("client_id"), true, () => token(deps, replay, form, creds));
            if (!(tokens instanceof Promise)) return sendJsonWith(res, 200, tokenJson(tokens), TOKEN_HEADERS);
            return tokens.then((t) => sendJsonWith(res, 200, tokenJson(t), TOKEN_HEADERS));
          });
          return true;
        case "/oauth/v2/introspect":
          withForm(req, res, async (form) => {
            await limited(req, clientIdOf(req, form), false, () => requireClient(deps, replay, req, form));
            const t = form.get("token");
            if (!t) throw new OAuthError("invalid_request", "token missing");
            const p = await authenticateBearer(deps, t);
            sendJson(res, 200, JSON.stringify(p ? await introspectionResponse(deps, p) : { active: false }));
          });
          return true;
        case "/oauth/v2/revoke":
          withForm(req, res, async (form) => {
            const client = await limited(req, clientIdOf(req, form), false, () => requireClient(deps, replay, req, form));
            const t = form.get("token");
            if (!t) throw new OAuthError("invalid_request", "token missing");
            const p = await authenticateBearer(deps, t);
            // Only the token's own client may revoke it; anything else is answered like an unknown token (RFC 7009 §2.2).
            if (p && p.kind === "access_token" && p.userId === client.user.id) await revokeAccessToken(deps, p);
            sendJson(res, 200, "{}");
          });
          return true;
        case "/oidc/v1/userinfo":
          return userinfo(req, res).then(() => true);
        default:
          return false;
      }
    },
  };

  async function userinfo(req: Req, res: Res) {
    const deny = (status: number, error: string, description: string) =>
      sendJson(res, status, JSON.stringify({ error, error_description: description }), { "www-authenticate": `Bearer error="${error}", error_description="${description}"` });
    try {
      let form: Map<string, string> | undefined;
      if (req.method === "POST" && /application\/x-www-form-urlencoded/.test(header(req, "content-type") ?? "")) form = parseForm(await readBody(req, FORM_LIMIT));
      else if (req.method !== "GET" && req.method !== "POST") return deny(405, "invalid_request", "method not allowed");
      const t = bearerFrom(req, form);
      if (!t) return deny(401, "invalid_request", "access token missing");
      const p = await authenticateBearer(deps, t);
      if (!p) return deny(401, "invalid_token", "access token invalid");
      const org = await deps.cache.current(deps.instanceId, "org", p.orgId);
      sendJson(res, 200, JSON.stringify({ sub: p.userId, ...userClaims(p.user, org, p.scopes) }));
    } catch (e) {
      if (e instanceof OAuthError) return deny(400, e.error, e.description);
      if (e instanceof BodyTooLarge) return sendJson(res, 413, JSON.stringify({ error: "invalid_request", error_description: "request body too large" }));
      if (e instanceof DomainError && e.kind === "Unavailable") return sendJson(res, 503, JSON.stringify({ error: "temporarily_unavailable" }), { "retry-after": "1" });
      log.error({ err: e, reqId: header(req, "x-request-id") }, "userinfo failed");
      sendJson(res, 500, JSON.stringify({ error: "server_error" }));
    }
  }
}
