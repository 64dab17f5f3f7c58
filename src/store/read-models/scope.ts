/**
 * What a v2 search may show (ZITADEL's v2 searches are instance-wide, filtered by the caller's
 * permissions): the rows of some orgs, or of every org, and the rows of some projects (those whose
 * own memberships grant the permission).
 */
export interface VisibleScope {
  orgIds: readonly string[] | "all";
  projectIds: readonly string[];
}

/** The SQL condition bounding a search to a scope; `projectColumn` undefined: orgs only. */
export function scopeCondition(orgColumn: string, projectColumn: string | undefined, scope: VisibleScope, params: unknown[]): string {
  if (scope.orgIds === "all") return "TRUE";
  const parts: string[] = [];
  if (scope.orgIds.length > 0) parts.push(`${orgColumn} = ANY($${params.push(scope.orgIds)}::text[])`);
  if (projectColumn && scope.projectIds.length > 0) parts.push(`${projectColumn} = ANY($${params.push(scope.projectIds)}::text[])`);
  return parts.length > 0 ? `(${parts.join(" OR ")})` : "FALSE";
}
