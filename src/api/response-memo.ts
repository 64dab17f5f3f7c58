/**
 * Responses built once per state and handed out again as the same object (see getUserByID): their
 * wire encodings are kept with them, so a repeated read is not encoded again. A response passed to
 * reusable() must never be mutated afterwards; a new state gets a new response object.
 */
const encodings = new WeakMap<object, { json?: string }>();

export function reusable<T extends object>(response: T): T {
  if (!encodings.has(response)) encodings.set(response, {});
  return response;
}

/** The JSON encoding of `response`, kept when the response is reusable. */
export function jsonOf(response: object, encode: () => string): string {
  const e = encodings.get(response);
  if (!e) return encode();
  return (e.json ??= encode());
}
