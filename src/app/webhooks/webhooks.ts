import { generateSecret, seal } from "../../crypto/keys.js";
import { DomainError, invalidArgument, notFound } from "../../domain/errors.js";
import { webhookStore, type DeadLetterRow, type WebhookSubscriptionRow } from "../../store/webhooks.js";
import type { Deps } from "../core/context.js";
import { refusedUrl } from "./address.js";

/**
 * Webhook subscriptions of the instance (Portcullis's own; ZITADEL has no such API). The signing
 * secret is generated here, returned once, and stored sealed under the master key's wrap key (the
 * delivery needs it in clear to sign, so it cannot be a hash). Delivery: server/webhooks.ts.
 */

export interface SubscriptionInput {
  url: string;
  eventTypes: readonly string[];
  aggregateTypes: readonly string[];
  /** Deliver events after this position; default: from now on. */
  fromPosition?: number;
}

export type Subscription = Omit<WebhookSubscriptionRow, "secretSealed" | "instanceId">;

const MAX_SUBSCRIPTIONS = 100;
const MAX_URL = 2048;
const MAX_TYPES = 100;

/** The sealed secret's associated data: a sealed secret moved to another subscription does not open. */
export const secretAad = (instanceId: string, id: string) => Buffer.from(`webhook:${instanceId}:${id}`);

const store = (deps: Deps) => webhookStore(deps.store.sql);
const publicRow = ({ secretSealed: _s, instanceId: _i, ...rest }: WebhookSubscriptionRow): Subscription => rest;

const typeList = (v: readonly string[], field: string) => {
  if (v.length > MAX_TYPES || v.some((t) => typeof t !== "string" || t.length === 0 || t.length > 200)) throw invalidArgument("WEBHOOK-types", `${field}: at most ${MAX_TYPES} non-empty names`);
  return [...new Set(v)];
};

export async function createSubscription(deps: Deps, input: SubscriptionInput): Promise<{ subscription: Subscription; secret: string }> {
  if (typeof input.url !== "string" || input.url.length > MAX_URL) throw invalidArgument("WEBHOOK-url", "url: required, at most 2048 characters");
  const why = refusedUrl(input.url, deps.config.webhooks.allowLoopback);
  if (why) throw invalidArgument("WEBHOOK-url", `url refused: ${why}`);
  const eventTypes = typeList(input.eventTypes, "eventTypes");
  const aggregateTypes = typeList(input.aggregateTypes, "aggregateTypes");
  const s = store(deps);
  if ((await s.list(deps.instanceId)).length >= MAX_SUBSCRIPTIONS) throw new DomainError("ResourceExhausted", "WEBHOOK-max", `at most ${MAX_SUBSCRIPTIONS} webhook subscriptions`);
  let cursor: number;
  if (input.fromPosition === undefined) cursor = await deps.store.safePosition(0);
  else {
    if (!Number.isSafeInteger(input.fromPosition) || input.fromPosition < 0) throw invalidArgument("WEBHOOK-pos", "fromPosition out of range");
    cursor = input.fromPosition;
  }
  const id = deps.newId();
  const secret = generateSecret(64);
  const row: Omit<WebhookSubscriptionRow, "lastError"> = {
    instanceId: deps.instanceId,
    id,
    url: input.url,
    eventTypes,
    aggregateTypes,
    secretSealed: seal(deps.keys.wrap, Buffer.from(secret), secretAad(deps.instanceId, id)).toString("base64"),
    cursor,
    createdAt: deps.clock(),
  };
  await s.insert(row);
  return { subscription: publicRow({ ...row, lastError: undefined }), secret };
}

export async function listSubscriptions(deps: Deps): Promise<Subscription[]> {
  return (await store(deps).list(deps.instanceId)).map(publicRow);
}

export async function getSubscription(deps: Deps, id: string): Promise<Subscription> {
  const row = await store(deps).get(deps.instanceId, id);
  if (!row) throw notFound("WEBHOOK-nf", "webhook subscription not found");
  return publicRow(row);
}

export async function removeSubscription(deps: Deps, id: string): Promise<void> {
  if (!(await store(deps).remove(deps.instanceId, id))) throw notFound("WEBHOOK-nf", "webhook subscription not found");
}

export async function listDeadLetters(deps: Deps, id: string): Promise<DeadLetterRow[]> {
  await getSubscription(deps, id);
  return store(deps).deadLetters(deps.instanceId, id);
}

/** Marks dead letters (all, or the given positions) for delivery again by the subscription's deliverer; how many. */
export async function redriveDeadLetters(deps: Deps, id: string, positions?: readonly number[]): Promise<number> {
  await getSubscription(deps, id);
  if (positions && positions.some((p) => !Number.isSafeInteger(p) || p <= 0)) throw invalidArgument("WEBHOOK-pos", "positions out of range");
  return store(deps).requestRedrive(deps.instanceId, id, positions);
}
