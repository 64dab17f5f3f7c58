import * as webhooks from "../../app/webhooks/webhooks.js";
import { invalidArgument } from "../../domain/errors.js";
import type { ExtensionRoute } from "./extension-routes.js";

/**
 * Webhook subscriptions (Portcullis's own): create (the signing secret in this answer only), list,
 * get, delete; the dead-letter list and its redrive. Writes need iam.write, reads events.read.
 */

const subscriptionJson = (s: webhooks.Subscription) => ({
  id: s.id,
  url: s.url,
  eventTypes: s.eventTypes,
  aggregateTypes: s.aggregateTypes,
  position: String(s.cursor),
  creationDate: s.createdAt.toISOString(),
  ...(s.lastError ? { lastError: s.lastError } : {}),
});

const strings = (v: unknown, field: string): string[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw invalidArgument("WEBHOOK-body", `${field} must be a list of strings`);
  return v as string[];
};

const position = (v: unknown, field: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  if ((typeof v !== "string" && typeof v !== "number") || !/^\d+$/.test(String(v))) throw invalidArgument("WEBHOOK-body", `${field} must be a position`);
  return Number(v);
};

const SUB = /^\/portcullis\/v1\/webhooks\/([^/]+)$/;
const DEAD = /^\/portcullis\/v1\/webhooks\/([^/]+)\/dead-letters$/;
const REDRIVE = /^\/portcullis\/v1\/webhooks\/([^/]+)\/dead-letters\/_redrive$/;

export const webhookRoutes: readonly ExtensionRoute[] = [
  {
    method: "POST",
    path: /^\/portcullis\/v1\/webhooks$/,
    permission: "iam.write",
    async run({ ctx, body }) {
      const b = (body ?? {}) as Record<string, unknown>;
      const from = position(b.fromPosition, "fromPosition");
      const r = await webhooks.createSubscription(ctx.deps, {
        url: typeof b.url === "string" ? b.url : "",
        eventTypes: strings(b.eventTypes, "eventTypes"),
        aggregateTypes: strings(b.aggregateTypes, "aggregateTypes"),
        ...(from === undefined ? {} : { fromPosition: from }),
      });
      return { json: { ...subscriptionJson(r.subscription), secret: r.secret } };
    },
  },
  {
    method: "GET",
    path: /^\/portcullis\/v1\/webhooks$/,
    permission: "events.read",
    async run({ ctx }) {
      return { json: { result: (await webhooks.listSubscriptions(ctx.deps)).map(subscriptionJson) } };
    },
  },
  {
    method: "GET",
    path: SUB,
    permission: "events.read",
    async run({ ctx, params }) {
      return { json: subscriptionJson(await webhooks.getSubscription(ctx.deps, params[0]!)) };
    },
  },
  {
    method: "DELETE",
    path: SUB,
    permission: "iam.write",
    async run({ ctx, params }) {
      await webhooks.removeSubscription(ctx.deps, params[0]!);
      return { json: {} };
    },
  },
  {
    method: "GET",
    path: DEAD,
    permission: "events.read",
    async run({ ctx, params }) {
      const rows = await webhooks.listDeadLetters(ctx.deps, params[0]!);
      return {
        json: {
          result: rows.map((d) => ({ position: String(d.position), eventType: d.eventType, attempts: d.attempts, lastError: d.lastError, failedAt: d.failedAt.toISOString(), redrive: d.redrive })),
        },
      };
    },
  },
  {
    method: "POST",
    path: REDRIVE,
    permission: "iam.write",
    async run({ ctx, params, body }) {
      const b = (body ?? {}) as Record<string, unknown>;
      if (b.positions !== undefined && !Array.isArray(b.positions)) throw invalidArgument("WEBHOOK-body", "positions must be a list of positions");
      const positions = (b.positions as unknown[] | undefined)?.map((p) => position(p, "positions")!);
      return { json: { redriven: await webhooks.redriveDeadLetters(ctx.deps, params[0]!, positions) } };
    },
  },
];
