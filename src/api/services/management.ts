import type { ServiceHandlers } from "../pipeline.js";
import { credentialHandlers } from "../users/management-credentials.js";
import { metadataHandlers } from "../users/management-metadata.js";
import { orgHandlers } from "../orgs/management-orgs.js";
import { projectGrantHandlers } from "../projects/management-project-grants.js";
import { projectHandlers } from "../projects/management-projects.js";
import { userGrantHandlers } from "../usergrants/management-user-grants.js";
import { userHandlers } from "../users/management-users.js";

/** zitadel.management.v1.ManagementService: what Portcullis implements; every other method answers Unimplemented. */
export const managementHandlers: ServiceHandlers = {
  healthz: () => ({}),
  ...orgHandlers,
  ...userHandlers,
  ...credentialHandlers,
  ...metadataHandlers,
  ...projectHandlers,
  ...projectGrantHandlers,
  ...userGrantHandlers,
};
