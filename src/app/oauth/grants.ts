import type { InstanceState } from "../../domain/orgs/org.js";
import type { Deps } from "../core/context.js";
import { MISS, type Lookup, type Miss } from "../core/lookup.js";
import { activeClient, clientBySecret, used, type AuthenticatedClient, type ClientSecret } from "./clients.js";
import { OAuthError } from "./errors.js";
import { verifyKeyAssertion, type ReplayCache, type SpentJti } from "./jwt-assertion.js";
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
}

/** A token request as the grant sees it. */
export interface TokenRequest<P extends string = string> extends SpentJti {
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

/**
 * RFC 6749 §4.4 with client_secret_basic / client_secret_post. The client is checked before the
 * scope, so a bad secret without a scope is still invalid_client.
 */
const clientCredentials = grant({
  grantType: "client_credentials",
  parameters: ["scope"],
  handler(deps, request, lookup) {
    const creds = request.client;
    if (!creds || !creds.clientId) throw new OAuthError("invalid_request", "client_id or client_assertion must be provided");
    const client = clientBySecret(deps, creds, lookup);
    if (client === MISS) return MISS;
    return granted(deps, lookup, client, requireScope(request.params.get("scope")), PWD);
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
  handler(deps, request, lookup) {
    const assertion = request.params.get("assertion");
    if (!assertion) throw new OAuthError("invalid_request", "assertion missing");
    const scopes = requireScope(request.params.get("scope"));
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

/** In the order discovery lists them. */
export const GRANTS: readonly GrantHandler[] = [clientCredentials, jwtBearer];
