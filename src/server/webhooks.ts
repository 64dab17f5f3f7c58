import { randomUUID } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import type { Logger } from "pino";
import { eventJson } from "../api/portcullis/events-http.js";
import type { Deps } from "../app/core/context.js";
import { publicEvent } from "../app/events/event-feed.js";
import { eventSignal } from "../app/events/signal.js";
import { refusedAddress, refusedUrl } from "../app/webhooks/address.js";
import { secretAad } from "../app/webhooks/webhooks.js";
import { openWithAnyKey } from "../crypto/keys.js";
import { signWebhook } from "../crypto/webhook-signature.js";
import type { StoredEvent } from "../domain/events.js";
import { webhookStore, type WebhookSubscriptionRow } from "../store/webhooks.js";
import { guardedLookup } from "./guarded-lookup.js";

/**
 * Webhook delivery. Each subscription has one deliverer at a time — the process holding its lease in
 * the table (taken and renewed with the database's clock, checked again by every cursor write) — which
 * posts the subscription's events one by one in position order, each signed, and moves the cursor
 * after the receiver answered 2xx: at least once, never out of order, a crash or a lost lease repeats
 * at most the event in flight. A failing receiver holds the cursor: retries back off exponentially
 * (webhooks.retryBaseMs doubling to webhooks.retryMaxMs, with jitter). An event the receiver refuses
 * (4xx other than 408/429) goes to the dead-letter list after webhooks.maxAttempts; an unreachable or
 * failing receiver (network error, 5xx, 408, 429) is retried for webhooks.deadLetterAfterMs (24 h)
 * before the event goes there, so a receiver that was down for an hour gets every event when it is back.
 */

const BATCH = 100;
const SUBSCRIPTIONS_EVERY_MS = 2000;
const MAX_RESPONSE_BYTES = 64 * 1024;

class LeaseLost extends Error {}

type Outcome = { ok: true } | { ok: false; refused: boolean; error: string };

export interface WebhookDelivery {
  close(): Promise<void>;
}

