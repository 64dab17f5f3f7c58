import { timestampDate } from "@bufbuild/protobuf/wkt";
import type {
  CreateApplicationKeyRequest,
  CreateApplicationRequest,
  DeactivateApplicationRequest,
  DeleteApplicationKeyRequest,
  DeleteApplicationRequest,
  GetApplicationKeyRequest,
  GetApplicationRequest,
  ListApplicationKeysRequest,
  ListApplicationsRequest,
  ReactivateApplicationRequest,
  RegenerateClientSecretRequest,
  UpdateApplicationRequest,
} from "@zitadel/proto/zitadel/app/v2beta/app_service_pb.js";
import { authorizeInOrg, visibleScope } from "../../app/core/authz.js";
import * as queries from "../../app/projects/app-queries.js";
import * as apps from "../../app/projects/apps.js";
import { DomainError, notFound } from "../../domain/errors.js";
import type { ServiceHandlers } from "../pipeline.js";
import { paginationInput, ts } from "../users/mappers.js";
import { eventDate } from "../users/v2-mappers.js";
import { onProject } from "./v2beta-authz.js";
import { pagination, v2betaApp, v2betaAppKey } from "./v2beta-mappers.js";

/**
 * zitadel.app.v2beta.AppService for API applications and their keys, on the same commands and read
 * models as ManagementService's apps, authorized in the project's org (project.app.*), where the
 * project's own memberships count. OIDC and SAML applications answer Unimplemented, naming the method.
 */

const KEY_TYPE_JSON = 1;

const unsupported = (method: string, kind: string) =>
  new DomainError("Unimplemented", "API-unimpl", `zitadel.app.v2beta.AppService.${method} with ${kind} is not implemented by Portcullis`);

const appNotFound = () => notFound("QUERY-anx7d", "Errors.Project.App.NotFound");
const keyNotFound = () => notFound("QUERY-Dgr3g", "Errors.AuthNKey.NotFound");

