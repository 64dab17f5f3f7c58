import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from "node:crypto";
import type { SigningKey } from "./jwt.js";

/**
 * The token signing keys and their schedule. Each key carries the time it starts signing; its state
 * follows from the set of keys and the clock alone, so every process with the same rows and a clock
 * agrees on which key signs without any state change having to be written at the right moment:
 *
 *   next     published in the JWKS, not signing yet (starts later than now)
 *   active   the key with the latest start at or before now: signs every new token
 *   retired  superseded; still published until `retainMs` after it stopped signing (its successor's
 *            start), by when every token it signed has expired
 *   removed  past that: no longer published or accepted (its row is deleted)
 */
export interface SigningKeyRecord {
  id: string;
  publicJwk: Record<string, unknown>;
  /** When it was stored (and published). */
  createdAt: Date;
  /** When it starts signing. */
  activateAt: Date;
}

export type SigningKeyState = "next" | "active" | "retired" | "removed";

export interface SigningKeyStatus<R extends SigningKeyRecord = SigningKeyRecord> {
  record: R;
  state: SigningKeyState;
  /** When a superseded key stopped signing (its successor's start). */
  stoppedAt?: Date;
  /** When a superseded key leaves the JWKS. */
  removeAt?: Date;
}

export interface RotationPolicy {
  /** How long a key signs before its successor starts. */
  rotationIntervalMs: number;
  /** How long the next key is published before it signs. */
  publishAheadMs: number;
  /** How long a process may take to see a change of the key set (its periodic reload). */
  reloadIntervalMs: number;
  /** How long a retired key stays published after it stopped signing: the longest token lifetime plus a margin. */
  retainMs: number;
}

/** The id token lifetime of src/app/oauth (12 h, as ZITADEL's client credentials). */
export const ID_TOKEN_LIFETIME_SECONDS = 43200;

export function rotationPolicy(c: {
  accessTokenLifetime: number;
  signingKeys: { rotationInterval: number; publishAhead: number; retireMargin: number; reloadInterval: number };
}): RotationPolicy {
  const s = c.signingKeys;
  return {
    rotationIntervalMs: s.rotationInterval * 1000,
    publishAheadMs: s.publishAhead * 1000,
    reloadIntervalMs: s.reloadInterval * 1000,
    retainMs: (Math.max(c.accessTokenLifetime, ID_TOKEN_LIFETIME_SECONDS) + s.retireMargin) * 1000,
  };
}

const byStart = (a: SigningKeyRecord, b: SigningKeyRecord) =>
  a.activateAt.getTime() - b.activateAt.getTime() || a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Every key's state at `nowMs`, in the order they start signing. When every key starts in the
 * future (a clock behind the schedule), the earliest one counts as active: there is always a signer.
 */
export function signingKeyStatuses<R extends SigningKeyRecord>(records: readonly R[], nowMs: number, retainMs: number): SigningKeyStatus<R>[] {
  const sorted = [...records].sort(byStart);
  let active = -1;
  for (let i = 0; i < sorted.length; i++) if (sorted[i]!.activateAt.getTime() <= nowMs) active = i;
  if (active < 0 && sorted.length > 0) active = 0;
  return sorted.map((record, i) => {
    if (i === active) return { record, state: "active" };
    if (i > active) return { record, state: "next" };
    const stoppedAt = sorted[i + 1]!.activateAt;
    const removeAt = new Date(stoppedAt.getTime() + retainMs);
    return { record, state: removeAt.getTime() <= nowMs ? "removed" : "retired", stoppedAt, removeAt };
  });
}

export interface RotationPlan {
  /** Store a new key that starts signing at this time. */
  create?: { activateAt: Date };
  /** Keys past their retirement window. */
  remove: string[];
}

export const planIsEmpty = (p: RotationPlan) => !p.create && p.remove.length === 0;

/**
 * What the schedule asks for at `nowMs`: the first key (none yet: signs at once), the next key once
 * the active one is due for rotation within `publishAhead + reloadInterval` (so that every process
 * has loaded and published it `publishAhead` before any signs with it), and the removal of retired
 * keys past their window. Idempotent: applied by one process under a lock, the others then plan nothing.
 */
export function planRotation(records: readonly SigningKeyRecord[], nowMs: number, p: RotationPolicy): RotationPlan {
  if (records.length === 0) return { create: { activateAt: new Date(nowMs) }, remove: [] };
  const statuses = signingKeyStatuses(records, nowMs, p.retainMs);
  const remove = statuses.filter((s) => s.state === "removed").map((s) => s.record.id);
  if (statuses.some((s) => s.state === "next")) return { remove };
  const active = statuses.find((s) => s.state === "active")!.record;
  const due = active.activateAt.getTime() + p.rotationIntervalMs;
  const earliest = nowMs + p.publishAheadMs + p.reloadIntervalMs;
  if (due > earliest) return { remove };
  return { create: { activateAt: new Date(Math.max(due, earliest)) }, remove };
}

