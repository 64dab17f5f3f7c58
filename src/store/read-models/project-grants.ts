import type { Queryable, Row } from "../sql.js";
import { asDate, asJson, selectPage, type Page, type PageRequest } from "./page.js";
import { OrgColumns as O, ProjectColumns as P, ProjectGrantColumns as G, Tables } from "./tables.js";
import { scopeCondition, type VisibleScope } from "./scope.js";
import { textCondition } from "./text-query.js";

/**
 * Reads of proj_project_grants, joined with the project's name and both orgs' names (ZITADEL's
 * query.ProjectGrant). A removed grant, a grant of a removed project and a grant to or from a removed
 * org have no row.
 */

export interface ProjectGrantRow {
  grantId: string;
  projectId: string;
  projectName: string;
  /** The project's org: the grant's resource owner. */
  orgId: string;
  orgName: string;
  grantedOrgId: string;
  grantedOrgName: string;
  roleKeys: string[];
  state: number;
  createdAt: Date;
  changedAt: Date;
  sequence: number;
}

/** zitadel.project.v1.ProjectGrantQuery (ListProjectGrants). */
export type ProjectGrantQuery = { kind: "projectName"; name: string; method: number } | { kind: "roleKey"; key: string; method: number };

/** zitadel.project.v2beta.ProjectGrantSearchFilter. */
export type ProjectGrantSearchQuery =
  | ProjectGrantQuery
  | { kind: "projectIds"; ids: string[] }
  | { kind: "resourceOwner"; orgId: string }
  | { kind: "grantedOrg"; orgId: string };

/** zitadel.project.v1.ProjectQuery as ListGrantedProjects reads it: the project's name, the project's org. */
export type GrantedProjectQuery = { kind: "name"; name: string; method: number } | { kind: "resourceOwner"; orgId: string };

const COLUMNS = [
  `g.${G.grantId}`,
  `g.${G.projectId}`,
  `p.${P.name} AS project_name`,
  `g.${G.orgId}`,
  `o.${O.name} AS org_name`,
  `g.${G.grantedOrgId}`,
  `gorg.${O.name} AS granted_org_name`,
  `g.${G.roleKeys}`,
  `g.${G.state}`,
  `g.${G.createdAt}`,
  `g.${G.changedAt}`,
  `g.${G.sequence}`,
].join(", ");

const FROM = `${Tables.projectGrants} g
  JOIN ${Tables.projects} p ON p.${P.instanceId} = g.${G.instanceId} AND p.${P.id} = g.${G.projectId}
  LEFT JOIN ${Tables.orgs} o ON o.${O.instanceId} = g.${G.instanceId} AND o.${O.id} = g.${G.orgId}
  LEFT JOIN ${Tables.orgs} gorg ON gorg.${O.instanceId} = g.${G.instanceId} AND gorg.${O.id} = g.${G.grantedOrgId}`;

const toRow = (r: Row): ProjectGrantRow => ({
  grantId: r[G.grantId] as string,
  projectId: r[G.projectId] as string,
  projectName: r.project_name as string,
  orgId: r[G.orgId] as string,
  orgName: (r.org_name as string | null) ?? "",
  grantedOrgId: r[G.grantedOrgId] as string,
  grantedOrgName: (r.granted_org_name as string | null) ?? "",
  roleKeys: asJson<string[]>(r[G.roleKeys]),
  state: Number(r[G.state]),
  createdAt: asDate(r[G.createdAt]),
  changedAt: asDate(r[G.changedAt]),
  sequence: Number(r[G.sequence]),
});

const ORDER = `g.${G.createdAt} ASC, g.${G.grantId} ASC`;

/** A grant holding a key that matches (each key of the JSON array compared with the text method). */
const roleKeyCondition = (method: number, key: string, params: unknown[]) =>
  `EXISTS (SELECT 1 FROM jsonb_array_elements_text(g.${G.roleKeys}) AS rk(k) WHERE ${textCondition("rk.k", method, key, params)})`;