export const appV2betaHandlers: ServiceHandlers = {
  async createApplication(ctx, req: CreateApplicationRequest) {
    const t = req.creationRequestType;
    if (t.case !== "apiRequest") throw unsupported("CreateApplication", t.case === "oidcRequest" ? "an OIDC application" : t.case === "samlRequest" ? "a SAML application" : "no application type");
    const { caller } = await onProject(ctx, req.projectId, "project.app.write");
    const r = await apps.addApiApp(ctx.deps, caller, { projectId: req.projectId, name: req.name, authMethodType: t.value.authMethodType, appId: req.id });
    return {
      appId: r.appId,
      creationDate: eventDate(r.details),
      creationResponseType: { case: "apiResponse", value: { clientId: r.clientId, clientSecret: r.clientSecret } },
    };
  },

  /** The name when given and different, then the API configuration when given and different; nothing different writes nothing. */
  async updateApplication(ctx, req: UpdateApplicationRequest) {
    const t = req.updateRequestType;
    if (t.case === "oidcConfigurationRequest" || t.case === "samlConfigurationRequest")
      throw unsupported("UpdateApplication", t.case === "oidcConfigurationRequest" ? "an OIDC configuration" : "a SAML configuration");
    const { caller, project } = await onProject(ctx, req.projectId, "project.app.write");
    const app = project.exists ? project.apps.get(req.id) : undefined;
    if (!app) throw notFound("COMMAND-28di9", "Errors.Project.App.NotExisting");
    let changed: Date | undefined;
    if (req.name && req.name.trim() !== app.name) changed = (await apps.updateApp(ctx.deps, caller, req.projectId, req.id, req.name)).changeDate;
    if (t.case === "apiConfigurationRequest" && t.value.authMethodType !== app.authMethodType)
      changed = (await apps.updateApiAppConfig(ctx.deps, caller, req.projectId, req.id, t.value.authMethodType)).changeDate;
    return { changeDate: ts(changed ?? app.changedAt ?? project.changedAt) };
  },

  /** The app by its id alone: found first, then the caller is checked in its project's org. */
  async getApplication(ctx, req: GetApplicationRequest) {
    const row = req.id ? await queries.locateApp(ctx.deps, req.id) : undefined;
    if (!row) throw appNotFound();
    await authorizeInOrg(ctx.deps, ctx.principal, row.orgId, "project.app.read", { target: { type: "project", id: row.projectId } });
    return { app: v2betaApp(row) };
  },

  async deleteApplication(ctx, req: DeleteApplicationRequest) {
    const { caller } = await onProject(ctx, req.projectId, "project.app.delete");
    return { deletionDate: eventDate(await apps.removeApp(ctx.deps, caller, req.projectId, req.id)) };
  },
  async deactivateApplication(ctx, req: DeactivateApplicationRequest) {
    const { caller } = await onProject(ctx, req.projectId, "project.app.write");
    return { deactivationDate: eventDate(await apps.deactivateApp(ctx.deps, caller, req.projectId, req.id)) };
  },
  async reactivateApplication(ctx, req: ReactivateApplicationRequest) {
    const { caller } = await onProject(ctx, req.projectId, "project.app.write");
    return { reactivationDate: eventDate(await apps.reactivateApp(ctx.deps, caller, req.projectId, req.id)) };
  },

  async regenerateClientSecret(ctx, req: RegenerateClientSecretRequest) {
    if (req.appType.case === "isOidc") throw unsupported("RegenerateClientSecret", "an OIDC application");
    const { caller } = await onProject(ctx, req.projectId, "project.app.write");
    const r = await apps.regenerateApiClientSecret(ctx.deps, caller, req.projectId, req.applicationId);
    return { clientSecret: r.clientSecret, creationDate: eventDate(r.details) };
  },

  /** The apps of one project; OIDC- or SAML-only filters match nothing (there are only API apps). */
  async listApplications(ctx, req: ListApplicationsRequest) {
    const { caller } = await onProject(ctx, req.projectId, "project.app.read");
    const list = paginationInput(req.pagination);
    const qs: queries.AppQuery[] = [];
    let none = false;
    for (const f of req.filters) {
      const c = f.filter;
      if (c.case === "nameFilter") qs.push({ kind: "name", name: c.value.name, method: c.value.method });
      else if (c.case === "stateFilter") qs.push({ kind: "state", state: c.value });
      else if (c.case === "oidcAppOnly" || c.case === "samlAppOnly") none ||= c.value;
    }
    if (none) return { pagination: { totalResult: 0n, appliedLimit: BigInt(list.limit) }, applications: [] };
    const r = await queries.listApps(ctx.deps, caller, req.projectId, list, qs);
    return { pagination: pagination(r.meta, list.limit), applications: r.apps.map(v2betaApp) };
  },

  /** A JSON key (the only type); the expiration date is optional here as in v1 (far future when absent). */
  async createApplicationKey(ctx, req: CreateApplicationKeyRequest) {
    const { caller } = await onProject(ctx, req.projectId, "project.app.write");
    const r = await apps.addAppKey(ctx.deps, caller, {
      projectId: req.projectId,
      appId: req.appId,
      type: KEY_TYPE_JSON,
      expirationDate: req.expirationDate ? timestampDate(req.expirationDate) : undefined,
    });
    return { id: r.keyId, creationDate: eventDate(r.details), keyDetails: r.keyDetails };
  },
  async deleteApplicationKey(ctx, req: DeleteApplicationKeyRequest) {
    const { caller } = await onProject(ctx, req.projectId, "project.app.write");
    return { deletionDate: eventDate(await apps.removeAppKey(ctx.deps, caller, req.projectId, req.applicationId, req.id)) };
  },
  /** The key by its id; project, application and organization, when given, must match it. */
  async getApplicationKey(ctx, req: GetApplicationKeyRequest) {
    const k = req.id ? await queries.locateAppKey(ctx.deps, req.id) : undefined;
    if (!k || (req.projectId && req.projectId !== k.projectId) || (req.applicationId && req.applicationId !== k.appId) || (req.organizationId && req.organizationId !== k.orgId)) throw keyNotFound();
    await authorizeInOrg(ctx.deps, ctx.principal, k.orgId, "project.app.read", { target: { type: "project", id: k.projectId } });
    return { id: k.id, creationDate: ts(k.createdAt), expirationDate: ts(k.expiration) };
  },
  /** The keys of an app, a project or an org that the caller may read. */
  async listApplicationKeys(ctx, req: ListApplicationKeysRequest) {
    const scope = await visibleScope(ctx.deps, ctx.principal, "project.app.read");
    const list = paginationInput(req.pagination);
    const c = req.resourceId;
    const owner: queries.AppKeyOwner | undefined =
      c.case === "applicationId" ? { kind: "app", id: c.value } : c.case === "projectId" ? { kind: "project", id: c.value } : c.case === "organizationId" ? { kind: "org", id: c.value } : undefined;
    const r = await queries.searchAppKeys(ctx.deps, scope, owner, list);
    return { pagination: pagination(r.meta, list.limit), keys: r.keys.map(v2betaAppKey) };
  },
};
