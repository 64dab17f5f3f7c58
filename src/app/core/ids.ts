/**
 * ZITADEL-style ids: decimal strings of 18-19 digits, time-ordered, unique across processes
 * sharing a database. Layout (63 bits): milliseconds since 2020-01-01 (41 bits) | node (10 bits) |
 * per-millisecond counter (12 bits). The node is the process's leased slot (server/node-slot.ts):
 * read for every id, so an id is minted only while the slot is certainly this process's (the
 * function throws otherwise) and under the slot the process re-registered with after a stall.
 */
const EPOCH = Date.UTC(2020, 0, 1);
const NODE_BITS = 10n;
const SEQ_BITS = 12n;
const MAX_SEQ = (1 << Number(SEQ_BITS)) - 1;

export type IdGenerator = () => string;

export function createIdGenerator(node: number | (() => number), now: () => number = Date.now): IdGenerator {
  const slot = typeof node === "number" ? () => node : node;
  let lastMs = 0;
  let seq = 0;
  let lastNode = -1;
  let nodePart = 0n;
  return () => {
    const n = slot();
    if (n !== lastNode) nodePart = BigInt(n & ((1 << Number(NODE_BITS)) - 1)) << SEQ_BITS;
    lastNode = n;
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
