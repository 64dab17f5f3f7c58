import { createPublicKey, generateKeyPair, generateKeyPairSync, type KeyObject } from "node:crypto";
import { promisify } from "node:util";

export { NO_EXPIRY } from "../domain/expiration.js";

const generateKeyPairAsync = promisify(generateKeyPair);

/** A generated RSA-2048 machine key: the private half goes to the caller once, the public half is stored. */
export function generateMachineKeyPair(): { privatePkcs1Pem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privatePkcs1Pem: privateKey.export({ format: "pem", type: "pkcs1" }) as string,
    publicPem: publicKey.export({ format: "pem", type: "spki" }) as string,
  };
}

/** As generateMachineKeyPair, on libuv's thread pool: RSA generation takes tens of milliseconds and must not stall the event loop. */
export async function generateMachineKeyPairAsync(): Promise<{ privatePkcs1Pem: string; publicPem: string }> {
  const { privateKey, publicKey } = await generateKeyPairAsync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { format: "pem", type: "spki" },
    privateKeyEncoding: { format: "pem", type: "pkcs1" },
  });
  return { privatePkcs1Pem: privateKey, publicPem: publicKey };
}

/** Smallest RSA modulus accepted for a caller-supplied key (NIST SP 800-131A; ZITADEL accepts any size). */
export const MIN_RSA_BITS = 2048;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/;

/**
 * Parses a caller-supplied public key the way ZITADEL does (crypto.BytesToPublicKey): the first PEM
 * block, whatever its label, must hold a PKIX (SubjectPublicKeyInfo) RSA key. Private keys,
 * certificates and PKCS#1 bodies are refused. Undefined for anything else.
 */
export function parseRsaPublicKey(pem: string | Uint8Array): KeyObject | undefined {
  const text = typeof pem === "string" ? pem : Buffer.from(pem).toString("utf8");
  const m = PEM_BLOCK.exec(text);
  if (!m) return undefined;
  const body = m[2]!;
  if (body.includes(":")) return undefined; // PEM headers (encrypted blocks) are not keys we can use
  const der = Buffer.from(body.replace(/\s+/g, ""), "base64");
  try {
    const k = createPublicKey({ key: der, format: "der", type: "spki" });
    if (k.asymmetricKeyType !== "rsa") return undefined;
    if ((k.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) return undefined;
    return k;
  } catch {
    return undefined;
  }
}

/** The key file ZITADEL hands out (internal/domain/machine_key.go), fields in ZITADEL's order. */
export function keyFileJson(k: { keyId: string; privatePkcs1Pem: string; expirationDate: Date; userId: string }): string {
  return JSON.stringify({
    type: "serviceaccount",
    keyId: k.keyId,
    key: k.privatePkcs1Pem,
    expirationDate: k.expirationDate.toISOString().replace(/\.000Z$/, "Z"),
    userId: k.userId,
  });
}
