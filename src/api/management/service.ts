import type { ServiceHandlers } from "../pipeline.js";
import { credentialHandlers } from "./credentials.js";
import { metadataHandlers } from "./metadata.js";
import { orgHandlers } from "./orgs.js";
import { userHandlers } from "./users.js";

/** zitadel.management.v1.ManagementService: what Portcullis implements; every other method answers Unimplemented. */
export const managementHandlers: ServiceHandlers = {
  healthz: () => ({}),
  ...orgHandlers,
  ...userHandlers,
  ...credentialHandlers,
  ...metadataHandlers,
};
