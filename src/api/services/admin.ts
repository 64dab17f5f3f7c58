import type { ServiceHandlers } from "../pipeline.js";
import { adminMemberHandlers } from "../orgs/admin-members.js";
import { adminOrgHandlers } from "../orgs/admin-orgs.js";

/** zitadel.admin.v1.AdminService: what Portcullis implements; every other method answers Unimplemented. */
export const adminHandlers: ServiceHandlers = {
  healthz: () => ({}),
  ...adminOrgHandlers,
  ...adminMemberHandlers,
};
