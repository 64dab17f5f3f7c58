import type { AddOrganizationRequest, ListOrganizationsRequest } from "@zitadel/proto/zitadel/org/v2/org_service_pb.js";
import type { SearchQuery } from "@zitadel/proto/zitadel/org/v2/query_pb.js";
import { authorizeInOrg, orgsWithPermission } from "../../app/core/authz.js";
import * as orgs from "../../app/orgs/orgs.js";
import * as queries from "../../app/orgs/org-queries.js";
import { DomainError, invalidArgument } from "../../domain/errors.js";
import type { ServiceHandlers } from "../pipeline.js";
import { listInput, objectDetails } from "../users/mappers.js";
import { v2ListDetails } from "../users/v2-mappers.js";
import { orgMessage } from "./mappers.js";

/** zitadel.org.v2.SearchQuery → OrgQuery; the default org is the instance's. */
function toOrgQuery(q: SearchQuery, defaultOrgId: string): queries.OrgQuery {
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
    case "defaultQuery":
      return { kind: "id", id: defaultOrgId };
    default:
      throw invalidArgument("ORG-vR9nC", "List.Query.Invalid");
  }
}

/**
 * zitadel.org.v2.OrganizationService: AddOrganization (admins: existing users; human admins are not
 * created here) and ListOrganizations, on the same commands and read model as v1.
 */
export const orgV2Handlers: ServiceHandlers = {
  /** org.create, through the caller's instance membership or its membership in its own org (SELF_MANAGEMENT_GLOBAL). */
  async addOrganization(ctx, req: AddOrganizationRequest) {
    const caller = await authorizeInOrg(ctx.deps, ctx.principal, ctx.principal.orgId, "org.create");
    const admins = req.admins.map((a) => {
      if (a.userType.case !== "userId")
        throw new DomainError("Unimplemented", "API-unimpl", "zitadel.org.v2.OrganizationService.AddOrganization with a human admin is not implemented by Portcullis");
      return { userId: a.userType.value, roles: a.roles };
    });
    const r = await orgs.addOrg(ctx.deps, caller, req.name, { orgId: req.orgId, admins });
    // createdAdmins lists admins the call created (humans); existing users are assigned, not created.
    return { details: objectDetails(r.details), organizationId: r.id, createdAdmins: [] };
  },

  /** The orgs the caller may read (org.read in the instance, or in the org itself). */
  async listOrganizations(ctx, req: ListOrganizationsRequest) {
    const readable = await orgsWithPermission(ctx.deps, ctx.principal, "org.read");
    const defaultOrgId = req.queries.some((q) => q.query.case === "defaultQuery") ? await queries.defaultOrgId(ctx.deps) : "";
    const r = await queries.searchOrgs(ctx.deps, readable, listInput(req.query), req.sortingColumn === 1, req.queries.map((q) => toOrgQuery(q, defaultOrgId)));
    return { details: v2ListDetails(r.meta), sortingColumn: req.sortingColumn, result: r.orgs.map(orgMessage) };
  },
};
