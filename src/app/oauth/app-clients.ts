import { classifySecret } from "../../crypto/credential-formats.js";
import { keyedHash, keyedHashMatches } from "../../crypto/keys.js";
import { appSecretCredId } from "../../store/last-used.js";
import { ApiAuthMethod } from "../../domain/projects/app-events.js";
import { AppStateNum, appByClientId, type ProjectAppState } from "../../domain/projects/app-state.js";
import { OrgStateNum } from "../../domain/orgs/org.js";
import { ProjectStateNum, type ProjectState } from "../../domain/projects/project.js";
import type { Deps } from "../core/context.js";
import { MISS, decideWithCache, type Lookup, type Miss } from "../core/lookup.js";
import { clientByAssertion, clientBySecret, used, type AuthenticatedClient, type ClientAuthentication, type ClientSecret } from "./clients.js";
import { clientAuthFailed } from "./errors.js";
import { checkAssertionClaims, checkAssertionKey, claimSpentAssertion, type ReplayCache, type SpentJti } from "./jwt-assertion.js";

/**
 * Introspection callers: an API application of a project (ZITADEL's resource-server setup, with the
 * app's client id and secret, or a JWT signed with an app key), or — Portcullis's own — a machine user
 * introspecting its own tokens. A client id that belongs to an app is the app's; anything else is
 * looked up as a machine. Decisions over a Lookup, so that the app path runs on cached states
 * (the project aggregate holds the app, its secret hash and its keys) and every change of the app
 * or project (removal, deactivation, a new secret, a removed key) is seen by the next request on
 * every process, as for machines.
 */

export interface AuthenticatedApp {
  project: ProjectState;
  app: ProjectAppState;
}

export type Introspector = { kind: "machine"; client: AuthenticatedClient } | { kind: "app"; project: ProjectState; app: ProjectAppState };

let dummyHash: string | undefined;

/** The app behind a client id, or null when no app has it. */
function appOf(clientId: string, lookup: Lookup): { project: ProjectState; app: ProjectAppState | undefined } | null | Miss {
  const projectId = clientId ? lookup("appClient", clientId) : null;
  if (projectId === MISS || projectId === null) return projectId;
  const project = lookup("project", projectId);
  if (project === MISS) return MISS;
  return { project, app: project.exists ? appByClientId(project.apps, clientId) : undefined };
}

/** An app may authenticate while it, its project and the project's org are active (ZITADEL's introspection client query). */
function activeApp(project: ProjectState, app: ProjectAppState, lookup: Lookup): Introspector | Miss {
  const org = lookup("org", project.orgId);
  if (org === MISS) return MISS;
  if (app.state !== AppStateNum.active || project.state !== ProjectStateNum.active || org.state !== OrgStateNum.active) throw clientAuthFailed();
  return { kind: "app", project, app };
}

/**
 * client_secret_basic / _post with an app's client id: only a BASIC app with a secret; compared as a
 * keyed hash in constant time. A value with a secret prefix (`pca_`, `pcs_`) and a wrong checksum is
 * refused before anything is looked up. A match is recorded as the secret's last use.
 */
function appBySecret(deps: Deps, creds: ClientSecret, lookup: Lookup): Introspector | null | Miss {
  if (classifySecret(creds.secret) === "broken") throw clientAuthFailed();
  const found = appOf(creds.clientId, lookup);
  if (found === MISS || found === null) return found;
  const { project, app } = found;
  dummyHash ??= keyedHash(deps.keys.hmac, "portcullis-no-such-app");
  const stored = app?.authMethodType === ApiAuthMethod.basic && app.secret ? app.secret.hash : dummyHash;
  const match = keyedHashMatches(deps.keys, creds.secret, stored) && stored !== dummyHash;
  if (!app || !match) throw clientAuthFailed();
  const who = activeApp(project, app, lookup);
  if (who !== MISS) used(deps, "app_secret", project.id, appSecretCredId(app.appId, String(app.secret!.sequence)));
  return who;
}

type AssertionRequest = SpentJti & { assertion: string; clientId: string | undefined };

/**
 * private_key_jwt with an app key (RFC 7523 §2.2): iss = sub = the app's client id, aud this issuer,
 * signed with a key of that PRIVATE_KEY_JWT app; the same rules as machine-key assertions.
 */
function appByAssertion(deps: Deps, replay: ReplayCache, request: AssertionRequest, lookup: Lookup): Introspector | null | Miss {
  const c = checkAssertionClaims(deps, request.assertion);
  if (!c.ok) return null; // the machine path refuses it the same way
  const found = appOf(c.iss, lookup);
  if (found === MISS || found === null) return found;
  const { project, app } = found;
  const key = app?.authMethodType === ApiAuthMethod.privateKeyJwt ? app.keys.get(c.kid) : undefined;
  const v = checkAssertionKey(deps, replay, request, c, key, "client");
  if (!v.ok) deps.log.debug({ reason: v.reason }, "app client assertion rejected");
  if (!v.ok || !app || (request.clientId !== undefined && request.clientId !== c.iss)) throw clientAuthFailed();
  const who = activeApp(project, app, lookup);
  if (who !== MISS) used(deps, "app_key", project.id, c.kid);
  return who;
}

function decideSecret(deps: Deps, creds: ClientSecret, lookup: Lookup): Introspector | Miss {
  const app = appBySecret(deps, creds, lookup);
  if (app !== null) return app;
  const client = clientBySecret(deps, creds, lookup);
  return client === MISS ? MISS : { kind: "machine", client };
}

function decideAssertion(deps: Deps, arg: { replay: ReplayCache; request: AssertionRequest }, lookup: Lookup): Introspector | Miss {
  const app = appByAssertion(deps, arg.replay, arg.request, lookup);
  if (app !== null) return app;
  const client = clientByAssertion(deps, arg.replay, arg.request, lookup);
  return client === MISS ? MISS : { kind: "machine", client };
}

/** Authenticates the caller of an introspection request; sync when everything is cached. */
export function authenticateIntrospector(deps: Deps, replay: ReplayCache, auth: ClientAuthentication): Introspector | Promise<Introspector> {
  if (auth.method === "secret") return decideWithCache(deps, decideSecret, auth.creds);
  const request: AssertionRequest = { assertion: auth.assertion, clientId: auth.clientId };
  const decided = decideWithCache(deps, decideAssertion, { replay, request });
  if (request.spentJti === undefined && !(decided instanceof Promise)) return decided;
  return (async () => {
    const who = await decided;
    if (!(await claimSpentAssertion(deps, replay, request))) {
      deps.log.debug({ reason: "replayed (used through another process, or before a restart)" }, "client assertion rejected");
      throw clientAuthFailed();
    }
    return who;
  })();
}
