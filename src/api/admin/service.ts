import type { ServiceHandlers } from "../pipeline.js";

/** zitadel.admin.v1.AdminService: what Portcullis implements; every other method answers Unimplemented. */
export const adminHandlers: ServiceHandlers = {
  healthz: () => ({}),
};
