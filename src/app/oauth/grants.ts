import type { InstanceState } from "../../domain/orgs/org.js";
import type { Deps } from "../core/context.js";
import { MISS, type Lookup, type Miss } from "../core/lookup.js";
import { activeClient, clientByAssertion, clientBySecret, used, type AuthenticatedClient, type ClientSecret } from "./clients.js";
import { OAuthError, clientAuthFailed } from "./errors.js";
import { federate, federatedClient, refusedClient, refusedGrant, type FederatedRequest } from "./federated.js";
import { verifyKeyAssertion, type ReplayCache } from "./jwt-assertion.js";
import { decideProjectAccess } from "./role-claims.js";
import { audienceOf, requireScope } from "./scopes.js";

/**
 * The grant types of the token endpoint, one entry each ({ grantType, parameters, handler }, as
 * node-oidc-provider's lib/actions/grants). A handler is the grant's whole sequence of checks, in
 * order, reading storage only through the Lookup: it runs on the cache first and, when something
 * is missing, again on loaded states (decideWithCache), so a grant has one copy of its checks and
 * answers without a promise when everything is cached. It must not have effects a second run would
 * repeat (the jti of an assertion is spent once per request: SpentJti). Token exchange, refresh
 * tokens and other grants are added as one more entry.
 */
export interface GrantHandler<P extends string = string> {
  grantType: string;
  /** The form parameters the grant reads besides grant_type and client authentication. */
  parameters: readonly P[];
  handler(deps: Deps, request: TokenRequest<P>, lookup: Lookup): Grant | Miss;
  /**
   * The asynchronous part before the decision, when the grant has one for this request: checking an
   * external token against its issuer's trust policies and keys (federated.ts), which sets
   * `request.federated` for the handler. undefined: nothing to wait for.
   */
  prepare?(deps: Deps, request: TokenRequest<P>): Promise<unknown> | undefined;
}

/** A token request as the grant sees it. */
export interface TokenRequest<P extends string = string> extends FederatedRequest {
  params: { get(name: P): string | undefined };
  /** client_secret_basic / client_secret_post credentials, when the request carries them. */
  client: ClientSecret | undefined;
  replay: ReplayCache;
}

/** What a grant decided: who gets tokens, for which scopes; issueTokens makes them. */
export interface Grant {
  client: AuthenticatedClient;
  scopes: readonly string[];
  /** The instance, for the audience of its own project. */
  instance: InstanceState;
  /** The project ids of the audience scopes. */
  aud: string[];
  /** OIDC amr of the id_token (none for a machine key: ZITADEL's private_key has no amr value). */
  amr: readonly string[] | undefined;
  /** RFC 8693 §2.2.1 issued_token_type, for token exchange. */
  issuedTokenType?: string;
}

const PWD = Object.freeze(["pwd"]);

/**
 * The last step of every grant: the instance the tokens are issued for, and the projects of the
 * audience, which must admit the machine (projectRoleCheck / hasProjectCheck, role-claims.ts).
 */
function granted(deps: Deps, lookup: Lookup, client: AuthenticatedClient, scopes: readonly string[], amr: readonly string[] | undefined): Grant | Miss {
  const instance = lookup("instance", deps.instanceId);
  if (instance === MISS) return MISS;
  const aud = audienceOf(scopes, instance.projectId);
  if (aud.length > 0) {
    const refused = decideProjectAccess(lookup, client.user, aud, instance.projectId);
    if (refused === MISS) return MISS;
    if (refused) throw refused;
  }
  return { client, scopes, instance, aud, amr };
}

const grant = <P extends string>(g: GrantHandler<P>) => g;

const JWT_CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** The machine a client_id names (its id or login name), for federated client assertions; undefined without one. */
async function machineNamed(deps: Deps, clientId: string | undefined): Promise<string | undefined> {
  if (!clientId) return undefined;
  return (await deps.cache.userIdByLoginName(deps.instanceId, clientId)) ?? clientId;
}

/**
 * RFC 6749 §4.4, the client authenticated by client_secret_basic / client_secret_post, or by a
 * client assertion (RFC 7523 §2.2): private_key_jwt with one of the machine's own keys, or an
 * external token whose issuer has a trust policy (workload federation; the assertion's `iss` picks
 * the way). One method per request. The client is checked before the scope, so a bad secret
 * without a scope is still invalid_client.
 */
