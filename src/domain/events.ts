/** An event as stored: ZITADEL's event type names and payload field names. */
export interface StoredEvent {
  instanceId: string;
  aggregateType: AggregateType;
  aggregateId: string;
  /** Per-aggregate sequence, 1 for the aggregate's first event. */
  sequence: number;
  /** Global position (monotonic across the store). */
  position: number;
  type: string;
  payload: Record<string, unknown>;
  /** The requesting user. */
  editor: string;
  /** The owning org (for org and instance aggregates: their own id). */
  resourceOwner: string;
  createdAt: Date;
}

export type AggregateType = "instance" | "org" | "user";

/** An event a command wants to append. */
export interface NewEvent {
  aggregateType: AggregateType;
  aggregateId: string;
  resourceOwner: string;
  type: string;
  payload?: Record<string, unknown>;
}

/** A uniqueness claim (usernames, org names, members) made in the same transaction as the events. */
export interface UniqueClaim {
  action: "add" | "remove";
  type: string;
  field: string;
  /** Across all instances of the database (e.g. "there is one first instance"). */
  global?: boolean;
  /** Raised when an "add" collides. */
  error?: { kind: "AlreadyExists"; id: string; message: string };
}
