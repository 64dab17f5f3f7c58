import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { openWithAnyKey, seal, type ServerKeys } from "../crypto/keys.js";
import {
  generateSigningKey,
  loadedKey,
  planForcedRotation,
  planIsEmpty,
  planRotation,
  rotationPolicy,
  signingKeyStatuses,
  signingKeyView,
  type LoadedSigningKey,
  type RotationPlan,
  type SigningKeyRing,
  type SigningKeyStatus,
  type SigningKeyView,
} from "../crypto/signing-keys.js";
import {
  deleteSigningKey,
  insertSigningKey,
  readSigningKeys,
  setSigningKeyActivation,
  withSigningKeysLock,
  type SigningKeyRow,
} from "../store/signing-keys.js";
import type { Queryable, SqlPort } from "../store/sql.js";
import { StartupError } from "./system.js";

/** A token naming an unknown kid reloads the key set at most this often (forged kids cost one query per period). */
const UNKNOWN_KID_RELOAD_MS = 5_000;

/** The process's signing keys: the ring the app uses, plus the schedule's upkeep. */
export interface LiveSigningKeys extends SigningKeyRing {
  /**
   * Applies the schedule (publishes the next key when due, removes keys past their window; agreed
   * across processes under an advisory lock) and reloads the key set. Runs every
   * signingKeys.reloadInterval; tests call it after moving the clock.
   */
  refresh(): Promise<void>;
  close(): void;
}

export interface SigningKeyDeps {
  sql: SqlPort;
  keys: ServerKeys;
  config: Pick<Config, "accessTokenLifetime" | "signingKeys">;
  clock: () => Date;
  newId: () => string;
  log: Logger;
}

/** Loads (creating the first key if there is none) and keeps the key set current. Throws StartupError if a key cannot be unsealed. */
export async function openSigningKeys(d: SigningKeyDeps): Promise<LiveSigningKeys> {
  const { sql, keys, clock, log } = d;
  const policy = rotationPolicy(d.config);
  /** Unsealed keys by id, reused across reloads (a promotion changes only the start). */
  let loaded = new Map<string, { sealed: string; key: LoadedSigningKey }>();
  let view: SigningKeyView | undefined;
  let warnedDegraded = false;

  const install = (rows: readonly SigningKeyRow[], strict: boolean) => {
    const next = new Map<string, { sealed: string; key: LoadedSigningKey }>();
    for (const r of rows) {
      const record = { id: r.id, publicJwk: r.publicJwk, createdAt: r.createdAt, activateAt: r.activateAt };
      const old = loaded.get(r.id);
      if (old && (old.sealed === r.privateSealed || old.key.privateKey)) {
        next.set(r.id, { sealed: r.privateSealed, key: { ...old.key, ...record } });
        continue;
      }
      const opened = openWithAnyKey(keys, Buffer.from(r.privateSealed, "base64"), Buffer.from(r.id));
      if (!opened) {
        if (strict) throw new StartupError(`signing key ${r.id} cannot be unsealed with this master key`);
        log.error({ kid: r.id }, "signing key cannot be unsealed with this process's master keys: published, but not used for signing");
      }
      next.set(r.id, { sealed: r.privateSealed, key: loadedKey(record, opened?.plain.toString()) });
    }
    loaded = next;
    view = undefined;
  };

  const current = (): SigningKeyView => {
    const now = clock().getTime();
    if (!view || now >= view.validUntilMs || now < view.computedAtMs) {
      view = signingKeyView([...loaded.values()].map((e) => e.key), now, policy.retainMs);
      if (view.degraded && !warnedDegraded) {
        warnedDegraded = true;
        log.error({ kid: view.signer?.id }, "the active signing key cannot be unsealed here: signing with an earlier key");
      }
    }
    return view;
  };

  const refresh = async () => {
    install(await maintainSigningKeys(sql, keys, policy, clock(), d.newId, log), false);
  };

  install(await maintainSigningKeys(sql, keys, policy, clock(), d.newId, log), true);

  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    refresh()
      .catch((e: unknown) => log.warn({ err: e }, "signing keys: schedule check failed (keeping the loaded keys)"))
      .finally(() => (running = false));
  }, policy.reloadIntervalMs);
  timer.unref();

  let lastUnknownReload = -Infinity;
  let inflight: Promise<void> | undefined;

  return {
    signer() {
      const s = current().signer;
      if (!s) throw new Error("no signing key can be unsealed with this process's master keys");
      return s;
    },
    find(kid) {
      return typeof kid === "string" ? current().byKid.get(kid) : undefined;
    },
    jwks: () => current().jwks,
    reloadForUnknownKid() {
      if (inflight) return inflight;
      const t = performance.now();
      if (t - lastUnknownReload < UNKNOWN_KID_RELOAD_MS) return undefined;
      lastUnknownReload = t;
      inflight = readSigningKeys(sql)
        .then(
          (rows) => install(rows, false),
          (e: unknown) => log.warn({ err: e }, "signing keys: reload for an unknown kid failed"),
        )
        .finally(() => (inflight = undefined));
      return inflight;
    },
    refresh,
    close: () => clearInterval(timer),
  };
}

