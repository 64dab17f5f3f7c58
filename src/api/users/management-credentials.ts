import { timestampDate } from "@bufbuild/protobuf/wkt";
import type {
  AddMachineKeyRequest,
  AddPersonalAccessTokenRequest,
  GetMachineKeyByIDsRequest,
  GetPersonalAccessTokenByIDsRequest,
  ListMachineKeysRequest,
  ListPersonalAccessTokensRequest,
  RemoveMachineKeyRequest,
  RemovePersonalAccessTokenRequest,
} from "@zitadel/proto/zitadel/management_pb.js";
import * as keys from "../../app/users/machine-keys.js";
import * as pats from "../../app/users/pats.js";
import type { ServiceHandlers } from "../pipeline.js";
import { listDetails, listInput, objectDetails, readDetails, ts } from "./mappers.js";


/** zitadel.authn.v1.Key; details.changeDate is the creation date (a key never changes). */
const keyMessage = (k: keys.MachineKeyRow) => ({
  id: k.id,
  details: readDetails(k.sequence, k.createdAt, k.createdAt, k.orgId),
  type: k.type,
  expirationDate: ts(k.expiration),
});

/** zitadel.user.v1.PersonalAccessToken (never the token itself). */
const patMessage = (p: pats.PatRow) => ({
  id: p.id,
  details: readDetails(p.sequence, p.createdAt, p.createdAt, p.orgId),
  expirationDate: ts(p.expiration),
  scopes: p.scopes,
});

/** Machine keys and personal access tokens (management.proto "Machine keys" / "Personal access tokens"). */
export const credentialHandlers: ServiceHandlers = {
  async addMachineKey(ctx, req: AddMachineKeyRequest) {
    const r = await keys.addMachineKey(ctx.deps, ctx.caller, {
      userId: req.userId,
      type: req.type,
      expirationDate: req.expirationDate ? timestampDate(req.expirationDate) : undefined,
      publicKey: req.publicKey,
    });
    return { keyId: r.keyId, keyDetails: r.keyDetails, details: objectDetails(r.details) };
  },
  async getMachineKeyByIDs(ctx, req: GetMachineKeyByIDsRequest) {
    return { key: keyMessage(await keys.getMachineKey(ctx.deps, ctx.caller, req.userId, req.keyId)) };
  },
  async listMachineKeys(ctx, req: ListMachineKeysRequest) {
    const r = await keys.listMachineKeys(ctx.deps, ctx.caller, req.userId, listInput(req.query));
    return { details: listDetails(r.meta), result: r.keys.map(keyMessage) };
  },
  async removeMachineKey(ctx, req: RemoveMachineKeyRequest) {
    return { details: objectDetails(await keys.removeMachineKey(ctx.deps, ctx.caller, req.userId, req.keyId)) };
  },

  async addPersonalAccessToken(ctx, req: AddPersonalAccessTokenRequest) {
    const r = await pats.addPersonalAccessToken(ctx.deps, ctx.caller, req.userId, req.expirationDate ? timestampDate(req.expirationDate) : undefined);
    return { tokenId: r.tokenId, token: r.token, details: objectDetails(r.details) };
  },
  async getPersonalAccessTokenByIDs(ctx, req: GetPersonalAccessTokenByIDsRequest) {
    return { token: patMessage(await pats.getPersonalAccessToken(ctx.deps, ctx.caller, req.userId, req.tokenId)) };
  },
  async listPersonalAccessTokens(ctx, req: ListPersonalAccessTokensRequest) {
    const r = await pats.listPersonalAccessTokens(ctx.deps, ctx.caller, req.userId, listInput(req.query));
    return { details: listDetails(r.meta), result: r.pats.map(patMessage) };
  },
  async removePersonalAccessToken(ctx, req: RemovePersonalAccessTokenRequest) {
    return { details: objectDetails(await pats.removePersonalAccessToken(ctx.deps, ctx.caller, req.userId, req.tokenId)) };
  },
};
