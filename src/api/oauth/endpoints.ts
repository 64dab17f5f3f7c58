import type { Logger } from "pino";
import type { Deps } from "../../app/core/context.js";
import { authenticateIntrospector, type Introspector } from "../../app/oauth/app-clients.js";
import { introspectForApp } from "../../app/oauth/app-introspection.js";
import { authenticateClient } from "../../app/oauth/clients.js";
import { OAuthError } from "../../app/oauth/errors.js";
import { createReplayCache } from "../../app/oauth/jwt-assertion.js";
import { exchangeToken, type TokenResponse } from "../../app/oauth/oauth.js";
import { introspect, revoke, userinfo } from "../../app/oauth/token-info.js";
import { collectBody, header, jsonHeaders, readBody, sendJson, sendJsonWith, type Req, type Res } from "../http-util.js";
import { clientAuthentication, clientCredentials, clientIdOf } from "./client-auth.js";
import { discoveryDocument } from "./discovery.js";
import { authorizationServerMetadata } from "./metadata-8414.js";
import { BEARER_ERRORS, CLIENT_ERRORS, answerError } from "./errors.js";
import { FORM_LIMIT, isFormType, parseForm } from "./form.js";
import { createLimited } from "./limits.js";
import { GRANTS } from "../../app/oauth/grants.js";
import { DomainError } from "../../domain/errors.js";
import { requestInfo } from "../request-info.js";

/** RFC 6749 §5.1: token responses are not cached. */
const TOKEN_HEADERS = jsonHeaders({ pragma: "no-cache" });

/**
 * The token response; the common shape without JSON.stringify. Access tokens are base64url (opaque)
 * or JWS compact serialization (base64url and dots) by construction: nothing to escape.
 */
const tokenJson = (t: TokenResponse) =>
  t.id_token === undefined && t.issued_token_type === undefined ? `{"access_token":"${t.access_token}","token_type":"Bearer","expires_in":${t.expires_in}}` : JSON.stringify(t);

/** The grant types a label may name: the served ones; anything else a client sends is "other". */
const GRANT_LABELS = new Set(GRANTS.map((g) => g.grantType));
const grantLabel = (g: string | undefined) => (g === undefined ? "" : GRANT_LABELS.has(g) ? g : "other");
/** A failed token request's result label: the OAuth error code, else the error kind. */
const tokenResult = (e: unknown) => (e instanceof OAuthError ? e.error : e instanceof DomainError ? e.kind : "Internal");

/** OAuth endpoints by path, for the request metrics' method label. */
const ENDPOINTS: Record<string, string> = {
  "/.well-known/openid-configuration": "discovery",
  "/.well-known/oauth-authorization-server": "metadata",
  "/oauth/v2/keys": "keys",
  "/oauth/v2/token": "token",
  "/oauth/v2/introspect": "introspect",
  "/oauth/v2/revoke": "revoke",
  "/oidc/v1/userinfo": "userinfo",
};

function bearerFrom(req: Req, form?: Map<string, string>): string | undefined {
  const auth = header(req, "authorization");
  if (auth?.startsWith("Bearer ")) {
    // RFC 6750 §2: one method per request (the header, or the form body).
    if (form?.has("access_token")) throw new OAuthError("invalid_request", "the access token must be sent in one place only");
    return auth.slice(7).trim() || undefined;
  }
  return form?.get("access_token");
}

export interface OAuthRoutes {
  /** true: the path is an OAuth endpoint and is answered (now or later); false: not an OAuth path. */
  handle(req: Req, res: Res, path: string): boolean | Promise<boolean>;
}

/**
 * The OAuth 2.0 / OIDC endpoints: HTTP in and out only. What the requests mean is decided in
 * app/oauth; errors are answered by api/oauth/errors.ts.
 */
