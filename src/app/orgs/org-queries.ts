import { textCondition } from "../core/text-query.js";
import { invalidArgument, notFound } from "../../domain/errors.js";
import type { StoredEvent } from "../../domain/events.js";
import { OrgStateNum } from "../../domain/orgs/org.js";
import { EVENT_COLUMNS } from "../../store/event-store.js";
import type { Row } from "../../store/sql.js";
import type { Caller, Deps } from "../core/context.js";
import type { ChangeInput, ListInput, ListMeta } from "../users/user-queries.js";

/** Reads of orgs and members from the projections (proj_orgs, proj_members joined with proj_users). */

export interface OrgRow {
  id: string;
  name: string;
  state: number;
  primaryDomain: string;
  createdAt: Date;
  changedAt: Date;
  sequence: number;
}

const ORG_COLUMNS = "id, name, state, primary_domain, created_at, changed_at, sequence";

const toOrgRow = (r: Row): OrgRow => ({
  id: r.id as string,
  name: r.name as string,
  state: Number(r.state),
  primaryDomain: r.primary_domain as string,
  createdAt: new Date(r.created_at as string | Date),
  changedAt: new Date(r.changed_at as string | Date),
  sequence: Number(r.sequence),
});

async function listMeta(deps: Deps, total: number): Promise<ListMeta> {
  return { totalResult: total, processedSequence: await deps.store.lastPosition(), viewTimestamp: deps.clock() };
}

const paging = (list: ListInput) =>
  `${list.limit > 0 ? ` LIMIT ${Math.min(list.limit, 1_000_000)}` : ""} OFFSET ${Math.max(0, Math.min(list.offset, Number.MAX_SAFE_INTEGER))}`;


/**
 * OrgByID. A removed org is gone (ZITADEL's org projection deletes its row), so it is not found
 * like one that never existed.
 */
export async function getOrgById(deps: Deps, id: string): Promise<OrgRow> {
  const rows = await deps.store.sql.query(`SELECT ${ORG_COLUMNS} FROM proj_orgs WHERE instance_id = $1 AND id = $2 AND state <> $3`, [
    deps.instanceId,
    id,
    OrgStateNum.removed,
  ]);
  const row = rows[0];
  if (!row) throw notFound("QUERY-leq5Q", "Organisation not found");
  return toOrgRow(row);
}

/** zitadel.org.v1.OrgQuery reduced to what the store answers. */
export type OrgQuery =
  | { kind: "name"; name: string; method: number }
  | { kind: "domain"; domain: string; method: number }
  | { kind: "state"; state: number }
  | { kind: "id"; id: string };

/** ListOrgs (admin): orgs of the instance, queries AND-ed; sorted by name when asked, else in creation order. */
export async function listOrgs(deps: Deps, list: ListInput, sortByName: boolean, queries: OrgQuery[]) {
  const params: unknown[] = [deps.instanceId, OrgStateNum.removed];
  const where = ["instance_id = $1", "state <> $2"];
  for (const q of queries) {
    switch (q.kind) {
      case "name":
        where.push(textCondition("name", q.method, q.name, params));
        break;
      case "domain":
        where.push(textCondition("primary_domain", q.method, q.domain, params));
        break;
      case "state":
        where.push(`state = $${params.push(q.state)}`);
        break;
      case "id":
        where.push(`id = $${params.push(q.id)}`);
        break;
    }
  }
  const dir = list.asc ? "ASC" : "DESC";
  const order = sortByName ? `lower(name) ${dir}, id ${dir}` : "created_at ASC, id ASC";
  const cond = where.join(" AND ");
  const rows = await deps.store.sql.query(`SELECT ${ORG_COLUMNS}, count(*) OVER () AS total FROM proj_orgs WHERE ${cond} ORDER BY ${order}${paging(list)}`, params);
  let total = rows[0] ? Number(rows[0].total) : 0;
  if (rows.length === 0 && list.offset > 0) {
    const c = await deps.store.sql.query<{ n: string | number }>(`SELECT count(*) AS n FROM proj_orgs WHERE ${cond}`, params);
    total = Number(c[0]?.n ?? 0);
  }
  return { orgs: rows.map(toOrgRow), meta: await listMeta(deps, total) };
}

/**
 * IsOrgUnique (query/org.go): false when a non-removed org has that name or that domain (case-
 * insensitive); both empty is an invalid request.
 */
