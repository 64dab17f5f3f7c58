import { classifySecret } from "../../crypto/credential-formats.js";
import { hashesEqual, keyedHash } from "../../crypto/keys.js";
import { OrgStateNum, type OrgState } from "../../domain/orgs/org.js";
import { UserStateNum, UserType, secretLive, type SecretState, type UserState } from "../../domain/users/user.js";
import type { Deps } from "../core/context.js";
import type { CredentialKindName } from "../../store/last-used.js";
import { MISS, decideWithCache, type Lookup, type Miss } from "../core/lookup.js";
import { clientAuthFailed, notActive } from "./errors.js";
import { claimSpentAssertion, verifyKeyAssertion, type ReplayCache, type SpentJti } from "./jwt-assertion.js";

/**
 * Client authentication: who is asking, proven by a secret (client_secret_basic / _post) or a
 * machine key (private_key_jwt), as decisions over a Lookup (app/core/lookup.ts), so that the token
 * endpoint, introspection and revocation run the same checks on cached and on loaded states.
 */

export interface AuthenticatedClient {
  user: UserState;
  org: OrgState;
  /** The credential that authenticated it, as tokens carry it: "secret:<secretId>" or "key:<keyId>". */
  cred: string;
  /** When that credential expires (ms since the epoch), if it does: no token outlives it. */
  credExpiresAt: number | undefined;
}

/** client_id and client_secret from client_secret_basic or client_secret_post. */
export interface ClientSecret {
  clientId: string;
  secret: string;
}

/** An HMAC compared against when the client is unknown, so unknown and known clients take the same path. */
let dummyHash: string | undefined;

/**
 * client_secret_basic / client_secret_post: client_id is the machine's login name (case-insensitive),
 * the secret is compared as a keyed hash in constant time against each of the machine's secrets.
 * A value in Portcullis's secret format with a wrong checksum is refused before anything is looked
 * up. Every failure is the same invalid_client; then the machine must be active (activeClient).
 */
export function clientBySecret(deps: Deps, creds: ClientSecret, lookup: Lookup): AuthenticatedClient | Miss {
  if (classifySecret(creds.secret) === "broken") throw clientAuthFailed();
  const userId = creds.clientId ? lookup("login", creds.clientId) : null;
  if (userId === MISS) return MISS;
  const user = userId !== null ? lookup("user", userId) : undefined;
  if (user === MISS) return MISS;
  const secret = matchingSecret(deps, user?.type === UserType.machine ? user : undefined, creds.secret);
  if (!user || !secret) throw clientAuthFailed();
  const client = activeClient(user, `secret:${secret.id}`, lookup, secret.expiration?.getTime());
  if (client !== MISS) used(deps, "secret", user.id, secret.id);
  return client;
}

/** A credential authenticated: its last use, in memory (written at most once a minute; idempotent, so a decision may run twice). */
export const used = (deps: Deps, kind: CredentialKindName, ownerId: string, credId: string) =>
  deps.lastUsed.touch(deps.instanceId, kind, ownerId, credId, deps.clock().getTime());

/**
 * The live secret of the machine whose keyed hash `value` is, if any. One keyed hash whatever the
 * number of secrets (the stored hashes are all under the same key, so the presented value is hashed
 * once and compared with each, 43 characters apiece), under the current master key; under previous
 * keys only on a mismatch (secrets made before a rotation). Every stored hash is compared, so the
 * time does not say which one matched; an unknown client is compared against a dummy hash.
 */
function matchingSecret(deps: Deps, user: UserState | undefined, value: string): SecretState | undefined {
  const secrets = user?.secrets;
  let h = keyedHash(deps.keys.hmac, value);
  if (!secrets || secrets.size === 0) {
    dummyHash ??= keyedHash(deps.keys.hmac, "portcullis-no-such-client");
    hashesEqual(h, dummyHash);
    return undefined;
  }
  let found: SecretState | undefined;
  for (const s of secrets.values()) if (hashesEqual(h, s.hash)) found = s;
  if (!found)
    for (const k of deps.keys.previous) {
      h = keyedHash(k.hmac, value);
      for (const s of secrets.values()) if (hashesEqual(h, s.hash)) found = s;
    }
  return found && secretLive(found, deps.clock().getTime()) ? found : undefined;
}

/**
 * private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9) with a machine key, verified
 * by the same function as the jwt-bearer grant. A client_id sent alongside must name the same machine
 * (its id or its login name). Failures are the same invalid_client as a wrong secret.
 */
export function clientByAssertion(
  deps: Deps,
  replay: ReplayCache,
  request: SpentJti & { assertion: string; clientId: string | undefined },
  lookup: Lookup,
): AuthenticatedClient | Miss {
  const v = verifyKeyAssertion(deps, replay, request, request.assertion, "client", lookup);
  if (v === MISS) return MISS;
  if (!v.ok) deps.log.debug({ reason: v.reason }, "client assertion rejected");
  const { clientId } = request;
  if (!v.ok || (clientId !== undefined && clientId !== v.user.id && clientId.toLowerCase() !== v.user.userName.toLowerCase())) throw clientAuthFailed();
  const client = activeClient(v.user, `key:${v.keyId}`, lookup, v.user.keys.get(v.keyId)?.expiration.getTime());
  if (client !== MISS) used(deps, "key", v.user.id, v.keyId);
  return client;
}

/**
 * The machine behind a verified credential may get a token only while it and its org are active.
 * ZITADEL checks this after the credential (command/oidc_session.go) and answers NotActive.
 */
export function activeClient(user: UserState, cred: string, lookup: Lookup, credExpiresAt: number | undefined): AuthenticatedClient | Miss {
  const org = lookup("org", user.orgId);
  if (org === MISS) return MISS;
  if (user.state !== UserStateNum.active || org.state !== OrgStateNum.active) throw notActive();
  return { user, org, cred, credExpiresAt };
}

/** How a client authenticates at introspection and revocation (the edge reads which one it used). */
export type ClientAuthentication = { method: "secret"; creds: ClientSecret } | { method: "private_key_jwt"; assertion: string; clientId: string | undefined };

/** Authenticates the client of an introspection or revocation request; sync when everything is cached. */
export function authenticateClient(deps: Deps, replay: ReplayCache, auth: ClientAuthentication): AuthenticatedClient | Promise<AuthenticatedClient> {
  if (auth.method === "secret") return decideWithCache(deps, (d, creds: ClientSecret, lookup) => clientBySecret(d, creds, lookup), auth.creds);
  const request: SpentJti & { assertion: string; clientId: string | undefined } = { assertion: auth.assertion, clientId: auth.clientId };
  const decided = decideWithCache(deps, (d, r: typeof request, lookup) => clientByAssertion(d, replay, r, lookup), request);
  if (request.spentJti === undefined && !(decided instanceof Promise)) return decided;
  return (async () => {
    const client = await decided;
    if (!(await claimSpentAssertion(deps, replay, request))) {
      deps.log.debug({ reason: "replayed (used through another process, or before a restart)" }, "client assertion rejected");
      throw clientAuthFailed();
    }
    return client;
  })();
}