export function projectGrantReads(db: Queryable) {
  async function one(where: string, params: unknown[]): Promise<ProjectGrantRow | undefined> {
    const rows = await db.query(`SELECT ${COLUMNS} FROM ${FROM} WHERE ${where}`, params);
    return rows[0] && toRow(rows[0]);
  }
  return {
    /** GetProjectGrantByID: the grant of a project the org owns. */
    byId(instanceId: string, orgId: string, projectId: string, grantId: string) {
      return one(`g.${G.instanceId} = $1 AND g.${G.grantId} = $2 AND g.${G.projectId} = $3 AND g.${G.orgId} = $4`, [instanceId, grantId, projectId, orgId]);
    },

    /** GetGrantedProjectByID: the grant of a project to the org. */
    grantedById(instanceId: string, grantedOrgId: string, projectId: string, grantId: string) {
      return one(`g.${G.instanceId} = $1 AND g.${G.grantId} = $2 AND g.${G.projectId} = $3 AND g.${G.grantedOrgId} = $4`, [instanceId, grantId, projectId, grantedOrgId]);
    },

    /** ListProjectGrants: the grants of one project of the org, queries AND-ed, in creation order. */
    listOfProject(instanceId: string, orgId: string, projectId: string, queries: ProjectGrantQuery[], page: PageRequest): Promise<Page<ProjectGrantRow>> {
      const params: unknown[] = [instanceId, orgId, projectId];
      const where = [`g.${G.instanceId} = $1`, `g.${G.orgId} = $2`, `g.${G.projectId} = $3`];
      for (const q of queries) {
        if (q.kind === "projectName") where.push(textCondition(`p.${P.name}`, q.method, q.name, params));
        else where.push(roleKeyCondition(q.method, q.key, params));
      }
      return selectPage(db, { columns: COLUMNS, from: FROM, where: where.join(" AND "), order: ORDER, params }, page, toRow);
    },

    /** The grant of that project to that org, if any (v2beta names a grant by the two). */
    byGrantedOrg(instanceId: string, projectId: string, grantedOrgId: string) {
      return one(`g.${G.instanceId} = $1 AND g.${G.projectId} = $2 AND g.${G.grantedOrgId} = $3`, [instanceId, projectId, grantedOrgId]);
    },

    /**
     * v2beta ListProjectGrants: the grants within a scope (the project's org, or the project), and the
     * grants made to the orgs of the scope, queries AND-ed, in creation order (`asc` false: newest first).
     */
    listIn(instanceId: string, scope: VisibleScope, queries: ProjectGrantSearchQuery[], asc: boolean, page: PageRequest): Promise<Page<ProjectGrantRow>> {
      const params: unknown[] = [instanceId];
      const owner = scopeCondition(`g.${G.orgId}`, `g.${G.projectId}`, scope, params);
      const granted = scopeCondition(`g.${G.grantedOrgId}`, undefined, scope, params);
      const where = [`g.${G.instanceId} = $1`, `(${owner} OR ${granted})`];
      for (const q of queries) {
        if (q.kind === "projectName") where.push(textCondition(`p.${P.name}`, q.method, q.name, params));
        else if (q.kind === "roleKey") where.push(roleKeyCondition(q.method, q.key, params));
        else if (q.kind === "projectIds") where.push(`g.${G.projectId} = ANY($${params.push(q.ids)}::text[])`);
        else if (q.kind === "resourceOwner") where.push(`g.${G.orgId} = $${params.push(q.orgId)}`);
        else where.push(`g.${G.grantedOrgId} = $${params.push(q.orgId)}`);
      }
      const dir = asc ? "ASC" : "DESC";
      return selectPage(db, { columns: COLUMNS, from: FROM, where: where.join(" AND "), order: `g.${G.createdAt} ${dir}, g.${G.grantId} ${dir}`, params }, page, toRow);
    },

    /** ListGrantedProjects: the grants made to the org, queries AND-ed, in creation order. */
    listGranted(instanceId: string, grantedOrgId: string, queries: GrantedProjectQuery[], page: PageRequest): Promise<Page<ProjectGrantRow>> {
      const params: unknown[] = [instanceId, grantedOrgId];
      const where = [`g.${G.instanceId} = $1`, `g.${G.grantedOrgId} = $2`];
      for (const q of queries) {
        if (q.kind === "name") where.push(textCondition(`p.${P.name}`, q.method, q.name, params));
        else where.push(`g.${G.orgId} = $${params.push(q.orgId)}`);
      }
      return selectPage(db, { columns: COLUMNS, from: FROM, where: where.join(" AND "), order: ORDER, params }, page, toRow);
    },
  };
}

export type ProjectGrantReads = ReturnType<typeof projectGrantReads>;
