import type { Config } from "../config/schema.js";
import { openWithAnyKey, seal, type ServerKeys } from "../crypto/keys.js";
import { credentialsHashedBefore, type HashedCredential } from "../store/credential-hashes.js";
import { readSigningKeys, updateSealedSigningKey, withSigningKeysLock } from "../store/signing-keys.js";
import type { SqlPort } from "../store/sql.js";
import { masterkeyStatus, setMasterkeyFingerprint, StartupError } from "./system.js";

export interface RewrapReport {
  /** Signing keys whose private half was sealed under a previous master key and now is under the current one. */
  rewrapped: string[];
  /** Signing keys already sealed under the current master key. */
  alreadyCurrent: string[];
  /** Whether the stored fingerprint was a previous key's (now the current key's). */
  fingerprintMoved: boolean;
  /** When the current master key came into use (epoch: it always was). */
  currentSince: Date;
  /** Secrets and PATs hashed before that: they verify only under a previous key. */
  dependent: HashedCredential[];
  /** Opaque access tokens issued before currentSince are MACed with a previous key; the last of them expires by then. */
  opaqueTokensUntil?: Date;
}

/**
 * `portcullis masterkey rotate`: moves everything that can move to the current master key — the
 * sealed signing keys are opened with whichever key opens them and sealed again under the current
 * one, and the stored fingerprint becomes the current key's (a start with only the new key is then
 * accepted) — and reports what cannot: secrets and PATs hashed under an earlier key (the clear
 * values are not kept) and opaque access tokens MACed with it until they expire. Nothing changes
 * when a signing key cannot be opened with any configured key.
 */
export async function rewrapUnderCurrentKey(sql: SqlPort, keys: ServerKeys, config: Pick<Config, "accessTokenLifetime">, now: Date): Promise<RewrapReport> {
  const { rewrapped, alreadyCurrent } = await withSigningKeysLock(sql, async (tx) => {
    const rows = await readSigningKeys(tx);
    const rewrapped: { id: string; sealed: string }[] = [];
    const alreadyCurrent: string[] = [];
    const unopenable: string[] = [];
    for (const r of rows) {
      const opened = openWithAnyKey(keys, Buffer.from(r.privateSealed, "base64"), Buffer.from(r.id));
      if (!opened) unopenable.push(r.id);
      else if (opened.keyIndex === 0) alreadyCurrent.push(r.id);
      else rewrapped.push({ id: r.id, sealed: seal(keys.wrap, opened.plain, Buffer.from(r.id)).toString("base64") });
    }
    if (unopenable.length > 0)
      throw new StartupError(`signing key(s) ${unopenable.join(", ")} cannot be unsealed with PORTCULLIS_MASTERKEY or PORTCULLIS_MASTERKEY_PREVIOUS; nothing was changed`);
    for (const r of rewrapped) await updateSealedSigningKey(tx, r.id, r.sealed);
    return { rewrapped: rewrapped.map((r) => r.id), alreadyCurrent };
  });
  const status = await masterkeyStatus(sql, keys);
  if (!status.fingerprintIsCurrent) await setMasterkeyFingerprint(sql, keys);
  const since = status.currentSince;
  const rotated = since.getTime() > 0;
  return {
    rewrapped,
    alreadyCurrent,
    fingerprintMoved: !status.fingerprintIsCurrent,
    currentSince: since,
    dependent: rotated ? await credentialsHashedBefore(sql, since, now) : [],
    opaqueTokensUntil: rotated && since.getTime() + config.accessTokenLifetime * 1000 > now.getTime() ? new Date(since.getTime() + config.accessTokenLifetime * 1000) : undefined,
  };
}

/** The report as the command prints it. */
export function formatRewrapReport(r: RewrapReport, keys: ServerKeys): string {
  const lines: string[] = [];
  lines.push(
    r.rewrapped.length > 0
      ? `signing keys re-wrapped under the current master key: ${r.rewrapped.join(", ")}`
      : "signing keys: none was sealed under a previous master key",
  );
  if (r.alreadyCurrent.length > 0) lines.push(`signing keys already under the current master key: ${r.alreadyCurrent.join(", ")}`);
  lines.push(
    r.fingerprintMoved
      ? "stored master key fingerprint: moved to the current key (a start with only PORTCULLIS_MASTERKEY is now accepted)"
      : "stored master key fingerprint: already the current key's",
  );
  if (r.currentSince.getTime() === 0) {
    lines.push("nothing depends on a previous master key: the current key has been the only one");
    return lines.join("\n");
  }
  lines.push(`the current master key is in use since ${r.currentSince.toISOString()}`);
  const secrets = r.dependent.filter((d) => d.kind === "secret");
  const pats = r.dependent.filter((d) => d.kind === "pat");
  if (r.dependent.length === 0) lines.push("no machine secret or PAT depends on a previous master key");
  else {
    lines.push(
      `still depending on a previous master key (verified with it while it is in PORTCULLIS_MASTERKEY_PREVIOUS; ` +
        `they cannot be re-keyed without the clear values: replace them, then drop the previous key):`,
    );
    lines.push(`  machine secrets set before the rotation: ${secrets.length}`);
    for (const s of secrets) lines.push(`    user ${s.userId} (${s.userName}), secret set ${s.createdAt.toISOString()}`);
    lines.push(`  personal access tokens created before the rotation: ${pats.length}`);
    for (const p of pats) lines.push(`    token ${p.tokenId} of user ${p.userId} (${p.userName}), created ${p.createdAt.toISOString()}`);
  }
  if (r.opaqueTokensUntil) lines.push(`opaque access tokens issued before the rotation stay valid (MACed with a previous key) until at most ${r.opaqueTokensUntil.toISOString()}`);
  else lines.push("opaque access tokens issued before the rotation have all expired");
  if (keys.previous.length === 0) lines.push("no previous master key is configured: whatever is listed above no longer verifies");
  return lines.join("\n");
}
