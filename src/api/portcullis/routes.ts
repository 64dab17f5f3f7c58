import { backupRoute } from "./backup-http.js";
import { followEventsRoute } from "./events-http.js";
import type { ExtensionRoute } from "./extension-routes.js";
import { webhookRoutes } from "./webhooks-http.js";

/** Every endpoint of Portcullis's own HTTP extensions (extension-routes.ts). */
export const extensionRoutes: readonly ExtensionRoute[] = [followEventsRoute, ...webhookRoutes, backupRoute];
