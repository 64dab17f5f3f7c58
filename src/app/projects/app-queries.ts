import { notFound } from "../../domain/errors.js";
import type { AppKeyOwner, AppKeyRow, AppQuery, AppRow, VisibleScope } from "../../store/read-models/index.js";
import type { Caller, Deps } from "../core/context.js";
import { listPage, type ListInput } from "../core/list-page.js";

/** Reads of applications and their keys (read models proj_apps, proj_app_keys), in the org the request acts on. */
export type { AppKeyOwner, AppKeyRow, AppQuery, AppRow } from "../../store/read-models/index.js";

/** GetAppByID: an app of a project of the org; anything else is QUERY-anx7d. */
export async function getAppById(deps: Deps, caller: Caller, projectId: string, appId: string): Promise<AppRow> {
  const row = await deps.reads.apps.byId(deps.instanceId, caller.orgId, projectId, appId);
  if (!row) throw notFound("QUERY-anx7d", "Errors.Project.App.NotFound");
  return row;
}

/** ListApps: the apps of a project of the org (none for an unknown project), queries AND-ed, in creation order. */
export async function listApps(deps: Deps, caller: Caller, projectId: string, list: ListInput, queries: AppQuery[]) {
  const page = await listPage(deps, list, (p) => deps.reads.apps.list(deps.instanceId, caller.orgId, projectId, queries, p));
  return { apps: page.items, meta: page.meta };
}

/** GetAppKey: the key of that app; expired keys too (as machine keys). */
export async function getAppKey(deps: Deps, caller: Caller, projectId: string, appId: string, keyId: string): Promise<AppKeyRow> {
  const row = await deps.reads.apps.keyById(deps.instanceId, caller.orgId, projectId, appId, keyId);
  if (!row) throw notFound("QUERY-Dgr3g", "Errors.AuthNKey.NotFound");
  return row;
}

/** ListAppKeys: the app's keys, oldest first ([] for an unknown app). */
export async function listAppKeys(deps: Deps, caller: Caller, projectId: string, appId: string, list: ListInput) {
  const page = await listPage(deps, list, (p) => deps.reads.apps.listKeys(deps.instanceId, caller.orgId, projectId, appId, p));
  return { keys: page.items, meta: page.meta };
}

/** The app with that id in any project (v2beta names apps by id alone; the caller is authorized on what it finds). */
export const locateApp = (deps: Deps, appId: string): Promise<AppRow | undefined> => deps.reads.apps.locate(deps.instanceId, appId);

/** The app key with that id in any app. */
export const locateAppKey = (deps: Deps, keyId: string): Promise<AppKeyRow | undefined> => deps.reads.apps.locateKey(deps.instanceId, keyId);

/** v2beta ListApplicationKeys: the keys of an app, a project or an org, within what the caller may read. */
export async function searchAppKeys(deps: Deps, scope: VisibleScope, owner: AppKeyOwner | undefined, list: ListInput) {
  const page = await listPage(deps, list, (p) => deps.reads.apps.searchKeys(deps.instanceId, scope, owner, list.asc, p));
  return { keys: page.items, meta: page.meta };
}
