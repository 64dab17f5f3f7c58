import type { UniqueClaim } from "../events.js";

/**
 * Uniqueness and identifiers of applications: an app's name per project (ZITADEL's `appname`
 * constraint, name:projectId) and, Portcullis's own, a client id per instance (`app_client_id`):
 * introspection finds the app by its client id, so two apps must never share one.
 */

export const appNameClaim = (name: string, projectId: string, action: "add" | "remove"): UniqueClaim => ({
  action,
  type: "appname",
  field: `${name}:${projectId}`,
  error: { kind: "AlreadyExists", id: "V3-DKcYh", message: "Errors.Project.App.AlreadyExists" },
});

export const appClientIdClaim = (clientId: string, action: "add" | "remove"): UniqueClaim => ({
  action,
  type: "app_client_id",
  field: clientId,
  error: { kind: "AlreadyExists", id: "V3-DKcYh", message: "Errors.Project.App.AlreadyExists" },
});

/**
 * ZITADEL's client id of an OAuth application (domain.NewClientID): a fresh id, `@`, the project's
 * name lower-cased with spaces as underscores (e.g. `301517203938148356@billing`).
 */
export const newAppClientId = (id: string, projectName: string): string => `${id}@${projectName.toLowerCase().replaceAll(" ", "_")}`;
