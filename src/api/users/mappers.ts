import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Details } from "../../app/core/details.js";
import type { ListMeta, MembershipQuery, MembershipRow, UserRow } from "../../app/users/user-queries.js";
import type { MembershipQuery as MembershipQueryMessage } from "@zitadel/proto/zitadel/user_pb.js";
import { invalidArgument } from "../../domain/errors.js";
import type { StoredEvent } from "../../domain/events.js";
import type { Deps } from "../../app/core/context.js";
import { UserType } from "../../domain/users/user.js";

export const ts = (d: Date | undefined) => (d ? timestampFromDate(d) : undefined);

export const objectDetails = (d: Details) => ({
  sequence: BigInt(d.sequence),
  creationDate: ts(d.creationDate),
  changeDate: ts(d.changeDate),
  resourceOwner: d.resourceOwner,
});

/** zitadel.v1.ListQuery → paging (limit 0 = all). */
export const listInput = (q: { offset: bigint; limit: number; asc: boolean } | undefined) => ({
  offset: Number(q?.offset ?? 0n),
  limit: q?.limit ?? 0,
  asc: q?.asc ?? false,
});

/** ZITADEL's system defaults for the v2 lists' pagination (DefaultQueryLimit, MaxQueryLimit). */
const DEFAULT_QUERY_LIMIT = 100;
const MAX_QUERY_LIMIT = 1000;

/**
 * zitadel.filter.v2(beta).PaginationRequest → paging, as ZITADEL's PaginationPbToQuery: v1's paging
 * with no limit (or 0) read as 100 and more than 1000 refused; the applied limit is what the
 * response reports.
 */
export function paginationInput(p: { offset: bigint; limit: number; asc: boolean } | undefined) {
  const list = listInput(p);
  if (list.limit > MAX_QUERY_LIMIT) throw invalidArgument("QUERY-4M0fs", "Errors.Query.LimitExceeded");
  return { ...list, limit: list.limit || DEFAULT_QUERY_LIMIT };
}

export const listDetails = (m: ListMeta) => ({
  totalResult: BigInt(m.totalResult),
  processedSequence: BigInt(m.processedSequence),
  viewTimestamp: ts(m.viewTimestamp),
});

export const readDetails = (sequence: number, created: Date, changed: Date, resourceOwner: string) =>
  objectDetails({ sequence, creationDate: created, changeDate: changed, resourceOwner });

/** zitadel.user.v1.User. Login names: the plain username (userLoginMustBeDomain is off, ZITADEL's default). */
export const userMessage = (u: UserRow) => ({
  id: u.id,
  details: readDetails(u.sequence, u.createdAt, u.changedAt, u.orgId),
  state: u.state,
  userName: u.userName,
  loginNames: [u.userName],
  preferredLoginName: u.userName,
  type:
    u.type === UserType.machine
      ? { case: "machine" as const, value: { name: u.name, description: u.description, hasSecret: u.hasSecret, accessTokenType: u.accessTokenType } }
      : { case: "human" as const, value: { profile: { displayName: u.name } } },
});

/** zitadel.user.v1.Membership (user_grpc's MembershipToMembershipPb): the display name is the instance's, org's or project's name. */
export const membershipMessage = (userId: string) => (m: MembershipRow) => ({
  userId,
  details: readDetails(m.sequence, m.createdAt, m.changedAt, m.resourceOwner),
  roles: m.roles,
  displayName: m.scopeName,
  type:
    m.scopeType === "instance"
      ? { case: "iam" as const, value: true }
      : m.scopeType === "org"
        ? { case: "orgId" as const, value: m.scopeId }
        : { case: "projectId" as const, value: m.scopeId },
});

/** zitadel.user.v1.MembershipQuery → MembershipQuery; an empty query is invalid (MembershipQueryToQuery). */
export function toMembershipQueries(queries: MembershipQueryMessage[]): MembershipQuery[] {
  return queries.map((q) => {
    switch (q.query.case) {
      case "orgQuery":
        return { kind: "org", orgId: q.query.value.orgId };
      case "projectQuery":
        return { kind: "project", projectId: q.query.value.projectId };
      case "projectGrantQuery":
        return { kind: "projectGrant" };
      case "iamQuery":
        return { kind: "iam" };
      default:
        throw invalidArgument("USER-dsg3z", "Errors.List.Query.Invalid");
    }
  });
}

