import { newClientSecret } from "../../crypto/credential-formats.js";
import { keyedHash } from "../../crypto/keys.js";
import { generateMachineKeyPairAsync } from "../../crypto/machine-keys.js";
import { alreadyExists, invalidArgument, notFound, preconditionFailed, type DomainError } from "../../domain/errors.js";
import { expirationOrDefault } from "../../domain/expiration.js";
import {
  ApiAuthMethod,
  newApiConfigAddedEvent,
  newApiConfigChangedEvent,
  newApiConfigSecretChangedEvent,
  newAppAddedEvent,
  newAppChangedEvent,
  newAppDeactivatedEvent,
  newAppKeyAddedEvent,
  newAppKeyRemovedEvent,
  newAppReactivatedEvent,
  newAppRemovedEvent,
} from "../../domain/projects/app-events.js";
import { appClientIdClaim, appNameClaim, newAppClientId } from "../../domain/projects/app-rules.js";
import { AppStateNum, type ProjectAppState } from "../../domain/projects/app-state.js";
import type { ProjectState } from "../../domain/projects/project.js";
import { runCommand, type Loader } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf, type Details } from "../core/details.js";
import { loadProject } from "./projects.js";

/**
 * API applications of a project (ZITADEL's command/project_application.go,
 * project_application_api.go, project_application_key.go): resource servers that authenticate at
 * introspection with a secret (BASIC) or a key (PRIVATE_KEY_JWT). Events on the project aggregate;
 * the secret is minted like a machine secret, with its own prefix (`pca_…` and a checksum; ZITADEL's 64
 * alphanumerics under `credentials.secretFormat: zitadel`), and only its keyed hash is written; it
 * leaves in the response once.
 */

const appSecret = (deps: Deps) => newClientSecret(deps.config.credentials.secretFormat, "app");

/** zitadel.authn.v1.KeyType: JSON is the only type there is. */
const KEY_TYPE_JSON = 1;

const isAuthMethod = (m: number) => m === ApiAuthMethod.basic || m === ApiAuthMethod.privateKeyJwt;

/** The project (of the caller's org) and the app in it, or the error the command answers for a missing one. */
async function loadApp(load: Loader, caller: Caller, projectId: string, appId: string, missing: () => DomainError): Promise<{ p: ProjectState; app: ProjectAppState }> {
  const p = await loadProject(load, caller, projectId, missing);
  const app = p.apps.get(appId);
  if (!app) throw missing();
  return { p, app };
}

export interface AddedApiApp {
  appId: string;
  clientId: string;
  /** Empty for PRIVATE_KEY_JWT apps. */
  clientSecret: string;
  details: Details;
}

/** AddAPIApp: a new app with its API config in one push; a BASIC app gets a secret, returned once. */
export function addApiApp(deps: Deps, caller: Caller, input: { projectId: string; name: string; authMethodType: number; appId?: string }): Promise<AddedApiApp> {
  const name = input.name.trim();
  if (!input.projectId) return Promise.reject(invalidArgument("PROJECT-5m9E", "Errors.Application.Invalid"));
  // v2beta CreateApplication may choose the id.
  const appId = input.appId || deps.newId();
  const clientIdBase = deps.newId();
  const secret = input.authMethodType === ApiAuthMethod.basic ? appSecret(deps) : "";
  const hashedSecret = secret ? keyedHash(deps.keys.hmac, secret) : "";
  return runCommand(deps, caller.userId, async (load) => {
    const p = await loadProject(load, caller, input.projectId, () => preconditionFailed("PROJECT-9fnsf", "Errors.Project.NotFound"));
    if (!name || !isAuthMethod(input.authMethodType)) throw invalidArgument("PROJECT-Bff2g", "Errors.Application.Invalid");
    if (p.apps.has(appId)) throw alreadyExists("PROJECT-ks8hd", "Errors.Project.App.AlreadyExisting");
    const clientId = newAppClientId(clientIdBase, p.name);
    return {
      events: [
        newAppAddedEvent(p.id, p.orgId, appId, name),
        newApiConfigAddedEvent(p.id, p.orgId, { appId, clientId, hashedSecret, authMethodType: input.authMethodType }),
      ],
      uniques: [appNameClaim(name, p.id, "add"), appClientIdClaim(clientId, "add")],
      result: (stored) => ({ appId, clientId, clientSecret: secret, details: createdDetails(lastOf(stored)) }),
    };
  });
}