export async function isOrgUnique(deps: Deps, name: string, domain: string): Promise<boolean> {
  if (!name && !domain) throw invalidArgument("QUERY-DGqfd", "Request is invalid");
  const rows = await deps.store.sql.query(
    `SELECT 1 FROM proj_orgs WHERE instance_id = $1 AND state <> $2
       AND (($3 <> '' AND lower(name) = lower($3)) OR ($4 <> '' AND lower(primary_domain) = lower($4))) LIMIT 1`,
    [deps.instanceId, OrgStateNum.removed, name, domain],
  );
  return rows.length === 0;
}

/** ListOrgChanges: the events of the org aggregate (newest first unless asc), as ListUserChanges does for users. */
export async function listOrgChanges(deps: Deps, caller: Caller, q: ChangeInput): Promise<StoredEvent[]> {
  if (!Number.isSafeInteger(q.sequence)) return []; // no aggregate has that many events
  const limit = q.limit > 0 ? ` LIMIT ${Math.min(q.limit, 1_000_000)}` : "";
  const rows = await deps.store.sql.query(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE instance_id = $1 AND aggregate_type = 'org' AND aggregate_id = $2 AND resource_owner = $2 AND sequence > $3
     ORDER BY sequence ${q.asc ? "ASC" : "DESC"}${limit}`,
    [deps.instanceId, caller.orgId, q.sequence],
  );
  return rows.map((r) => ({
    instanceId: r.instance_id as string,
    aggregateType: "org",
    aggregateId: r.aggregate_id as string,
    sequence: Number(r.sequence),
    position: Number(r.position),
    type: r.event_type as string,
    payload: {},
    editor: r.editor_user as string,
    resourceOwner: r.resource_owner as string,
    createdAt: new Date(r.created_at as string | Date),
  }));
}

export interface MemberRow {
  userId: string;
  roles: string[];
  /** The org or the instance the membership belongs to. */
  scopeId: string;
  createdAt: Date;
  changedAt: Date;
  sequence: number;
  userName: string;
  /** Machines: their name (ZITADEL shows the machine name as display name). */
  displayName: string;
  userType: number;
  userOrgId: string;
}

/** zitadel.member.v1.SearchQuery reduced to what the store answers. */
export type MemberQuery = { kind: "userId"; userId: string } | { kind: "humanText" };

/** zitadel.member.v1.MemberFieldColumnName → column; unspecified keeps creation order. */
const memberSortColumns: Record<number, string> = { 1: "m.user_id", 2: "m.created_at", 3: "m.changed_at", 4: "u.org_id" };

/**
 * Members of one scope (an org, or the instance), queries AND-ed, with the user's login name,
 * display name and type. Members whose user no longer exists (or whose org was removed) are not listed.
 */
export async function listMembers(deps: Deps, scope: { type: "org" | "instance"; id: string }, list: ListInput, queries: MemberQuery[], sortingColumn = 0) {
  const params: unknown[] = [deps.instanceId, scope.type, scope.id];
  const where = ["m.instance_id = $1", "m.scope_type = $2", "m.scope_id = $3"];
  for (const q of queries) {
    // First name, last name and email belong to humans; a machine never matches them.
    where.push(q.kind === "userId" ? `m.user_id = $${params.push(q.userId)}` : "false");
  }
  const column = memberSortColumns[sortingColumn];
  const dir = list.asc ? "ASC" : "DESC";
  const order = column ? `${column} ${dir}, m.user_id ${dir}` : "m.created_at ASC, m.user_id ASC";
  const from = "proj_members m JOIN proj_users u ON u.instance_id = m.instance_id AND u.id = m.user_id";
  const cond = where.join(" AND ");
  const rows = await deps.store.sql.query(
    `SELECT m.user_id, m.roles, m.scope_id, m.created_at, m.changed_at, m.sequence, u.username, u.name, u.user_type, u.org_id, count(*) OVER () AS total
     FROM ${from} WHERE ${cond} ORDER BY ${order}${paging(list)}`,
    params,
  );
  let total = rows[0] ? Number(rows[0].total) : 0;
  if (rows.length === 0 && list.offset > 0) {
    const c = await deps.store.sql.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${from} WHERE ${cond}`, params);
    total = Number(c[0]?.n ?? 0);
  }
  const members: MemberRow[] = rows.map((r) => ({
    userId: r.user_id as string,
    roles: (typeof r.roles === "string" ? JSON.parse(r.roles) : r.roles) as string[],
    scopeId: r.scope_id as string,
    createdAt: new Date(r.created_at as string | Date),
    changedAt: new Date(r.changed_at as string | Date),
    sequence: Number(r.sequence),
    userName: r.username as string,
    displayName: r.name as string,
    userType: Number(r.user_type),
    userOrgId: r.org_id as string,
  }));
  return { members, meta: await listMeta(deps, total) };
}
