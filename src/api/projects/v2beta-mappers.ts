import type { AppKeyRow, AppRow } from "../../app/projects/app-queries.js";
import type { ProjectGrantRow } from "../../app/projects/project-grant-queries.js";
import type { ProjectRoleRow, ProjectRow } from "../../app/projects/project-queries.js";
import type { ListMeta } from "../../app/core/list-page.js";
import { ProjectStateNum } from "../../domain/projects/project.js";
import { ts } from "../users/mappers.js";

/**
 * zitadel.project.v2beta and zitadel.app.v2beta messages from the rows v1 answers with. The v2beta
 * names of the project flags: authorization_required = projectRoleCheck, project_access_required =
 * hasProjectCheck (ZITADEL's grpc/project/v2beta converters).
 */

export const v2betaProject = (p: ProjectRow) => ({
  id: p.id,
  organizationId: p.orgId,
  creationDate: ts(p.createdAt),
  changeDate: ts(p.changedAt),
  name: p.name,
  state: p.state === ProjectStateNum.removed ? ProjectStateNum.unspecified : p.state,
  projectRoleAssertion: p.projectRoleAssertion,
  authorizationRequired: p.projectRoleCheck,
  projectAccessRequired: p.hasProjectCheck,
  privateLabelingSetting: p.privateLabelingSetting,
});

export const v2betaRole = (r: ProjectRoleRow) => ({
  projectId: r.projectId,
  key: r.key,
  creationDate: ts(r.createdAt),
  changeDate: ts(r.changedAt),
  displayName: r.displayName,
  group: r.group,
});

export const v2betaProjectGrant = (g: ProjectGrantRow) => ({
  organizationId: g.orgId,
  creationDate: ts(g.createdAt),
  changeDate: ts(g.changedAt),
  grantedOrganizationId: g.grantedOrgId,
  grantedOrganizationName: g.grantedOrgName,
  grantedRoleKeys: g.roleKeys,
  projectId: g.projectId,
  projectName: g.projectName,
  state: g.state,
});

/** zitadel.app.v2beta.Application: API applications only (the only kind Portcullis has). */
export const v2betaApp = (a: AppRow) => ({
  id: a.id,
  creationDate: ts(a.createdAt),
  changeDate: ts(a.changedAt),
  state: a.state,
  name: a.name,
  config: { case: "apiConfig" as const, value: { clientId: a.clientId, authMethodType: a.authMethodType } },
});

export const v2betaAppKey = (k: AppKeyRow) => ({
  id: k.id,
  applicationId: k.appId,
  projectId: k.projectId,
  creationDate: ts(k.createdAt),
  organizationId: k.orgId,
  expirationDate: ts(k.expiration),
});

/** zitadel.filter.v2(beta).PaginationResponse: the limit applied is the one asked for (0: all). */
export const pagination = (m: ListMeta, limit: number) => ({ totalResult: BigInt(m.totalResult), appliedLimit: BigInt(limit) });
