import type { Page, PageRequest } from "../../store/read-models/index.js";
import type { Deps } from "./context.js";

/** The API's list options (zitadel.v1.ListQuery). */
export interface ListInput {
  offset: number;
  limit: number;
  asc: boolean;
}

/** zitadel.v1.ListDetails: processedSequence is the store's last position, viewTimestamp "now" (read-your-writes). */
export interface ListMeta {
  totalResult: number;
  processedSequence: number;
  viewTimestamp: Date;
}

export async function listMeta(deps: Deps, total: number): Promise<ListMeta> {
  return { totalResult: total, processedSequence: await deps.store.lastPosition(), viewTimestamp: deps.clock() };
}

/**
 * One page of a read model with ZITADEL's ListDetails: `totalResult` counts every match
 * regardless of offset/limit (limit 0 = all). The sort direction (`asc`) is the read's own business.
 */
export async function listPage<T>(deps: Deps, list: ListInput, read: (page: PageRequest) => Promise<Page<T>>): Promise<{ items: T[]; meta: ListMeta }> {
  const page = await read({ offset: list.offset, limit: list.limit });
  return { items: page.items, meta: await listMeta(deps, page.total) };
}