const clientCredentials = grant({
  grantType: "client_credentials",
  parameters: ["scope", "client_assertion", "client_assertion_type", "client_id", "client_secret"],
  prepare(deps, request) {
    const assertion = request.params.get("client_assertion");
    const type = request.params.get("client_assertion_type");
    if (assertion === undefined && type === undefined) return undefined;
    // A client_secret beside an assertion is a second method even without a client_id (which is all
    // request.client needs to be empty), as at introspection (api/oauth/client-auth.ts).
    if (request.client || request.params.get("client_secret") !== undefined) throw new OAuthError("invalid_request", "only one client authentication method may be used");
    if (type !== JWT_CLIENT_ASSERTION_TYPE || !assertion) throw clientAuthFailed();
    return machineNamed(deps, request.params.get("client_id")).then((userId) => federate(deps, request, assertion, userId, refusedClient));
  },
  handler(deps, request, lookup) {
    let client: AuthenticatedClient | Miss;
    const assertion = request.params.get("client_assertion");
    if (request.federated) client = federatedClient(deps, request.replay, request, lookup, refusedClient);
    else if (assertion !== undefined) {
      const r = request as TokenRequest & { assertion: string; clientId: string | undefined };
      r.assertion = assertion;
      r.clientId = request.params.get("client_id");
      client = clientByAssertion(deps, request.replay, r, lookup);
    } else {
      const creds = request.client;
      if (!creds || !creds.clientId) throw new OAuthError("invalid_request", "client_id or client_assertion must be provided");
      client = clientBySecret(deps, creds, lookup);
    }
    if (client === MISS) return MISS;
    return granted(deps, lookup, client, requireScope(request.params.get("scope")), assertion === undefined ? PWD : undefined);
  },
});

export const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/**
 * RFC 7523 §2.1 with a machine key. No client authentication. Any bad assertion is 400 invalid_grant
 * "invalid assertion" (ZITADEL main, commit 5344a7f58); the scope is checked before the assertion's
 * jti is spent, so a request that only lacked a scope can be repeated with the same assertion.
 * Tokens carry cred "key:<keyId>" and end with the key.
 */
const jwtBearer = grant({
  grantType: JWT_BEARER_GRANT,
  parameters: ["assertion", "scope"],
  prepare(deps, request) {
    const assertion = request.params.get("assertion");
    if (!assertion) return undefined;
    requireScope(request.params.get("scope"));
    return federate(deps, request, assertion, undefined, refusedGrant);
  },
  handler(deps, request, lookup) {
    const assertion = request.params.get("assertion");
    if (!assertion) throw new OAuthError("invalid_request", "assertion missing");
    const scopes = requireScope(request.params.get("scope"));
    if (request.federated) {
      const client = federatedClient(deps, request.replay, request, lookup, refusedGrant);
      return client === MISS ? MISS : granted(deps, lookup, client, scopes, undefined);
    }
    const v = verifyKeyAssertion(deps, request.replay, request, assertion, "grant", lookup);
    if (v === MISS) return MISS;
    if (!v.ok) {
      deps.log.debug({ reason: v.reason }, "jwt-bearer assertion rejected");
      throw new OAuthError("invalid_grant", "invalid assertion");
    }
    const client = activeClient(v.user, `key:${v.keyId}`, lookup, v.user.keys.get(v.keyId)?.expiration.getTime());
    if (client === MISS) return MISS;
    used(deps, "key", v.user.id, v.keyId);
    return granted(deps, lookup, client, scopes, undefined);
  },
});

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt";
const TOKEN_TYPE_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token";
const TOKEN_TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";

/**
 * RFC 8693 token exchange of an external JWT (subject_token_type jwt or id_token) accepted by a
 * trust policy and a binding, for an access token of the bound machine (issued_token_type
 * access_token). No client authentication: the subject token is the credential. No actor tokens.
 */
const tokenExchange = grant({
  grantType: TOKEN_EXCHANGE_GRANT,
  parameters: ["subject_token", "subject_token_type", "requested_token_type", "actor_token", "scope"],
  prepare(deps, request) {
    const token = request.params.get("subject_token");
    const type = request.params.get("subject_token_type");
    if (!token) throw new OAuthError("invalid_request", "subject_token missing");
    if (type !== TOKEN_TYPE_JWT && type !== TOKEN_TYPE_ID_TOKEN) throw new OAuthError("invalid_request", `subject_token_type must be ${TOKEN_TYPE_JWT}`);
    const requested = request.params.get("requested_token_type");
    if (requested !== undefined && requested !== TOKEN_TYPE_ACCESS_TOKEN) throw new OAuthError("invalid_request", `requested_token_type must be ${TOKEN_TYPE_ACCESS_TOKEN}`);
    if (request.params.get("actor_token") !== undefined) throw new OAuthError("invalid_request", "actor_token is not supported");
    requireScope(request.params.get("scope"));
    return federate(deps, request, token, undefined, refusedGrant).then((found) => {
      if (!found) throw refusedGrant("issuer_unknown");
    });
  },
  handler(deps, request, lookup) {
    const scopes = requireScope(request.params.get("scope"));
    const client = federatedClient(deps, request.replay, request, lookup, refusedGrant);
    if (client === MISS) return MISS;
    const g = granted(deps, lookup, client, scopes, undefined);
    return g === MISS ? MISS : { ...g, issuedTokenType: TOKEN_TYPE_ACCESS_TOKEN };
  },
});

/** In the order discovery lists them. */
export const GRANTS: readonly GrantHandler[] = [clientCredentials, jwtBearer, tokenExchange];
