import type { ServiceHandlers } from "../pipeline.js";
import { authorizationV2betaHandlers } from "../usergrants/v2beta-authorizations.js";

/** zitadel.authorization.v2beta.AuthorizationService: user grants; every method is served. */
export const authorizationServiceV2betaHandlers: ServiceHandlers = { ...authorizationV2betaHandlers };
