import type { ServiceHandlers } from "../pipeline.js";
import { appV2betaHandlers } from "../projects/v2beta-apps.js";

/** zitadel.app.v2beta.AppService: API applications and their keys; OIDC and SAML applications answer Unimplemented. */
export const appServiceV2betaHandlers: ServiceHandlers = { ...appV2betaHandlers };
