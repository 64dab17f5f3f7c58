/**
 * SQL literals for statements sent without parameters (the simple protocol, several statements in
 * one round trip). A literal is untyped ('...'), as a parameter of unknown type is: PostgreSQL
 * resolves it from its context the same way. Values node-postgres would send differently, or that
 * cannot be inlined safely, throw NotInlinable and the caller uses parameters instead.
 */

export class NotInlinable extends Error {
  override readonly name = "NotInlinable";
}

/** A quoted string literal, correct whatever standard_conforming_strings says (E'' with doubled backslashes). */
export function quoteLiteral(s: string): string {
  // A NUL cannot be inside a query string (the protocol ends it there); PostgreSQL text refuses it anyway.
  if (s.includes("\0")) throw new NotInlinable("NUL character");
  const quoted = s.replace(/'/g, "''");
  return s.includes("\\") ? ` E'${quoted.replace(/\\/g, "\\\\")}'` : `'${quoted}'`;
}

export function literal(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "string") return quoteLiteral(v);
  if (typeof v === "number" || typeof v === "bigint") return quoteLiteral(String(v));
  if (typeof v === "boolean") return v ? "'true'" : "'false'";
  if (v instanceof Date) {
    // toISOString is PostgreSQL's input format for years 0001-9999 (others print as +/-YYYYYY).
    const year = v.getUTCFullYear();
    if (!(year >= 1 && year <= 9999)) throw new NotInlinable("date out of range");
    return `'${v.toISOString()}'`;
  }
  if (Buffer.isBuffer(v)) return ` E'\\\\x${v.toString("hex")}'`; // bytea hex format
  throw new NotInlinable(`cannot inline ${Object.prototype.toString.call(v)}`);
}

/** Replaces $1, $2, ... with the parameters as literals, in one pass (a literal is never rescanned). */
export function inline(sql: string, params: readonly unknown[] = []): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= params.length) throw new NotInlinable(`no parameter $${n}`);
    return literal(params[i]);
  });
}
