import type { EventsOf } from "../events.js";
import { AppEvents, type appEventMappers } from "./app-events.js";

/** zitadel.app.v1.AppState. A removed app is deleted from the project's map. */
export const AppStateNum = { unspecified: 0, active: 1, inactive: 2 } as const;

export interface AppKeyState {
  keyId: string;
  /** zitadel.authn.v1.KeyType (1 = JSON). */
  type: number;
  expiration: Date;
  /** PEM (SPKI). */
  publicKey: string;
  sequence: number;
  createdAt: Date;
}

/**
 * An API application of a project (ZITADEL's APIApplicationWriteModel plus its keys): what the
 * commands check and what introspection authenticates against.
 */
export interface ProjectAppState {
  appId: string;
  name: string;
  /** AppStateNum. */
  state: number;
  clientId: string;
  /** ApiAuthMethod (0 BASIC, 1 PRIVATE_KEY_JWT). */
  authMethodType: number;
  /** The keyed hash of the current secret and the sequence of the event that set it; none for key-only apps. */
  secret?: { hash: string; sequence: number };
  keys: Map<string, AppKeyState>;
  sequence: number;
  createdAt: Date;
  changedAt: Date;
}

export type AppEvent = EventsOf<typeof appEventMappers>;

/** Applies one application event to the project's apps (called from evolveProject). */
export function evolveApp(apps: Map<string, ProjectAppState>, e: AppEvent): void {
  const touch = (a: ProjectAppState | undefined) => {
    if (a) {
      a.sequence = e.sequence;
      a.changedAt = e.createdAt;
    }
    return a;
  };
  switch (e.type) {
    case AppEvents.appAdded:
      apps.set(e.payload.appId, {
        appId: e.payload.appId,
        name: e.payload.name,
        state: AppStateNum.active,
        clientId: "",
        authMethodType: 0,
        keys: new Map(),
        sequence: e.sequence,
        createdAt: e.createdAt,
        changedAt: e.createdAt,
      });
      break;
    case AppEvents.appChanged: {
      const a = touch(apps.get(e.payload.appId));
      if (a) a.name = e.payload.name;
      break;
    }
    case AppEvents.appDeactivated: {
      const a = touch(apps.get(e.payload.appId));
      if (a) a.state = AppStateNum.inactive;
      break;
    }
    case AppEvents.appReactivated: {
      const a = touch(apps.get(e.payload.appId));
      if (a) a.state = AppStateNum.active;
      break;
    }
    case AppEvents.appRemoved:
      apps.delete(e.payload.appId);
      break;
    case AppEvents.apiConfigAdded: {
      const a = touch(apps.get(e.payload.appId));
      if (a) {
        a.clientId = e.payload.clientId;
        a.authMethodType = e.payload.authMethodType;
        a.secret = e.payload.hashedSecret ? { hash: e.payload.hashedSecret, sequence: e.sequence } : undefined;
      }
      break;
    }
    case AppEvents.apiConfigChanged: {
      const a = touch(apps.get(e.payload.appId));
      if (a && e.payload.authMethodType !== undefined) a.authMethodType = e.payload.authMethodType;
      break;
    }
    case AppEvents.apiConfigSecretChanged: {
      const a = touch(apps.get(e.payload.appId));
      if (a) a.secret = { hash: e.payload.hashedSecret, sequence: e.sequence };
      break;
    }
    case AppEvents.appKeyAdded: {
      const a = touch(apps.get(e.payload.applicationId));
      if (a)
        a.keys.set(e.payload.keyId, {
          keyId: e.payload.keyId,
          type: e.payload.type,
          expiration: e.payload.expirationDate,
          publicKey: e.payload.publicKey,
          sequence: e.sequence,
          createdAt: e.createdAt,
        });
      break;
    }
    case AppEvents.appKeyRemoved:
      // The event names the key only (ZITADEL's ApplicationKeyRemovedEvent).
      for (const a of apps.values()) if (a.keys.delete(e.payload.keyId)) touch(a);
      break;
  }
}

/** The app of the project with that client id. */
export function appByClientId(apps: Map<string, ProjectAppState>, clientId: string): ProjectAppState | undefined {
  for (const a of apps.values()) if (a.clientId === clientId) return a;
  return undefined;
}
