import type { Queryable } from "./sql.js";

/** The webhook tables (migration 11): subscriptions with cursor and lease, and the dead-letter list. */

export interface WebhookSubscriptionRow {
  instanceId: string;
  id: string;
  url: string;
  eventTypes: string[];
  aggregateTypes: string[];
  secretSealed: string;
  /** The last position delivered (or passed over by the filter). */
  cursor: number;
  createdAt: Date;
  lastError: string | undefined;
}

export interface DeadLetterRow {
  subscriptionId: string;
  position: number;
  eventType: string;
  attempts: number;
  lastError: string;
  failedAt: Date;
  redrive: boolean;
}

const jsonList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === "string" ? (JSON.parse(v) as string[]) : []);

const toSubscription = (r: Record<string, unknown>): WebhookSubscriptionRow => ({
  instanceId: r.instance_id as string,
  id: r.id as string,
  url: r.url as string,
  eventTypes: jsonList(r.event_types),
  aggregateTypes: jsonList(r.aggregate_types),
  secretSealed: r.secret_sealed as string,
  cursor: Number(r.cursor),
  createdAt: new Date(r.created_at as string | Date),
  lastError: (r.last_error as string | null) ?? undefined,
});

const toDeadLetter = (r: Record<string, unknown>): DeadLetterRow => ({
  subscriptionId: r.subscription_id as string,
  position: Number(r.position),
  eventType: r.event_type as string,
  attempts: Number(r.attempts),
  lastError: r.last_error as string,
  failedAt: new Date(r.failed_at as string | Date),
  redrive: Boolean(r.redrive),
});

const SUB_COLUMNS = "instance_id, id, url, event_types, aggregate_types, secret_sealed, cursor, created_at, last_error";

export function webhookStore(db: Queryable) {
  return {
    async insert(s: Omit<WebhookSubscriptionRow, "lastError">): Promise<void> {
      await db.query(
        `INSERT INTO webhook_subscriptions (instance_id, id, url, event_types, aggregate_types, secret_sealed, cursor, created_at) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8)`,
        [s.instanceId, s.id, s.url, JSON.stringify(s.eventTypes), JSON.stringify(s.aggregateTypes), s.secretSealed, s.cursor, s.createdAt],
      );
    },
    async list(instanceId: string): Promise<WebhookSubscriptionRow[]> {
      const rows = await db.query(`SELECT ${SUB_COLUMNS} FROM webhook_subscriptions WHERE instance_id = $1 ORDER BY created_at, id`, [instanceId]);
      return rows.map(toSubscription);
    },
    async get(instanceId: string, id: string): Promise<WebhookSubscriptionRow | undefined> {
      const rows = await db.query(`SELECT ${SUB_COLUMNS} FROM webhook_subscriptions WHERE instance_id = $1 AND id = $2`, [instanceId, id]);
      return rows[0] ? toSubscription(rows[0]) : undefined;
    },
    /** Removes the subscription and its dead letters; false when there was none. */
    async remove(instanceId: string, id: string): Promise<boolean> {
      await db.query("DELETE FROM webhook_dead_letters WHERE instance_id = $1 AND subscription_id = $2", [instanceId, id]);
      const rows = await db.query("DELETE FROM webhook_subscriptions WHERE instance_id = $1 AND id = $2 RETURNING id", [instanceId, id]);
      return rows.length > 0;
    },
    /**
     * Takes or renews the delivery lease (the database's clock decides): the row when this owner
     * holds it now, undefined when another process does.
     */
    async lease(instanceId: string, id: string, owner: string, leaseMs: number): Promise<WebhookSubscriptionRow | undefined> {
      const rows = await db.query(
        `UPDATE webhook_subscriptions SET lease_owner = $3, lease_until = now() + ($4::double precision) * interval '1 millisecond'
          WHERE instance_id = $1 AND id = $2 AND (lease_owner IS NULL OR lease_owner = $3 OR lease_until < now())
          RETURNING ${SUB_COLUMNS}`,
        [instanceId, id, owner, leaseMs],
      );
      return rows[0] ? toSubscription(rows[0]) : undefined;
    },
    async release(instanceId: string, id: string, owner: string): Promise<void> {
      await db.query("UPDATE webhook_subscriptions SET lease_owner = NULL, lease_until = NULL WHERE instance_id = $1 AND id = $2 AND lease_owner = $3", [instanceId, id, owner]);
    },
    /** Moves the cursor forward, only while this owner holds the lease (a process that lost it writes nothing). */
    async advance(instanceId: string, id: string, owner: string, position: number, lastError: string | null = null): Promise<boolean> {
      const rows = await db.query(
        `UPDATE webhook_subscriptions SET cursor = GREATEST(cursor, $4::bigint), last_error = $5::text WHERE instance_id = $1 AND id = $2 AND lease_owner = $3 AND lease_until >= now() RETURNING id`,
        [instanceId, id, owner, position, lastError],
      );
      return rows.length > 0;
    },
    async noteError(instanceId: string, id: string, lastError: string): Promise<void> {
      await db.query("UPDATE webhook_subscriptions SET last_error = $3 WHERE instance_id = $1 AND id = $2", [instanceId, id, lastError]);
    },
    async deadLetter(instanceId: string, d: Omit<DeadLetterRow, "redrive">): Promise<void> {
      await db.query(
        `INSERT INTO webhook_dead_letters (instance_id, subscription_id, position, event_type, attempts, last_error, failed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
          ON CONFLICT (instance_id, subscription_id, position) DO UPDATE SET attempts = webhook_dead_letters.attempts + EXCLUDED.attempts, last_error = EXCLUDED.last_error, failed_at = EXCLUDED.failed_at, redrive = false`,
        [instanceId, d.subscriptionId, d.position, d.eventType, d.attempts, d.lastError, d.failedAt],
      );
    },
    async deadLetters(instanceId: string, subscriptionId: string): Promise<DeadLetterRow[]> {
      const rows = await db.query("SELECT * FROM webhook_dead_letters WHERE instance_id = $1 AND subscription_id = $2 ORDER BY position", [instanceId, subscriptionId]);
      return rows.map(toDeadLetter);
    },
    /** Marks dead letters (all, or those positions) for another delivery; how many. */
    async requestRedrive(instanceId: string, subscriptionId: string, positions: readonly number[] | undefined): Promise<number> {
      const rows = positions
        ? await db.query("UPDATE webhook_dead_letters SET redrive = true WHERE instance_id = $1 AND subscription_id = $2 AND position = ANY($3::bigint[]) RETURNING position", [instanceId, subscriptionId, [...positions]])
        : await db.query("UPDATE webhook_dead_letters SET redrive = true WHERE instance_id = $1 AND subscription_id = $2 RETURNING position", [instanceId, subscriptionId]);
      return rows.length;
    },
    async delivered(instanceId: string, subscriptionId: string, position: number): Promise<void> {
      await db.query("DELETE FROM webhook_dead_letters WHERE instance_id = $1 AND subscription_id = $2 AND position = $3", [instanceId, subscriptionId, position]);
    },
  };
}

export type WebhookStore = ReturnType<typeof webhookStore>;