/** English texts of the event types shown by ListUserChanges (ZITADEL's en.yaml EventTypes). */
export const eventTexts: Record<string, string> = {
  "user.machine.added": "Technical user added",
  "user.machine.changed": "Technical user changed",
  "user.machine.key.added": "Key added",
  "user.machine.key.removed": "Key removed",
  "user.machine.secret.set": "Secret set",
  "user.machine.secret.updated": "Secret hash updated",
  "user.machine.secret.removed": "Secret removed",
  "user.machine.secret.added": "Secret added",
  "user.machine.secret.changed": "Secret changed",
  "user.machine.secret.deleted": "Secret deleted",
  "org.policy.credential.set": "Credential policy set",
  "user.username.changed": "Username changed",
  "user.pat.added": "Personal Access Token added",
  "user.pat.removed": "Personal Access Token removed",
  "user.metadata.set": "User metadata set",
  "user.metadata.removed": "User metadata removed",
  "user.locked": "User locked",
  "user.unlocked": "User unlocked",
  "user.deactivated": "User deactivated",
  "user.reactivated": "User reactivated",
  "user.removed": "User deleted",
  "user.token.removed": "Token removed",
  "org.added": "Organization added",
  "org.domain.added": "Domain added",
  "org.domain.verified": "Domain verified",
  "org.domain.removed": "Domain removed",
  "org.domain.primary.set": "Primary domain set",
  "org.changed": "Organization changed",
  "org.deactivated": "Organization deactivated",
  "org.reactivated": "Organization reactivated",
  "org.removed": "Organization removed",
  "org.member.added": "Organization member added",
  "org.member.changed": "Organization member changed",
  "org.member.removed": "Organization member removed",
  "org.member.cascade.removed": "Organization member cascade removed",
  "project.added": "Project added",
  "project.changed": "Project changed",
  "project.deactivated": "Project deactivated",
  "project.reactivated": "Project reactivated",
  "project.removed": "Project removed",
  "project.role.added": "Project role added",
  "project.role.changed": "Project role changed",
  "project.role.removed": "Project role removed",
  "project.member.added": "Project member added",
  "project.member.changed": "Project member changed",
  "project.member.removed": "Project member removed",
  "project.member.cascade.removed": "Project member cascade removed",
  // --- apps (branch apps) ---
  "project.application.added": "Application added",
  "project.application.changed": "Application changed",
  "project.application.deactivated": "Application deactivated",
  "project.application.reactivated": "Application reactivated",
  "project.application.removed": "Application removed",
  "project.application.config.api.added": "API Configuration added",
  "project.application.config.api.changed": "API Configuration changed",
  "project.application.config.api.secret.changed": "API Configuration secret changed",
  "project.application.oidc.key.added": "Application key added",
  "project.application.oidc.key.removed": "Application key removed",
};

const changeMessage = (e: StoredEvent, editorName: string | undefined) => ({
  changeDate: ts(e.createdAt),
  eventType: { key: `EventTypes.${e.type}`, localizedMessage: eventTexts[e.type] ?? e.type },
  sequence: BigInt(e.sequence),
  editorId: e.editor,
  editorDisplayName: editorName ?? "",
  editorPreferredLoginName: editorName ?? "",
  resourceOwnerId: e.resourceOwner,
});

/** zitadel.change.v1.Change list, with each editor's login name (from the aggregate cache). */
export async function changeMessages(deps: Deps, events: StoredEvent[]) {
  const names = new Map<string, string>();
  for (const id of new Set(events.map((e) => e.editor))) {
    const u = await deps.cache.get(deps.instanceId, "user", id);
    if (u.userName) names.set(id, u.userName);
  }
  return events.map((e) => changeMessage(e, names.get(e.editor)));
}
