import type { ServiceHandlers } from "../pipeline.js";
import { adminMemberHandlers } from "../orgs/admin-members.js";
import { adminOrgHandlers } from "../orgs/admin-orgs.js";
import { adminEventHandlers } from "../events/admin-events.js";

/** zitadel.admin.v1.AdminService: what Portcullis implements; every other method answers Unimplemented. */
export const adminHandlers: ServiceHandlers = {
  healthz: () => ({}),
  ...adminOrgHandlers,
  ...adminMemberHandlers,
  ...adminEventHandlers,
};
