import { invalidArgument } from "../../domain/errors.js";
import type { CredentialListFilter, CredentialRow } from "../../store/read-models/index.js";
import type { Caller, Deps } from "../core/context.js";
import { listPage, type ListInput, type ListMeta } from "../core/list-page.js";

/**
 * Every credential with its last use, in the org the request acts on: what ZITADEL's key and PAT
 * messages cannot carry (they have no field for it and stay as they are on the wire). Reads only;
 * the uses are gathered by `deps.lastUsed` where credentials authenticate.
 */

export type { CredentialListFilter, CredentialRow };

/** ListUserCredentials: the user's secrets, machine keys and PATs, oldest first; expired ones too ([] for an unknown user). */
export async function listUserCredentials(deps: Deps, caller: Caller, userId: string, filter: CredentialListFilter, list: ListInput) {
  const { items, meta } = await listPage(deps, list, (p) => deps.reads.credentials.ofUser(deps.instanceId, caller.orgId, userId, filter, p));
  return { credentials: items, meta };
}

/** ListAppCredentials: an API application's secret (BASIC apps) and keys, oldest first ([] for an unknown app). */
export async function listAppCredentials(deps: Deps, caller: Caller, projectId: string, appId: string, filter: CredentialListFilter, list: ListInput) {
  const { items, meta } = await listPage(deps, list, (p) => deps.reads.credentials.ofApp(deps.instanceId, caller.orgId, projectId, appId, filter, p));
  return { credentials: items, meta };
}

const MAX_PERIOD = 100 * 365 * 86400;

/**
 * The org's live credentials — machine secrets, machine keys, PATs, app secrets and app keys — that
 * expire within `withinSeconds` from now or have not been used for `unusedForSeconds` (never used:
 * since their creation), for dashboards and clean-up; 0 leaves a criterion out, at least one is
 * needed. Soonest expiry first.
 */
export async function listExpiringCredentials(
  deps: Deps,
  caller: Caller,
  criteria: { withinSeconds: number; unusedForSeconds: number },
  list: ListInput,
): Promise<{ credentials: CredentialRow[]; meta: ListMeta }> {
  const { withinSeconds, unusedForSeconds } = criteria;
  for (const v of [withinSeconds, unusedForSeconds])
    if (!Number.isSafeInteger(v) || v < 0 || v > MAX_PERIOD) throw invalidArgument("PORT-expiring-period", "Periods are whole seconds up to 100 years");
  if (withinSeconds === 0 && unusedForSeconds === 0) throw invalidArgument("PORT-expiring-period", "Give within, unused_for, or both");
  const now = deps.clock().getTime();
  const { items, meta } = await listPage(deps, list, (p) =>
    deps.reads.credentials.expiringInOrg(
      deps.instanceId,
      caller.orgId,
      new Date(now),
      withinSeconds ? new Date(now + withinSeconds * 1000) : undefined,
      unusedForSeconds ? new Date(now - unusedForSeconds * 1000) : undefined,
      p,
    ),
  );
  return { credentials: items, meta };
}
