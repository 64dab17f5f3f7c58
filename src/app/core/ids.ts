/**
 * ZITADEL-style ids: decimal strings of 18-19 digits, time-ordered, unique across processes
 * sharing a database. Layout (63 bits): milliseconds since 2020-01-01 (41 bits) | node (10 bits) |
 * per-millisecond counter (12 bits). The node number is allocated by the store at start
 * (a database sequence), so two processes never share one.
 */
const EPOCH = Date.UTC(2020, 0, 1);
const NODE_BITS = 10n;
const SEQ_BITS = 12n;
const MAX_SEQ = (1 << Number(SEQ_BITS)) - 1;

export type IdGenerator = () => string;

export function createIdGenerator(node: number, now: () => number = Date.now): IdGenerator {
  const nodePart = BigInt(node & ((1 << Number(NODE_BITS)) - 1)) << SEQ_BITS;
  let lastMs = 0;
  let seq = 0;
  return () => {
    let ms = Math.max(now() - EPOCH, lastMs);
    if (ms === lastMs) {
      seq++;
      if (seq > MAX_SEQ) {
        // More than 4096 ids in one millisecond: borrow the next millisecond; ids stay unique and ordered.
        ms++;
        seq = 0;
      }
    } else seq = 0;
    lastMs = ms;
    return ((BigInt(ms) << (NODE_BITS + SEQ_BITS)) | nodePart | BigInt(seq)).toString();
  };
}
