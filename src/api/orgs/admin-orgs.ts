import type { GetOrgByIDRequest, IsOrgUniqueRequest, ListOrgsRequest } from "@zitadel/proto/zitadel/admin_pb.js";
import { OrgFieldName, type OrgQuery } from "@zitadel/proto/zitadel/org_pb.js";
import * as queries from "../../app/orgs/org-queries.js";
import { invalidArgument } from "../../domain/errors.js";
import { listDetails } from "../users/mappers.js";
import { listInput, orgMessage } from "./mappers.js";
import type { ServiceHandlers } from "../pipeline.js";

/** zitadel.org.v1.OrgQuery → OrgQuery (grpc/org converter: an empty query is "List.Query.Invalid"). */
function toOrgQuery(q: OrgQuery): queries.OrgQuery {
  const c = q.query;
  switch (c.case) {
    case "nameQuery":
      return { kind: "name", name: c.value.name, method: c.value.method };
    case "domainQuery":
      return { kind: "domain", domain: c.value.domain, method: c.value.method };
    case "stateQuery":
      return { kind: "state", state: c.value.state };
    case "idQuery":
      return { kind: "id", id: c.value.id };
    default:
      throw invalidArgument("ORG-vR9nC", "List.Query.Invalid");
  }
}

/** The org reads of zitadel.admin.v1.AdminService: instance-wide, not bound to the caller's org. */
export const adminOrgHandlers: ServiceHandlers = {
  async listOrgs(ctx, req: ListOrgsRequest) {
    const r = await queries.listOrgs(ctx.deps, listInput(req.query), req.sortingColumn === OrgFieldName.NAME, req.queries.map(toOrgQuery));
    return { details: listDetails(r.meta), result: r.orgs.map(orgMessage) };
  },
  async getOrgByID(ctx, req: GetOrgByIDRequest) {
    return { org: orgMessage(await queries.getOrgById(ctx.deps, req.id)) };
  },
  async isOrgUnique(ctx, req: IsOrgUniqueRequest) {
    return { isUnique: await queries.isOrgUnique(ctx.deps, req.name, req.domain) };
  },
};
