import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Webhook signatures: `Portcullis-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with
 * `Portcullis-Timestamp: <unix seconds>`. Signing the timestamp with the body lets a receiver refuse
 * old deliveries (a replay window) without keeping every delivery id forever.
 */
export const SIGNATURE_VERSION = "v1";

export function signWebhook(secret: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex");
  return `${SIGNATURE_VERSION}=${mac}`;
}

/**
 * The receiver's check (the README's recipe, in TypeScript): the signature matches and the timestamp
 * is within `toleranceSeconds` of now.
 */
export function verifyWebhook(secret: string, signature: string | undefined, timestamp: string | undefined, body: string | Buffer, nowSeconds: number, toleranceSeconds = 300): boolean {
  if (!signature || !timestamp || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
