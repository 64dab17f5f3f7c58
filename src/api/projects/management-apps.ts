import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { AppQuery as AppQueryPb } from "@zitadel/proto/zitadel/app_pb.js";
import type {
  AddAPIAppRequest,
  AddAppKeyRequest,
  DeactivateAppRequest,
  GetAppByIDRequest,
  GetAppKeyRequest,
  ListAppKeysRequest,
  ListAppsRequest,
  ReactivateAppRequest,
  RegenerateAPIClientSecretRequest,
  RemoveAppKeyRequest,
  RemoveAppRequest,
  UpdateAPIAppConfigRequest,
  UpdateAppRequest,
} from "@zitadel/proto/zitadel/management_pb.js";
import * as queries from "../../app/projects/app-queries.js";
import * as apps from "../../app/projects/apps.js";
import { invalidArgument } from "../../domain/errors.js";
import type { ServiceHandlers } from "../pipeline.js";
import { listDetails, listInput, objectDetails, readDetails, ts } from "../users/mappers.js";

/** zitadel.app.v1.App with its API config (the only kind of app Portcullis has). */
const appMessage = (a: queries.AppRow) => ({
  id: a.id,
  details: readDetails(a.sequence, a.createdAt, a.changedAt, a.orgId),
  state: a.state,
  name: a.name,
  config: { case: "apiConfig" as const, value: { clientId: a.clientId, authMethodType: a.authMethodType } },
});

/** zitadel.authn.v1.Key; details.changeDate is the creation date (a key never changes). */
const keyMessage = (k: queries.AppKeyRow) => ({
  id: k.id,
  details: readDetails(k.sequence, k.createdAt, k.createdAt, k.orgId),
  type: k.type,
  expirationDate: ts(k.expiration),
});

/** zitadel.app.v1.AppQuery → AppQuery; an empty query is an invalid request. */
function toAppQueries(qs: AppQueryPb[]): queries.AppQuery[] {
  return qs.map((q) => {
    if (q.query.case === "nameQuery") return { kind: "name", name: q.query.value.name, method: q.query.value.method };
    throw invalidArgument("APP-Add46", "List.Query.Invalid");
  });
}

/**
 * The application part of zitadel.management.v1.ManagementService: API applications and their keys.
 * OIDC and SAML applications have no handler and answer Unimplemented.
 */
export const appHandlers: ServiceHandlers = {
  async addAPIApp(ctx, req: AddAPIAppRequest) {
    const r = await apps.addApiApp(ctx.deps, ctx.caller, { projectId: req.projectId, name: req.name, authMethodType: req.authMethodType });
    return { appId: r.appId, details: objectDetails(r.details), clientId: r.clientId, clientSecret: r.clientSecret };
  },
  async getAppByID(ctx, req: GetAppByIDRequest) {
    return { app: appMessage(await queries.getAppById(ctx.deps, ctx.caller, req.projectId, req.appId)) };
  },
  async listApps(ctx, req: ListAppsRequest) {
    const r = await queries.listApps(ctx.deps, ctx.caller, req.projectId, listInput(req.query), toAppQueries(req.queries));
    return { details: listDetails(r.meta), result: r.apps.map(appMessage) };
  },
  async updateApp(ctx, req: UpdateAppRequest) {
    return { details: objectDetails(await apps.updateApp(ctx.deps, ctx.caller, req.projectId, req.appId, req.name)) };
  },
  async updateAPIAppConfig(ctx, req: UpdateAPIAppConfigRequest) {
    return { details: objectDetails(await apps.updateApiAppConfig(ctx.deps, ctx.caller, req.projectId, req.appId, req.authMethodType)) };
  },
  async regenerateAPIClientSecret(ctx, req: RegenerateAPIClientSecretRequest) {
    const r = await apps.regenerateApiClientSecret(ctx.deps, ctx.caller, req.projectId, req.appId);
    return { clientSecret: r.clientSecret, details: objectDetails(r.details) };
  },
  async deactivateApp(ctx, req: DeactivateAppRequest) {
    return { details: objectDetails(await apps.deactivateApp(ctx.deps, ctx.caller, req.projectId, req.appId)) };
  },
  async reactivateApp(ctx, req: ReactivateAppRequest) {
    return { details: objectDetails(await apps.reactivateApp(ctx.deps, ctx.caller, req.projectId, req.appId)) };
  },
  async removeApp(ctx, req: RemoveAppRequest) {
    return { details: objectDetails(await apps.removeApp(ctx.deps, ctx.caller, req.projectId, req.appId)) };
  },
  async addAppKey(ctx, req: AddAppKeyRequest) {
    const r = await apps.addAppKey(ctx.deps, ctx.caller, {
      projectId: req.projectId,
      appId: req.appId,
      type: req.type,
      expirationDate: req.expirationDate ? timestampDate(req.expirationDate) : undefined,
    });
    return { id: r.keyId, details: objectDetails(r.details), keyDetails: r.keyDetails };
  },
  async getAppKey(ctx, req: GetAppKeyRequest) {
    return { key: keyMessage(await queries.getAppKey(ctx.deps, ctx.caller, req.projectId, req.appId, req.keyId)) };
  },
  async listAppKeys(ctx, req: ListAppKeysRequest) {
    const r = await queries.listAppKeys(ctx.deps, ctx.caller, req.projectId, req.appId, listInput(req.query));
    return { details: listDetails(r.meta), result: r.keys.map(keyMessage) };
  },
  async removeAppKey(ctx, req: RemoveAppKeyRequest) {
    return { details: objectDetails(await apps.removeAppKey(ctx.deps, ctx.caller, req.projectId, req.appId, req.keyId)) };
  },
};
