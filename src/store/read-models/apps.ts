import type { Queryable, Row } from "../sql.js";
import { asDate, selectPage, type Page, type PageRequest } from "./page.js";
import { AppColumns as A, AppKeyColumns as K, Tables } from "./tables.js";
import { scopeCondition, type VisibleScope } from "./scope.js";
import { textCondition } from "./text-query.js";

/** Reads of proj_apps and proj_app_keys (API applications and their keys). A removed app or project has no rows. */

export interface AppRow {
  projectId: string;
  id: string;
  orgId: string;
  name: string;
  state: number;
  clientId: string;
  authMethodType: number;
  createdAt: Date;
  changedAt: Date;
  sequence: number;
}

export interface AppKeyRow {
  projectId: string;
  appId: string;
  id: string;
  orgId: string;
  type: number;
  expiration: Date;
  createdAt: Date;
  sequence: number;
}

/** zitadel.app.v1.AppQuery; v2beta's ApplicationSearchFilter adds the state. */
export type AppQuery = { kind: "name"; name: string; method: number } | { kind: "state"; state: number };

/** v2beta ListApplicationKeys: the keys of one app, one project or one org. */
export type AppKeyOwner = { kind: "app"; id: string } | { kind: "project"; id: string } | { kind: "org"; id: string };

const APP_COLUMNS = [A.projectId, A.id, A.orgId, A.name, A.state, A.clientId, A.authMethodType, A.createdAt, A.changedAt, A.sequence].join(", ");
const KEY_COLUMNS = [K.projectId, K.appId, K.id, K.orgId, K.type, K.expiration, K.createdAt, K.sequence].join(", ");

const toAppRow = (r: Row): AppRow => ({
  projectId: r[A.projectId] as string,
  id: r[A.id] as string,
  orgId: r[A.orgId] as string,
  name: r[A.name] as string,
  state: Number(r[A.state]),
  clientId: r[A.clientId] as string,
  authMethodType: Number(r[A.authMethodType]),
  createdAt: asDate(r[A.createdAt]),
  changedAt: asDate(r[A.changedAt]),
  sequence: Number(r[A.sequence]),
});

const toKeyRow = (r: Row): AppKeyRow => ({
  projectId: r[K.projectId] as string,
  appId: r[K.appId] as string,
  id: r[K.id] as string,
  orgId: r[K.orgId] as string,
  type: Number(r[K.type]),
  expiration: asDate(r[K.expiration]),
  createdAt: asDate(r[K.createdAt]),
  sequence: Number(r[K.sequence]),
});

const APP_BY_ID = `SELECT ${APP_COLUMNS} FROM ${Tables.apps} WHERE ${A.instanceId} = $1 AND ${A.orgId} = $2 AND ${A.projectId} = $3 AND ${A.id} = $4`;
const PROJECT_BY_CLIENT = `SELECT ${A.projectId} FROM ${Tables.apps} WHERE ${A.instanceId} = $1 AND ${A.clientId} = $2`;
const KEY_BY_ID = `SELECT ${KEY_COLUMNS} FROM ${Tables.appKeys} WHERE ${K.instanceId} = $1 AND ${K.orgId} = $2 AND ${K.projectId} = $3 AND ${K.appId} = $4 AND ${K.id} = $5`;
const LOCATE_APP = `SELECT ${APP_COLUMNS} FROM ${Tables.apps} WHERE ${A.instanceId} = $1 AND ${A.id} = $2`;
const LOCATE_KEY = `SELECT ${KEY_COLUMNS} FROM ${Tables.appKeys} WHERE ${K.instanceId} = $1 AND ${K.id} = $2`;
const KEYS_OF_APP = `${K.instanceId} = $1 AND ${K.orgId} = $2 AND ${K.projectId} = $3 AND ${K.appId} = $4`;

export function appReads(db: Queryable) {
  return {
    /** The app of that project in that org. */
    async byId(instanceId: string, orgId: string, projectId: string, appId: string): Promise<AppRow | undefined> {
      const rows = await db.query(APP_BY_ID, [instanceId, orgId, projectId, appId]);
      return rows[0] && toAppRow(rows[0]);
    },

    /** The apps of one project of the org, queries AND-ed, in creation order. */
    list(instanceId: string, orgId: string, projectId: string, queries: AppQuery[], page: PageRequest): Promise<Page<AppRow>> {
      const params: unknown[] = [instanceId, orgId, projectId];
      const where = [`${A.instanceId} = $1`, `${A.orgId} = $2`, `${A.projectId} = $3`];
      for (const q of queries) where.push(q.kind === "name" ? textCondition(A.name, q.method, q.name, params) : `${A.state} = $${params.push(q.state)}`);
      return selectPage(db, { columns: APP_COLUMNS, from: Tables.apps, where: where.join(" AND "), order: `${A.createdAt} ASC, ${A.id} ASC`, params }, page, toAppRow);
    },

    /** The app with that id, wherever it is (v2beta names an app by its id alone). */
    async locate(instanceId: string, appId: string): Promise<AppRow | undefined> {
      const rows = await db.query(LOCATE_APP, [instanceId, appId]);
      return rows[0] && toAppRow(rows[0]);
    },

    /** The app key with that id, wherever it is. */
    async locateKey(instanceId: string, keyId: string): Promise<AppKeyRow | undefined> {
      const rows = await db.query(LOCATE_KEY, [instanceId, keyId]);
      return rows[0] && toKeyRow(rows[0]);
    },

    /** v2beta ListApplicationKeys: the keys of an app, a project or an org, within a scope. */
    searchKeys(instanceId: string, scope: VisibleScope, owner: AppKeyOwner | undefined, asc: boolean, page: PageRequest): Promise<Page<AppKeyRow>> {
      const params: unknown[] = [instanceId];
      const where = [`${K.instanceId} = $1`, scopeCondition(K.orgId, K.projectId, scope, params)];
      if (owner) where.push(`${owner.kind === "app" ? K.appId : owner.kind === "project" ? K.projectId : K.orgId} = $${params.push(owner.id)}`);
      const dir = asc ? "ASC" : "DESC";
      return selectPage(db, { columns: KEY_COLUMNS, from: Tables.appKeys, where: where.join(" AND "), order: `${K.createdAt} ${dir}, ${K.id} ${dir}`, params }, page, toKeyRow);
    },

    /** The project holding the app with that client id (introspection's client lookup), or undefined. */
    async projectIdByClientId(instanceId: string, clientId: string): Promise<string | undefined> {
      const rows = await db.query(PROJECT_BY_CLIENT, [instanceId, clientId]);
      return rows.length === 1 ? (rows[0]![A.projectId] as string) : undefined;
    },

    /** One key of the app; expired keys too. */
    async keyById(instanceId: string, orgId: string, projectId: string, appId: string, keyId: string): Promise<AppKeyRow | undefined> {
      const rows = await db.query(KEY_BY_ID, [instanceId, orgId, projectId, appId, keyId]);
      return rows[0] && toKeyRow(rows[0]);
    },

    /** The app's keys, oldest first. */
    listKeys(instanceId: string, orgId: string, projectId: string, appId: string, page: PageRequest): Promise<Page<AppKeyRow>> {
      const params = [instanceId, orgId, projectId, appId];
      return selectPage(db, { columns: KEY_COLUMNS, from: Tables.appKeys, where: KEYS_OF_APP, order: `${K.createdAt} ASC, ${K.id} ASC`, params }, page, toKeyRow);
    },
  };
}

export type AppReads = ReturnType<typeof appReads>;
