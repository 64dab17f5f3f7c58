import { FederationEvents } from "../federation/events.js";
import { InstanceEvents, OrgEvents } from "../orgs/events.js";
import { ProjectEvents } from "../projects/events.js";
import { UserGrantEvents } from "../usergrants/events.js";
import { UserEvents } from "../users/events.js";

/**
 * What an event looks like outside the server (ListEvents, the follow endpoint, webhooks). Payloads
 * never carry a secret in clear (secrets and PATs are stored as HMACs, machine keys as public keys),
 * but the HMACs are still withheld: they are verifiers of live credentials, and nothing an integration
 * needs. A payload field whose name says secret, hash, password, private or ends in token is withheld
 * too (identifiers such as `secretId` excepted), so an event type added later cannot leak one by default.
 */
export const REDACTED = "[redacted]";

const REDACTED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  [UserEvents.secretSet]: ["hashedSecret"],
  [UserEvents.patAdded]: ["tokenHash"],
};

const SENSITIVE_NAME = /secret|hash|password|private|token$/i;
/** Fields whose names match SENSITIVE_NAME but hold no secret: identifiers (`tokenId`, `secretId`) and settings. */
const HARMLESS = new Set(["privateLabelingSetting"]);
const IDENTIFIER = /Ids?$/;

export function publicPayload(type: string, payload: Record<string, unknown>): Record<string, unknown> {
  const listed = REDACTED_FIELDS[type] ?? [];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(payload)) out[k] = listed.includes(k) || (SENSITIVE_NAME.test(k) && !HARMLESS.has(k) && !IDENTIFIER.test(k)) ? REDACTED : v;
  return out;
}

/** Every event type the server writes (ListEventTypes), sorted. */
export const KNOWN_EVENT_TYPES: readonly string[] = [
  ...Object.values(UserEvents),
  ...Object.values(OrgEvents),
  ...Object.values(InstanceEvents),
  ...Object.values(ProjectEvents),
  ...Object.values(UserGrantEvents),
  ...Object.values(FederationEvents),
].sort();

export const KNOWN_AGGREGATE_TYPES: readonly string[] = ["federation_policy", "instance", "org", "project", "user", "usergrant"];
