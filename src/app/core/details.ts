import type { StoredEvent } from "../../domain/events.js";

/** ObjectDetails as the API reports it (zitadel.v1.ObjectDetails). */
export interface Details {
  sequence: number;
  creationDate?: Date;
  changeDate?: Date;
  resourceOwner: string;
}

/** Writes fill exactly one date, which one depends on the RPC (see the management API notes §7). */
export const createdDetails = (e: StoredEvent): Details => ({ sequence: e.sequence, creationDate: e.createdAt, resourceOwner: e.resourceOwner });
export const changedDetails = (e: StoredEvent): Details => ({ sequence: e.sequence, changeDate: e.createdAt, resourceOwner: e.resourceOwner });

export const lastOf = (events: StoredEvent[]): StoredEvent => {
  const e = events.at(-1);
  if (!e) throw new Error("no event written");
  return e;
};
