import { invalidArgument, notFound, preconditionFailed } from "../../domain/errors.js";
import type { NewEvent } from "../../domain/events.js";
import { newMetadataRemovedEvent, newMetadataSetEvent } from "../../domain/users/events.js";
import { inOrg } from "../../domain/users/rules.js";
import type { UserState } from "../../domain/users/user.js";
import { runCommand, type Loader } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf, type Details } from "../core/details.js";
import { listPage } from "../core/list-page.js";
import { requireMayActOn } from "../orgs/privilege-ceiling.js";
import type { MetadataKeyQuery, MetadataRow } from "../../store/read-models/index.js";
import type { ListInput, ListMeta } from "./user-queries.js";

/**
 * User metadata (ZITADEL command/user_metadata.go). Values are bytes; events carry them base64
 * encoded (`user.metadata.set {key, value}`), as ZITADEL's JSON payloads do for []byte.
 */

/** The user exists in the caller's org, and the caller may act on it (the privilege ceiling). */
async function requireUser(deps: Deps, load: Loader, u: UserState, caller: Caller) {
  if (!inOrg(u, caller)) throw preconditionFailed("COMMAND-uXHNj", "User could not be found");
  await requireMayActOn(deps, load, caller, u.id);
}

const noData = () => preconditionFailed("META-9mm2d", "Metadata list is empty");

const b64 = (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");

/** The value as events carry it (base64), once the entry is checked. */
function storedValue(key: string, value: Uint8Array): string {
  if (!key || value.length === 0) throw invalidArgument("META-2ml0f", "Metadata is invalid");
  return b64(value);
}

/** SetUserMetadata: setting the value a key already has writes nothing and answers that entry's details. */
export function setUserMetadata(deps: Deps, caller: Caller, userId: string, key: string, value: Uint8Array): Promise<Details> {
  return runCommand<Details>(deps, caller.userId, async (load) => {
    const u = await load("user", userId);
    await requireUser(deps, load, u, caller);
    const v = storedValue(key, value);
    const current = u.metadata.get(key);
    if (current && current.value === v)
      return { events: [], result: () => ({ sequence: current.sequence, creationDate: current.changedAt, resourceOwner: u.orgId }) };
    return { events: [newMetadataSetEvent(u, key, v)], result: (s) => createdDetails(lastOf(s)) };
  });
}

/** BulkSetUserMetadata: one event per changed key, appended atomically; unchanged entries are skipped. */
export function bulkSetUserMetadata(deps: Deps, caller: Caller, userId: string, entries: { key: string; value: Uint8Array }[]): Promise<Details> {
  return runCommand<Details>(deps, caller.userId, async (load) => {
    if (entries.length === 0) throw noData();
    const u = await load("user", userId);
    await requireUser(deps, load, u, caller);
    const pending = new Map<string, string>();
    const events: NewEvent[] = [];
    for (const { key, value } of entries) {
      const v = storedValue(key, value);
      if ((pending.get(key) ?? u.metadata.get(key)?.value) === v) continue;
      pending.set(key, v);
      events.push(newMetadataSetEvent(u, key, v));
    }
    if (events.length === 0) {
      const last = u.lastMetadataEvent;
      return { events, result: () => ({ sequence: last?.sequence ?? 0, changeDate: last?.at, resourceOwner: u.orgId }) };
    }
    return { events, result: (s) => changedDetails(lastOf(s)) };
  });
}

export function removeUserMetadata(deps: Deps, caller: Caller, userId: string, key: string): Promise<Details> {
  return runCommand<Details>(deps, caller.userId, async (load) => {
    const u = await load("user", userId);
    await requireUser(deps, load, u, caller);
    if (!u.metadata.has(key)) throw notFound("META-ncnw3", "Metadata not found");
    return { events: [newMetadataRemovedEvent(u, key)], result: (s) => changedDetails(lastOf(s)) };
  });
}

/** BulkRemoveUserMetadata: all or nothing — one missing key and no key is removed. */
export function bulkRemoveUserMetadata(deps: Deps, caller: Caller, userId: string, keys: string[]): Promise<Details> {
  return runCommand<Details>(deps, caller.userId, async (load) => {
    if (keys.length === 0) throw noData();
    const u = await load("user", userId);
    await requireUser(deps, load, u, caller);
    const unique = [...new Set(keys)];
    for (const key of unique) {
      if (!key) throw invalidArgument("COMMAND-m19ds", "Metadata is invalid");
      if (!u.metadata.has(key)) throw notFound("META-2nnds", "One or more keys do not exist");
    }
    return { events: unique.map((key) => newMetadataRemovedEvent(u, key)), result: (s) => changedDetails(lastOf(s)) };
  });
}

export type { MetadataKeyQuery, MetadataRow } from "../../store/read-models/index.js";

export async function getUserMetadata(deps: Deps, caller: Caller, userId: string, key: string): Promise<MetadataRow> {
  const row = await deps.reads.metadata.byKey(deps.instanceId, caller.orgId, userId, key);
  if (!row) throw notFound("QUERY-Rgh32", "Metadata not found");
  return row;
}

/** ListUserMetadata: no user check ([] for unknown or other-org users); queries are AND-ed; ordered by key bytes (the same on every database collation). */
export async function listUserMetadata(deps: Deps, caller: Caller, userId: string, list: ListInput, queries: MetadataKeyQuery[]): Promise<{ metadata: MetadataRow[]; meta: ListMeta }> {
  const { items, meta } = await listPage(deps, list, (p) => deps.reads.metadata.listOfUser(deps.instanceId, caller.orgId, userId, queries, p));
  return { metadata: items, meta };
}