export function startWebhookDelivery(deps: Deps, log: Logger): WebhookDelivery {
  const cfg = deps.config.webhooks;
  const owner = randomUUID();
  const store = webhookStore(deps.store.sql);
  const signal = eventSignal(deps.store);
  const stop = new AbortController();
  const workers = new Map<string, Promise<void>>();
  let closed = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stop.signal.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        stop.signal.removeEventListener("abort", done);
        resolve();
      }
      stop.signal.addEventListener("abort", done, { once: true });
    });

  /** Resolves the host and connects only to an allowed address (the one checked: no second lookup). */
  const safeLookup = guardedLookup({ refuse: (ip) => refusedAddress(ip, cfg.allowLoopback), code: "EWEBHOOKADDR", what: "webhook" });

  function post(sub: WebhookSubscriptionRow, secret: string, e: StoredEvent): Promise<Outcome> {
    const why = refusedUrl(sub.url, cfg.allowLoopback);
    if (why) return Promise.resolve({ ok: false, refused: true, error: `url refused: ${why}` });
    const body = JSON.stringify({ webhookId: sub.id, deliveryId: `${sub.id}.${e.position}`, event: eventJson(publicEvent(e)) });
    const timestamp = Math.floor(Date.now() / 1000);
    const url = new URL(sub.url);
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const settle = (o: Outcome) => {
        if (settled) return;
        settled = true;
        resolve(o);
      };
      const req = (url.protocol === "https:" ? https : http).request(
        url,
        {
          method: "POST",
          timeout: cfg.timeoutMs,
          ...(isIP(host) ? {} : { lookup: safeLookup as never }),
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            "user-agent": "Portcullis-Webhooks/1",
            "portcullis-webhook-id": sub.id,
            "portcullis-delivery-id": `${sub.id}.${e.position}`,
            "portcullis-timestamp": String(timestamp),
            "portcullis-signature": signWebhook(secret, timestamp, body),
          },
        },
        (res) => {
          let read = 0;
          res.on("data", (c: Buffer) => {
            read += c.length;
            if (read > MAX_RESPONSE_BYTES) res.destroy();
          });
          res.on("error", () => undefined);
          res.on("close", () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) settle({ ok: true });
            else settle({ ok: false, refused: status >= 400 && status < 500 && status !== 408 && status !== 429, error: `HTTP ${status}` });
          });
        },
      );
      const abort = () => req.destroy(new Error("shutting down"));
      stop.signal.addEventListener("abort", abort, { once: true });
      req.on("close", () => stop.signal.removeEventListener("abort", abort));
      req.on("timeout", () => req.destroy(new Error(`no answer within ${cfg.timeoutMs} ms`)));
      req.on("error", (err) => settle({ ok: false, refused: false, error: (err as Error).message }));
      req.end(body);
    });
  }

  /** Sleeps `ms` while keeping the lease; LeaseLost when another process took it (or the subscription went). */
  async function holdLease(sub: WebhookSubscriptionRow, ms: number) {
    const until = Date.now() + ms;
    for (;;) {
      if (!(await store.lease(sub.instanceId, sub.id, owner, cfg.leaseMs))) throw new LeaseLost();
      const left = until - Date.now();
      if (left <= 0 || stop.signal.aborted) return;
      await sleep(Math.min(left, cfg.leaseMs / 3));
    }
  }

  /** One event until delivered (true) or dead-lettered (false). */
  async function deliver(sub: WebhookSubscriptionRow, secret: string, e: StoredEvent): Promise<boolean> {
    const firstFailure = Date.now();
    let refusals = 0;
    for (let attempt = 1; ; attempt++) {
      if (stop.signal.aborted) throw new LeaseLost();
      const o = await post(sub, secret, e);
      if (o.ok) return true;
      if (o.refused) refusals++;
      const dead = refusals >= cfg.maxAttempts || Date.now() - firstFailure >= cfg.deadLetterAfterMs;
      log.warn({ webhook: sub.id, position: e.position, attempt, error: o.error, deadLetter: dead }, "webhook delivery failed");
      if (dead) {
        await store.deadLetter(sub.instanceId, { subscriptionId: sub.id, position: e.position, eventType: e.type, attempts: attempt, lastError: o.error, failedAt: new Date() });
        return false;
      }
      await store.noteError(sub.instanceId, sub.id, o.error);
      const delay = Math.min(cfg.retryMaxMs, cfg.retryBaseMs * 2 ** Math.min(attempt - 1, 30));
      await holdLease(sub, delay * (0.5 + Math.random() / 2));
    }
  }

  const eventAt = async (position: number) =>
    (await deps.reads.events.search(deps.instanceId, {}, { after: position - 1, upTo: position, asc: true, limit: 1 }))[0];

  /** One round for a subscription this process holds: redrives first, then events after the cursor. true: there may be more. */
  async function round(sub: WebhookSubscriptionRow, secret: string): Promise<boolean> {
    for (const d of await store.deadLetters(sub.instanceId, sub.id)) {
      if (!d.redrive) continue;
      const e = await eventAt(d.position);
      const o = e ? await post(sub, secret, e) : { ok: true as const };
      if (o.ok) await store.delivered(sub.instanceId, sub.id, d.position);
      else await store.deadLetter(sub.instanceId, { subscriptionId: sub.id, position: d.position, eventType: d.eventType, attempts: 1, lastError: o.error, failedAt: new Date() });
    }
    const upTo = await deps.store.safePosition(sub.cursor);
    if (upTo <= sub.cursor) return false;
    const filter = { eventTypes: sub.eventTypes, aggregateTypes: sub.aggregateTypes };
    const events = await deps.reads.events.search(sub.instanceId, filter, { after: sub.cursor, upTo, asc: true, limit: BATCH });
    for (const e of events) {
      await deliver(sub, secret, e);
      if (!(await store.advance(sub.instanceId, sub.id, owner, e.position))) throw new LeaseLost();
      sub.cursor = e.position;
    }
    if (events.length === BATCH) return true;
    if (!(await store.advance(sub.instanceId, sub.id, owner, upTo))) throw new LeaseLost();
    sub.cursor = upTo;
    return false;
  }

  async function work(id: string) {
    while (!stop.signal.aborted) {
      try {
        const sub = await store.lease(deps.instanceId, id, owner, cfg.leaseMs);
        if (!sub) {
          if (!(await store.get(deps.instanceId, id))) return; // removed
          await sleep(Math.min(cfg.leaseMs / 3, 5000)); // another process delivers it
          continue;
        }
        const opened = openWithAnyKey(deps.keys, Buffer.from(sub.secretSealed, "base64"), secretAad(sub.instanceId, sub.id));
        if (!opened) {
          await store.noteError(sub.instanceId, sub.id, "the signing secret does not open under the configured master keys");
          log.error({ webhook: id }, "webhook secret does not open under the configured master keys");
          await sleep(cfg.retryMaxMs);
          continue;
        }
        const secret = opened.plain.toString();
        let more = true;
        while (more && !stop.signal.aborted) more = await round(sub, secret);
        // Wait for new events (or a redrive request, seen at the next round).
        await signal.wait(Math.min(1000, cfg.leaseMs / 3), stop.signal);
      } catch (e) {
        if (e instanceof LeaseLost) continue;
        if (stop.signal.aborted) return;
        log.warn({ err: e, webhook: id }, "webhook delivery round failed");
        await sleep(Math.min(cfg.retryMaxMs, 5000));
      }
    }
  }

  const manager = (async () => {
    while (!stop.signal.aborted) {
      try {
        for (const s of await store.list(deps.instanceId)) {
          if (workers.has(s.id)) continue;
          const w = work(s.id).finally(() => workers.delete(s.id));
          workers.set(s.id, w);
        }
      } catch (e) {
        if (!stop.signal.aborted) log.warn({ err: e }, "listing webhook subscriptions failed");
      }
      await sleep(SUBSCRIPTIONS_EVERY_MS);
    }
  })();

  return {
    async close() {
      if (closed) return;
      closed = true;
      stop.abort();
      const held = [...workers.keys()];
      await manager;
      await Promise.all(workers.values());
      await Promise.all(held.map((id) => store.release(deps.instanceId, id, owner).catch(() => undefined)));
    },
  };
}
