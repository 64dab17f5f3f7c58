import type {
  BulkRemoveUserMetadataRequest,
  BulkSetUserMetadataRequest,
  GetUserMetadataRequest,
  ListUserMetadataRequest,
  RemoveUserMetadataRequest,
  SetUserMetadataRequest,
} from "@zitadel/proto/zitadel/management_pb.js";
import type { MetadataQuery } from "@zitadel/proto/zitadel/metadata_pb.js";
import * as md from "../../app/users/metadata.js";
import type { ServiceHandlers } from "../pipeline.js";
import { listInput } from "./mappers.js";
import { listDetails, objectDetails, readDetails } from "./mappers.js";

/** zitadel.metadata.v1.Metadata. */
const metadataMessage = (m: md.MetadataRow) => ({
  details: readDetails(m.sequence, m.createdAt, m.changedAt, m.orgId),
  key: m.key,
  value: m.value,
});

/** Only keyQuery exists; an empty query matches everything. */
const keyQueries = (queries: MetadataQuery[]): md.MetadataKeyQuery[] =>
  queries.flatMap((q) => (q.query.case === "keyQuery" ? [{ key: q.query.value.key, method: q.query.value.method }] : []));

/** User metadata (management.proto "User metadata"); values are bytes (base64 in JSON). */
export const metadataHandlers: ServiceHandlers = {
  async setUserMetadata(ctx, req: SetUserMetadataRequest) {
    // The response's `id` is never filled (as ZITADEL).
    return { details: objectDetails(await md.setUserMetadata(ctx.deps, ctx.caller, req.id, req.key, req.value)) };
  },
  async bulkSetUserMetadata(ctx, req: BulkSetUserMetadataRequest) {
    const entries = req.metadata.map((m) => ({ key: m.key, value: m.value }));
    return { details: objectDetails(await md.bulkSetUserMetadata(ctx.deps, ctx.caller, req.id, entries)) };
  },
  async listUserMetadata(ctx, req: ListUserMetadataRequest) {
    const r = await md.listUserMetadata(ctx.deps, ctx.caller, req.id, listInput(req.query), keyQueries(req.queries));
    return { details: listDetails(r.meta), result: r.metadata.map(metadataMessage) };
  },
  async getUserMetadata(ctx, req: GetUserMetadataRequest) {
    return { metadata: metadataMessage(await md.getUserMetadata(ctx.deps, ctx.caller, req.id, req.key)) };
  },
  async removeUserMetadata(ctx, req: RemoveUserMetadataRequest) {
    return { details: objectDetails(await md.removeUserMetadata(ctx.deps, ctx.caller, req.id, req.key)) };
  },
  async bulkRemoveUserMetadata(ctx, req: BulkRemoveUserMetadataRequest) {
    return { details: objectDetails(await md.bulkRemoveUserMetadata(ctx.deps, ctx.caller, req.id, req.keys)) };
  },
};