/** UpdateApp: the name (unique per project); the same name is COMMAND-2m8vx. */
export function updateApp(deps: Deps, caller: Caller, projectId: string, appId: string, newName: string): Promise<Details> {
  const name = newName.trim();
  if (!projectId || !appId || !name) return Promise.reject(invalidArgument("COMMAND-4m9vS", "Errors.Project.App.Invalid"));
  return runCommand(deps, caller.userId, async (load) => {
    const { p, app } = await loadApp(load, caller, projectId, appId, () => notFound("COMMAND-28di9", "Errors.Project.App.NotExisting"));
    if (app.name === name) throw preconditionFailed("COMMAND-2m8vx", "Errors.NoChangesFound");
    return {
      events: [newAppChangedEvent(p.id, p.orgId, appId, name)],
      uniques: [appNameClaim(app.name, p.id, "remove"), appNameClaim(name, p.id, "add")],
      result: (stored) => changedDetails(lastOf(stored)),
    };
  });
}

/**
 * UpdateAPIAppConfig: the auth method. A switch to BASIC keeps no secret it did not have
 * (RegenerateAPIClientSecret makes one); a PRIVATE_KEY_JWT app is never accepted with a secret.
 */
export function updateApiAppConfig(deps: Deps, caller: Caller, projectId: string, appId: string, authMethodType: number): Promise<Details> {
  if (!projectId || !appId || !isAuthMethod(authMethodType)) return Promise.reject(invalidArgument("COMMAND-1m900", "Errors.Project.App.APIConfigInvalid"));
  return runCommand(deps, caller.userId, async (load) => {
    const { p, app } = await loadApp(load, caller, projectId, appId, () => notFound("COMMAND-2n8uU", "Errors.Project.App.NotExisting"));
    if (app.authMethodType === authMethodType) throw preconditionFailed("COMMAND-1m88i", "Errors.NoChangesFound");
    return { events: [newApiConfigChangedEvent(p.id, p.orgId, appId, authMethodType)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

/** RegenerateAPIClientSecret: a new secret replaces the old one, which stops authenticating at once on every process. */
export function regenerateApiClientSecret(deps: Deps, caller: Caller, projectId: string, appId: string): Promise<{ clientSecret: string; details: Details }> {
  if (!projectId || !appId) return Promise.reject(invalidArgument("COMMAND-99i83", "Errors.IDMissing"));
  const secret = appSecret(deps);
  const hashedSecret = keyedHash(deps.keys.hmac, secret);
  return runCommand(deps, caller.userId, async (load) => {
    const { p } = await loadApp(load, caller, projectId, appId, () => notFound("COMMAND-2g66f", "Errors.Project.App.NotExisting"));
    return {
      events: [newApiConfigSecretChangedEvent(p.id, p.orgId, appId, hashedSecret)],
      result: (stored) => ({ clientSecret: secret, details: changedDetails(lastOf(stored)) }),
    };
  });
}

export function deactivateApp(deps: Deps, caller: Caller, projectId: string, appId: string): Promise<Details> {
  if (!projectId || !appId) return Promise.reject(invalidArgument("COMMAND-88fi0", "Errors.IDMissing"));
  return runCommand(deps, caller.userId, async (load) => {
    const { p, app } = await loadApp(load, caller, projectId, appId, () => notFound("COMMAND-ov9d3", "Errors.Project.App.NotExisting"));
    if (app.state !== AppStateNum.active) throw preconditionFailed("COMMAND-dsh35", "Errors.Project.App.NotActive");
    return { events: [newAppDeactivatedEvent(p.id, p.orgId, appId)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

export function reactivateApp(deps: Deps, caller: Caller, projectId: string, appId: string): Promise<Details> {
  if (!projectId || !appId) return Promise.reject(invalidArgument("COMMAND-983dF", "Errors.IDMissing"));
  return runCommand(deps, caller.userId, async (load) => {
    const { p, app } = await loadApp(load, caller, projectId, appId, () => notFound("COMMAND-ov9d3", "Errors.Project.App.NotExisting"));
    if (app.state !== AppStateNum.inactive) throw preconditionFailed("COMMAND-1n8cM", "Errors.Project.App.NotInactive");
    return { events: [newAppReactivatedEvent(p.id, p.orgId, appId)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}

/** RemoveApp: the app and its keys go; its name and client id are released. */
export function removeApp(deps: Deps, caller: Caller, projectId: string, appId: string): Promise<Details> {
  if (!projectId || !appId) return Promise.reject(invalidArgument("COMMAND-1b7Jf", "Errors.IDMissing"));
  return runCommand(deps, caller.userId, async (load) => {
    const { p, app } = await loadApp(load, caller, projectId, appId, () => notFound("COMMAND-0po9s", "Errors.Project.App.NotExisting"));
    return {
      events: [newAppRemovedEvent(p.id, p.orgId, appId)],
      uniques: [appNameClaim(app.name, p.id, "remove"), ...(app.clientId ? [appClientIdClaim(app.clientId, "remove")] : [])],
      result: (stored) => changedDetails(lastOf(stored)),
    };
  });
}

export interface AddedAppKey {
  keyId: string;
  /** The key file (JSON, ZITADEL's ApplicationKey shape) with the private key, once. */
  keyDetails: Uint8Array;
  details: Details;
}

/**
 * AddAppKey: a generated RSA key for a PRIVATE_KEY_JWT app; only the public half is written. The key
 * file is ZITADEL's (`type: "application"`, keyId, key, appId, clientId).
 */
export async function addAppKey(deps: Deps, caller: Caller, input: { projectId: string; appId: string; type: number; expirationDate?: Date }): Promise<AddedAppKey> {
  if (!input.projectId || !input.appId) throw invalidArgument("COMMAND-55m9fs", "Errors.IDMissing");
  const keyId = deps.newId();
  let generated: { privatePkcs1Pem: string; publicPem: string } | undefined;
  return runCommand(deps, caller.userId, async (load) => {
    const { p, app } = await loadApp(load, caller, input.projectId, input.appId, () => preconditionFailed("COMMAND-sak24", "Errors.Project.App.NotFound"));
    if (app.authMethodType !== ApiAuthMethod.privateKeyJwt) throw preconditionFailed("COMMAND-Dff54", "Errors.Project.App.AuthMethodNoPrivateKeyJWT");
    if (input.type !== KEY_TYPE_JSON) throw invalidArgument("COMMAND-0i9fsfd", "Errors.Invalid.Argument");
    const expiration = expirationOrDefault(input.expirationDate, deps.clock());
    generated ??= await generateMachineKeyPairAsync();
    const file = JSON.stringify({ type: "application", keyId, key: generated.privatePkcs1Pem, appId: app.appId, clientId: app.clientId });
    return {
      events: [newAppKeyAddedEvent(p.id, p.orgId, { applicationId: app.appId, clientId: app.clientId, keyId, type: KEY_TYPE_JSON, expirationDate: expiration, publicKey: generated.publicPem })],
      result: (stored) => ({ keyId, keyDetails: new Uint8Array(Buffer.from(file)), details: createdDetails(lastOf(stored)) }),
    };
  });
}

/** RemoveAppKey: the key stops authenticating at once. */
export function removeAppKey(deps: Deps, caller: Caller, projectId: string, appId: string, keyId: string): Promise<Details> {
  const missing = () => notFound("COMMAND-4m77G", "Errors.Application.Key.NotFound");
  return runCommand(deps, caller.userId, async (load) => {
    if (!projectId || !appId || !keyId) throw missing();
    const { p, app } = await loadApp(load, caller, projectId, appId, missing);
    if (!app.keys.has(keyId)) throw missing();
    return { events: [newAppKeyRemovedEvent(p.id, p.orgId, keyId)], result: (stored) => changedDetails(lastOf(stored)) };
  });
}
