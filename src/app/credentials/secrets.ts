import { newClientSecret } from "../../crypto/credential-formats.js";
import { keyedHash } from "../../crypto/keys.js";
import { credentialExpiration } from "../../domain/credentials/lifetime.js";
import { invalidArgument, notFound, preconditionFailed } from "../../domain/errors.js";
import type { NewEvent } from "../../domain/events.js";
import { expirationOrDefault, NO_EXPIRY } from "../../domain/expiration.js";
import {
  newMachineSecretAddedEvent,
  newMachineSecretChangedEvent,
  newMachineSecretDeletedEvent,
  newMachineSecretSetEvent,
  type MachineSecretChangedPayload,
} from "../../domain/users/events.js";
import { isMachineInOrg } from "../../domain/users/rules.js";
import { MAX_SECRETS, secretLive, type SecretState, type UserState } from "../../domain/users/user.js";
import { runCommand, type Loader } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf, type Details } from "../core/details.js";
import { listPage, type ListInput, type ListMeta } from "../core/list-page.js";
import { requireMayActOn } from "../orgs/privilege-ceiling.js";
import type { MachineSecretRow } from "../../store/read-models/index.js";

/**
 * A machine's set of client secrets (up to MAX_SECRETS), for any API edge: Portcullis's own
 * SecretService, and ZITADEL's v1 GenerateMachineSecret / v2 AddSecret (replaceSecrets: one new
 * secret replaces all) and RemoveMachineSecret / RemoveSecret (users.ts removeMachineSecret: all go).
 * Only keyed hashes are stored; the secret is in the answer once.
 */

const MAX_DESCRIPTION = 200;

export interface NewSecret {
  secretId: string;
  /** The machine's client_id (its login name). */
  clientId: string;
  /** Shown once. */
  clientSecret: string;
  expirationDate: Date | undefined;
  details: Details;
}

export interface AddSecretInput {
  userId: string;
  description?: string;
  expirationDate?: Date;
}

/** The machine in the caller's org the caller may act on, with its org's credential policy. */
async function machineOf(deps: Deps, load: Loader, caller: Caller, userId: string, notFoundId: string) {
  const u = await load("user", userId);
  if (!isMachineInOrg(u, caller)) throw notFound(notFoundId, "User could not be found");
  await requireMayActOn(deps, load, caller, u.id);
  const org = await load("org", u.orgId);
  return { u, policy: org.credentialPolicy };
}

function checkDescription(description: string | undefined): string {
  const d = (description ?? "").trim();
  if (d.length > MAX_DESCRIPTION) throw invalidArgument("PORT-secret-desc", `The description is longer than ${MAX_DESCRIPTION} characters`);
  return d;
}

/**
 * Room for one more secret: expired secrets are dropped (with an event each) when the set is full;
 * live ones are never dropped, so a full set of live secrets refuses the new one.
 */
function makeRoom(u: UserState, nowMs: number, keep: ReadonlySet<string> = new Set()): NewEvent[] {
  if (u.secrets.size < MAX_SECRETS) return [];
  const expired = [...u.secrets.values()].filter((s) => !secretLive(s, nowMs) && !keep.has(s.id));
  if (u.secrets.size - expired.length >= MAX_SECRETS)
    throw preconditionFailed("PORT-secrets-max", `A machine holds at most ${MAX_SECRETS} secrets; remove one first`);
  return expired.map((s) => newMachineSecretDeletedEvent(u, s.id));
}

function mint(deps: Deps) {
  const clientSecret = newClientSecret(deps.config.credentials.secretFormat);
  return { clientSecret, hash: keyedHash(deps.keys.hmac, clientSecret) };
}

