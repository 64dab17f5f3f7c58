import { orgV2Handlers } from "../orgs/v2-orgs.js";
import type { ServiceHandlers } from "../pipeline.js";

/** zitadel.org.v2.OrganizationService: AddOrganization and ListOrganizations; every other method answers Unimplemented. */
export const organizationServiceV2Handlers: ServiceHandlers = { ...orgV2Handlers };
