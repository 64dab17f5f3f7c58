import type {
  AddMachineUserRequest,
  DeactivateUserRequest,
  GenerateMachineSecretRequest,
  GetUserByIDRequest,
  IsUserUniqueRequest,
  ListUserChangesRequest,
  ListUserMembershipsRequest,
  ListUsersRequest,
  RemoveMachineSecretRequest,
  RemoveUserRequest,
  UpdateMachineRequest,
  UpdateUserNameRequest,
} from "@zitadel/proto/zitadel/management_pb.js";
import type { SearchQuery } from "@zitadel/proto/zitadel/user_pb.js";
import * as users from "../../app/users/users.js";
import * as queries from "../../app/users/user-queries.js";
import type { ServiceHandlers } from "../pipeline.js";
import { changeMessages, listDetails, listInput, membershipMessage, objectDetails, toMembershipQueries, userMessage } from "./mappers.js";
import { reusable } from "../response-memo.js";

/** GetUserByID answers per user row (one row object per user state, see rowOf): built and encoded once. */
const userResponses = new WeakMap<queries.UserRow, { user: ReturnType<typeof userMessage> }>();
function userResponse(row: queries.UserRow) {
  let r = userResponses.get(row);
  if (!r) userResponses.set(row, (r = reusable({ user: userMessage(row) })));
  return r;
}

function toUserQuery(q: SearchQuery): queries.UserQuery {
  const c = q.query;
  switch (c.case) {
    case "userNameQuery":
      return { kind: "text", field: "userName", value: c.value.userName, method: c.value.method };
    case "loginNameQuery":
      return { kind: "text", field: "loginName", value: c.value.loginName, method: c.value.method };
    case "displayNameQuery":
      return { kind: "text", field: "displayName", value: c.value.displayName, method: c.value.method };
    case "firstNameQuery":
    case "lastNameQuery":
    case "nickNameQuery":
    case "emailQuery":
      return { kind: "text", field: "humanOnly", value: "", method: 0 };
    case "stateQuery":
      return { kind: "state", state: c.value.state };
    case "typeQuery":
      return { kind: "type", type: c.value.type };
    case "inUserIdsQuery":
      return { kind: "ids", ids: c.value.userIds };
    case "inUserEmailsQuery":
      return { kind: "emails", emails: c.value.userEmails };
    case "orQuery":
      return { kind: "or", queries: c.value.queries.map(toUserQuery) };
    case "andQuery":
      return { kind: "and", queries: c.value.queries.map(toUserQuery) };
    case "notQuery":
      return { kind: "not", query: c.value.query ? toUserQuery(c.value.query) : { kind: "and", queries: [] } };
    default:
      return { kind: "and", queries: [] };
  }
}


export const userHandlers: ServiceHandlers = {
  async addMachineUser(ctx, req: AddMachineUserRequest) {
    const r = await users.addMachineUser(ctx.deps, ctx.caller, {
      userName: req.userName,
      name: req.name,
      description: req.description,
      accessTokenType: req.accessTokenType,
      userId: req.userId,
    });
    return { userId: r.userId, details: objectDetails(r.details) };
  },
  async updateMachine(ctx, req: UpdateMachineRequest) {
    const d = await users.updateMachine(ctx.deps, ctx.caller, {
      userId: req.userId,
      name: req.name,
      description: req.description,
      accessTokenType: req.accessTokenType,
    });
    return { details: objectDetails(d) };
  },
  async generateMachineSecret(ctx, req: GenerateMachineSecretRequest) {
    const r = await users.generateMachineSecret(ctx.deps, ctx.caller, req.userId);
    return { clientId: r.clientId, clientSecret: r.clientSecret, details: objectDetails(r.details) };
  },
  async removeMachineSecret(ctx, req: RemoveMachineSecretRequest) {
    return { details: objectDetails(await users.removeMachineSecret(ctx.deps, ctx.caller, req.userId)) };
  },
  getUserByID(ctx, req: GetUserByIDRequest) {
    const row = queries.getUserById(ctx.deps, ctx.caller, req.id);
    return row instanceof Promise ? row.then(userResponse) : userResponse(row);
  },
  async listUsers(ctx, req: ListUsersRequest) {
    const r = await queries.listUsers(ctx.deps, ctx.caller, listInput(req.query), req.sortingColumn, req.queries.map(toUserQuery));
    return { details: listDetails(r.meta), sortingColumn: req.sortingColumn, result: r.users.map(userMessage) };
  },
  async isUserUnique(ctx, req: IsUserUniqueRequest) {
    return { isUnique: await queries.isUserUnique(ctx.deps, req.userName, req.email) };
  },
  async listUserChanges(ctx, req: ListUserChangesRequest) {
    const events = await queries.listUserChanges(ctx.deps, ctx.caller, req.userId, {
      sequence: Number(req.query?.sequence ?? 0n),
      limit: req.query?.limit ?? 0,
      asc: req.query?.asc ?? false,
    });
    return { result: await changeMessages(ctx.deps, events) };
  },
  async listUserMemberships(ctx, req: ListUserMembershipsRequest) {
    const r = await queries.listUserMemberships(ctx.deps, ctx.caller, req.userId, listInput(req.query), toMembershipQueries(req.queries));
    return { details: listDetails(r.meta), result: r.memberships.map(membershipMessage(req.userId)) };
  },
  async updateUserName(ctx, req: UpdateUserNameRequest) {
    return { details: objectDetails(await users.updateUserName(ctx.deps, ctx.caller, req.userId, req.userName)) };
  },
  async deactivateUser(ctx, req: DeactivateUserRequest) {
    return { details: objectDetails(await users.changeUserState(ctx.deps, ctx.caller, req.id, "deactivate")) };
  },
  async reactivateUser(ctx, req: DeactivateUserRequest) {
    return { details: objectDetails(await users.changeUserState(ctx.deps, ctx.caller, req.id, "reactivate")) };
  },
  async lockUser(ctx, req: DeactivateUserRequest) {
    return { details: objectDetails(await users.changeUserState(ctx.deps, ctx.caller, req.id, "lock")) };
  },
  async unlockUser(ctx, req: DeactivateUserRequest) {
    return { details: objectDetails(await users.changeUserState(ctx.deps, ctx.caller, req.id, "unlock")) };
  },
  async removeUser(ctx, req: RemoveUserRequest) {
    return { details: objectDetails(await users.removeUser(ctx.deps, ctx.caller, req.id)) };
  },
};
