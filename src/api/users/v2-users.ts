import { timestampDate } from "@bufbuild/protobuf/wkt";
import type {
  AddKeyRequest,
  AddPersonalAccessTokenRequest,
  AddSecretRequest,
  CreateUserRequest,
  DeleteUserMetadataRequest,
  DeleteUserRequest,
  GetUserByIDRequest,
  ListKeysRequest,
  ListPersonalAccessTokensRequest,
  ListUserMetadataRequest,
  ListUsersRequest,
  RemoveKeyRequest,
  RemovePersonalAccessTokenRequest,
  RemoveSecretRequest,
  SetUserMetadataRequest,
  UpdateUserRequest,
} from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";
import type { KeysSearchFilter } from "@zitadel/proto/zitadel/user/v2/key_pb.js";
import type { PersonalAccessTokensSearchFilter } from "@zitadel/proto/zitadel/user/v2/pat_pb.js";
import type { SearchQuery } from "@zitadel/proto/zitadel/user/v2/query_pb.js";
import { authorizeInOrg, orgsWithPermission } from "../../app/core/authz.js";
import type { Caller } from "../../app/core/context.js";
import * as keys from "../../app/users/machine-keys.js";
import * as md from "../../app/users/metadata.js";
import * as pats from "../../app/users/pats.js";
import * as queries from "../../app/users/user-queries.js";
import * as search from "../../app/users/user-search.js";
import * as users from "../../app/users/users.js";
import { DomainError } from "../../domain/errors.js";
import { checkDisplayName } from "../../domain/users/rules.js";
import type { CallContext, ServiceHandlers } from "../pipeline.js";
import { listInput, paginationInput, objectDetails, readDetails, ts } from "./mappers.js";
import { dateOf, eventDate, v1UserState, v2KeyMessage, v2ListDetails, v2Pagination, v2PatMessage, v2UserMessage } from "./v2-mappers.js";

/**
 * zitadel.user.v2.UserService, machine users (ZITADEL internal/api/grpc/user/v2): the same commands
 * and read models as ManagementService, authorized as v2 does — in the org the user belongs to, with
 * the permission ZITADEL's v2 command checks (user.write, user.delete, user.read), acting on oneself
 * allowed (command/permission_checks.go checkPermissionOnUser). x-zitadel-orgid plays no part.
 */

const humanUnsupported = (method: string) =>
  new DomainError("Unimplemented", "API-unimpl", `zitadel.user.v2.UserService.${method} with a human user is not implemented by Portcullis`);

/**
 * The Caller acting on user `userId`: authorized in the user's org. An unknown user gets a Caller in
 * no org, so the command answers with its own not-found error (ZITADEL's v2 commands load the user
 * before they check the permission) and can never act on a user created meanwhile.
 */
async function onUser(ctx: CallContext, userId: string, permission: string): Promise<Caller> {
  const orgId = await search.resourceOwnerOfUser(ctx.deps, userId);
  if (orgId === undefined) return { ...ctx.caller, orgId: "" };
  return authorizeInOrg(ctx.deps, ctx.principal, orgId, permission, { selfId: userId });
}