export function createOAuthRoutes(deps: Deps, log: Logger): OAuthRoutes {
  // Single use of machine-key assertions: this process's cache first, then the shared used_assertions table (see claimSpentAssertion).
  const replay = createReplayCache({ onOverflow: () => log.warn("assertion replay cache full: dropped the oldest live entry") });
  const discovery = discoveryDocument(deps.config.externalUrl);
  const metadata = authorizationServerMetadata(discovery);
  const limited = createLimited(deps);

  /**
   * Reads the form and runs `fn`, answering any error (thrown, or from a returned promise) in the
   * OAuth format. Nothing to await: the token endpoint's common case answers from inside the body
   * callback, without a promise in between.
   */
  function withForm(req: Req, res: Res, fn: (form: Map<string, string>) => void | Promise<void>): void {
    if (req.method !== "POST") return answerError(req, res, new OAuthError("invalid_request", "method must be POST"), CLIENT_ERRORS, log);
    if (!isFormType(header(req, "content-type"))) {
      req.resume(); // the body is not read; drained so that the connection can carry the next request
      return answerError(req, res, new OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded"), CLIENT_ERRORS, log);
    }
    collectBody(req, FORM_LIMIT, (err, body) => {
      try {
        if (err) throw err;
        const r = fn(parseForm(body));
        if (r instanceof Promise) r.catch((e: unknown) => answerError(req, res, e, CLIENT_ERRORS, log));
      } catch (e) {
        answerError(req, res, e, CLIENT_ERRORS, log);
      }
    });
  }

  /**
   * The client of an introspection or revocation request, counted against the failure limits; a
   * revocation (a write that stays in the user's state until the token expires) also against the
   * token-request limits, per client id and per address.
   */
  const requireClient = (req: Req, form: Map<string, string>, countRequest = false) =>
    limited(req, clientIdOf(req, form), countRequest, () => authenticateClient(deps, replay, clientAuthentication(req, form)));

  const tokenRequests = deps.metrics.tokenRequests;

  function token(req: Req, res: Res, form: Map<string, string>) {
    const grant = grantLabel(form.get("grant_type"));
    const failed = (e: unknown): never => {
      tokenRequests.labels(grant, tokenResult(e)).inc();
      throw e;
    };
    const creds = clientCredentials(req, form);
    let tokens: ReturnType<typeof exchangeToken>;
    try {
      tokens = limited(req, creds?.clientId ?? form.get("client_id"), true, () => exchangeToken(deps, replay, form, creds));
    } catch (e) {
      return failed(e);
    }
    if (!(tokens instanceof Promise)) {
      tokenRequests.labels(grant, "issued").inc();
      return sendJsonWith(res, 200, tokenJson(tokens), TOKEN_HEADERS);
    }
    return tokens.then((t) => {
      tokenRequests.labels(grant, "issued").inc();
      sendJsonWith(res, 200, tokenJson(t), TOKEN_HEADERS);
    }, failed);
  }

  /**
   * An API application (ZITADEL's resource servers) or a machine introspecting its own tokens.
   * Without a promise when everything is cached (the resource servers' hot path).
   */
  function introspection(req: Req, res: Res, form: Map<string, string>): void | Promise<void> {
    const who = limited(req, clientIdOf(req, form), false, () => authenticateIntrospector(deps, replay, clientAuthentication(req, form)));
    const answer = (w: Introspector): void | Promise<void> => {
      const token = form.get("token");
      const r = w.kind === "app" ? introspectForApp(deps, w.project, w.app, token) : introspect(deps, token);
      if (!(r instanceof Promise)) return sendJson(res, 200, JSON.stringify(r));
      return r.then((a) => sendJson(res, 200, JSON.stringify(a)));
    };
    return who instanceof Promise ? who.then(answer) : answer(who);
  }

  async function revocation(req: Req, res: Res, form: Map<string, string>) {
    await revoke(deps, await requireClient(req, form, true), form.get("token"));
    sendJson(res, 200, "{}");
  }

  /**
   * OIDC Core §5.3: GET, or POST with the token in the header or (form-encoded) the body. Without a
   * promise when everything is cached (a GET with a cached token's user and org).
   */
  function userinfoEndpoint(req: Req, res: Res): void {
    const fail = (e: unknown) => answerError(req, res, e, BEARER_ERRORS, log);
    const answer = (form?: Map<string, string>): void | Promise<void> => {
      const claims = userinfo(deps, bearerFrom(req, form));
      if (!(claims instanceof Promise)) return sendJson(res, 200, JSON.stringify(claims));
      return claims.then((c) => sendJson(res, 200, JSON.stringify(c)));
    };
    try {
      if (req.method === "POST" && isFormType(header(req, "content-type"))) {
        readBody(req, FORM_LIMIT)
          .then((body) => answer(parseForm(body)))
          .catch(fail);
        return;
      }
      if (req.method !== "GET" && req.method !== "POST") throw new OAuthError("invalid_request", "method not allowed", "Unimplemented");
      answer()?.catch(fail);
    } catch (e) {
      fail(e);
    }
  }

  return {
    handle(req, res, path) {
      const info = requestInfo(req);
      if (info) {
        const endpoint = ENDPOINTS[path];
        if (endpoint) {
          info.protocol = "oauth";
          info.service = "oauth";
          info.method = endpoint;
        }
      }
      switch (path) {
        case "/.well-known/openid-configuration":
          sendJson(res, 200, discovery, { "cache-control": "public, max-age=300" });
          return true;
        case "/.well-known/oauth-authorization-server":
          sendJson(res, 200, metadata, { "cache-control": "public, max-age=300" });
          return true;
        case "/oauth/v2/keys":
          // The key ring's current JWKS: rotation publishes the next key before it signs.
          sendJson(res, 200, deps.signingKeys.jwks(), { "cache-control": "max-age=300, must-revalidate" });
          return true;
        case "/oauth/v2/token":
          withForm(req, res, (form) => token(req, res, form));
          return true;
        case "/oauth/v2/introspect":
          withForm(req, res, (form) => introspection(req, res, form));
          return true;
        case "/oauth/v2/revoke":
          withForm(req, res, (form) => revocation(req, res, form));
          return true;
        case "/oidc/v1/userinfo":
          userinfoEndpoint(req, res);
          return true;
        default:
          return false;
      }
    },
  };
}