/** AddSecret: one more secret beside the others (zero-downtime rotation: add, roll out, remove the old one). */
export async function addSecret(deps: Deps, caller: Caller, input: AddSecretInput): Promise<NewSecret> {
  const description = checkDescription(input.description);
  const now = deps.clock();
  if (input.expirationDate) expirationOrDefault(input.expirationDate, now);
  const secretId = deps.newId();
  const { clientSecret, hash } = mint(deps);
  return runCommand(deps, caller.userId, async (load) => {
    const { u, policy } = await machineOf(deps, load, caller, input.userId, "PORT-secret-user");
    const expirationDate = credentialExpiration("secret", input.expirationDate, now, policy, undefined);
    const events = [...makeRoom(u, now.getTime()), newMachineSecretAddedEvent(u, { secretId, hashedSecret: hash, description, expirationDate })];
    return { events, result: (s) => ({ secretId, clientId: u.userName, clientSecret, expirationDate, details: createdDetails(lastOf(s)) }) };
  });
}

export interface RotateSecretInput extends AddSecretInput {
  /** The secret to retire; absent: every live secret of the machine. */
  secretId?: string;
  /** Seconds the retired secret(s) keep working (0: they stop at once). */
  gracePeriodSeconds: number;
}

/**
 * RotateSecret: adds a new secret and sets the old one(s) to expire after the grace period, in one
 * write. Refused for a machine without live secrets, and for a grace period longer than an old
 * secret's remaining life (it would extend it).
 */
export async function rotateSecret(deps: Deps, caller: Caller, input: RotateSecretInput): Promise<NewSecret & { retired: string[] }> {
  const description = checkDescription(input.description);
  const now = deps.clock();
  const nowMs = now.getTime();
  if (!Number.isSafeInteger(input.gracePeriodSeconds) || input.gracePeriodSeconds < 0)
    throw invalidArgument("PORT-secret-grace", "The grace period must be a whole number of seconds, at least 0");
  if (input.expirationDate) expirationOrDefault(input.expirationDate, now);
  const secretId = deps.newId();
  const { clientSecret, hash } = mint(deps);
  return runCommand(deps, caller.userId, async (load) => {
    const { u, policy } = await machineOf(deps, load, caller, input.userId, "PORT-secret-user");
    let old: SecretState[];
    if (input.secretId !== undefined && input.secretId !== "") {
      const s = u.secrets.get(input.secretId);
      if (!s) throw notFound("PORT-secret-notfound", "Secret not found");
      if (!secretLive(s, nowMs)) throw preconditionFailed("PORT-secret-expired", "The secret has already expired");
      old = [s];
    } else {
      old = [...u.secrets.values()].filter((s) => secretLive(s, nowMs));
      if (old.length === 0) throw preconditionFailed("PORT-secret-none", "The machine has no secret to rotate");
    }
    const retireAt = new Date(nowMs + input.gracePeriodSeconds * 1000);
    // A date no timestamp column or Timestamp can hold would fail at the store or on every later read.
    if (!(retireAt.getTime() <= NO_EXPIRY.getTime())) throw invalidArgument("PORT-secret-grace", "The grace period must end by 9999-12-31T23:59:59Z");
    for (const s of old)
      if (s.expiration && s.expiration.getTime() < retireAt.getTime())
        throw invalidArgument("PORT-secret-grace", "The grace period is longer than the old secret's remaining life");
    const expirationDate = credentialExpiration("secret", input.expirationDate, now, policy, undefined);
    const events: NewEvent[] = [
      ...makeRoom(u, nowMs),
      newMachineSecretAddedEvent(u, { secretId, hashedSecret: hash, description, expirationDate }),
      ...old.map((s) => newMachineSecretChangedEvent(u, { secretId: s.id, expirationDate: retireAt })),
    ];
    return {
      events,
      result: (s) => ({
        secretId,
        clientId: u.userName,
        clientSecret,
        expirationDate,
        retired: old.map((o) => o.id),
        details: createdDetails(lastOf(s)),
      }),
    };
  });
}

export interface UpdateSecretInput {
  userId: string;
  secretId: string;
  description?: string;
  /** A new expiration (within the policy), or null to clear it (only without a policy limit). */
  expirationDate?: Date | null;
}

