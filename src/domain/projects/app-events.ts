import { text, type TypedNewEvent } from "../events.js";

/**
 * Application events on the project aggregate (ZITADEL's internal/repository/project:
 * application.go, api_config.go, key.go): the application itself, its API configuration and its
 * keys. Type names and payload fields are ZITADEL's. Only API applications are written here; the
 * secret is stored as `hashedSecret` (HMAC-SHA256 under the master key, as machine secrets), the
 * field ZITADEL's newer events use for its passwap hash.
 */
export const AppEvents = {
  appAdded: "project.application.added",
  appChanged: "project.application.changed",
  appDeactivated: "project.application.deactivated",
  appReactivated: "project.application.reactivated",
  appRemoved: "project.application.removed",
  apiConfigAdded: "project.application.config.api.added",
  apiConfigChanged: "project.application.config.api.changed",
  apiConfigSecretChanged: "project.application.config.api.secret.changed",
  appKeyAdded: "project.application.oidc.key.added",
  appKeyRemoved: "project.application.oidc.key.removed",
} as const;
export type AppEventType = (typeof AppEvents)[keyof typeof AppEvents];

/** zitadel.app.v1.APIAuthMethodType (ZITADEL's domain.APIAuthMethodType). */
export const ApiAuthMethod = { basic: 0, privateKeyJwt: 1 } as const;

function appEvent<T extends AppEventType>(projectId: string, orgId: string, type: T, payload: Record<string, unknown>): TypedNewEvent<T> {
  return { aggregateType: "project", aggregateId: projectId, resourceOwner: orgId, type, payload };
}

const int = (v: unknown) => (typeof v === "number" ? v : 0);

export interface AppPayload {
  appId: string;
  name: string;
}
export interface AppIdPayload {
  appId: string;
}
export interface ApiConfigAddedPayload {
  appId: string;
  clientId: string;
  /** Empty when the app authenticates with keys only. */
  hashedSecret: string;
  authMethodType: number;
}
export interface ApiConfigChangedPayload {
  appId: string;
  authMethodType?: number;
}
export interface ApiConfigSecretChangedPayload {
  appId: string;
  hashedSecret: string;
}
export interface AppKeyAddedPayload {
  applicationId: string;
  clientId: string;
  keyId: string;
  type: number;
  expirationDate: Date;
  /** PEM (SPKI); ZITADEL writes the PEM's bytes (base64 in JSON). */
  publicKey: string;
}
export interface AppKeyRemovedPayload {
  keyId: string;
}

export const newAppAddedEvent = (projectId: string, orgId: string, appId: string, name: string) => appEvent(projectId, orgId, AppEvents.appAdded, { appId, name });
/** ZITADEL writes the new name only. */
export const newAppChangedEvent = (projectId: string, orgId: string, appId: string, name: string) => appEvent(projectId, orgId, AppEvents.appChanged, { appId, name });
export const newAppDeactivatedEvent = (projectId: string, orgId: string, appId: string) => appEvent(projectId, orgId, AppEvents.appDeactivated, { appId });
export const newAppReactivatedEvent = (projectId: string, orgId: string, appId: string) => appEvent(projectId, orgId, AppEvents.appReactivated, { appId });
export const newAppRemovedEvent = (projectId: string, orgId: string, appId: string) => appEvent(projectId, orgId, AppEvents.appRemoved, { appId });
/** `authMethodType` and `hashedSecret` are omitempty in ZITADEL: BASIC (0) and no secret are left out. */
export const newApiConfigAddedEvent = (projectId: string, orgId: string, p: ApiConfigAddedPayload) =>
  appEvent(projectId, orgId, AppEvents.apiConfigAdded, {
    appId: p.appId,
    clientId: p.clientId,
    ...(p.hashedSecret ? { hashedSecret: p.hashedSecret } : {}),
    ...(p.authMethodType ? { authMethodType: p.authMethodType } : {}),
  });
/** A pointer field in ZITADEL: written whenever it changes, BASIC (0) included. */
export const newApiConfigChangedEvent = (projectId: string, orgId: string, appId: string, authMethodType: number) =>
  appEvent(projectId, orgId, AppEvents.apiConfigChanged, { appId, authMethodType });
export const newApiConfigSecretChangedEvent = (projectId: string, orgId: string, appId: string, hashedSecret: string) =>
  appEvent(projectId, orgId, AppEvents.apiConfigSecretChanged, { appId, hashedSecret });
export const newAppKeyAddedEvent = (projectId: string, orgId: string, k: AppKeyAddedPayload) =>
  appEvent(projectId, orgId, AppEvents.appKeyAdded, {
    applicationId: k.applicationId,
    clientId: k.clientId,
    keyId: k.keyId,
    type: k.type,
    expirationDate: k.expirationDate.toISOString(),
    publicKey: Buffer.from(k.publicKey, "utf8").toString("base64"),
  });
export const newAppKeyRemovedEvent = (projectId: string, orgId: string, keyId: string) => appEvent(projectId, orgId, AppEvents.appKeyRemoved, { keyId });

const readApp = (p: Record<string, unknown>): AppPayload => ({ appId: text(p.appId), name: text(p.name) });
const readAppId = (p: Record<string, unknown>): AppIdPayload => ({ appId: text(p.appId) });
const readApiConfigAdded = (p: Record<string, unknown>): ApiConfigAddedPayload => ({
  appId: text(p.appId),
  clientId: text(p.clientId),
  hashedSecret: text(p.hashedSecret),
  authMethodType: int(p.authMethodType),
});
const readApiConfigChanged = (p: Record<string, unknown>): ApiConfigChangedPayload => ({
  appId: text(p.appId),
  ...(typeof p.authMethodType === "number" ? { authMethodType: p.authMethodType } : {}),
});
const readApiConfigSecretChanged = (p: Record<string, unknown>): ApiConfigSecretChangedPayload => ({ appId: text(p.appId), hashedSecret: text(p.hashedSecret) });
const readAppKeyAdded = (p: Record<string, unknown>): AppKeyAddedPayload => ({
  applicationId: text(p.applicationId),
  clientId: text(p.clientId),
  keyId: text(p.keyId),
  type: int(p.type),
  expirationDate: new Date(text(p.expirationDate)),
  publicKey: Buffer.from(text(p.publicKey), "base64").toString("utf8"),
});
const readAppKeyRemoved = (p: Record<string, unknown>): AppKeyRemovedPayload => ({ keyId: text(p.keyId) });

export const appEventMappers = {
  [AppEvents.appAdded]: readApp,
  [AppEvents.appChanged]: readApp,
  [AppEvents.appDeactivated]: readAppId,
  [AppEvents.appReactivated]: readAppId,
  [AppEvents.appRemoved]: readAppId,
  [AppEvents.apiConfigAdded]: readApiConfigAdded,
  [AppEvents.apiConfigChanged]: readApiConfigChanged,
  [AppEvents.apiConfigSecretChanged]: readApiConfigSecretChanged,
  [AppEvents.appKeyAdded]: readAppKeyAdded,
  [AppEvents.appKeyRemoved]: readAppKeyRemoved,
};