/**
 * `portcullis keys rotate`: the next key (already published) starts signing now, or a new key does
 * when there is none. The active key becomes retired and stays published for its window.
 */
export function planForcedRotation(records: readonly SigningKeyRecord[], nowMs: number, retainMs: number): { promote: string } | { create: { activateAt: Date } } {
  const next = signingKeyStatuses(records, nowMs, retainMs).find((s) => s.state === "next");
  return next ? { promote: next.record.id } : { create: { activateAt: new Date(nowMs) } };
}

/** A new RS256 key pair: its JWK (kid = id) and the PKCS#8 PEM of its private half (to be sealed). */
export async function generateSigningKey(id: string): Promise<{ publicJwk: Record<string, unknown>; privatePem: string }> {
  const { privateKey, publicKey } = await new Promise<{ privateKey: KeyObject; publicKey: KeyObject }>((resolve, reject) =>
    generateKeyPair("rsa", { modulusLength: 2048 }, (err, publicKey, privateKey) => (err ? reject(err) : resolve({ publicKey, privateKey }))),
  );
  return {
    publicJwk: { ...publicKey.export({ format: "jwk" }), kid: id, alg: "RS256", use: "sig" },
    privatePem: privateKey.export({ format: "pem", type: "pkcs8" }) as string,
  };
}

/** A loaded key: verifies (and is published) with its public half; signs only when its private half could be unsealed. */
export interface LoadedSigningKey extends SigningKeyRecord {
  publicKey: KeyObject;
  privateKey?: KeyObject;
}

export function loadedKey(record: SigningKeyRecord, privatePem: string | undefined): LoadedSigningKey {
  const privateKey = privatePem === undefined ? undefined : createPrivateKey(privatePem);
  const publicKey = privateKey ? createPublicKey(privateKey) : createPublicKey({ key: record.publicJwk as never, format: "jwk" });
  return { ...record, publicKey, privateKey };
}

/** What the key set answers between two schedule boundaries (a start or a removal). */
export interface SigningKeyView {
  /** The active key, or the newest started key this process can sign with; undefined when none. */
  signer: SigningKey | undefined;
  /** Whether the signer is not the active key (its private half could not be unsealed). */
  degraded: boolean;
  /** Published keys (next, active, retired) by kid. */
  byKid: ReadonlyMap<string, LoadedSigningKey>;
  /** The JWKS document: the active key first, then next, then retired ones, newest first. */
  jwks: string;
  computedAtMs: number;
  /** The next boundary: recompute at or after it. */
  validUntilMs: number;
}

export function signingKeyView(keys: readonly LoadedSigningKey[], nowMs: number, retainMs: number): SigningKeyView {
  const statuses = signingKeyStatuses(keys, nowMs, retainMs);
  const published = statuses.filter((s) => s.state !== "removed");
  const rank = { active: 0, next: 1, retired: 2, removed: 3 } as const;
  const ordered = [...published].sort((a, b) => rank[a.state] - rank[b.state] || b.record.activateAt.getTime() - a.record.activateAt.getTime());
  const active = statuses.find((s) => s.state === "active")?.record;
  let signerKey = active?.privateKey ? active : undefined;
  if (!signerKey)
    for (const s of statuses) if (s.state !== "next" && s.state !== "removed" && s.record.privateKey) signerKey = s.record; // the newest started one
  let validUntilMs = Infinity;
  for (const s of statuses) {
    const start = s.record.activateAt.getTime();
    if (start > nowMs) validUntilMs = Math.min(validUntilMs, start);
    if (s.removeAt && s.removeAt.getTime() > nowMs) validUntilMs = Math.min(validUntilMs, s.removeAt.getTime());
  }
  return {
    signer: signerKey && { id: signerKey.id, privateKey: signerKey.privateKey!, publicKey: signerKey.publicKey, publicJwk: signerKey.publicJwk },
    degraded: signerKey !== undefined && signerKey !== active,
    byKid: new Map(published.map((s) => [s.record.id, s.record])),
    jwks: JSON.stringify({ keys: ordered.map((s) => s.record.publicJwk) }),
    computedAtMs: nowMs,
    validUntilMs,
  };
}

/** The token signing keys as the app sees them (deps.signingKeys). */
export interface SigningKeyRing {
  /** The key that signs new tokens now. */
  signer(): SigningKey;
  /** A published key by kid, for verifying a token issued here. */
  find(kid: unknown): { id: string; publicKey: KeyObject } | undefined;
  /** The JWKS document served at /oauth/v2/keys (JSON text). */
  jwks(): string;
  /**
   * A token names a kid this process does not know (another process may have rotated): reloads the
   * key set from the database, at most once per few seconds; undefined when rate-bound (then the kid
   * is unknown).
   */
  reloadForUnknownKid(): Promise<void> | undefined;
}
