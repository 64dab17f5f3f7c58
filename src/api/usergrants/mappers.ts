import type { UserGrantQuery as UserGrantQueryPb } from "@zitadel/proto/zitadel/user_pb.js";
import type { UserGrantQuery, UserGrantRow } from "../../app/usergrants/user-grant-queries.js";
import { invalidArgument } from "../../domain/errors.js";
import { readDetails } from "../users/mappers.js";

/**
 * zitadel.user.v1.UserGrant (ZITADEL's grpc/user UserGrantToPb). Differs in one field on purpose:
 * `state` is the grant's (ACTIVE or INACTIVE) where ZITADEL always answers ACTIVE. The granted org
 * is the org the project was granted to (empty for a grant on the org's own project).
 */
export const userGrantMessage = (g: UserGrantRow) => ({
  id: g.id,
  details: readDetails(g.sequence, g.createdAt, g.changedAt, g.orgId),
  roleKeys: g.roleKeys,
  state: g.state,
  userId: g.userId,
  userName: g.userName,
  displayName: g.displayName,
  orgId: g.orgId,
  orgName: g.orgName,
  orgDomain: g.orgDomain,
  projectId: g.projectId,
  projectName: g.projectName,
  projectGrantId: g.projectGrantId,
  preferredLoginName: g.userName,
  userType: g.userType,
  ...(g.projectGrantId ? { grantedOrgId: g.orgId, grantedOrgName: g.orgName, grantedOrgDomain: g.orgDomain } : {}),
});

/** zitadel.user.v1.UserGrantQuery → the store's; withGranted (any value, as ZITADEL) widens the owner condition. */
export function toUserGrantQueries(queries: UserGrantQueryPb[]): { withGranted: boolean; queries: UserGrantQuery[] } {
  let withGranted = false;
  const out: UserGrantQuery[] = [];
  for (const q of queries) {
    const c = q.query;
    switch (c.case) {
      case "projectIdQuery":
        out.push({ kind: "projectId", projectId: c.value.projectId });
        break;
      case "userIdQuery":
        out.push({ kind: "userId", userId: c.value.userId });
        break;
      case "projectGrantIdQuery":
        out.push({ kind: "projectGrantId", projectGrantId: c.value.projectGrantId });
        break;
      case "roleKeyQuery":
        out.push({ kind: "roleKey", roleKey: c.value.roleKey });
        break;
      case "userTypeQuery":
        out.push({ kind: "userType", type: c.value.type });
        break;
      case "withGrantedQuery":
        withGranted = true;
        break;
      case "userNameQuery":
        out.push({ kind: "text", field: "userName", value: c.value.userName, method: c.value.method });
        break;
      case "firstNameQuery":
        out.push({ kind: "text", field: "firstName", value: c.value.firstName, method: c.value.method });
        break;
      case "lastNameQuery":
        out.push({ kind: "text", field: "lastName", value: c.value.lastName, method: c.value.method });
        break;
      case "emailQuery":
        out.push({ kind: "text", field: "email", value: c.value.email, method: c.value.method });
        break;
      case "orgNameQuery":
        out.push({ kind: "text", field: "orgName", value: c.value.orgName, method: c.value.method });
        break;
      case "orgDomainQuery":
        out.push({ kind: "text", field: "orgDomain", value: c.value.orgDomain, method: c.value.method });
        break;
      case "projectNameQuery":
        out.push({ kind: "text", field: "projectName", value: c.value.projectName, method: c.value.method });
        break;
      case "displayNameQuery":
        out.push({ kind: "text", field: "displayName", value: c.value.displayName, method: c.value.method });
        break;
      default:
        throw invalidArgument("USERGRANT-q0ery", "List.Query.Invalid");
    }
  }
  return { withGranted, queries: out };
}
