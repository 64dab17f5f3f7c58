import type { SearchQuery } from "@zitadel/proto/zitadel/member_pb.js";
import type { MemberQuery, MemberRow, OrgRow } from "../../app/orgs/org-queries.js";
import { invalidArgument } from "../../domain/errors.js";
import { OrgStateNum } from "../../domain/orgs/org.js";
import { readDetails } from "../users/mappers.js";

/** zitadel.org.v1.Org; the resource owner of an org is the org itself. A removed org shows as UNSPECIFIED (org_converter.go). */
export const orgMessage = (o: OrgRow) => ({
  id: o.id,
  details: readDetails(o.sequence, o.createdAt, o.changedAt, o.id),
  state: o.state === OrgStateNum.removed ? OrgStateNum.unspecified : o.state,
  name: o.name,
  primaryDomain: o.primaryDomain,
});

/**
 * zitadel.member.v1.Member. Machines have no email, first or last name; their display name is the
 * machine's name and the preferred login name the username (userLoginMustBeDomain is off).
 */
export const memberMessage = (m: MemberRow) => ({
  userId: m.userId,
  details: readDetails(m.sequence, m.createdAt, m.changedAt, m.scopeId),
  roles: m.roles,
  preferredLoginName: m.userName,
  displayName: m.displayName,
  userType: m.userType,
  userResourceOwner: m.userOrgId,
});

/** zitadel.member.v1.SearchQuery → MemberQuery; an empty query is an invalid request (member converter). */
export function toMemberQueries(queries: SearchQuery[]): MemberQuery[] {
  return queries.map((q) => {
    switch (q.query.case) {
      case "userIdQuery":
        return { kind: "userId", userId: q.query.value.userId };
      case "emailQuery":
      case "firstNameQuery":
      case "lastNameQuery":
        return { kind: "humanText" };
      default:
        throw invalidArgument("MEMBE-7Bb92", "Request is invalid");
    }
  });
}

/** zitadel.v1.ListQuery → paging input (limit 0 = no limit). */
export { listInput } from "../users/mappers.js";
