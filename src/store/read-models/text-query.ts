import { invalidArgument } from "../../domain/errors.js";

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => "\\" + c);

/**
 * SQL for a zitadel.v1.TextQueryMethod on a column: EQUALS 0, STARTS_WITH 2, CONTAINS 4,
 * ENDS_WITH 6, each +1 for the case-insensitive variant. Pushes the value onto `params`.
 */
export function textCondition(column: string, method: number, value: string, params: unknown[]): string {
  const ci = method % 2 === 1;
  const col = ci ? `lower(${column})` : column;
  const p = `$${params.push(method >= 2 ? escapeLike(value) : value)}`;
  const v = ci ? `lower(${p})` : p;
  switch (method) {
    case 0:
    case 1:
      return `${col} = ${v}`;
    case 2:
    case 3:
      return `${col} LIKE ${v} || '%' ESCAPE '\\'`;
    case 4:
    case 5:
      return `${col} LIKE '%' || ${v} || '%' ESCAPE '\\'`;
    case 6:
    case 7:
      return `${col} LIKE '%' || ${v} ESCAPE '\\'`;
    default:
      throw invalidArgument("QUERY-SDG3g", "Errors.Query.InvalidRequest");
  }
}
