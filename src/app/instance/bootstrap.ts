import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Config } from "../../config/schema.js";
import { keyedHashMatches, type ServerKeys } from "../../crypto/keys.js";
import { NO_EXPIRY, generateMachineKeyPair, keyFileJson } from "../../crypto/machine-keys.js";
import { newPersonalAccessToken } from "../../crypto/tokens.js";
import { DomainError } from "../../domain/errors.js";
import type { NewEvent, UniqueClaim } from "../../domain/events.js";
import {
  newDefaultOrgSetEvent,
  newDomainAddedEvent,
  newDomainPrimarySetEvent,
  newDomainVerifiedEvent,
  newIAMProjectSetEvent,
  newInstanceAddedEvent,
  newInstanceMemberAddedEvent,
  newOrgAddedEvent,
  newOrgMemberAddedEvent,
} from "../../domain/orgs/events.js";
import { memberClaim } from "../../domain/orgs/members.js";
import { orgDomainFromName } from "../../domain/orgs/org.js";
import { newMachineAddedEvent, newMachineKeyAddedEvent, newPersonalAccessTokenAddedEvent } from "../../domain/users/events.js";
import { PAT_SCOPES, usernameClaim } from "../../domain/users/rules.js";
import type { EventStore } from "../../store/event-store.js";
import type { InstanceReads } from "../../store/read-models/instance.js";
import type { IdGenerator } from "../core/ids.js";

export const SYSTEM_EDITOR = "SYSTEM";

export interface BootstrapResult {
  instanceId: string;
  created: boolean;
  /** Where the admin PAT was written (only on the start that created it). */
  patPath?: string;
  machineKeyPath?: string;
  adminUserName?: string;
  /** The admin machine user and its org (only on the start that created them). */
  adminUserId?: string;
  orgId?: string;
}

/** A name of this process's own, so two processes bootstrapping one database at once don't share a file. */
const pendingSuffix = `.${process.pid}-${Math.random().toString(36).slice(2, 8)}.pending`;
const pending = (file: string) => file + pendingSuffix;
const pendingFiles = (file: string) => {
  const dir = path.dirname(file);
  const base = path.basename(file) + ".";
  try {
    return readdirSync(dir)
      .filter((f) => f.startsWith(base) && f.endsWith(".pending"))
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
};

function writeSecretFile(file: string, content: string) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content, { mode: 0o600 });
}

/**
 * First start: the instance, the first org and (unless the username is set empty) an admin machine
 * user with IAM_OWNER and ORG_OWNER and a PAT, from ZITADEL's own FIRSTINSTANCE variables. Runs once
 * per database: a unique claim on the instance makes concurrent starters agree on one winner.
 *
 * The PAT is written to `<path>.pending` before the commit and renamed after it, so a crash in
 * between loses nothing: the next start finishes the rename if the pending token is the committed one.
 */
export async function bootstrap(
  store: EventStore,
  reads: InstanceReads,
  config: Config,
  keys: ServerKeys,
  newId: IdGenerator,
  now: Date,
): Promise<BootstrapResult> {
  const fi = config.firstInstance;
  const existing = await reads.firstInstanceId();
  if (existing) {
    await finishPendingFiles(reads, existing, config, keys);
    return { instanceId: existing, created: false };
  }

  const instanceId = newId();
  const orgId = newId();
  const adminId = newId();
  const projectId = newId();
  const instanceDomain = new URL(config.externalUrl).hostname;
  const domain = orgDomainFromName(fi.orgName, instanceDomain);
  const admin = { id: adminId, orgId };

  const events: NewEvent[] = [
    newInstanceAddedEvent(instanceId, "Portcullis"),
    newIAMProjectSetEvent(instanceId, projectId),
    newOrgAddedEvent(orgId, fi.orgName),
    newDomainAddedEvent(orgId, domain),
    newDomainVerifiedEvent(orgId, domain),
    newDomainPrimarySetEvent(orgId, domain),
    newDefaultOrgSetEvent(instanceId, orgId),
  ];
  const uniques: UniqueClaim[] = [
    { action: "add", type: "instance", field: "first", global: true },
    { action: "add", type: "org_name", field: fi.orgName.toLowerCase() },
  ];

  let pat: { token: string; file: string } | undefined;
  let keyFile: { json: string; file?: string } | undefined;
  if (fi.machineUsername) {
    events.push(
      newMachineAddedEvent(admin, { userName: fi.machineUsername, name: fi.machineName }),
      newInstanceMemberAddedEvent(instanceId, adminId, ["IAM_OWNER"]),
      newOrgMemberAddedEvent(orgId, adminId, ["ORG_OWNER"]),
    );
    uniques.push(
      usernameClaim(fi.machineUsername, "add"),
      memberClaim(instanceId, adminId, "add"),
      memberClaim(orgId, adminId, "add"),
    );
    const tokenId = newId();
    const { token, hash } = newPersonalAccessToken(keys.hmac, tokenId, adminId);
    events.push(newPersonalAccessTokenAddedEvent(admin, { tokenId, expiration: fi.patExpirationDate ?? NO_EXPIRY, scopes: PAT_SCOPES, tokenHash: hash }));
    pat = { token, file: fi.patPath };
    if (fi.machineKeyType === 1) {
      const keyId = newId();
      const pair = generateMachineKeyPair();
      const expirationDate = fi.machineKeyExpirationDate ?? NO_EXPIRY;
      events.push(newMachineKeyAddedEvent(admin, { keyId, type: 1, expirationDate, publicKeyPem: pair.publicPem }));
      keyFile = { json: keyFileJson({ keyId, privatePkcs1Pem: pair.privatePkcs1Pem, expirationDate, userId: adminId }), file: fi.machineKeyPath };
    }
  }

  if (pat) writeSecretFile(pending(pat.file), pat.token + "\n");
  if (keyFile?.file) writeSecretFile(pending(keyFile.file), keyFile.json + "\n");
  try {
    await store.push({ instanceId, editor: SYSTEM_EDITOR, events, uniques, expected: new Map(), now });
  } catch (e) {
    if (pat) rmSync(pending(pat.file), { force: true });
    if (keyFile?.file) rmSync(pending(keyFile.file), { force: true });
    // Another process bootstrapped the same database at the same moment: use its instance.
    if (e instanceof DomainError && e.kind === "AlreadyExists") {
      const winner = await reads.firstInstanceId();
      if (winner) return { instanceId: winner, created: false };
    }
    throw e;
  }
  if (pat) renameSync(pending(pat.file), pat.file);
  if (keyFile?.file) renameSync(pending(keyFile.file), keyFile.file);
  else if (keyFile) process.stdout.write(keyFile.json + "\n"); // ZITADEL prints the key when no path is set
  return { instanceId, created: true, patPath: pat?.file, machineKeyPath: keyFile?.file, adminUserName: fi.machineUsername || undefined, adminUserId: fi.machineUsername ? adminId : undefined, orgId };
}

/** Completes a PAT file whose commit happened but whose rename did not (crash between the two). */
async function finishPendingFiles(reads: InstanceReads, instanceId: string, config: Config, keys: ServerKeys) {
  const file = config.firstInstance.patPath;
  const candidates = pendingFiles(file);
  if (candidates.length === 0) return;
  const hashes = await reads.patHashes(instanceId);
  for (const p of candidates) {
    const token = readFileSync(p, "utf8").trim();
    if (hashes.some((h) => keyedHashMatches(keys, token, h)) && !existsSync(file)) renameSync(p, file);
    else rmSync(p, { force: true });
  }
}
