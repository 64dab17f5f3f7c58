import { createHash } from "node:crypto";
import { decodeJwt } from "../../crypto/jwt.js";
import type { RefusalReason } from "../../domain/federation/types.js";
import { userExists, UserType } from "../../domain/users/user.js";
import type { Deps } from "../core/context.js";
import { MISS, type Lookup, type Miss } from "../core/lookup.js";
import { candidatesFor, evaluate, issuerOf } from "../federation/accept.js";
import { activeClient, type AuthenticatedClient } from "./clients.js";
import { OAuthError } from "./errors.js";
import { spendOnce, type ReplayCache, type SpentJti } from "./jwt-assertion.js";

/**
 * Workload identity federation at the token endpoint: an external token accepted by a trust policy
 * and a binding (app/federation) makes the bound machine the client, exactly as its own secret or
 * key would (same tokens, claims, roles). The token's `cred` is `fed:<bindingId>`, so removing the
 * binding — or its policy, which removes its bindings — ends the tokens at once on every process
 * (authn.ts credentialAlive). No token outlives the external token (its exp caps the lifetime).
 *
 * Single use: an external token is spent once while it lives, keyed on its issuer and jti, or —
 * without a jti — on its signed part (as machine-key assertions of the grant): first in this
 * process's replay cache, then in the shared used_assertions table (claimSpentAssertion, oauth.ts).
 */

/** What the asynchronous part (JWKS, policies) decided; the synchronous decision re-checks the binding on the cached user. */
export interface FederatedIdentity {
  userId: string;
  bindingId: string;
  /** The external token's exp (seconds). */
  exp: number;
  replayId: string;
  /** The error of this grant form (invalid_grant or invalid_client), also for a replay found by the shared check. */
  fail: (reason: string) => OAuthError;
}

/** Carried by a token request through both runs of its decision. */
export interface FederatedRequest extends SpentJti {
  federated?: FederatedIdentity;
}

/** Seconds an external token stays spent after its exp (the engine's leeway, and some). */
const SPENT_MARGIN_S = 60;

/** The reason of the first refusal, for error_description: a fixed word, never a value from the token. */
const reasonOf = (refusals: readonly { reason: RefusalReason }[]) => refusals[0]?.reason ?? "no_binding";

/**
 * Checks `token` against the trust policies of its issuer. undefined when no policy names its
 * issuer (the caller may try a machine key); otherwise sets `request.federated` or throws `fail`.
 * `userId` restricts the bindings to one machine (client_id at the token endpoint).
 */
export async function federate(
  deps: Deps,
  request: FederatedRequest,
  token: string,
  userId: string | undefined,
  fail: (reason: string) => OAuthError,
): Promise<boolean> {
  const jwt = decodeJwt(token);
  const issuer = issuerOf(jwt);
  // Machine-key assertions name a user id as iss; trust policies name URLs: no read for the former.
  if (issuer === undefined || !issuer.includes("://")) return false;
  const candidates = await candidatesFor(deps, issuer, userId === undefined ? {} : { userId });
  if (!candidates) return false;
  const ev = await evaluate(deps, token, candidates);
  if (!ev.ok) {
    // The reasons only: never a claim value, never the token.
    deps.log.debug({ reasons: ev.refusals.map((r) => r.reason) }, "external token refused");
    throw fail(reasonOf(ev.refusals));
  }
  const a = ev.accepted;
  const replayId =
    a.jti !== undefined
      ? createHash("sha256").update(JSON.stringify(["fed-jti", a.policy.issuer, a.jti])).digest("base64url")
      : createHash("sha256").update(JSON.stringify(["fed-jws", jwt!.signingInput])).digest("base64url");
  request.federated = { userId: a.binding.userId, bindingId: a.binding.id, exp: a.exp, replayId, fail };
  return true;
}

/**
 * The machine behind an accepted external token, on the cached (or loaded) user: the binding must
 * still be there, the machine and its org active; then the token is spent in this process.
 */
export function federatedClient(deps: Deps, replay: ReplayCache, request: FederatedRequest, lookup: Lookup, fail: (reason: string) => OAuthError): AuthenticatedClient | Miss {
  const f = request.federated!;
  const user = lookup("user", f.userId);
  if (user === MISS) return MISS;
  if (!userExists(user) || user.type !== UserType.machine || !user.bindings.has(f.bindingId)) throw fail("no_binding");
  const nowMs = deps.clock().getTime();
  if (!spendOnce(replay, request, f.replayId, (f.exp + SPENT_MARGIN_S) * 1000, nowMs)) throw fail("replayed");
  return activeClient(user, `fed:${f.bindingId}`, lookup, f.exp * 1000);
}

export const refusedGrant = (reason: string) => new OAuthError("invalid_grant", `external token refused (${reason})`);
export const refusedClient = (reason: string) => new OAuthError("invalid_client", `client assertion refused (${reason})`);
