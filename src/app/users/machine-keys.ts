import { generateMachineKeyPairAsync, keyFileJson, parseRsaPublicKey } from "../../crypto/machine-keys.js";
import { alreadyExists, invalidArgument, notFound, preconditionFailed } from "../../domain/errors.js";
import { credentialExpiration } from "../../domain/credentials/lifetime.js";
import { NO_EXPIRY, expirationOrDefault } from "../../domain/expiration.js";
import { newMachineKeyAddedEvent, newMachineKeyRemovedEvent } from "../../domain/users/events.js";
import { inOrg, isMachineInOrg } from "../../domain/users/rules.js";
import { runCommand } from "../core/command.js";
import type { Caller, Deps } from "../core/context.js";
import { changedDetails, createdDetails, lastOf, type Details } from "../core/details.js";
import { listPage } from "../core/list-page.js";
import { requireMayActOn } from "../orgs/privilege-ceiling.js";
import type { MachineKeyRow } from "../../store/read-models/index.js";
import type { ListInput, ListMeta } from "./user-queries.js";

/** zitadel.authn.v1.KeyType: JSON is the only type there is. */
export const KEY_TYPE_JSON = 1;

export interface AddMachineKeyInput {
  userId: string;
  type: number;
  expirationDate?: Date;
  /** A PEM (PKIX, RSA) public key supplied by the caller; empty to have the server generate the pair. */
  publicKey: Uint8Array;
}

export interface AddedMachineKey {
  keyId: string;
  /** The key file (JSON) with the private key, only when the server generated the pair; empty otherwise. */
  keyDetails: Uint8Array;
  details: Details;
}

/**
 * AddMachineKey (ZITADEL command/user_machine_key.go): checks in ZITADEL's order — public key, type,
 * expiration, then the user (a machine in the caller's org), then the org's credential policy (an
 * expiration beyond it is refused; without one the key expires at the policy's limit). Only the public key is stored; a
 * generated private key leaves in the response once and is not kept anywhere.
 */
export async function addMachineKey(deps: Deps, caller: Caller, input: AddMachineKeyInput): Promise<AddedMachineKey> {
  let publicPem: string | undefined;
  if (input.publicKey.length > 0) {
    const key = parseRsaPublicKey(input.publicKey);
    if (!key) throw invalidArgument("COMMAND-5F3h1", "Public key is not a valid RSA public key in PKIX format with PEM encoding");
    // Stored normalised (SPKI "PUBLIC KEY"), so verification never depends on how the caller labelled it.
    publicPem = key.export({ type: "spki", format: "pem" }) as string;
  }
  if (input.type !== KEY_TYPE_JSON) throw invalidArgument("COMMAND-0i9fsfd", "Errors.Invalid.Argument");
  const now = deps.clock();
  expirationOrDefault(input.expirationDate, now);
  const keyId = deps.newId();
  let generated: { privatePkcs1Pem: string; publicPem: string } | undefined;

  return runCommand(deps, caller.userId, async (load) => {
    const u = await load("user", input.userId);
    if (!isMachineInOrg(u, caller)) throw preconditionFailed("COMMAND-bnipwm1", "User could not be found");
    await requireMayActOn(deps, load, caller, u.id);
    if (u.keys.has(keyId)) throw alreadyExists("COMMAND-091mops", "Errors.User.Machine.Key.AlreadyExists");
    const org = await load("org", u.orgId);
    const expiration = credentialExpiration("key", input.expirationDate, now, org.credentialPolicy, NO_EXPIRY);
    // Generated once, after the user check, and reused if the append has to be retried.
    if (!publicPem) generated ??= await generateMachineKeyPairAsync();
    const event = newMachineKeyAddedEvent(u, { keyId, type: KEY_TYPE_JSON, expirationDate: expiration, publicKeyPem: publicPem ?? generated!.publicPem });
    return {
      events: [event],
      result: (stored) => ({
        keyId,
        keyDetails: generated
          ? new Uint8Array(Buffer.from(keyFileJson({ keyId, privatePkcs1Pem: generated.privatePkcs1Pem, expirationDate: expiration, userId: u.id })))
          : new Uint8Array(),
        details: createdDetails(lastOf(stored)),
      }),
    };
  });
}

/** RemoveMachineKey: the key stops authenticating at once, and so do the tokens it obtained (authn.ts credentialAlive). */
export function removeMachineKey(deps: Deps, caller: Caller, userId: string, keyId: string) {
  return runCommand(deps, caller.userId, async (load) => {
    const u = await load("user", userId);
    if (!inOrg(u, caller) || !u.keys.has(keyId)) throw notFound("COMMAND-4m77G", "Machine key not found");
    await requireMayActOn(deps, load, caller, u.id);
    return { events: [newMachineKeyRemovedEvent(u, keyId)], result: (s) => changedDetails(lastOf(s)) };
  });
}

export type { MachineKeyRow } from "../../store/read-models/index.js";

/** GetMachineKeyByIDs: the key of that user in the caller's org; expired keys are still returned (as ZITADEL). */
export async function getMachineKey(deps: Deps, caller: Caller, userId: string, keyId: string): Promise<MachineKeyRow> {
  const row = await deps.reads.machineKeys.byId(deps.instanceId, caller.orgId, userId, keyId);
  if (!row) throw notFound("QUERY-Dgr3g", "Errors.AuthNKey.NotFound");
  return row;
}

/** ListMachineKeys: the user's keys in the caller's org, oldest first ([] for an unknown or other-org user). */
export async function listMachineKeys(deps: Deps, caller: Caller, userId: string, list: ListInput): Promise<{ keys: MachineKeyRow[]; meta: ListMeta }> {
  // ZITADEL has no sort column here (storage order, `asc` without effect); creation order is the stable equivalent.
  const { items, meta } = await listPage(deps, list, (p) => deps.reads.machineKeys.listOfUser(deps.instanceId, caller.orgId, userId, p));
  return { keys: items, meta };
}