/**
 * Applies the schedule at `now` and returns the key set after it. Reads without a lock first; only
 * when there is something to do does it take the lock, read again and plan again, so that of several
 * processes doing this at once exactly one publishes the next key.
 */
async function maintainSigningKeys(
  sql: SqlPort,
  keys: ServerKeys,
  policy: ReturnType<typeof rotationPolicy>,
  now: Date,
  newId: () => string,
  log: Logger,
): Promise<SigningKeyRow[]> {
  const rows = await readSigningKeys(sql);
  if (planIsEmpty(planRotation(rows, now.getTime(), policy))) return rows;
  return withSigningKeysLock(sql, async (tx) => {
    const fresh = await readSigningKeys(tx);
    const plan = planRotation(fresh, now.getTime(), policy);
    if (planIsEmpty(plan)) return fresh;
    await applyPlan(tx, keys, plan, now, newId, log);
    return readSigningKeys(tx);
  });
}

async function applyPlan(tx: Queryable, keys: ServerKeys, plan: RotationPlan, now: Date, newId: () => string, log: Logger) {
  for (const id of plan.remove) {
    await deleteSigningKey(tx, id);
    log.info({ kid: id }, "signing key removed (past its retirement window)");
  }
  if (plan.create) {
    const id = await createSigningKey(tx, keys, newId, now, plan.create.activateAt);
    log.info({ kid: id, activateAt: plan.create.activateAt.toISOString() }, "signing key published");
  }
}

/** Generates and stores a key (private half sealed under the current master key) that starts signing at `activateAt`. */
async function createSigningKey(tx: Queryable, keys: ServerKeys, newId: () => string, now: Date, activateAt: Date): Promise<string> {
  const id = newId();
  const { publicJwk, privatePem } = await generateSigningKey(id);
  const privateSealed = seal(keys.wrap, Buffer.from(privatePem), Buffer.from(id)).toString("base64");
  await insertSigningKey(tx, { id, publicJwk, privateSealed, createdAt: now, activateAt });
  return id;
}

export interface ForcedRotation {
  /** The key that signs from now on. */
  active: string;
  /** Whether it was the published next key (false: created now). */
  promoted: boolean;
  /** The key it replaced, published until removeAt. */
  retired?: { id: string; removeAt: Date };
}

/**
 * `portcullis keys rotate`: a key that has not signed yet starts signing now — the published next key
 * if there is one, else a new one. The previous key is retired and stays published for its window.
 * Running processes pick the change up at their next reload (or on the first token naming the new kid).
 */
export async function rotateSigningKeysNow(sql: SqlPort, keys: ServerKeys, config: SigningKeyDeps["config"], newId: () => string, now: Date): Promise<ForcedRotation> {
  const policy = rotationPolicy(config);
  return withSigningKeysLock(sql, async (tx) => {
    const rows = await readSigningKeys(tx);
    const before = signingKeyStatuses(rows, now.getTime(), policy.retainMs).find((s) => s.state === "active")?.record.id;
    const plan = planForcedRotation(rows, now.getTime(), policy.retainMs);
    let active: string;
    if ("promote" in plan) {
      active = plan.promote;
      await setSigningKeyActivation(tx, active, now);
    } else active = await createSigningKey(tx, keys, newId, now, plan.create.activateAt);
    const after = signingKeyStatuses(await readSigningKeys(tx), now.getTime(), policy.retainMs);
    const retired = after.find((s) => s.record.id === before);
    return { active, promoted: "promote" in plan, retired: retired?.removeAt && { id: retired.record.id, removeAt: retired.removeAt } };
  });
}

/**
 * `portcullis keys publish`: a graceful rotation. Publishes a new next key now that starts signing
 * after publishAhead (+ reloadInterval, so every process publishes it that long before any signs),
 * unless a next key is already published.
 */
export async function publishNextSigningKey(
  sql: SqlPort,
  keys: ServerKeys,
  config: SigningKeyDeps["config"],
  newId: () => string,
  now: Date,
): Promise<{ id: string; activateAt: Date; created: boolean }> {
  const policy = rotationPolicy(config);
  return withSigningKeysLock(sql, async (tx) => {
    const rows = await readSigningKeys(tx);
    // No key yet (a database no server has started on): the first one signs at once, as at a first start.
    if (rows.length === 0) await createSigningKey(tx, keys, newId, now, now);
    const next = signingKeyStatuses(rows, now.getTime(), policy.retainMs).find((s) => s.state === "next");
    if (next) return { id: next.record.id, activateAt: next.record.activateAt, created: false };
    const activateAt = new Date(now.getTime() + policy.publishAheadMs + policy.reloadIntervalMs);
    return { id: await createSigningKey(tx, keys, newId, now, activateAt), activateAt, created: true };
  });
}

/** `portcullis keys list`: every stored key with its state at `now`. */
export async function listSigningKeys(sql: SqlPort, config: SigningKeyDeps["config"], now: Date): Promise<SigningKeyStatus<SigningKeyRow>[]> {
  return signingKeyStatuses(await readSigningKeys(sql), now.getTime(), rotationPolicy(config).retainMs);
}