function toUserQuery(q: SearchQuery): search.UserQuery {
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
    case "phoneQuery":
      return { kind: "text", field: "humanOnly", value: "", method: 0 };
    case "stateQuery":
      return { kind: "state", state: v1UserState(c.value.state) };
    case "typeQuery":
      return { kind: "type", type: c.value.type };
    case "inUserIdsQuery":
      return { kind: "ids", ids: c.value.userIds };
    case "inUserEmailsQuery":
      return { kind: "emails", emails: c.value.userEmails };
    case "organizationIdQuery":
      return { kind: "org", orgId: c.value.organizationId };
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

/** zitadel.user.v2.UserFieldName → sort; unspecified (and the fields of humans) sort by id. */
const userSorts: Record<number, search.UserSort> = { 1: "userName", 5: "displayName", 7: "state", 8: "type", 9: "createdAt" };

/** KeyFieldName / PersonalAccessTokenFieldName → sort; unspecified: creation order. */
const credentialSorts: Record<number, search.CredentialSort> = { 1: "createdAt", 2: "id", 3: "userId", 4: "orgId", 5: "expiration" };

function toCredentialFilter(f: KeysSearchFilter | PersonalAccessTokensSearchFilter): search.CredentialFilter | undefined {
  const c = f.filter;
  switch (c.case) {
    case "keyIdFilter":
    case "tokenIdFilter":
      return { kind: "id", value: c.value.id };
    case "userIdFilter":
      return { kind: "userId", value: c.value.id };
    case "organizationIdFilter":
      return { kind: "orgId", value: c.value.id };
    case "createdDateFilter":
    case "expirationDateFilter":
      return {
        kind: c.case === "createdDateFilter" ? "createdAt" : "expiration",
        at: c.value.timestamp ? timestampDate(c.value.timestamp) : new Date(0),
        method: c.value.method,
      };
    default:
      return undefined;
  }
}

const credentialFilters = (filters: (KeysSearchFilter | PersonalAccessTokensSearchFilter)[]) =>
  filters.flatMap((f) => {
    const r = toCredentialFilter(f);
    return r ? [r] : [];
  });

export const userV2Handlers: ServiceHandlers = {
  async createUser(ctx, req: CreateUserRequest) {
    if (req.userType.case !== "machine") throw humanUnsupported("CreateUser");
    const machine = req.userType.value;
    const caller = await authorizeInOrg(ctx.deps, ctx.principal, req.organizationId, "user.write");
    const userId = req.userId ?? ctx.deps.newId();
    const r = await users.addMachineUser(ctx.deps, caller, {
      // AddMachineWithUsernameToIDFallback: no username, the user id is the username.
      userName: req.username ?? userId,
      name: machine.name,
      description: machine.description ?? "",
      accessTokenType: 0,
      userId,
    });
    return { id: r.userId, creationDate: eventDate(r.details) };
  },

  async getUserByID(ctx, req: GetUserByIDRequest) {
    const caller = await onUser(ctx, req.userId, "user.read");
    const row = await queries.getUserById(ctx.deps, caller, req.userId);
    return { details: readDetails(row.sequence, row.createdAt, row.changedAt, row.orgId), user: v2UserMessage(row) };
  },

  async listUsers(ctx, req: ListUsersRequest) {
    const orgs = await orgsWithPermission(ctx.deps, ctx.principal, "user.read");
    const r = await search.searchUsers(ctx.deps, orgs, listInput(req.query), userSorts[req.sortingColumn] ?? "id", req.queries.map(toUserQuery));
    return { details: v2ListDetails(r.meta), sortingColumn: req.sortingColumn, result: r.users.map(v2UserMessage) };
  },

  /** Machines: username, name and description, each only when given (ZITADEL's ChangeUserMachine). */
  async updateUser(ctx, req: UpdateUserRequest) {
    if (req.userType.case === "human") throw humanUnsupported("UpdateUser");
    const caller = await onUser(ctx, req.userId, "user.write");
    const current = await queries.getUserById(ctx.deps, caller, req.userId);
    const machine = req.userType.case === "machine" ? req.userType.value : undefined;
    const name = machine?.name ?? current.name;
    const description = machine?.description ?? current.description;
    const renamed = req.username !== undefined && req.username !== current.userName;
    const changes = name !== current.name || description !== current.description;
    // Two commands where ZITADEL pushes once: the name is checked before either writes, and the
    // username (whose claim may be taken) goes first, so a refused call writes nothing.
    if (changes && name !== current.name) checkDisplayName(name);
    let changed: Date | undefined;
    if (renamed) changed = dateOf(await users.updateUserName(ctx.deps, caller, req.userId, req.username!));
    if (changes) {
      const d = await users.updateMachine(ctx.deps, caller, { userId: req.userId, name, description, accessTokenType: current.accessTokenType });
      changed = dateOf(d);
    }
    return { changeDate: ts(changed ?? current.changedAt) };
  },

  async deactivateUser(ctx, req: { userId: string }) {
    const caller = await onUser(ctx, req.userId, "user.write");
    return { details: objectDetails(await v2Errors(users.changeUserState(ctx.deps, caller, req.userId, "deactivate"))) };
  },
  async reactivateUser(ctx, req: { userId: string }) {
    const caller = await onUser(ctx, req.userId, "user.write");
    return { details: objectDetails(await v2Errors(users.changeUserState(ctx.deps, caller, req.userId, "reactivate"))) };
  },
  async lockUser(ctx, req: { userId: string }) {
    const caller = await onUser(ctx, req.userId, "user.write");
    return { details: objectDetails(await v2Errors(users.changeUserState(ctx.deps, caller, req.userId, "lock"))) };
  },
  async unlockUser(ctx, req: { userId: string }) {
    const caller = await onUser(ctx, req.userId, "user.write");
    return { details: objectDetails(await v2Errors(users.changeUserState(ctx.deps, caller, req.userId, "unlock"))) };
  },
  async deleteUser(ctx, req: DeleteUserRequest) {
    const caller = await onUser(ctx, req.userId, "user.delete");
    return { details: objectDetails(await v2Errors(users.removeUser(ctx.deps, caller, req.userId))) };
  },

  async addSecret(ctx, req: AddSecretRequest) {
    const r = await users.generateMachineSecret(ctx.deps, await onUser(ctx, req.userId, "user.write"), req.userId);
    return { creationDate: eventDate(r.details), clientSecret: r.clientSecret };
  },
  async removeSecret(ctx, req: RemoveSecretRequest) {
    const d = await users.removeMachineSecret(ctx.deps, await onUser(ctx, req.userId, "user.write"), req.userId);
    return { deletionDate: eventDate(d) };
  },

  /** The expiration date is required (the proto's validate rule, checked before the handler). */
  async addKey(ctx, req: AddKeyRequest) {
    const r = await keys.addMachineKey(ctx.deps, await onUser(ctx, req.userId, "user.write"), {
      userId: req.userId,
      type: keys.KEY_TYPE_JSON,
      expirationDate: req.expirationDate ? timestampDate(req.expirationDate) : undefined,
      publicKey: req.publicKey,
    });
    return { creationDate: eventDate(r.details), keyId: r.keyId, keyContent: r.keyDetails };
  },
  async removeKey(ctx, req: RemoveKeyRequest) {
    const d = await keys.removeMachineKey(ctx.deps, await onUser(ctx, req.userId, "user.write"), req.userId, req.keyId);
    return { deletionDate: eventDate(d) };
  },
  async listKeys(ctx, req: ListKeysRequest) {
    const orgs = await orgsWithPermission(ctx.deps, ctx.principal, "user.read");
    const list = paginationInput(req.pagination);
    const r = await search.searchMachineKeys(ctx.deps, orgs, list, credentialSorts[req.sortingColumn ?? 0] ?? "createdAt", credentialFilters(req.filters));
    return { pagination: v2Pagination(r.meta, list.limit), result: r.keys.map(v2KeyMessage) };
  },

  /** The expiration date is required (the proto's validate rule, checked before the handler). */
  async addPersonalAccessToken(ctx, req: AddPersonalAccessTokenRequest) {
    const caller = await onUser(ctx, req.userId, "user.write");
    const r = await pats.addPersonalAccessToken(ctx.deps, caller, req.userId, req.expirationDate ? timestampDate(req.expirationDate) : undefined);
    return { creationDate: eventDate(r.details), tokenId: r.tokenId, token: r.token };
  },
  async removePersonalAccessToken(ctx, req: RemovePersonalAccessTokenRequest) {
    const d = await pats.removePersonalAccessToken(ctx.deps, await onUser(ctx, req.userId, "user.write"), req.userId, req.tokenId);
    return { deletionDate: eventDate(d) };
  },
  async listPersonalAccessTokens(ctx, req: ListPersonalAccessTokensRequest) {
    const orgs = await orgsWithPermission(ctx.deps, ctx.principal, "user.read");
    const list = paginationInput(req.pagination);
    const r = await search.searchPersonalAccessTokens(ctx.deps, orgs, list, credentialSorts[req.sortingColumn ?? 0] ?? "createdAt", credentialFilters(req.filters));
    return { pagination: v2Pagination(r.meta, list.limit), result: r.pats.map(v2PatMessage) };
  },

  async setUserMetadata(ctx, req: SetUserMetadataRequest) {
    const caller = await onUser(ctx, req.userId, "user.write");
    const d = await md.bulkSetUserMetadata(ctx.deps, caller, req.userId, req.metadata.map((m) => ({ key: m.key, value: m.value })));
    return { setDate: eventDate(d) };
  },
  async listUserMetadata(ctx, req: ListUserMetadataRequest) {
    const caller = await onUser(ctx, req.userId, "user.read");
    const list = paginationInput(req.pagination);
    const keyQueries = req.filters.flatMap((f) => (f.filter.case === "keyFilter" ? [{ key: f.filter.value.key, method: f.filter.value.method }] : []));
    const r = await md.listUserMetadata(ctx.deps, caller, req.userId, list, keyQueries);
    return {
      pagination: v2Pagination(r.meta, list.limit),
      metadata: r.metadata.map((m) => ({ creationDate: ts(m.createdAt), changeDate: ts(m.changedAt), key: m.key, value: m.value })),
    };
  },
  async deleteUserMetadata(ctx, req: DeleteUserMetadataRequest) {
    const d = await md.bulkRemoveUserMetadata(ctx.deps, await onUser(ctx, req.userId, "user.write"), req.userId, req.keys);
    return { deletionDate: eventDate(d) };
  },
};

/**
 * ZITADEL's v2 commands (internal/command/user_v2.go) answer the state changes and DeleteUser with
 * their own error ids and i18n keys where the shared commands answer with v1's: translated here, at
 * the v2 edge, by the v1 id.
 */
const V2_USER_ERRORS: Readonly<Record<string, [DomainError["kind"], string, string]>> = {
  "COMMAND-3M9ds": ["NotFound", "COMMAND-5gp2p62iin", "Errors.User.NotFound"],
  "COMMAND-ke0fw": ["FailedPrecondition", "COMMAND-gvx4kct9r2", "Errors.User.CantDeactivateInitial"],
  "COMMAND-5M0sf": ["FailedPrecondition", "COMMAND-5gunjw0cd7", "Errors.User.AlreadyInactive"],
  "COMMAND-4M0sd": ["NotFound", "COMMAND-9hy5kzbuk6", "Errors.User.NotFound"],
  "COMMAND-6M0sf": ["FailedPrecondition", "COMMAND-s5qqcz97hf", "Errors.User.NotInactive"],
  "COMMAND-5M9fs": ["NotFound", "COMMAND-450yxuqrh1", "Errors.User.NotFound"],
  "COMMAND-3NN8v": ["FailedPrecondition", "COMMAND-lgws8wtsqf", "Errors.User.ShouldBeActiveOrInitial"],
  "COMMAND-M0dos": ["NotFound", "COMMAND-x377t913pw", "Errors.User.NotFound"],
  "COMMAND-4M0ds": ["FailedPrecondition", "COMMAND-olb9vb0oca", "Errors.User.NotLocked"],
  "COMMAND-m9od": ["NotFound", "COMMAND-bd4ir1mblj", "Errors.User.NotFound"],
};

function v2Errors<T>(p: Promise<T>): Promise<T> {
  return p.catch((e: unknown) => {
    const v2 = e instanceof DomainError ? V2_USER_ERRORS[e.id] : undefined;
    throw v2 ? new DomainError(v2[0], v2[1], v2[2]) : e;
  });
}
