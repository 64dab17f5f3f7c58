import type { Queryable } from "../sql.js";
import { appReads } from "./apps.js";
import { changeReads } from "./changes.js";
import { credentialReads } from "./credentials.js";
import { eventReads } from "./events.js";
import { federationReads } from "./federation.js";
import { instanceReads } from "./instance.js";
import { machineKeyReads } from "./machine-keys.js";
import { machineSecretReads } from "./machine-secrets.js";
import { memberReads } from "./members.js";
import { metadataReads } from "./metadata.js";
import { orgReads } from "./orgs.js";
import { patReads } from "./pats.js";
import { projectGrantReads } from "./project-grants.js";
import { projectReads } from "./projects.js";
import { userGrantReads } from "./user-grants.js";
import { userReads } from "./users.js";

/**
 * Every read the app layer makes, as typed functions over the SQL port: the SQL text lives here and
 * in the projections, never in app/ (ZITADEL's internal/query over its projections).
 */
export function createReadModels(db: Queryable) {
  return {
    users: userReads(db),
    orgs: orgReads(db),
    members: memberReads(db),
    pats: patReads(db),
    machineKeys: machineKeyReads(db),
    machineSecrets: machineSecretReads(db),
    credentials: credentialReads(db),
    metadata: metadataReads(db),
    changes: changeReads(db),
    instance: instanceReads(db),
    projects: projectReads(db),
    projectGrants: projectGrantReads(db),
    userGrants: userGrantReads(db),
    apps: appReads(db), // apps (branch apps)
    events: eventReads(db),
    federation: federationReads(db),
  };
}

export type ReadModels = ReturnType<typeof createReadModels>;

export type { Page, PageRequest } from "./page.js";
export type { UserQuery, UserRow, UserSort } from "./users.js";
export type { OrgQuery, OrgRow } from "./orgs.js";
export type { MemberQuery, MemberRow, MemberScopeType, MemberSort, MembershipQuery, MembershipRow } from "./members.js";
export type { PatRow } from "./pats.js";
export type { ProjectQuery, ProjectRoleQuery, ProjectRoleRow, ProjectRow, ProjectSearchQuery, ProjectSort } from "./projects.js";
export type { GrantedProjectQuery, ProjectGrantQuery, ProjectGrantRow, ProjectGrantSearchQuery } from "./project-grants.js";
export type { ActiveUserGrant, UserGrantFilter, UserGrantQuery, UserGrantRow } from "./user-grants.js";
export type { AppKeyOwner, AppKeyRow, AppQuery, AppRow } from "./apps.js";
export type { VisibleScope } from "./scope.js";
export type { MachineKeyRow } from "./machine-keys.js";
export type { MachineSecretRow } from "./machine-secrets.js";
export type { CredentialListFilter, CredentialRow } from "./credentials.js";
export type { MetadataKeyQuery, MetadataRow } from "./metadata.js";
export type { EventFilter, EventRange } from "./events.js";
export type { CredentialFilter } from "./credential-filter.js";
export type { FederationBindingRow, FederationPolicyRow } from "./federation.js";
