import type { ServiceHandlers } from "../pipeline.js";
import { projectV2betaHandlers } from "../projects/v2beta-projects.js";

/** zitadel.project.v2beta.ProjectService: projects, roles and project grants; every method is served. */
export const projectServiceV2betaHandlers: ServiceHandlers = { ...projectV2betaHandlers };
