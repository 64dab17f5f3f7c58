import type { ListMeta, UserRow } from "../../app/users/user-queries.js";
import type { Details } from "../../app/core/details.js";
import type { MachineKeyRow, PatRow } from "../../app/users/user-search.js";
import { UserStateNum, UserType } from "../../domain/users/user.js";
import { readDetails, ts } from "./mappers.js";

/**
 * zitadel.user.v2 messages from the same rows v1 answers with. zitadel.object.v2.Details has v1's
 * fields (sequence, change_date, resource_owner, creation_date), so v1's detail mappers serve both.
 */

/** zitadel.user.v2.UserState numbers INITIAL 5 where v1 has 6; the others are the same. */
export const v2UserState = (state: number) => (state === UserStateNum.initial ? 5 : state);
export const v1UserState = (state: number) => (state === 5 ? UserStateNum.initial : state);

/** zitadel.user.v2.User. Login names: the plain username (userLoginMustBeDomain is off, ZITADEL's default). */
export const v2UserMessage = (u: UserRow) => ({
  userId: u.id,
  details: readDetails(u.sequence, u.createdAt, u.changedAt, u.orgId),
  state: v2UserState(u.state),
  username: u.userName,
  loginNames: [u.userName],
  preferredLoginName: u.userName,
  type:
    u.type === UserType.machine
      ? { case: "machine" as const, value: { name: u.name, description: u.description, hasSecret: u.hasSecret, accessTokenType: u.accessTokenType } }
      : { case: "human" as const, value: { userId: u.id, username: u.userName, profile: { displayName: u.name } } },
});

/** zitadel.object.v2.ListDetails. */
export const v2ListDetails = (m: ListMeta) => ({
  totalResult: BigInt(m.totalResult),
  processedSequence: BigInt(m.processedSequence),
  timestamp: ts(m.viewTimestamp),
});

/** zitadel.filter.v2.PaginationResponse: the limit applied is the one asked for (0: all, as v1's lists). */
export const v2Pagination = (m: ListMeta, limit: number) => ({ totalResult: BigInt(m.totalResult), appliedLimit: BigInt(limit) });

/** The date a write's details carry (v1 commands fill either the creation or the change date). */
export const dateOf = (d: Details) => d.changeDate ?? d.creationDate;
export const eventDate = (d: Details) => ts(dateOf(d));

/** zitadel.user.v2.Key (a key never changes: its change date is its creation date). */
export const v2KeyMessage = (k: MachineKeyRow) => ({
  creationDate: ts(k.createdAt),
  changeDate: ts(k.createdAt),
  id: k.id,
  userId: k.userId,
  organizationId: k.orgId,
  expirationDate: ts(k.expiration),
});

/** zitadel.user.v2.PersonalAccessToken (never the token itself). */
export const v2PatMessage = (p: PatRow) => ({
  creationDate: ts(p.createdAt),
  changeDate: ts(p.createdAt),
  id: p.id,
  userId: p.userId,
  organizationId: p.orgId,
  expirationDate: ts(p.expiration),
});
