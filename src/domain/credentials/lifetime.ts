import { invalidArgument } from "../errors.js";
import { NO_EXPIRY, expirationOrDefault, isGoZeroTime } from "../expiration.js";
import type { CredentialPolicyPayload } from "../orgs/events.js";

export type CredentialKind = "secret" | "key" | "pat";

const maxOf = (policy: CredentialPolicyPayload, kind: CredentialKind) =>
  kind === "secret" ? policy.maxSecretLifetime : kind === "key" ? policy.maxKeyLifetime : policy.maxPatLifetime;

/**
 * The expiration of a new credential under its org's policy. An explicit date must be in the future
 * and, with a policy, within its maximum lifetime (else InvalidArgument PORT-cred-policy). Without a
 * date: the policy's maximum when there is one, otherwise `noLimit` (ZITADEL's year 9999 for keys and
 * PATs, undefined — never — for secrets). So ZITADEL calls without an expiration keep working in an
 * org with a policy, and their credentials expire as the policy says.
 */
export function credentialExpiration<D extends Date | undefined>(
  kind: CredentialKind,
  requested: Date | undefined,
  now: Date,
  policy: CredentialPolicyPayload,
  noLimit: D,
): Date | D {
  const max = maxOf(policy, kind);
  const limit = max > 0 ? new Date(now.getTime() + max * 1000) : undefined;
  // Go's zero time is no date, as absent: the policy's limit, or none.
  if (!requested || isGoZeroTime(requested)) return limit ?? noLimit;
  const date = expirationOrDefault(requested, now);
  if (limit && date.getTime() > limit.getTime())
    throw invalidArgument("PORT-cred-policy", `The expiration is beyond the organization's credential policy (at most ${max} seconds from now)`);
  return date;
}

export { NO_EXPIRY };