/** UpdateSecret: description and expiration of one secret; nothing changed is FailedPrecondition. */
export async function updateSecret(deps: Deps, caller: Caller, input: UpdateSecretInput): Promise<Details> {
  const now = deps.clock();
  return runCommand(deps, caller.userId, async (load) => {
    const { u, policy } = await machineOf(deps, load, caller, input.userId, "PORT-secret-user");
    const s = u.secrets.get(input.secretId);
    if (!s) throw notFound("PORT-secret-notfound", "Secret not found");
    const change: MachineSecretChangedPayload = { secretId: s.id };
    if (input.description !== undefined) {
      const d = checkDescription(input.description);
      if (d !== s.description) change.description = d;
    }
    if (input.expirationDate === null) {
      if (policy.maxSecretLifetime > 0) throw invalidArgument("PORT-cred-policy", "The organization's credential policy requires secrets to expire");
      if (s.expiration !== undefined) change.expirationDate = null;
    } else if (input.expirationDate !== undefined) {
      // The policy's limit counts from the secret's creation: an update cannot make it live longer than a new one could.
      const date = credentialExpiration("secret", input.expirationDate, now, policy, undefined)!;
      if (policy.maxSecretLifetime > 0 && date.getTime() > s.createdAt.getTime() + policy.maxSecretLifetime * 1000)
        throw invalidArgument("PORT-cred-policy", "The expiration is beyond the organization's credential policy");
      if (s.expiration?.getTime() !== date.getTime()) change.expirationDate = date;
    }
    if (change.description === undefined && change.expirationDate === undefined) throw preconditionFailed("PORT-secret-unchanged", "Secret not changed");
    return { events: [newMachineSecretChangedEvent(u, change)], result: (st) => changedDetails(lastOf(st)) };
  });
}

/** RemoveSecret (one, by id): it stops authenticating at once, and so do the tokens it obtained. */
export async function removeSecret(deps: Deps, caller: Caller, userId: string, secretId: string): Promise<Details> {
  return runCommand(deps, caller.userId, async (load) => {
    const { u } = await machineOf(deps, load, caller, userId, "PORT-secret-user");
    if (!u.secrets.has(secretId)) throw notFound("PORT-secret-notfound", "Secret not found");
    return { events: [newMachineSecretDeletedEvent(u, secretId)], result: (st) => changedDetails(lastOf(st)) };
  });
}

/**
 * ZITADEL's GenerateMachineSecret (v1) and AddSecret (v2): one new secret replaces all of the
 * machine's secrets, as ZITADEL's `user.machine.secret.set` event. `u` is the loaded machine, already
 * checked by the edge's command (its error ids differ between v1 and v2).
 */
export async function replaceSecrets(deps: Deps, load: Loader, u: UserState) {
  const org = await load("org", u.orgId);
  const expirationDate = credentialExpiration("secret", undefined, deps.clock(), org.credentialPolicy, undefined);
  const secretId = deps.newId();
  const { clientSecret, hash } = mint(deps);
  return { event: newMachineSecretSetEvent(u, { hashedSecret: hash, secretId, expirationDate }), clientSecret, secretId };
}

export type { MachineSecretRow };

/** ListSecrets: the machine's secrets in the caller's org, oldest first; expired ones too. */
export async function listSecrets(deps: Deps, caller: Caller, userId: string, list: ListInput): Promise<{ secrets: MachineSecretRow[]; meta: ListMeta }> {
  const { items, meta } = await listPage(deps, list, (p) => deps.reads.machineSecrets.listOfUser(deps.instanceId, caller.orgId, userId, p));
  return { secrets: items, meta };
}

export async function getSecret(deps: Deps, caller: Caller, userId: string, secretId: string): Promise<MachineSecretRow> {
  const row = await deps.reads.machineSecrets.byId(deps.instanceId, caller.orgId, userId, secretId);
  if (!row) throw notFound("PORT-secret-notfound", "Secret not found");
  return row;
}
