import type { ServiceHandlers } from "../pipeline.js";
import { userV2Handlers } from "../users/v2-users.js";

/** zitadel.user.v2.UserService: the machine-user methods; human-only methods answer Unimplemented. */
export const userServiceV2Handlers: ServiceHandlers = { ...userV2Handlers };
