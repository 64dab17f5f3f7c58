import type { Queryable, Row } from "../sql.js";
import { selectPage, type Page, type PageRequest } from "./page.js";
import { ProjectColumns as P, ProjectGrantColumns as G, ProjectRoleColumns as R, Tables } from "./tables.js";
import { scopeCondition, type VisibleScope } from "./scope.js";
import { textCondition } from "./text-query.js";

/** Reads of proj_projects and proj_project_roles. A removed project (or one of a removed org) has no rows. */

export interface ProjectRow {
  id: string;
  orgId: string;
  name: string;
  state: number;
  projectRoleAssertion: boolean;
  projectRoleCheck: boolean;
  hasProjectCheck: boolean;
  privateLabelingSetting: number;
  createdAt: Date;
  changedAt: Date;
  sequence: number;
}

export interface ProjectRoleRow {
  projectId: string;
  key: string;
  orgId: string;
  displayName: string;
  group: string;
  createdAt: Date;
  changedAt: Date;
  sequence: number;
}

/** zitadel.project.v1.ProjectQuery reduced to what the store answers. */
export type ProjectQuery = { kind: "name"; name: string; method: number } | { kind: "resourceOwner"; orgId: string };

/** zitadel.project.v2beta.ProjectSearchFilter: v1's queries, ids, and the orgs a project is granted to. */
export type ProjectSearchQuery = ProjectQuery | { kind: "ids"; ids: string[] } | { kind: "grantedTo"; orgId: string };

/** zitadel.project.v2beta.ProjectFieldName. */
export type ProjectSort = "createdAt" | "id" | "changedAt" | "name";

/** zitadel.project.v1.RoleQuery. */
export type ProjectRoleQuery = { kind: "key"; key: string; method: number } | { kind: "displayName"; displayName: string; method: number };

const PROJECT_COLUMNS = [P.id, P.orgId, P.name, P.state, P.projectRoleAssertion, P.projectRoleCheck, P.hasProjectCheck, P.privateLabelingSetting, P.createdAt, P.changedAt, P.sequence].join(", ");
const ROLE_COLUMNS = [R.projectId, R.key, R.orgId, R.displayName, R.group, R.createdAt, R.changedAt, R.sequence].join(", ");

const date = (v: unknown) => new Date(v as string | Date);

const toProjectRow = (r: Row): ProjectRow => ({
  id: r[P.id] as string,
  orgId: r[P.orgId] as string,
  name: r[P.name] as string,
  state: Number(r[P.state]),
  projectRoleAssertion: r[P.projectRoleAssertion] === true,
  projectRoleCheck: r[P.projectRoleCheck] === true,
  hasProjectCheck: r[P.hasProjectCheck] === true,
  privateLabelingSetting: Number(r[P.privateLabelingSetting]),
  createdAt: date(r[P.createdAt]),
  changedAt: date(r[P.changedAt]),
  sequence: Number(r[P.sequence]),
});

const toRoleRow = (r: Row): ProjectRoleRow => ({
  projectId: r[R.projectId] as string,
  key: r[R.key] as string,
  orgId: r[R.orgId] as string,
  displayName: r[R.displayName] as string,
  group: r[R.group] as string,
  createdAt: date(r[R.createdAt]),
  changedAt: date(r[R.changedAt]),
  sequence: Number(r[R.sequence]),
});

const BY_ID = `SELECT ${PROJECT_COLUMNS} FROM ${Tables.projects} WHERE ${P.instanceId} = $1 AND ${P.id} = $2 AND ${P.orgId} = $3`;

export function projectReads(db: Queryable) {
  return {
    /** The project if it exists and belongs to the org. */
    async byId(instanceId: string, orgId: string, id: string): Promise<ProjectRow | undefined> {
      const rows = await db.query(BY_ID, [instanceId, id, orgId]);
      return rows[0] && toProjectRow(rows[0]);
    },

    /** The projects of one org, queries AND-ed, in creation order (v1 ListProjects has no sorting column). */
    list(instanceId: string, orgId: string, queries: ProjectQuery[], page: PageRequest): Promise<Page<ProjectRow>> {
      const params: unknown[] = [instanceId, orgId];
      const where = [`${P.instanceId} = $1`, `${P.orgId} = $2`];
      for (const q of queries) {
        if (q.kind === "name") where.push(textCondition(P.name, q.method, q.name, params));
        else where.push(`${P.orgId} = $${params.push(q.orgId)}`);
      }
      const order = `${P.createdAt} ASC, ${P.id} ASC`;
      return selectPage(db, { columns: PROJECT_COLUMNS, from: Tables.projects, where: where.join(" AND "), order, params }, page, toProjectRow);
    },

    /** v2beta ListProjects: the projects within a scope, queries AND-ed. */
    listIn(instanceId: string, scope: VisibleScope, queries: ProjectSearchQuery[], sort: { by: ProjectSort; asc: boolean }, page: PageRequest): Promise<Page<ProjectRow>> {
      const params: unknown[] = [instanceId];
      const where = [`${P.instanceId} = $1`, scopeCondition(P.orgId, P.id, scope, params)];
      for (const q of queries) {
        if (q.kind === "name") where.push(textCondition(P.name, q.method, q.name, params));
        else if (q.kind === "resourceOwner") where.push(`${P.orgId} = $${params.push(q.orgId)}`);
        else if (q.kind === "ids") where.push(`${P.id} = ANY($${params.push(q.ids)}::text[])`);
        else
          where.push(
            `EXISTS (SELECT 1 FROM ${Tables.projectGrants} g WHERE g.${G.instanceId} = $1 AND g.${G.projectId} = ${Tables.projects}.${P.id} AND g.${G.grantedOrgId} = $${params.push(q.orgId)})`,
          );
      }
      const dir = sort.asc ? "ASC" : "DESC";
      const order = `${P[sort.by]} ${dir}, ${P.id} ${dir}`;
      return selectPage(db, { columns: PROJECT_COLUMNS, from: Tables.projects, where: where.join(" AND "), order, params }, page, toProjectRow);
    },

    /** The roles of one project, queries AND-ed, in creation order (then by key: a bulk add has one instant). */
    listRoles(instanceId: string, projectId: string, queries: ProjectRoleQuery[], page: PageRequest): Promise<Page<ProjectRoleRow>> {
      const params: unknown[] = [instanceId, projectId];
      const where = [`${R.instanceId} = $1`, `${R.projectId} = $2`];
      for (const q of queries) {
        if (q.kind === "key") where.push(textCondition(R.key, q.method, q.key, params));
        else where.push(textCondition(R.displayName, q.method, q.displayName, params));
      }
      const order = `${R.createdAt} ASC, ${R.key} ASC`;
      return selectPage(db, { columns: ROLE_COLUMNS, from: Tables.projectRoles, where: where.join(" AND "), order, params }, page, toRoleRow);
    },
  };
}

export type ProjectReads = ReturnType<typeof projectReads>;
