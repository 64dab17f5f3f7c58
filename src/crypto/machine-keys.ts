import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";

/** A generated RSA-2048 machine key: the private half goes to the caller once, the public half is stored. */
export function generateMachineKeyPair(): { privatePkcs1Pem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    privatePkcs1Pem: privateKey.export({ format: "pem", type: "pkcs1" }) as string,
    publicPem: publicKey.export({ format: "pem", type: "spki" }) as string,
  };
}

/** Parses a caller-supplied public key (PEM, PKIX, RSA); undefined when it is anything else. */
export function parseRsaPublicKey(pem: string): KeyObject | undefined {
  try {
    const k = createPublicKey({ key: pem, format: "pem" });
    return k.asymmetricKeyType === "rsa" ? k : undefined;
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

/** ZITADEL's default expiry for keys and PATs. */
export const NO_EXPIRY = new Date("9999-12-31T23:59:59Z");
