/**
 * The filters of the v2 credential searches (zitadel.user.v2.KeysSearchFilter and
 * PersonalAccessTokensSearchFilter): ids compared exactly, dates with zitadel.filter.v2.TimestampFilterMethod.
 */
export type CredentialFilter =
  | { kind: "id" | "userId" | "orgId"; value: string }
  | { kind: "createdAt" | "expiration"; at: Date; method: number };

/** TimestampFilterMethod: EQUALS, AFTER, AFTER_OR_EQUALS, BEFORE, BEFORE_OR_EQUALS. */
const comparisons = ["=", ">", ">=", "<", "<="];

export function credentialFilterSql(
  f: CredentialFilter,
  columns: { id: string; userId: string; orgId: string; createdAt: string; expiration: string },
  params: unknown[],
): string {
  if ("at" in f) return `${columns[f.kind]} ${comparisons[f.method] ?? "="} $${params.push(f.at)}`;
  return `${columns[f.kind]} = $${params.push(f.value)}`;
}
