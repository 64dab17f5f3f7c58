/**
 * The LISTEN client of the PostgreSQL adapter: one dedicated long-lived connection for all
 * channels. It reconnects with backoff, re-issues every LISTEN and then calls the subscribers'
 * `onReconnect` (notifications may have been missed meanwhile).
 */
import pg from "pg";
import { Mutex } from "./mutex.js";
import { withTimeout } from "./timeout.js";

const CLOSE_TIMEOUT_MS = 5_000;
const LISTEN_HEARTBEAT_MS = 15_000;
const LISTEN_BACKOFF_MIN_MS = 250;
const LISTEN_BACKOFF_MAX_MS = 10_000;

const CHANNEL = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** Validates a channel name and quotes it as an identifier (so it is case-sensitive). */
export function quoteChannel(channel: string): string {
  if (!CHANNEL.test(channel)) throw new TypeError(`invalid LISTEN channel name ${JSON.stringify(channel)}`);
  return `"${channel}"`;
}

interface Subscription {
  channel: string;
  onMessage: (payload: string) => void;
  onReconnect: (() => void) | undefined;
  /** Set when notifications may have been missed; onReconnect is due after the next (re)connect. */
  missed: boolean;
}

export class Listener {
  private client: pg.Client | undefined;
  private listening = new Set<string>();
  private readonly subs = new Map<string, Set<Subscription>>();
  private readonly queue = new Mutex();
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closed = false;

  constructor(private readonly config: pg.ClientConfig) {}

  async subscribe(channel: string, onMessage: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>> {
    quoteChannel(channel);
    const sub: Subscription = { channel, onMessage, onReconnect, missed: false };
    let set = this.subs.get(channel);
    if (!set) this.subs.set(channel, (set = new Set()));
    set.add(sub);
    await this.queue.run(() => this.sync());
    // Not listening yet (database down): the subscription stays; onReconnect follows the reconnect.
    if (!this.client || !this.listening.has(channel)) sub.missed = true;

    let removed = false;
    return async () => {
      if (removed) return;
      removed = true;
      const s = this.subs.get(channel);
      s?.delete(sub);
      if (s && s.size === 0) this.subs.delete(channel);
      await this.queue.run(() => this.sync());
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await withTimeout(this.queue.run(() => this.sync()), CLOSE_TIMEOUT_MS, undefined);
  }

  /** Brings the connection and its LISTENs in line with the subscriptions. Runs in the queue. */
  private async sync(): Promise<void> {
    if (this.closed || this.subs.size === 0) {
      this.stopClient();
      return;
    }
    let reconnected = false;
    if (!this.client) {
      try {
        await this.connect();
        reconnected = true;
      } catch {
        this.scheduleRetry();
        return;
      }
    }
    const client = this.client;
    if (!client) return;
    try {
      for (const channel of this.subs.keys()) {
        if (!this.listening.has(channel)) {
          await client.query(`LISTEN ${quoteChannel(channel)}`);
          this.listening.add(channel);
        }
      }
      for (const channel of [...this.listening]) {
        if (!this.subs.has(channel)) {
          await client.query(`UNLISTEN ${quoteChannel(channel)}`);
          this.listening.delete(channel);
        }
      }
    } catch (e) {
      this.lost(client, e);
      return;
    }
    this.attempt = 0;
    if (reconnected) {
      for (const set of this.subs.values())
        for (const sub of set)
          if (sub.missed) {
            sub.missed = false;
            try {
              sub.onReconnect?.();
            } catch (e) {
              process.emitWarning(`LISTEN onReconnect callback threw: ${String(e)}`);
            }
          }
    }
  }

  private async connect(): Promise<void> {
    const c = new pg.Client(this.config);
    c.on("error", (e) => this.lost(c, e));
    c.on("end", () => this.lost(c, undefined));
    c.on("notification", (m) => this.dispatch(m.channel, m.payload ?? ""));
    try {
      await c.connect();
    } catch (e) {
      c.end().catch(() => undefined);
      throw e;
    }
    if (this.closed) {
      c.end().catch(() => undefined);
      throw new Error("closed");
    }
    this.client = c;
    this.listening = new Set();
    this.heartbeat = setInterval(() => {
      void this.queue.run(async () => {
        if (this.client !== c) return;
        try {
          await c.query("SELECT 1");
        } catch (e) {
          this.lost(c, e);
        }
      });
    }, LISTEN_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private dispatch(channel: string, payload: string): void {
    const set = this.subs.get(channel);
    if (!set) return;
    for (const sub of [...set]) {
      try {
        sub.onMessage(payload);
      } catch (e) {
        process.emitWarning(`LISTEN ${channel} callback threw: ${String(e)}`);
      }
    }
  }

  /** The connection died: forget it, mark every subscription as having missed messages, retry. */
  private lost(c: pg.Client, _e: unknown): void {
    if (this.client !== c) return;
    this.client = undefined;
    this.listening = new Set();
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    c.end().catch(() => undefined);
    for (const set of this.subs.values()) for (const sub of set) sub.missed = true;
    this.scheduleRetry();
  }

  private stopClient(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const c = this.client;
    this.client = undefined;
    this.listening = new Set();
    if (c) void withTimeout(c.end().catch(() => undefined), CLOSE_TIMEOUT_MS, undefined);
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer || this.subs.size === 0) return;
    const base = Math.min(LISTEN_BACKOFF_MAX_MS, LISTEN_BACKOFF_MIN_MS * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 16);
    const delay = base / 2 + Math.random() * (base / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.queue.run(() => this.sync());
    }, delay);
    this.retryTimer.unref();
  }
}
