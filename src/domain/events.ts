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

export type AggregateType = "instance" | "org" | "user" | "project" | "usergrant" | "federation_policy";

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

/**
 * A stored event read into its typed payload. Each event type has one payload type, one constructor
 * (writing ZITADEL's wire fields) and one mapper (reading them back, with the defaults of older
 * payloads) in `domain/<aggregate>/events.ts`, as in ZITADEL's internal/repository/*.
 */
export type TypedEvent<T extends string, P> = Omit<StoredEvent, "type" | "payload"> & { type: T; payload: P };

/** A new event from its type's constructor: the type is a literal, so it matches a mapper. */
export type TypedNewEvent<T extends string> = NewEvent & { type: T };

/** Reads a stored payload (possibly written by an older version) into the typed shape of its event type. */
export type PayloadMapper<P> = (raw: Record<string, unknown>) => P;

/** Payload mappers by event type. */
export type PayloadMappers = { readonly [type: string]: PayloadMapper<unknown> };

/** The typed events a mapper table reads: a union discriminated by `type`. */
export type EventsOf<M extends PayloadMappers> = { [T in keyof M & string]: TypedEvent<T, ReturnType<M[T]>> }[keyof M & string];

/** The payload type of one event type in a mapper table. */
export type PayloadOf<M extends PayloadMappers, T extends keyof M> = ReturnType<M[T]>;

/** Narrows a stored event to its typed form with the mapper of its type; undefined for a type the table does not hold. */
export function readEvent<M extends PayloadMappers>(mappers: M, e: StoredEvent): EventsOf<M> | undefined {
  if (!Object.hasOwn(mappers, e.type)) return undefined;
  return { ...e, payload: mappers[e.type]!(e.payload) } as EventsOf<M>;
}

/** Field readers for mappers: absent (or null) fields read as the given default, as the untyped reads did. */
export const text = (v: unknown, absent = ""): string => (v === undefined || v === null ? absent : String(v));
export const int = (v: unknown, absent: number): number => (v === undefined || v === null ? absent : Number(v));
export const texts = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
/** An ISO timestamp as written by the constructors (an absent one reads as an invalid Date, as before). */
export const timestamp = (v: unknown): Date => new Date(String(v));
